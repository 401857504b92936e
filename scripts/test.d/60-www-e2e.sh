#!/usr/bin/env bash
# The web console end to end: builds pkg/ and www/dist/ as scripts/run.sh does, serves them with
# the devserver (demo and fault pods, a random token the page fetches same-origin), and drives
# Debian's Chromium with playwright-core through node's test runner (www/test/*.test.mjs).
# Also serves the console behind `kubectl proxy --www` (README "Against a real cluster", way 2)
# in front of an https devserver, with the exec filter relaxed and with kubectl's default filter.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

SKIP_SETUP=1 bash scripts/run.sh --build-only

WORK=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null || true; done
  for p in ${pids[@]+"${pids[@]}"}; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}

mkdir -p "$ARTIFACTS/www"
# start_devserver reads the URL from its log: make sure no previous run's log is read first.
rm -f "$ARTIFACTS/www.devserver.log" "$ARTIFACTS/www-tls.devserver.log"
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
KEW_DEVSERVER_TOKEN=$token start_devserver www --www www/dist --faults --bench
pids+=("$DEVSERVER_PID")
trap cleanup EXIT
CONSOLE_URL=$DEVSERVER_URL

# kubectl proxy in front of a second (https) devserver: kubectl sends its token only over https.
# The devserver checks the Origin of upgrades (a real API server does not): allow any.
PROXY_URL= PROXY_FILTERED_URL=
KDIR=$(dirname "$(readlink -f "$(command -v kubectl 2>/dev/null || echo /nonexistent)")")
KUBECTL=$KDIR/kubectl.1.33
[ -x "$KUBECTL" ] || KUBECTL=$(command -v kubectl 2>/dev/null || true)
start_proxy() { # start_proxy VAR [ARGS...]: starts kubectl proxy, sets VAR to its URL
  local var=$1; shift
  local logf="$ARTIFACTS/www.kubectl-proxy-$var.log" i url=
  : >"$logf" # not a previous run's "Starting to serve" line
  "$KUBECTL" --kubeconfig "$WORK/kubeconfig" proxy --port=0 --www=www/dist --www-prefix=/console/ \
    --api-prefix=/ "$@" >"$logf" 2>&1 &
  pids+=("$!")
  for i in $(seq 1 100); do
    url=$(grep -m1 -o 'Starting to serve on [0-9.:]*' "$logf" 2>/dev/null | sed 's/^Starting to serve on /http:\/\//') || true
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { cat "$logf" >&2; log "kubectl proxy did not start"; exit 1; }
  printf -v "$var" '%s/console/' "$url"
}
if [ -n "$KUBECTL" ]; then
  start_devserver www-tls --tls --allow-origin '*' --write-kubeconfig "$WORK/kubeconfig"
  pids+=("$DEVSERVER_PID")
  trap cleanup EXIT
  start_proxy PROXY_URL --reject-paths='^$'
  start_proxy PROXY_FILTERED_URL
  log "kubectl proxy ($("$KUBECTL" version --client 2>/dev/null | head -1)): $PROXY_URL, default filter: $PROXY_FILTERED_URL"
else
  log "no kubectl here: the kubectl proxy tests will be skipped"
fi

log "console e2e against $CONSOLE_URL"
cd www
CONSOLE_URL=$CONSOLE_URL PROXY_URL=$PROXY_URL PROXY_FILTERED_URL=$PROXY_FILTERED_URL ARTIFACTS_DIR="$ARTIFACTS/www" \
  node --test --test-concurrency=1 --test-timeout=240000 test/units.test.mjs test/console.test.mjs
log "screenshot of a live session: artifacts/www/session.png"
