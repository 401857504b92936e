#!/usr/bin/env bash
# Installs what this project needs and is missing, from the package registries only.
# Idempotent: every step checks first and skips what is already there at the right version.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_PACK_VERSION=0.15.1
WASM_BINDGEN_VERSION=0.2.130   # must equal the `wasm-bindgen = "=…"` pin in Cargo.toml
GECKODRIVER_VERSION=0.37.1     # for the browser suite's second run, in Firefox ESR

say() { printf '[setup] %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

# The wasm-bindgen crate pin and the CLI must agree, or wasm-pack builds its own CLI (slowly).
if ! grep -q "wasm-bindgen = \"=$WASM_BINDGEN_VERSION\"" Cargo.toml; then
  say "Cargo.toml does not pin wasm-bindgen = \"=$WASM_BINDGEN_VERSION\"" >&2
  exit 1
fi

# Debian packages: the browsers for tests (Chromium with its driver; Firefox ESR, whose driver
# comes from crates.io below), tmux for the interactive kubectl test.
need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v firefox-esr >/dev/null || need_apt+=(firefox-esr)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
command -v tmux >/dev/null || need_apt+=(tmux)
# Go and the Debian Go packages that ../shared/k8sreal (the Kubernetes streaming code, part
# 45-k8sreal) builds with, offline.
for p in golang-1.19-go golang-k8s-klog-dev golang-github-go-logr-logr-dev golang-k8s-utils-dev \
  golang-github-creack-pty-dev golang-github-mxk-go-flowrate-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  say "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Rust: the wasm32 target and the lint components.
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

# wasm-pack and wasm-bindgen-cli, at the versions that work together here.
if [ "$(wasm-pack --version 2>/dev/null || true)" != "wasm-pack $WASM_PACK_VERSION" ]; then
  say "cargo install wasm-pack $WASM_PACK_VERSION"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked --quiet
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # No --locked: its lock file pins a dependency version the registry here does not serve.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --quiet --force
fi

if [ "$(geckodriver --version 2>/dev/null | head -n1 | cut -d' ' -f2)" != "$GECKODRIVER_VERSION" ]; then
  say "cargo install geckodriver $GECKODRIVER_VERSION"
  cargo install geckodriver --version "$GECKODRIVER_VERSION" --locked --quiet
fi

# npm: dev tools (binaryen's wasm-opt, typescript, playwright-core) and the console's packages.
npm_ci() {
  local dir=$1
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
[ -f package-lock.json ] && npm_ci .
[ -f www/package-lock.json ] && npm_ci www
say "ready"
