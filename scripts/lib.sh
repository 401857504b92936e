# Shared by the scripts: paths, tools on PATH, and starting a devserver for a test part.
# Source it; it changes nothing outside the shell that sources it.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
ARTIFACTS="$ROOT/artifacts"
mkdir -p "$ARTIFACTS"

log() { printf '[%s] %s\n' "${PART:-kew}" "$*"; }

# start_devserver NAME [ARGS...]: builds and starts kube-exec-devserver on a free loopback port.
# Sets DEVSERVER_URL (e.g. http://127.0.0.1:43121) and DEVSERVER_PID; the server is killed when
# the calling shell exits. Its log goes to artifacts/NAME.devserver.log.
start_devserver() {
  local name=$1; shift
  local logf="$ARTIFACTS/$name.devserver.log"
  cargo build -q -p kube-exec-devserver --bin kube-exec-devserver
  : >"$logf"   # truncate first, so the wait below never reads an earlier run's address
  "$ROOT/target/debug/kube-exec-devserver" --listen 127.0.0.1:0 "$@" >"$logf" 2>&1 &
  DEVSERVER_PID=$!
  # Kill the server when the calling shell exits, keeping any EXIT trap the caller already set
  # (replacing it would skip the caller's own clean-up).
  local prev=
  eval "set -- $(trap -p EXIT)"
  [ $# -ge 3 ] && prev=$3
  trap "kill $DEVSERVER_PID 2>/dev/null || true${prev:+; $prev}" EXIT
  local i
  for i in $(seq 1 200); do
    DEVSERVER_URL=$(grep -m1 -o 'listening on https\?://[0-9.:]*' "$logf" 2>/dev/null | sed 's/^listening on //') || true
    [ -n "${DEVSERVER_URL:-}" ] && break
    kill -0 "$DEVSERVER_PID" 2>/dev/null || { cat "$logf" >&2; return 1; }
    sleep 0.05
  done
  [ -n "${DEVSERVER_URL:-}" ] || { log "devserver did not start"; cat "$logf" >&2; return 1; }
  export DEVSERVER_URL DEVSERVER_PID
  log "devserver at $DEVSERVER_URL (log: $logf)"
}

# run_wasm_suite PART TEST BROWSER: the browser test file tests/TEST.rs in one headless
# BROWSER (chrome or firefox) with wasm-pack; prints "N passed; M failed", fails the part on any
# failure. Its log goes to artifacts/PART.TEST.BROWSER.log.
run_wasm_suite() {
  local part=$1 test=$2 browser=$3 status=0 result
  local logf="$ARTIFACTS/$part.$test.$browser.log"
  wasm-pack test --headless "--$browser" -- --test "$test" >"$logf" 2>&1 || status=$?
  grep -E '^(failures:|---- |test result:)|panicked at' -A2 "$logf" | grep -v '^--$' | head -60 || true
  result=$(grep -m1 -o 'test result: [a-zA-Z]*\. [0-9]* passed; [0-9]* failed' "$logf" || true)
  if [ "$status" -ne 0 ] || [ -z "$result" ]; then
    log "$browser: browser tests failed (exit $status); log: $logf"
    tail -n 30 "$logf"
    return 1
  fi
  log "$browser: ${result#test result: }"
}

# have_firefox: Firefox ESR and geckodriver are installed (scripts/setup.sh installs both).
have_firefox() {
  command -v geckodriver >/dev/null && { command -v firefox-esr >/dev/null || command -v firefox >/dev/null; }
}

# k8sreal_dir: where ../shared/k8sreal (the Kubernetes streaming code server) is.
k8sreal_dir() {
  local d
  for d in "${K8SREAL_DIR:-}" "$ROOT/../shared/k8sreal" /work/shared/k8sreal; do
    if [ -n "$d" ] && [ -f "$d/build.sh" ]; then (cd "$d" && pwd); return 0; fi
  done
  log "k8sreal not found: set K8SREAL_DIR to the shared/k8sreal directory" >&2
  return 1
}
