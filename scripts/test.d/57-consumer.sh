#!/usr/bin/env bash
# The package as an outside console uses it: `npm pack` of the release package, a fresh Vite app
# (www/test/consumer-app) that installs only that tarball and @xterm/xterm, type-checked against
# the package's .d.ts with tsc and built with vite, then run in Chromium (playwright-core) against
# the devserver: getPod lists containers, openShell starts a shell, the xterm addon carries typing
# and output, record + download gives the asciicast, term.dispose() releases the session.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

work=$(mktemp -d)
http_pid=
cleanup() {
  local pid
  for pid in "$http_pid" "${DEVSERVER_PID:-}"; do
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

log "building the release package and packing it"
bash scripts/build-pkg.sh web >"$ARTIFACTS/57-build-pkg.log" 2>&1 || { tail -30 "$ARTIFACTS/57-build-pkg.log"; exit 1; }
tarball=$(cd pkg && npm pack --silent --pack-destination "$work")
tarball="$work/$tarball"
log "packed $(basename "$tarball") ($(wc -c <"$tarball") bytes)"

# The app: its own package.json, with the versions the console's lockfile has (from npm's cache).
cp -r www/test/consumer-app "$work/app"
version() { node -e 'console.log(require(process.argv[1]).packages["node_modules/" + process.argv[2]].version)' "$ROOT/www/package-lock.json" "$1"; }
sed -e "s|@TARBALL@|$tarball|" -e "s|@XTERM@|$(version @xterm/xterm)|" -e "s|@VITE@|$(version vite)|" \
  -e "s|@TYPESCRIPT@|$(version typescript)|" "$work/app/package.json.in" >"$work/app/package.json"
rm "$work/app/package.json.in"
(cd "$work/app" && npm install --prefer-offline --no-audit --no-fund --loglevel=error >"$ARTIFACTS/57-npm.log" 2>&1) ||
  { tail -30 "$ARTIFACTS/57-npm.log"; exit 1; }
# Its runtime dependencies are the tarball and xterm.js, nothing else (the package itself needs
# only fflate, for its optional `kube-exec-wasm/zip` entry point, which this app does not load).
node -e '
  const p = require(process.argv[1] + "/package.json");
  const deps = Object.keys(p.dependencies).sort().join(",");
  if (deps !== "@xterm/xterm,kube-exec-wasm") { console.error("dependencies: " + deps); process.exit(1); }
  const k = require(process.argv[1] + "/node_modules/kube-exec-wasm/package.json");
  const own = Object.keys(k.dependencies || {}).join(",");
  if (own !== "" && own !== "fflate") { console.error("kube-exec-wasm depends on " + own); process.exit(1); }
' "$work/app"
log "type-checking (tsc, the package's .d.ts) and building (vite) the app"
(cd "$work/app" && npx --no-install tsc --noEmit -p . && npx --no-install vite build --logLevel warn --outDir dist)

token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
KEW_DEVSERVER_TOKEN=$token start_devserver consumer --allow-origin '*'
printf '{"server": "%s", "token": "%s"}\n' "$DEVSERVER_URL" "$token" >"$work/app/dist/config.json"
python3 -c '
import http.server, socketserver, sys
root = sys.argv[1]
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k): super().__init__(*a, directory=root, **k)
    def log_message(self, *a): pass
H.extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm", ".js": "text/javascript"}
with socketserver.ThreadingTCPServer(("127.0.0.1", 0), H) as s:
    print(f"http://127.0.0.1:{s.server_address[1]}/", flush=True)
    s.serve_forever()
' "$work/app/dist" >"$work/http.url" 2>"$ARTIFACTS/57-http.log" &
http_pid=$!
for _ in $(seq 1 100); do [ -s "$work/http.url" ] && break; sleep 0.05; done
[ -s "$work/http.url" ] || { log "the app's web server did not start"; exit 1; }

log "the app in Chromium: $(cat "$work/http.url")"
cd www
APP_URL=$(cat "$work/http.url") ARTIFACTS_DIR="$ARTIFACTS/www" node --test --test-timeout=120000 test/consumer.test.mjs
