#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the SDK package and the web
# console, and serves both on one origin with the devserver and its demo pods.
#   bash scripts/run.sh                 → http://127.0.0.1:8080/ (PORT=… to change the port)
#   bash scripts/run.sh --faults        extra arguments go to kube-exec-devserver
#   bash scripts/run.sh --build-only    build pkg/ and www/dist/ and stop (used by the tests)
# The devserver hands the page its token on that loopback origin (GET /.devserver/token), so the
# console connects without any manual step. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

build_only=
args=()
for a in "$@"; do
  case "$a" in
    --build-only) build_only=1 ;;
    *) args+=("$a") ;;
  esac
done

# Only what running needs (no browsers or drivers: those are for scripts/test.sh). The test
# command has run the full set-up already; SKIP_SETUP=1 skips it here.
[ -n "${SKIP_SETUP:-}" ] || bash scripts/setup.sh --run

log "building the SDK package (scripts/build-pkg.sh → pkg/)"
bash scripts/build-pkg.sh web   # the console needs only the --target web package
[ -f pkg/kube_exec_wasm.js ] || { log "pkg/kube_exec_wasm.js is missing after build-pkg.sh"; exit 1; }

log "building the console (vite build → www/dist/)"
if [ ! -d www/node_modules ]; then (cd www && npm ci --no-audit --no-fund --loglevel=error); fi
(cd www && npx --no-install tsc --noEmit && npx --no-install vite build --logLevel warn)

# The SDK's API reference, from the package's .d.ts, served by the console at /docs/ (warnings,
# e.g. a broken {@link}, fail the build).
log "building the API reference (typedoc → www/dist/docs/)"
(cd npm && ../node_modules/.bin/typedoc --options typedoc.json --logLevel Warn)

log "building the devserver"
cargo build -q -p kube-exec-devserver --bin kube-exec-devserver
[ -n "$build_only" ] && { log "built: pkg/, www/dist/ (with docs/), target/debug/kube-exec-devserver"; exit 0; }

listen="127.0.0.1:${PORT:-8080}"
log "starting kube-exec-devserver on $listen (Ctrl-C stops it)"
# Show the devserver's output, and once it listens, the URL to open.
"$ROOT/target/debug/kube-exec-devserver" --listen "$listen" --www www/dist ${args[@]+"${args[@]}"} |
  while IFS= read -r line; do
    printf '%s\n' "$line"
    case "$line" in
      "listening on "*)
        url=${line#listening on }
        printf '\n  Open %s/ in a browser: pick pod "demo" (namespace "default") and press Connect,\n' "$url"
        printf '  or go straight to %s/?pod=demo   (API reference: %s/docs/)\n\n' "$url" "$url"
        ;;
    esac
  done
