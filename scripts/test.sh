#!/usr/bin/env bash
# The project's whole test command: installs what is missing, then runs every part in
# scripts/test.d/ in order and stops at the first that fails.
#   bash scripts/test.sh            every part
#   bash scripts/test.sh 20 50      only the parts whose names start with 20 or 50
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
start=$(date +%s)
parts=()
for f in scripts/test.d/*.sh; do
  name=$(basename "$f" .sh)
  if [ $# -gt 0 ]; then
    keep=
    for p in "$@"; do case "$name" in "$p"*) keep=1 ;; esac; done
    [ -n "$keep" ] || continue
  fi
  parts+=("$f")
done
for f in "${parts[@]}"; do
  name=$(basename "$f" .sh)
  t0=$(date +%s)
  echo "==== $name"
  PART=$name bash "$f"
  echo "==== $name: ok ($(( $(date +%s) - t0 )) s)"
done
echo "all ${#parts[@]} parts passed in $(( $(date +%s) - start )) s"
