#!/usr/bin/env bash
# Prints the package's .wasm and JS glue sizes, raw and gzipped (-9), and fails above the
# budget. Reads pkg/ (run scripts/build-pkg.sh first).
#   bash scripts/size.sh [PKG_DIR]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
dir=${1:-pkg}

# Budget, gzipped (-9), wasm + all JS (glue + snippets). The issue's aim is 30 KiB; the package
# is about 55.7 KiB (57,046 B at 20:10: wasm ~50.6 KiB gz, the core's URL/JSON/base64/status
# code, std's fmt for the panic hook and Display, and the glue; JS ~6.3 KiB minified), so the
# budget sits just above that, to catch regressions rather than to claim the aim.
BUDGET_GZ=${KEW_SIZE_BUDGET_GZ:-58000}

[ -f "$dir/kube_exec_wasm_bg.wasm" ] || { log "no $dir/kube_exec_wasm_bg.wasm: run scripts/build-pkg.sh" >&2; exit 1; }
gz() { gzip -9 -c "$@" | wc -c; }
raw() { cat "$@" | wc -c; }
js=("$dir/kube_exec_wasm.js")
while IFS= read -r f; do js+=("$f"); done < <(find "$dir/snippets" -name '*.js' 2>/dev/null | sort)
wasm_raw=$(raw "$dir/kube_exec_wasm_bg.wasm"); wasm_gz=$(gz "$dir/kube_exec_wasm_bg.wasm")
js_raw=$(raw "${js[@]}"); js_gz=$(cat "${js[@]}" | gzip -9 -c | wc -c)
total_gz=$((wasm_gz + js_gz))
printf '%-28s %9s %9s\n' "file" "raw" "gzip -9"
printf '%-28s %9d %9d\n' "kube_exec_wasm_bg.wasm" "$wasm_raw" "$wasm_gz"
printf '%-28s %9d %9d\n' "JS (glue + snippets)" "$js_raw" "$js_gz"
printf '%-28s %9d %9d   budget %d gz (%s KiB)\n' "total" $((wasm_raw + js_raw)) "$total_gz" "$BUDGET_GZ" \
  "$(awk "BEGIN{printf \"%.1f\", $BUDGET_GZ/1024}")"
if [ "$total_gz" -gt "$BUDGET_GZ" ]; then
  log "size budget exceeded: $total_gz > $BUDGET_GZ bytes gzipped" >&2
  exit 1
fi
log "size within budget: $total_gz <= $BUDGET_GZ bytes gzipped"
