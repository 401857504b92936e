#!/usr/bin/env bash
# Formatting, clippy with warnings denied for the native and the wasm32 target, and rustdoc.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
cargo fmt --all -- --check
cargo clippy -q --workspace --all-targets -- -D warnings
cargo clippy -q -p kube-exec-wasm --all-targets --target wasm32-unknown-unknown -- -D warnings
RUSTDOCFLAGS=-Dwarnings cargo doc -q --no-deps -p kube-exec-wasm
RUSTDOCFLAGS=-Dwarnings cargo doc -q --no-deps -p kube-exec-wasm --target wasm32-unknown-unknown
log "fmt, clippy (native, wasm32), rustdoc: clean"
