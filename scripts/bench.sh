#!/usr/bin/env bash
# The benchmark: raw WebSocket vs a hand-written JS client vs kube-exec-wasm, in one headless
# Chromium page against the devserver's bench pod, plus the native criterion benches of the core.
#
#   bash scripts/bench.sh            full run (~8-10 min with the builds): writes bench/results/latest.json,
#                                    appends to bench/results/history.jsonl, rewrites the results
#                                    block of BENCHMARKS.md
#   bash scripts/bench.sh --quick    small sizes, 1 repetition, quick criterion; prints the table,
#                                    writes bench/results/raw/quick.json only
#   options: --only bulk-64k,bulk-4k,small,rtt,base64,memory,transfer   --no-native   --no-build
#            --experiments (adds js-coalesce, an experimental coalescing variant of js-reference)
#            --reps N (repetitions per figure; default 7, --quick 1)   --clients raw,js-reference,...
#            --js-flags FLAGS (extra V8 flags, e.g. "--prof --logfile=/tmp/v8.log" for profiling)
#
# Chromium is launched directly (no DevTools client: PERFORMANCE.md), the page runs the plan and
# POSTs its results to bench/collector.py between timed windows. Loopback only; every process
# started here is stopped on exit, and the whole browser run is bounded by a timeout.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
PART=${PART:-bench}

quick=0; only=""; native=1; build=1; experiments=0; reps=0; clients=""; jsflags="--expose-gc"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --only) only=$2; shift ;;
    --no-native) native=0 ;;
    --no-build) build=0 ;;
    --experiments) experiments=1 ;;
    --reps) reps=$2; shift ;;
    --clients) clients=$2; shift ;;
    --js-flags) jsflags="$jsflags $2"; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
RUN="$ROOT/bench/results/raw/$stamp"
mkdir -p "$RUN"
pids=()
tmpdirs=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${tmpdirs[@]}"; do rm -rf "$p"; done
}
trap cleanup EXIT

# ---- build ------------------------------------------------------------------------------------
if [ "$build" = 1 ]; then
  if [ -f scripts/build-pkg.sh ]; then
    log "building the release package (scripts/build-pkg.sh web)"
    bash scripts/build-pkg.sh web >"$RUN/build-pkg.log" 2>&1 || { tail -30 "$RUN/build-pkg.log" >&2; exit 1; }
  else
    log "scripts/build-pkg.sh not there yet: kube-exec-wasm is left out of this run"
  fi
  log "building the devserver (release)"
  cargo build -q --release -p kube-exec-devserver --bin kube-exec-devserver
fi
# BENCH_DEVSERVER: another server binary with the devserver's CLI, taking the token from
# KEW_DEVSERVER_TOKEN (default: the release build).
DEVSERVER=${BENCH_DEVSERVER:-$ROOT/target/release/kube-exec-devserver}
[ -x "$DEVSERVER" ] || { log "no $DEVSERVER (run without --no-build)"; exit 1; }

# ---- the page's origin: bench/page + pkg/ ---------------------------------------------------
WWW=$(mktemp -d); tmpdirs+=("$WWW")
cp bench/page/*.html bench/page/*.js "$WWW/"
# BENCH_PKG: serve another build of the package instead of pkg/ (e.g. a variant being tuned).
PKG=${BENCH_PKG:-$ROOT/pkg}
if [ -f "$PKG/kube_exec_wasm.js" ]; then cp -r "$PKG" "$WWW/pkg"; fi
# BENCH_VARIANTS="name=dir ...": more builds of the package, each run as client kube-exec-wasm@name.
variants=""
for v in ${BENCH_VARIANTS:-}; do
  cp -r "${v#*=}" "$WWW/pkg-${v%%=*}"
  variants+="${variants:+,}${v%%=*}"
done

# ---- collector, devserver, browser ------------------------------------------------------------
TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
CONFIG="$RUN/config.json"   # holds the token: removed on exit
tmpdirs+=("$CONFIG")
echo '{}' >"$CONFIG"
timeout_s=$([ "$quick" = 1 ] && echo 180 || echo 720)

python3 bench/collector.py --root "$WWW" --config "$CONFIG" --out "$RUN" --timeout "$timeout_s" \
  >"$RUN/collector.out" 2>"$RUN/page.log" &
pids+=($!)
COLLECTOR_PID=$!
for _ in $(seq 1 100); do
  COLLECTOR=$(grep -m1 -o 'http://127.0.0.1:[0-9]*' "$RUN/collector.out" 2>/dev/null) && break
  sleep 0.05
done
[ -n "${COLLECTOR:-}" ] || { log "collector did not start"; cat "$RUN/page.log" >&2; exit 1; }

KEW_DEVSERVER_TOKEN=$TOKEN "$DEVSERVER" --bench --listen 127.0.0.1:0 --allow-origin "$COLLECTOR" \
  >"$RUN/devserver.log" 2>&1 &
pids+=($!)
DEVSERVER_PID=$!
SERVER=""
for _ in $(seq 1 200); do
  SERVER=$(grep -m1 -o 'listening on http://[0-9.:]*' "$RUN/devserver.log" 2>/dev/null | sed 's/^listening on //') && break
  kill -0 "$DEVSERVER_PID" 2>/dev/null || break
  sleep 0.05
done
[ -n "$SERVER" ] || { log "devserver did not start"; cat "$RUN/devserver.log" >&2; exit 1; }

write_config() {
  python3 - "$CONFIG" "$@" <<'EOF'
import json, sys
path, server, token, quick, only, exp, reps, clients, variants, dpid, bpid = sys.argv[1:]
json.dump({"server": server, "token": token, "quick": quick == "1", "only": only or None, "experiments": exp == "1", "reps": int(reps), "clients": clients or None, "variants": variants or None,
           "devserver_pid": int(dpid), "browser_pid": int(bpid or 0)}, open(path, "w"))
EOF
}
write_config "$SERVER" "$TOKEN" "$quick" "$only" "$experiments" "$reps" "$clients" "$variants" "$DEVSERVER_PID" ""

PROFILE=$(mktemp -d); tmpdirs+=("$PROFILE")
log "devserver $SERVER (pid $DEVSERVER_PID), page $COLLECTOR, chromium $(chromium --version 2>/dev/null | awk '{print $2}')"
cd "$RUN"   # the browser's working directory: any log it writes (e.g. V8 profiles) stays in the run's folder
chromium --headless=new --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --no-default-browser-check \
  --disable-extensions --disable-dev-shm-usage --disable-renderer-backgrounding \
  --disable-background-timer-throttling --disable-backgrounding-occluded-windows \
  --enable-precise-memory-info --js-flags="$jsflags" \
  --enable-blink-features=ForceEagerMeasureMemory \
  --user-data-dir="$PROFILE" "$COLLECTOR/" >"$RUN/chromium.log" 2>&1 &
pids+=($!)
BROWSER_PID=$!
cd "$ROOT"
write_config "$SERVER" "$TOKEN" "$quick" "$only" "$experiments" "$reps" "$clients" "$variants" "$DEVSERVER_PID" "$BROWSER_PID"

# The page reports progress to page.log; wait for its "done" (or the collector's timeout).
tail -n +1 -f "$RUN/page.log" --pid "$COLLECTOR_PID" &
TAIL_PID=$!
wait "$COLLECTOR_PID" || true
kill "$TAIL_PID" 2>/dev/null || true
wait "$TAIL_PID" 2>/dev/null || true
kill "$BROWSER_PID" 2>/dev/null || true
kill "$DEVSERVER_PID" 2>/dev/null || true
rm -f "$CONFIG"
[ -f "$RUN/done.json" ] || { log "the page did not finish within ${timeout_s}s (see $RUN)"; exit 1; }

# ---- native criterion benches -----------------------------------------------------------------
if [ "$native" = 1 ]; then
  log "native criterion benches (bench/native)"
  cargs=(--noplot)
  [ "$quick" = 1 ] && cargs+=(--quick)
  cargo bench -q --manifest-path bench/native/Cargo.toml -- "${cargs[@]}" >"$RUN/native.log" 2>&1 \
    || { tail -30 "$RUN/native.log" >&2; exit 1; }
fi

# ---- report -----------------------------------------------------------------------------------
machine=$(printf '%s cores, %s, %s' "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(chromium --version 2>/dev/null)")
cmd="bash scripts/bench.sh"; [ "$quick" = 1 ] && cmd+=" --quick"; [ -n "$only" ] && cmd+=" --only $only"
[ "$build" = 0 ] && cmd+=" --no-build"; [ "$native" = 0 ] && cmd+=" --no-native"
args=(--run "$RUN" --command "$cmd" --machine "$machine" --pkg "$PKG" --jsref bench/page/js-reference.js)
# js-reference minified the way build-pkg.sh minifies the package's glue (terser, if installed).
if [ -x node_modules/.bin/terser ] &&
   terser bench/page/js-reference.js --module --compress --mangle -o "$RUN/js-reference.min.js" 2>/dev/null; then
  args+=(--jsref-min "$RUN/js-reference.min.js")
fi
[ "$native" = 1 ] && args+=(--criterion bench/native/target/criterion)
if [ "$quick" = 1 ] || [ -n "$only" ] || [ "$reps" != 0 ] || [ "$experiments" = 1 ] || [ -n "$clients" ] || [ -n "$variants" ]; then
  python3 bench/report.py "${args[@]}" --json "$ROOT/bench/results/raw/quick.json"
else
  python3 bench/report.py "${args[@]}" --json "$ROOT/bench/results/latest.json" --markdown "$ROOT/BENCHMARKS.md" \
    --history "$ROOT/bench/results/history.jsonl"
fi
# File transfer (upload/download beside plain cat), when the run had it: printed, and written
# into BENCHMARKS.md's transfer block by a full run or by `--only transfer` alone.
if grep -q '"kind": "transfer"' "$RUN/results.jsonl" 2>/dev/null; then
  targs=(--run "$RUN" --command "$cmd" --machine "$machine")
  if [ "$quick" = 0 ] && { [ -z "$only" ] || [ "$only" = transfer ]; } && [ "$reps" = 0 ]; then
    targs+=(--markdown "$ROOT/BENCHMARKS.md")
  fi
  python3 bench/transfer_report.py "${targs[@]}" || log "file transfer: below 0.8x of plain cat (see above)"
fi
log "raw data: $RUN"
