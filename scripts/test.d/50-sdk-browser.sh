#!/usr/bin/env bash
# The SDK's browser tests (tests/web.rs, and tests/web_transfer.rs for file transfer) in
# headless Chromium and Firefox ESR, against a devserver with the fault and bench pods (and one
# with --idle-timeout 1 for the keepalive). The devservers' URLs and a random token are compiled
# into the tests.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
# A second devserver that cuts sessions after 1 s without a data frame from the client, as a
# load balancer's idle limit does: the keepalive tests.
KEW_DEVSERVER_TOKEN=$token start_devserver web-idle --allow-origin '*' --idle-timeout 1
idle_url=$DEVSERVER_URL idle_pid=$DEVSERVER_PID
KEW_DEVSERVER_TOKEN=$token start_devserver web --faults --bench --allow-origin '*'

# A listener that accepts TCP connections and never answers: a handshake that hangs.
holdf=$(mktemp)
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept()[0])
' >"$holdf" &
hold_pid=$!
trap 'kill "$DEVSERVER_PID" "$idle_pid" "$hold_pid" 2>/dev/null || true; rm -f "$holdf"' EXIT
for _ in $(seq 1 100); do [ -s "$holdf" ] && break; sleep 0.05; done
[ -s "$holdf" ] || { log "the hanging listener did not start"; exit 1; }

export KEW_TEST_SERVER="$DEVSERVER_URL" KEW_TEST_TOKEN="$token" KEW_TEST_IDLE_SERVER="$idle_url"
export KEW_TEST_HANGING="http://127.0.0.1:$(cat "$holdf")"
# The whole run in one page: the 64 MiB and 16 MiB cases take a few seconds each.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-300}
run_wasm_suite 50-sdk-browser web chrome
run_wasm_suite 50-sdk-browser web_transfer chrome
if have_firefox; then
  run_wasm_suite 50-sdk-browser web firefox
  run_wasm_suite 50-sdk-browser web_transfer firefox
else
  log "firefox: skipped (firefox-esr or geckodriver not installed)"
fi
