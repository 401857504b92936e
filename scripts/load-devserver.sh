#!/usr/bin/env bash
# The dev server under load and abuse (not part of the test command; about 30 s): 1,000
# concurrent `sh -c 'exit N'` sessions with every exit code checked, 1,100 idle connections,
# clients leaving while stdin is backed up (exec and attach), 300 MiB of pings from a client
# that never reads, 40 × 30 MiB of stdin to `sleep`, and `kill -9` of the server; each against
# a fresh server started with a soft fd limit of 1024. See devserver/README.md "Load".
#   bash scripts/load-devserver.sh                     all scenarios, the release build
#   bash scripts/load-devserver.sh sessions sigkill    some of them
#   LOAD_SERVER=/path/to/kube-exec-devserver bash scripts/load-devserver.sh   another build
#   (e.g. an older one, for before/after figures; the tool passes it no newer flag)
# Extra flags go to the tool: --sessions N, --nofile N.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
PART=load
log "building the devserver and the load tool (release)"
cargo build -q --release -p kube-exec-devserver --bin kube-exec-devserver --example load
server=${LOAD_SERVER:-$ROOT/target/release/kube-exec-devserver}
exec "$ROOT/target/release/examples/load" --server "$server" "$@"
