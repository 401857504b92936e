#!/usr/bin/env bash
# The devserver's own tests: unit tests, then integration tests that start the real binary on
# 127.0.0.1:0 and talk to it with a real WebSocket client (every subprotocol and status shape,
# stdin EOF, PTY resize, attach, auth, Origin, static files, faults, TLS, bad input).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
# Two test threads: the machine's two cores are shared, and some tests move 64 MiB.
cargo test -p kube-exec-devserver -- --test-threads=2
log "devserver tests passed"
