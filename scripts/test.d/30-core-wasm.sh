#!/usr/bin/env bash
# The core's unit, scenario and fuzz-smoke tests compiled to wasm32-unknown-unknown and run by
# wasm-bindgen-test in headless Chromium (webdriver.json at the root gives the flags).
# Only the core's targets: tests/web.rs needs a devserver and runs in its own part.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
driver=$(command -v chromedriver) || { log "chromedriver not on PATH (scripts/setup.sh installs it)"; exit 1; }
# --chromedriver: never let wasm-pack download a driver.
wasm-pack test --headless --chrome --chromedriver "$driver" -- \
  --lib --test core_scenarios --test core_fuzz_smoke
log "core wasm32 tests passed in headless Chromium"
