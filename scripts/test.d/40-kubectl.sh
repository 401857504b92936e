#!/usr/bin/env bash
# Real kubectl as the reference client: kubectl 1.33, 1.31 and 1.30 (WebSocket v5 by default)
# against the devserver over https, through the kubeconfig it writes (kubectl sends its bearer
# token only over https). Interactive sessions run in tmux, one server on its own socket.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

if ! command -v kubectl >/dev/null 2>&1; then
  log "SKIP: no kubectl installed, so there is no reference client to check the devserver with"
  exit 0
fi
KDIR=$(dirname "$(readlink -f "$(command -v kubectl)")")
KUBECTLS=()
for v in 1.33 1.31 1.30; do
  [ -x "$KDIR/kubectl.$v" ] && KUBECTLS+=("$KDIR/kubectl.$v")
done
if [ ${#KUBECTLS[@]} -eq 0 ]; then
  log "kubectl.1.33/1.31/1.30 not found next to kubectl; checking plain kubectl only"
  KUBECTLS=("$(command -v kubectl)")
fi
command -v tmux >/dev/null 2>&1 || { log "tmux is needed for the interactive checks (scripts/setup.sh installs it)"; exit 1; }

WORK=$(mktemp -d)
KC="$WORK/kubeconfig"
SOCK="kew-kubectl-$$"
start_devserver kubectl --tls --write-kubeconfig "$KC"
cleanup() {
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  kill "$DEVSERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
case "$DEVSERVER_URL" in https://*) ;; *) log "expected an https devserver, got $DEVSERVER_URL"; exit 1 ;; esac

passed=0
failed=0
ok() { passed=$((passed + 1)); log "ok   $*"; }
bad() { failed=$((failed + 1)); log "FAIL $*"; }

# wait_pane SESSION PATTERN: polls (up to 15 s) until the tmux pane shows a line matching PATTERN.
pane() { tmux -L "$SOCK" capture-pane -p -J -t "$1" 2>/dev/null || true; }
wait_pane() {
  local target=$1 pattern=$2 i
  for i in $(seq 1 75); do
    pane "$target" | grep -Eq -- "$pattern" && return 0
    sleep 0.2
  done
  return 1
}
wait_file() {
  local f=$1 i
  for i in $(seq 1 75); do
    [ -s "$f" ] && return 0
    sleep 0.2
  done
  return 1
}

sizes=("31 97" "29 101" "27 89")
idx=0
for K in "${KUBECTLS[@]}"; do
  v=$(basename "$K")
  kc=("$K" --kubeconfig "$KC" --cache-dir "$WORK/cache-$v")
  kcs="$K --kubeconfig $KC --cache-dir $WORK/cache-$v"

  # 1. exec: stdout and stderr both printed, the exit code passed on.
  set +e
  out=$("${kc[@]}" exec demo -- sh -c 'echo out; echo err >&2; exit 7' 2>"$WORK/err-$v")
  rc=$?
  set -e
  if [ "$rc" -eq 7 ] && [ "$out" = "out" ] && grep -qx 'err' "$WORK/err-$v"; then
    ok "$v exec: stdout 'out', stderr 'err', exit 7"
  else
    bad "$v exec: rc=$rc stdout=$(printf %q "$out") stderr=$(printf %q "$(cat "$WORK/err-$v")")"
  fi

  # 1b. ';' in argv elements: kubectl percent-encodes it (%3B), so no parameter is dropped (the
  #     devserver, like Go's net/url, drops a query pair holding a raw ';').
  set +e
  out=$("${kc[@]}" exec demo -- echo 'a;b' ';' 'c;;d' 2>"$WORK/err-$v")
  rc=$?
  set -e
  if [ "$rc" -eq 0 ] && [ "$out" = "a;b ; c;;d" ]; then
    ok "$v exec: argv with ';' arrives whole"
  else
    bad "$v exec with ';': rc=$rc stdout=$(printf %q "$out") stderr=$(cat "$WORK/err-$v")"
  fi

  # 2. stdin: piped input reaches cat, and its EOF (v5 CLOSE) ends it.
  set +e
  out=$(printf hi | "${kc[@]}" exec -i demo -- cat 2>"$WORK/err-$v")
  rc=$?
  set -e
  if [ "$rc" -eq 0 ] && [ "$out" = "hi" ]; then
    ok "$v exec -i: stdin 'hi' echoed, exit 0"
  else
    bad "$v exec -i: rc=$rc stdout=$(printf %q "$out") stderr=$(cat "$WORK/err-$v")"
  fi

  # 3. exec -it in tmux: stty size shows the pane's size; exit 3 gives exit code 3.
  read -r rows cols <<<"${sizes[$idx]}"
  idx=$((idx + 1))
  s="exec-${v//./-}"
  rcf="$WORK/rc-exec-$v"
  tmux -L "$SOCK" new-session -d -s "$s" -x "$cols" -y "$rows" \
    "$kcs exec -it demo -- sh; echo \$? > $rcf; sleep 120"
  real=$(tmux -L "$SOCK" display -p -t "$s" '#{pane_height} #{pane_width}')
  if wait_pane "$s" '[#$] $'; then
    tmux -L "$SOCK" send-keys -t "$s" 'stty size' Enter
    if wait_pane "$s" "^$real\$"; then
      ok "$v exec -it: stty size shows the tmux pane's size ($real)"
    else
      bad "$v exec -it: stty size did not show '$real'; pane: $(pane "$s" | tr '\n' '|')"
    fi
    tmux -L "$SOCK" send-keys -t "$s" 'exit 3' Enter
    if wait_file "$rcf" && [ "$(cat "$rcf")" = 3 ]; then
      ok "$v exec -it: exit 3 gives exit code 3"
    else
      bad "$v exec -it: exit code $(cat "$rcf" 2>/dev/null || echo none), expected 3; pane: $(pane "$s" | tr '\n' '|')"
    fi
  else
    bad "$v exec -it: no shell prompt; pane: $(pane "$s" | tr '\n' '|')"
    failed=$((failed + 1))
  fi

  # 4. attach -it in tmux: joins the demo pod's main shell; exit ends the attach with 0.
  s="attach-${v//./-}"
  rcf="$WORK/rc-attach-$v"
  tmux -L "$SOCK" new-session -d -s "$s" -x 90 -y 25 "$kcs attach -it demo; echo \$? > $rcf; sleep 120"
  if wait_pane "$s" "If you don't see a command prompt"; then
    tmux -L "$SOCK" send-keys -t "$s" 'echo attached-$((6*7))' Enter
    if wait_pane "$s" '^attached-42$'; then
      ok "$v attach -it: the main shell answers"
    else
      bad "$v attach -it: no answer; pane: $(pane "$s" | tr '\n' '|')"
    fi
    tmux -L "$SOCK" send-keys -t "$s" 'exit' Enter
    if wait_file "$rcf" && [ "$(cat "$rcf")" = 0 ]; then
      ok "$v attach -it: exit of the main process ends the attach with 0"
    else
      bad "$v attach -it: exit code $(cat "$rcf" 2>/dev/null || echo none), expected 0"
    fi
  else
    bad "$v attach -it: did not start; pane: $(pane "$s" | tr '\n' '|')"
    failed=$((failed + 1))
  fi

  # 5. attach -i to the echo pod (cat, no TTY): what we type comes back. The attach stays
  #    open after stdin ends (as on a cluster), so timeout ends kubectl.
  set +e
  out=$( (printf 'ping-%s\n' "$v"; sleep 1.5) | timeout 5 "${kc[@]}" attach -i echo 2>/dev/null)
  set -e
  if printf '%s\n' "$out" | grep -qx "ping-$v"; then
    ok "$v attach -i: stdin echoed by the echo pod's main process"
  else
    bad "$v attach -i: got $(printf %q "$out")"
  fi

  # 6. A wrong token fails.
  sed 's/^\( *token:\).*/\1 "wrong-token"/' "$KC" >"$WORK/wrong-kubeconfig"
  set +e
  out=$("$K" --kubeconfig "$WORK/wrong-kubeconfig" --cache-dir "$WORK/cache-wrong-$v" exec demo -- echo should-not-run 2>&1)
  rc=$?
  set -e
  if [ "$rc" -ne 0 ] && ! printf '%s' "$out" | grep -q should-not-run && printf '%s' "$out" | grep -q "You must be logged in to the server"; then
    ok "$v wrong token: refused ($(printf '%s' "$out" | tail -1))"
  else
    bad "$v wrong token: rc=$rc output=$(printf %q "$out")"
  fi
done

# kubectl talked WebSocket v5 (its default since 1.30), not the SPDY fallback.
log_file="$ARTIFACTS/kubectl.devserver.log"
if grep -q 'exec default/demo/shell v5 start' "$log_file" && grep -q 'attach default/demo/shell v5 start' "$log_file"; then
  ok "kubectl used WebSocket v5.channel.k8s.io for exec and attach"
else
  bad "no v5 exec/attach sessions in the devserver log"
fi

if grep -q "holds a raw ';'" "$log_file"; then
  bad "kubectl sent a query with a raw ';'"
else
  ok "kubectl sent no raw ';' in any query"
fi

if grep -q 'wrong-token' "$ARTIFACTS/kubectl.devserver.log" || grep -qF "$(sed -n 's/^ *token: "\(.*\)"/\1/p' "$KC")" "$ARTIFACTS/kubectl.devserver.log"; then
  bad "the devserver log shows a token"
else
  ok "the devserver log shows no token"
fi

echo "kubectl: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
