#!/usr/bin/env bash
# The release package as a user gets it: build it (wasm-opt from npm binaryen), check its size
# budget, package.json and .d.ts, the TypeScript contract (tsc), and load it in headless
# Chromium under a strict CSP for real sessions against the devserver. Catches what the
# debug-build browser tests cannot (e.g. a wasm-opt that breaks the module at load time).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

passed=0; failed=0
ok() { passed=$((passed + 1)); log "ok - $*"; }
not_ok() { failed=$((failed + 1)); log "not ok - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

work=$(mktemp -d)
chrome_pid=; http_pid=
# Runs under `set -e` as the EXIT trap: nothing in it may fail (a killed child's `wait` returns 143).
cleanup() {
  local pid i
  # Chromium runs in a process group of its own (setsid below): end all of it, renderer and
  # helpers included, before removing its profile, which they may still be writing.
  if [ -n "$chrome_pid" ]; then
    kill -- "-$chrome_pid" 2>/dev/null || kill "$chrome_pid" 2>/dev/null || true
    wait "$chrome_pid" 2>/dev/null || true
    for i in $(seq 1 50); do pgrep -g "$chrome_pid" >/dev/null || break; sleep 0.1; done
  fi
  for pid in "$http_pid" "${DEVSERVER_PID:-}"; do
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for i in $(seq 1 20); do rm -rf "$work" 2>/dev/null && break; sleep 0.1; done
  [ ! -e "$work" ] || log "could not remove $work"
}
trap cleanup EXIT

check "build-pkg.sh (web + bundler, release, npm binaryen wasm-opt)" bash scripts/build-pkg.sh
# Everything below looks at a private copy (another helper may rebuild pkg/ meanwhile).
cp -r pkg "$work/pkg"
cp -r pkg-bundler "$work/pkg-bundler"
cp -r types-test "$work/types-test"
# The contract's xterm types come from the console's node_modules (types-test/tsconfig.json).
mkdir -p "$work/www" && ln -s "$ROOT/www/node_modules" "$work/www/node_modules"
if bash scripts/size.sh "$work/pkg" | tee "$ARTIFACTS/55-size.txt"; then ok "size within budget"; else not_ok "size budget"; fi

pkg_json_ok() {
  node - "$1" <<'JS'
const fs = require("fs"), path = require("path");
const dir = process.argv[2];
const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
const need = (c, m) => { if (!c) { console.error(`${dir}/package.json: ${m}`); process.exit(1); } };
need(pkg.name === "kube-exec-wasm", "name");
need(pkg.types && fs.existsSync(path.join(dir, pkg.types)), "types");
need(pkg.module && fs.existsSync(path.join(dir, pkg.module)), "module");
need(Array.isArray(pkg.files), "files");
for (const f of pkg.files) need(fs.existsSync(path.join(dir, f)), `listed file ${f} is missing`);
for (const f of ["kube_exec_wasm_bg.wasm", "kube_exec_wasm.js", "kube_exec_wasm.d.ts"])
  need(pkg.files.includes(f), `${f} not in files`);
need(!fs.existsSync(path.join(dir, "snippets")) || pkg.files.includes("snippets/"), "snippets/ not in files");
JS
}
check "pkg/package.json (name, types, module, files)" pkg_json_ok "$work/pkg"
check "pkg-bundler/package.json" pkg_json_ok "$work/pkg-bundler"
no_any() { ! grep -nE '(:|=>|<|\|)\s*any\b|\bany\[\]' "$work"/pkg/*.d.ts "$work"/pkg-bundler/*.d.ts; }
check "no 'any' in the .d.ts files" no_any
check "tsc --noEmit -p types-test (contract and @ts-expect-error cases)" tsc --noEmit -p "$work/types-test"
dts_codes() {
  local d
  for d in "$work/pkg" "$work/pkg-bundler"; do
    KEW_DTS="$d/kube_exec_wasm.d.ts" cargo test -q -p kube-exec-wasm --test error_codes -- --ignored --exact \
      the_built_dts_union_names_exactly_the_codes || return 1
  done
}
check "the .d.ts ExecErrorCode union names exactly the core's ErrorCode codes (tests/error_codes.rs)" dts_codes
packs() {
  local list; list=$(cd "$work/pkg" && npm pack --dry-run --json 2>/dev/null) || return 1
  for f in kube_exec_wasm_bg.wasm kube_exec_wasm.js kube_exec_wasm.d.ts zip.js zip.d.ts snippets/ xterm.js xterm.d.ts README.md; do
    grep -q "\"path\": \"$f" <<<"$list" || { echo "npm pack misses $f" >&2; return 1; }
  done
}
check "npm pack includes wasm, glue, types, snippets, the xterm addon, the README" packs
readme_is_the_packages() { grep -q '^## The entry points' "$work/pkg/README.md" && ! grep -q '^## Layout' "$work/pkg/README.md"; }
check "pkg/README.md is the package's own README (npm/README.md), not the repository's" readme_is_the_packages

# ---- the release package in Chromium -------------------------------------------------------
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
KEW_DEVSERVER_TOKEN=$token start_devserver smoke --faults --allow-origin '*'
mkdir -p "$work/www"
cp -r "$work/pkg" "$work/www/pkg"
printf 'export const server = %s;\nexport const token = %s;\n' "\"$DEVSERVER_URL\"" "\"$token\"" >"$work/www/config.js"
# pkg/zip.js imports its dependency by name: an import map (allowed by its CSP hash) points
# it at npm's fflate, as a bundler would.
cp node_modules/fflate/esm/browser.js "$work/www/fflate.js"
importmap='{"imports":{"fflate":"./fflate.js"}}'
maphash=$(printf '%s' "$importmap" | openssl dgst -sha256 -binary | base64)
cat >"$work/www/index.html" <<HTML
<!doctype html>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; script-src 'self' 'wasm-unsafe-eval' 'sha256-$maphash'; connect-src 'self' http://127.0.0.1:* ws://127.0.0.1:*">
<title>kube-exec-wasm smoke</title>
<script type="importmap">$importmap</script>
<script type="module" src="smoke.js"></script>
HTML
cat >"$work/www/smoke.js" <<'JS'
import init, { exec, getPod, openShell, record, upload, download, toFile } from "./pkg/kube_exec_wasm.js";
import { toZip } from "./pkg/zip.js";
import { unzipSync } from "fflate";
import { server, token } from "./config.js";
const results = [];
const check = async (name, f) => {
  try { await f(); results.push({ name, ok: true }); }
  catch (e) { results.push({ name, ok: false, detail: String(e && e.message || e) + (e && e.code ? ` (${e.code})` : "") }); }
};
const eq = (a, b, what) => { if (a !== b) throw new Error(`${what}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`); };
async function text(stream) {
  const d = new TextDecoder(); let s = "";
  for (const r = stream.getReader(); ;) { const { done, value } = await r.read(); if (done) return s + d.decode(); s += d.decode(value, { stream: true }); }
}
const base = { server, token, namespace: "default", pod: "demo" };
await check("init() loads the release wasm", async () => { const out = await init(); if (!(out.memory instanceof WebAssembly.Memory)) throw new Error("no memory export"); });
await check("exec: stdout and exit code 3", async () => {
  const s = await exec({ ...base, command: ["sh", "-c", "echo smoke-ok; echo e >&2; exit 3"] });
  eq(s.protocol, "v5.channel.k8s.io", "protocol");
  eq(await text(s.stdout), "smoke-ok\n", "stdout"); eq(await text(s.stderr), "e\n", "stderr");
  const st = await s.exit; eq(st.success, false, "success"); eq(st.exitCode, 3, "exitCode");
});
await check("stdin through cat, closeStdin", async () => {
  const s = await exec({ ...base, command: ["cat"], stdin: true });
  const w = s.stdin.getWriter(); await w.write("ping ✓"); await w.write(new Uint8Array([10])); await s.closeStdin();
  eq(await text(s.stdout), "ping ✓\n", "stdout"); eq((await s.exit).exitCode, 0, "exitCode");
});
await check("v4.base64 protocol", async () => {
  const s = await exec({ ...base, command: ["sh", "-c", "printf b64-ok"], protocols: ["v4.base64.channel.k8s.io"] });
  eq(await text(s.stdout), "b64-ok", "stdout"); eq((await s.exit).success, true, "success");
});
await check("wrong token: Unauthorized (preflight) as a real Error", async () => {
  try { await exec({ ...base, token: "wrong", command: ["true"] }); throw new Error("resolved"); }
  catch (e) { if (!(e instanceof Error)) throw new Error("not an Error"); eq(e.code, "Unauthorized", "code"); eq(e.httpStatus, 401, "httpStatus"); if (!e.hint) throw new Error("no hint"); }
});
await check("fault-drop: exit rejects ConnectionLost", async () => {
  const s = await exec({ ...base, pod: "fault-drop", command: ["x"] });
  eq(await text(s.stdout), "partial\n", "stdout");
  try { await s.exit; throw new Error("resolved"); } catch (e) { eq(e.code, "ConnectionLost", "code"); }
});
await check("getPod and openShell under the strict CSP", async () => {
  eq((await getPod({ ...base, pod: "two" })).defaultContainer, "a", "defaultContainer");
  const { session, shell } = await openShell({ ...base, shells: ["no-such-shell", "sh"] });
  eq(shell, "sh", "shell");
  const rec = record(session);
  const w = session.stdin.getWriter(); await w.write("exit 6\n");
  eq((await session.exit).exitCode, 6, "exitCode");
  await rec.done;
  if (!rec.text().startsWith('{"version":2,')) throw new Error("not asciicast v2");
});
await check("file transfer: upload, download, toFile, toZip", async () => {
  const dir = `/tmp/kew-smoke-${Date.now()}`;
  const mk = await exec({ ...base, command: ["mkdir", "-p", dir] }); eq((await mk.exit).exitCode, 0, "mkdir");
  const up = await upload(base, [{ path: "s/a.txt", data: "smoke ✓\n", mode: 0o600 }, { path: "s/d", type: "directory" }], { destDir: dir });
  eq(up.files, 1, "files"); eq(up.bytes, 10, "bytes");
  const f = await toFile(await download(base, `${dir}/s/a.txt`));
  eq(f.name, "a.txt", "name"); eq(await f.text(), "smoke ✓\n", "text");
  const zip = unzipSync(new Uint8Array(await (await toZip(await download(base, `${dir}/s`))).arrayBuffer()));
  eq(Object.keys(zip).sort().join(","), "s/,s/a.txt,s/d/", "zip names");
  eq(new TextDecoder().decode(zip["s/a.txt"]), "smoke ✓\n", "zip bytes");
  const rm = await exec({ ...base, command: ["rm", "-rf", dir] }); eq((await rm.exit).exitCode, 0, "rm");
});
await fetch("/result", { method: "POST", body: JSON.stringify(results) });
JS

cat >"$work/serve.py" <<'PY'
import http.server, json, os, socketserver, sys, threading
root, out = sys.argv[1], sys.argv[2]
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k): super().__init__(*a, directory=root, **k)
    def log_message(self, *a): pass
    def end_headers(self):
        self.send_header("Cache-Control", "no-store"); super().end_headers()
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out + ".tmp", "wb") as f: f.write(body)
        os.rename(out + ".tmp", out)
        self.send_response(204); self.end_headers()
H.extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm", ".js": "text/javascript"}
with socketserver.ThreadingTCPServer(("127.0.0.1", 0), H) as s:
    print(f"http://127.0.0.1:{s.server_address[1]}", flush=True)
    s.serve_forever()
PY
python3 "$work/serve.py" "$work/www" "$work/result.json" >"$work/http.url" 2>"$ARTIFACTS/55-http.log" &
http_pid=$!
for _ in $(seq 1 100); do [ -s "$work/http.url" ] && break; sleep 0.05; done
page=$(cat "$work/http.url")/index.html

setsid chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$work/profile" \
  --enable-logging=stderr --v=0 "$page" >"$ARTIFACTS/55-chromium.log" 2>&1 &
chrome_pid=$!
for _ in $(seq 1 600); do [ -s "$work/result.json" ] && break; sleep 0.1; done
if [ -s "$work/result.json" ]; then
  while IFS=$'\t' read -r status name detail; do
    if [ "$status" = ok ]; then ok "chromium: $name"; else not_ok "chromium: $name: $detail"; fi
  done < <(node -e '
    for (const r of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")))
      console.log([r.ok ? "ok" : "fail", r.name, (r.detail || "").replace(/\s+/g, " ")].join("\t"));' "$work/result.json")
else
  not_ok "chromium: the smoke page reported nothing within 60 s (see artifacts/55-chromium.log)"
  grep -iE 'error|uncaught' "$ARTIFACTS/55-chromium.log" | head -20 || true
fi

log "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
