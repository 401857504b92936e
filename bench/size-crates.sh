#!/usr/bin/env bash
# The release wasm's size per crate, as shipped (wasm-bindgen, then wasm-opt with Cargo.toml's
# flags) but with names kept (-g) so that twiggy can attribute each function: raw bytes summed
# by the first path segment of each name (bench/crates.py). Inlined code counts for its caller.
#   bash scripts/build-pkg.sh web && bash bench/size-crates.sh [OUT.csv]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
wasm=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/wasm32-unknown-unknown/release/kube_exec_wasm.wasm
wasm-bindgen "$wasm" --target web --keep-debug --out-dir "$tmp" --out-name k
flags=$(sed -n 's/^wasm-opt = \[\(.*\)\]/\1/p' Cargo.toml | tr -d '",')
# shellcheck disable=SC2086
node_modules/.bin/wasm-opt $flags -g "$tmp/k_bg.wasm" -o "$tmp/o.wasm"
twiggy top -n 100000 --format csv "$tmp/o.wasm" >"$out"
python3 bench/crates.py "$out"
