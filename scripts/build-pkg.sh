#!/usr/bin/env bash
# Builds the npm package of the SDK: pkg/ (wasm-bindgen --target web) and pkg-bundler/
# (--target bundler), release profile, wasm-opt from the npm `binaryen` package. It does what
# `wasm-pack build` would (cargo build, wasm-bindgen, package.json from Cargo.toml) without
# wasm-pack, so that running the console needs no wasm-pack (a 200 s install on a fresh machine;
# the tests use it for `wasm-pack test`). Each package also holds the xterm.js addon
# (`kube-exec-wasm/xterm`, compiled from www/src/xterm-adapter.ts) and the package's own README
# (npm/README.md, written for SDK users).
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

# Writes package.json (from Cargo.toml's metadata: version, description, license, repository;
# files incl. snippets, exports, types) and types the raw wasm exports of the .d.ts as `unknown`
# instead of `any` (found by the TypeScript parser, not by matching text).
finish_package() {
  cargo metadata --no-deps --format-version 1 --manifest-path Cargo.toml >"$1/.metadata.json"
  node - "$1" "$2" <<'JS'
const fs = require("fs");
const path = require("path");
const [dir, target] = process.argv.slice(2);
const pj = path.join(dir, "package.json");
const meta = JSON.parse(fs.readFileSync(path.join(dir, ".metadata.json"), "utf8"))
  .packages.find((p) => p.name === "kube-exec-wasm");
fs.unlinkSync(path.join(dir, ".metadata.json"));
const pkg = {};
pkg.name = "kube-exec-wasm";
pkg.type = "module";
pkg.description = meta.description;
pkg.version = meta.version;
pkg.license = meta.license;
if (meta.repository) pkg.repository = { type: "git", url: meta.repository };
// The optional zip collector (src/web/zip.js): its own entry point, so only its users load
// its dependency.
fs.copyFileSync("src/web/zip.js", path.join(dir, "zip.js"));
fs.copyFileSync("src/web/zip.d.ts", path.join(dir, "zip.d.ts"));
pkg.dependencies = { fflate: require("./package.json").devDependencies.fflate };
const files = fs.readdirSync(dir).filter((f) => /\.(js|d\.ts|wasm)$/.test(f));
if (fs.existsSync(path.join(dir, "snippets"))) files.push("snippets/");
pkg.files = files.sort();
pkg.main = "kube_exec_wasm.js";
pkg.types = "kube_exec_wasm.d.ts";
// As wasm-pack marks them: only the snippets (and, for bundlers, the glue) have side effects.
pkg.sideEffects = target === "bundler" ? ["./kube_exec_wasm.js", "./snippets/*"] : ["./snippets/*"];
pkg.module = "kube_exec_wasm.js";
pkg.exports = {
  ".": { types: "./kube_exec_wasm.d.ts", default: "./kube_exec_wasm.js" },
  "./xterm": { types: "./xterm.d.ts", default: "./xterm.js" },
  "./zip": { types: "./zip.d.ts", default: "./zip.js" },
  "./kube_exec_wasm_bg.wasm": "./kube_exec_wasm_bg.wasm",
  "./package.json": "./package.json",
};
// The addon imports only xterm's types: xterm.js is the consumer's, never bundled here.
pkg.peerDependencies = { "@xterm/xterm": "^5.4.0 || ^6.0.0" };
pkg.peerDependenciesMeta = { "@xterm/xterm": { optional: true } };
pkg.keywords = ["kubernetes", "kubectl", "exec", "attach", "websocket", "wasm", "xterm", "terminal", "asciicast"];
fs.writeFileSync(pj, JSON.stringify(pkg, null, 2) + "\n");
// The raw wasm exports (`InitOutput`, *_bg.wasm.d.ts) are typed `any` by wasm-bindgen, and no
// attribute reaches them (`unchecked_*_type` and the custom section type the API itself). The
// TypeScript parser finds each `any` type there and it becomes `unknown`; the rest of the text
// stays as generated. (Comments go with terser below, the JS is not touched here.)
const ts = require("typescript");
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".d.ts"))) {
  const p = path.join(dir, f);
  const text = fs.readFileSync(p, "utf8");
  const file = ts.createSourceFile(p, text, ts.ScriptTarget.Latest, true);
  const anys = [];
  const visit = (node) => {
    if (node.kind === ts.SyntaxKind.AnyKeyword) anys.push(node);
    ts.forEachChild(node, visit);
  };
  visit(file);
  let typed = text;
  for (const node of anys.reverse())
    typed = typed.slice(0, node.getStart(file)) + "unknown" + typed.slice(node.end);
  fs.writeFileSync(p, typed);
}
JS
}

target_dir=$(cargo metadata --no-deps --format-version 1 | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).target_directory)')
targets=("${@:-web bundler}")
# shellcheck disable=SC2206
targets=(${targets[*]})
for target in "${targets[@]}"; do
  case $target in
    web) out=pkg ;;
    bundler) out=pkg-bundler ;;
    *) log "unknown target $target" >&2; exit 1 ;;
  esac
  log "cargo build --release (wasm32) + wasm-bindgen --target $target -> $out/"
  # Built aside and moved into place, so that a concurrent build never leaves half a package.
  tmp="$out-tmp-$$"
  rm -rf "$tmp"
  cargo build --quiet --release --target wasm32-unknown-unknown --lib
  wasm-bindgen "$target_dir/wasm32-unknown-unknown/release/kube_exec_wasm.wasm" --target "$target" \
    --out-dir "$tmp" --out-name kube_exec_wasm
  [ -f "$tmp/kube_exec_wasm_bg.wasm" ] || { log "wasm-bindgen produced no $tmp/kube_exec_wasm_bg.wasm" >&2; exit 1; }
  # wasm-opt by hand (flags from Cargo.toml's wasm-pack metadata), so the binary used is ours.
  flags=$(sed -n 's/^wasm-opt = \[\(.*\)\]/\1/p' Cargo.toml | tr -d '",')
  # shellcheck disable=SC2086
  wasm-opt $flags "$tmp/kube_exec_wasm_bg.wasm" -o "$tmp/kube_exec_wasm_bg.wasm.opt"
  mv "$tmp/kube_exec_wasm_bg.wasm.opt" "$tmp/kube_exec_wasm_bg.wasm"
  # The xterm addon: ES2022 JS and its .d.ts, next to the SDK's (types of @xterm/xterm from www/).
  [ -d www/node_modules/@xterm/xterm ] || (cd www && npm ci --no-audit --no-fund --loglevel=error)
  tsc --declaration --target es2022 --module es2022 --moduleResolution bundler --strict \
    --skipLibCheck --removeComments false --outDir "$tmp/xterm-build" www/src/xterm-adapter.ts
  mv "$tmp/xterm-build/xterm-adapter.js" "$tmp/xterm.js"
  mv "$tmp/xterm-build/xterm-adapter.d.ts" "$tmp/xterm.d.ts"
  rm -rf "$tmp/xterm-build"
  cp npm/README.md "$tmp/README.md"
  finish_package "$tmp" "$target"
  # Minified JS without comments but the `@ts-self-types` pragma (the readable source is
  # src/web/glue.js; the docs are in the .d.ts).
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
