#!/usr/bin/env bash
# Builds the npm package of the SDK: pkg/ (wasm-pack --target web) and pkg-bundler/
# (--target bundler), release profile, wasm-opt from the npm `binaryen` package.
#   bash scripts/build-pkg.sh            both targets
#   bash scripts/build-pkg.sh web        only pkg/
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# wasm-opt must be npm binaryen's (Debian's 108 emits wasm that fails at load time).
[ -x node_modules/.bin/wasm-opt ] || npm ci --no-audit --no-fund --loglevel=error
case "$(command -v wasm-opt)" in
  "$ROOT/node_modules/.bin/wasm-opt") ;;
  *) log "wasm-opt on PATH is $(command -v wasm-opt), not node_modules/.bin" >&2; exit 1 ;;
esac
want=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')
if [ "$want" != "$have" ]; then
  log "wasm-bindgen CLI is '${have:-missing}', Cargo.toml pins $want (run scripts/setup.sh)" >&2
  exit 1
fi

# Completes wasm-pack's package.json (files incl. snippets, exports, types) and types the raw
# wasm exports of the .d.ts as `unknown` instead of `any`.
finish_package() {
  node - "$1" "$2" <<'JS'
const fs = require("fs");
const path = require("path");
const [dir, target] = process.argv.slice(2);
const pj = path.join(dir, "package.json");
const pkg = JSON.parse(fs.readFileSync(pj, "utf8"));
pkg.name = "kube-exec-wasm";
pkg.type = "module";
pkg.main = "kube_exec_wasm.js";
pkg.module = "kube_exec_wasm.js";
pkg.types = "kube_exec_wasm.d.ts";
// The optional zip collector (src/web/zip.js): its own entry point, so only its users load
// its dependency.
fs.copyFileSync("src/web/zip.js", path.join(dir, "zip.js"));
fs.copyFileSync("src/web/zip.d.ts", path.join(dir, "zip.d.ts"));
pkg.dependencies = { fflate: require("./package.json").devDependencies.fflate };
pkg.exports = {
  ".": { types: "./kube_exec_wasm.d.ts", default: "./kube_exec_wasm.js" },
  "./zip": { types: "./zip.d.ts", default: "./zip.js" },
  "./kube_exec_wasm_bg.wasm": "./kube_exec_wasm_bg.wasm",
  "./package.json": "./package.json",
};
const files = fs.readdirSync(dir).filter((f) => /\.(js|d\.ts|wasm)$/.test(f));
if (fs.existsSync(path.join(dir, "snippets"))) files.push("snippets/");
pkg.files = files.sort();
if (target === "bundler" && !pkg.sideEffects) pkg.sideEffects = ["./kube_exec_wasm.js", "./snippets/*"];
pkg.keywords = ["kubernetes", "kubectl", "exec", "attach", "websocket", "wasm"];
fs.writeFileSync(pj, JSON.stringify(pkg, null, 2) + "\n");
// The docs live in the .d.ts; the glue's copies of them are dropped.
const glue = path.join(dir, "kube_exec_wasm.js");
fs.writeFileSync(glue, fs.readFileSync(glue, "utf8").replace(/^ *\/\*\*(?:[^*]|\*(?!\/))*\*\/\n/gm, ""));
// The snippets (src/web/glue.js) ship without their whole-line comments (kept in the source).
const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
if (fs.existsSync(path.join(dir, "snippets")))
  for (const f of walk(path.join(dir, "snippets")).filter((f) => f.endsWith(".js")))
    fs.writeFileSync(f, fs.readFileSync(f, "utf8").replace(/^ *\/\/.*\n/gm, ""));
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".d.ts"))) {
  const p = path.join(dir, f);
  // The raw exports (InitOutput, *_bg.wasm.d.ts) are typed `any` by wasm-bindgen.
  const text = fs.readFileSync(p, "utf8").replace(/(:\s*|=>\s*|<|\|\s*|\(\s*)any\b/g, "$1unknown");
  fs.writeFileSync(p, text);
}
JS
}

targets=("${@:-web bundler}")
# shellcheck disable=SC2206
targets=(${targets[*]})
for target in "${targets[@]}"; do
  case $target in
    web) out=pkg ;;
    bundler) out=pkg-bundler ;;
    *) log "unknown target $target" >&2; exit 1 ;;
  esac
  log "wasm-pack build --release --target $target -> $out/"
  # Built aside and moved into place, so that a concurrent build never leaves half a package.
  tmp="$out-tmp-$$"
  rm -rf "$tmp"
  wasm-pack --quiet build --release --target "$target" --out-dir "$tmp" --out-name kube_exec_wasm \
    --no-opt 2>&1 | grep -v '^\[INFO\]' || true
  [ -f "$tmp/kube_exec_wasm_bg.wasm" ] || { log "wasm-pack produced no $tmp/kube_exec_wasm_bg.wasm" >&2; exit 1; }
  # wasm-opt by hand (flags from Cargo.toml's wasm-pack metadata), so the binary used is ours.
  flags=$(sed -n 's/^wasm-opt = \[\(.*\)\]/\1/p' Cargo.toml | tr -d '",')
  # shellcheck disable=SC2086
  wasm-opt $flags "$tmp/kube_exec_wasm_bg.wasm" -o "$tmp/kube_exec_wasm_bg.wasm.opt"
  mv "$tmp/kube_exec_wasm_bg.wasm.opt" "$tmp/kube_exec_wasm_bg.wasm"
  finish_package "$tmp" "$target"
  # Minified JS (the readable source is src/web/glue.js; the docs are in the .d.ts).
  while IFS= read -r js; do
    terser "$js" --module --compress --mangle --comments '/@ts-self-types/' -o "$js.min"
    mv "$js.min" "$js"
  done < <(find "$tmp" -name '*.js')
  rm -rf "$out-old-$$"
  [ -d "$out" ] && mv "$out" "$out-old-$$"
  mv "$tmp" "$out"
  rm -rf "$out-old-$$"
done
log "built: ${targets[*]}"
