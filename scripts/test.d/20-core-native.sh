#!/usr/bin/env bash
# The sans-IO core, natively: unit tests (src/*.rs), whole-session scenarios, property tests
# (proptest), the error codes named alike everywhere (tests/error_codes.rs: www's messages,
# glue.js, the package README, the TypeScript contract), the bounded random-input fuzz smoke
# (CORE_FUZZ_ITERS inputs per target, default 200000), and a stable type-check of the cargo-fuzz
# targets in fuzz/ (running them needs nightly).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
cargo test -p kube-exec-wasm --lib --test core_scenarios --test core_properties --test error_codes
cargo test -p kube-exec-wasm --test core_fuzz_smoke -- --nocapture --test-threads=1
# fuzz/ is its own workspace; libfuzzer-sys builds on stable, only `cargo fuzz run` needs nightly.
cargo check -q --manifest-path fuzz/Cargo.toml --target-dir target/fuzz-check
log "core native: unit, scenario, property, error-code, fuzz smoke passed; fuzz targets type-check"
