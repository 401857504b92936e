#!/usr/bin/env bash
# Checks the SDK's keepalive against the real Kubernetes streaming code: shared/k8sreal (the
# v1.35.7 kubelet `remotecommand`, apimachinery `wsstream` and the API server's StreamTranslator;
# see its README), built from a copy whose idle timeouts (4 h upstream) are cut to 2 s, on both
# paths: the API server's v5 translator and the kubelet's v4/v4.base64/v1 code (-no-translator).
# The release package runs in headless Chromium; every case's outcome, and every error line the
# servers log, is printed. Not part of the test command (it needs Go and the k8sreal sources).
#   bash scripts/verify-k8sreal.sh [K8SREAL_DIR]     (default: ../shared/k8sreal or /work/shared/k8sreal)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
PART=${PART:-k8sreal}
src=${1:-}
for d in "$src" "$ROOT/../shared/k8sreal" /work/shared/k8sreal; do
  [ -n "$d" ] && [ -f "$d/build.sh" ] && { src=$d; break; }
done
[ -f "$src/build.sh" ] || { log "no k8sreal sources (give their directory)"; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A copy with 2 s idle timeouts: the kubelet's stream idle timeout (main.go) and the
# translator's WebSocket idle timeout (apiserver/pkg/util/proxy/websocket.go).
cp -r "$src" "$work/k8sreal"
chmod -R u+w "$work/k8sreal"
sed -i 's/streamIdleTimeout     = 4 \* time.Hour/streamIdleTimeout     = 2 * time.Second/' "$work/k8sreal/src/main.go"
sed -i 's/defaultIdleConnectionTimeout = 4 \* time.Hour/defaultIdleConnectionTimeout = 2 * time.Second/' \
  "$work/k8sreal/src/staging/apiserver/pkg/util/proxy/websocket.go"
grep -q 'streamIdleTimeout     = 2 \* time.Second' "$work/k8sreal/src/main.go"
grep -q 'defaultIdleConnectionTimeout = 2 \* time.Second' "$work/k8sreal/src/staging/apiserver/pkg/util/proxy/websocket.go"
log "building k8sreal with 2 s idle timeouts"
bin=$(bash "$work/k8sreal/build.sh" | tail -n1)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
v5_port=$(free_port); v4_port=$(free_port)
"$bin" -addr "127.0.0.1:$v5_port" >"$ARTIFACTS/k8sreal-v5.log" 2>&1 &
pids+=($!)
"$bin" -addr "127.0.0.1:$v4_port" -no-translator >"$ARTIFACTS/k8sreal-v4.log" 2>&1 &
pids+=($!)
[ -f pkg/kube_exec_wasm.js ] || bash scripts/build-pkg.sh web
mkdir -p "$work/www"
cp -r pkg "$work/www/pkg"
cp scripts/k8sreal/page.html scripts/k8sreal/page.js "$work/www/"
printf 'export const v5 = "http://127.0.0.1:%s";\nexport const v4 = "http://127.0.0.1:%s";\n' "$v5_port" "$v4_port" >"$work/www/config.js"
python3 - "$work/www" "$work/result.json" >"$work/http.url" 2>"$ARTIFACTS/k8sreal-http.log" <<'PY' &
import http.server, os, socketserver, sys
root, out = sys.argv[1], sys.argv[2]
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k): super().__init__(*a, directory=root, **k)
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        open(out + ".tmp", "wb").write(body); os.rename(out + ".tmp", out)
        self.send_response(204); self.end_headers()
H.extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm", ".js": "text/javascript"}
with socketserver.ThreadingTCPServer(("127.0.0.1", 0), H) as s:
    print(f"http://127.0.0.1:{s.server_address[1]}/page.html", flush=True)
    s.serve_forever()
PY
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/http.url" ] && break; sleep 0.05; done
chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$work/profile" \
  "$(cat "$work/http.url")" >"$ARTIFACTS/k8sreal-chromium.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 900); do [ -s "$work/result.json" ] && break; sleep 0.1; done
[ -s "$work/result.json" ] || { log "the page reported nothing in 90 s"; exit 1; }
failed=0
while IFS=$'\t' read -r ok name detail; do
  log "$ok - $name${detail:+: $detail}"
  [ "$ok" = ok ] || failed=$((failed + 1))
done < <(node -e 'for (const r of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")))
  console.log([r.ok ? "ok" : "not ok", r.name, r.detail || ""].join("\t"))' "$work/result.json")
for path in v5 v4; do
  log "k8sreal-$path.log, error lines (klog E…) after the cases:"
  grep -E '^E[0-9]{4} ' "$ARTIFACTS/k8sreal-$path.log" | sed 's/^/    /' || log "    none"
done
[ "$failed" -eq 0 ]
