#!/usr/bin/env bash
# The SDK's browser tests (tests/web.rs) in headless Chromium, against a devserver with the
# fault and bench pods. The devserver's URL and a random token are compiled into the tests.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_devserver web --faults --bench --allow-origin '*' --token "$token"

export KEW_TEST_SERVER="$DEVSERVER_URL" KEW_TEST_TOKEN="$token"
# The whole run in one page: the 64 MiB and 16 MiB cases take a few seconds each.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-300}
# run_suite BROWSER: the whole suite in one headless browser; prints "N passed; M failed".
run_suite() {
  local browser=$1 logf="$ARTIFACTS/50-sdk-browser.$1.log" status=0 result
  wasm-pack test --headless "--$browser" -- --test web >"$logf" 2>&1 || status=$?
  grep -E '^(failures:|---- |test result:)|panicked at' -A2 "$logf" | grep -v '^--$' | head -60 || true
  result=$(grep -m1 -o 'test result: [a-zA-Z]*\. [0-9]* passed; [0-9]* failed' "$logf" || true)
  if [ "$status" -ne 0 ] || [ -z "$result" ]; then
    log "$browser: browser tests failed (exit $status); log: $logf"
    tail -n 30 "$logf"
    return 1
  fi
  log "$browser: ${result#test result: }"
}

run_suite chrome
if command -v geckodriver >/dev/null && { command -v firefox-esr >/dev/null || command -v firefox >/dev/null; }; then
  run_suite firefox
else
  log "firefox: skipped (firefox-esr or geckodriver not installed)"
fi
