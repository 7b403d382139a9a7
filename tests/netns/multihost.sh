#!/usr/bin/env bash
# Multi-host test on one machine: a coordinator and two workers, each in its own network namespace,
# connected by veth pairs (coordinator 10.77.1.1 <-> worker 1 10.77.1.2, 10.77.2.1 <-> worker 2 10.77.2.2).
# After the first epoch, worker 2's link is cut; the coordinator must drop it and finish the run with
# worker 1, and worker 2 must give up on the coordinator.
#
# Needs root and iproute2 (skips with "multihost: skipped: <reason>" and exit 0 otherwise) and a
# Release build (run `dotnet build Distributed.sln -c Release` first; this script builds nothing).
# Only touches the namespaces and veths it creates. KEEP_LOGS=1 keeps the temporary directory.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/../.." && pwd)
coordinator_dll=$repo/coordinator/bin/Release/net10.0/coordinator.dll
worker_dll=$repo/worker/bin/Release/net10.0/worker.dll

BUDGET=85          # seconds: no wait goes past start + BUDGET (then 3 s of cleanup at most)
TIMEOUT=5          # --timeout of coordinator and workers: seconds of silence before a peer counts as lost
PORT=50051         # inside the coordinator's namespace, so no clash with anything on the host
DATA_PORT=50052    # the raw TCP data plane's, same namespace
EPOCHS=10          # the cut comes after the first; with one worker left the rest go fast
start_time=$SECONDS

log() { printf 'multihost: %s\n' "$*"; }
skip() { log "skipped: $*"; exit 0; }

# ------------------------------------------------------------------ preconditions

for binary in "$coordinator_dll" "$worker_dll"; do
    if [[ ! -f $binary ]]; then
        log "FAIL: $binary is missing; run \`dotnet build Distributed.sln -c Release\` in $repo first" >&2
        exit 1
    fi
done
# `dotnet x.dll` when the muxer is on PATH, else the apphost next to the dll.
run_coordinator=(dotnet "$coordinator_dll")
run_worker=(dotnet "$worker_dll")
if ! command -v dotnet >/dev/null 2>&1; then
    run_coordinator=("${coordinator_dll%.dll}")
    run_worker=("${worker_dll%.dll}")
    [[ -x ${run_coordinator[0]} && -x ${run_worker[0]} ]] \
        || { log "FAIL: no dotnet on PATH and no apphost next to the dlls" >&2; exit 1; }
fi

[[ $(id -u) -eq 0 ]] || skip "not root (network namespaces need root)"
command -v ip >/dev/null 2>&1 || skip "no ip command (install iproute2)"
ip netns list >/dev/null 2>&1 || skip "ip netns is not supported here"

# ------------------------------------------------------------------ cleanup

ns_c=dgpt-c-$$
ns_w1=dgpt-w1-$$
ns_w2=dgpt-w2-$$
namespaces=()
pids=()
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dgpt-multihost.XXXXXX")

cleanup() {
    local status=$? pid ns deadline
    trap - EXIT INT TERM
    # Only processes this script started and has not reaped yet; disown: no "Killed" job reports.
    for pid in "${pids[@]}"; do
        disown "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
    done
    deadline=$((SECONDS + 3))
    for pid in "${pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    for ns in "${namespaces[@]}"; do
        # Anything still running inside a namespace this script created was started by it.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        # Deleting a namespace also deletes its veth ends (and so their peers).
        ip netns delete "$ns" 2>/dev/null || true
    done
    if [[ ${KEEP_LOGS:-0} == 1 ]]; then
        log "logs kept in $tmp"
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ topology

for ns in "$ns_c" "$ns_w1" "$ns_w2"; do
    if ! err=$(ip netns add "$ns" 2>&1); then
        skip "ip netns add failed: ${err//$'\n'/ }"
    fi
    namespaces+=("$ns")
    ip -n "$ns" link set lo up
done
# Each veth is created directly inside its namespaces: nothing appears in the host's namespace.
link() { # link <index> <worker namespace>
    local i=$1 ns=$2 err
    if ! err=$(ip link add "to-w$i" netns "$ns_c" type veth peer name to-c netns "$ns" 2>&1); then
        skip "cannot create a veth pair: ${err//$'\n'/ }"
    fi
    ip -n "$ns_c" addr add "10.77.$i.1/30" dev "to-w$i"
    ip -n "$ns" addr add "10.77.$i.2/30" dev to-c
    ip -n "$ns_c" link set "to-w$i" up
    ip -n "$ns" link set to-c up
}
link 1 "$ns_w1"
link 2 "$ns_w2"

# ------------------------------------------------------------------ helpers

# by <seconds since start>: that moment as a deadline, capped by the overall budget.
by() { local t=$((start_time + $1)) cap=$((start_time + BUDGET)); echo $((t < cap ? t : cap)); }
# wait_until <deadline (a $SECONDS value)> <command...>: polls every 0.2 s; status 1 on timeout.
wait_until() {
    local deadline=$1
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}
in_log() { grep -Eq -- "$2" "$1" 2>/dev/null; }
exited() { ! kill -0 "$1" 2>/dev/null; }
# reap <pid>: sets rc to the exit status of a background process that has exited (not in a
# subshell: only this shell can wait for its children).
reap() {
    local p kept=()
    rc=0
    wait "$1" || rc=$?
    for p in "${pids[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
    pids=("${kept[@]}")
}

failures=()
checks=()
check() { # check <ok?> <description>
    if [[ $1 == ok ]]; then checks+=("$2"); else failures+=("$2"); fi
}

show_logs() {
    local f
    for f in coordinator w1 w2; do
        echo "----- $f.log (last 25 lines)"
        tail -n 25 "$tmp/$f.log" 2>/dev/null || true
    done
}

fail_now() {
    log "FAIL: $*"
    show_logs
    exit 1
}

# ------------------------------------------------------------------ run

cat >"$tmp/config.json" <<EOF
{"num_layers":1,"num_heads":2,"embedding_size":32,"max_sequence_length":16,"batch_size":8,
 "num_epochs":$EPOCHS,"eval_interval":50,"learning_rate":3e-3,"warmup_steps":5}
EOF
# About 40 KB of simple sentences, made here.
{
    animals=(cat dog fox owl hen cow)
    things=(mat log box hat bed cup)
    for ((i = 0; i < 900; i++)); do
        printf 'the %s sat on the %s.\n' "${animals[i % 6]}" "${things[(i / 6) % 6]}"
    done
} >"$tmp/data.txt"

token=multihost-$$-$RANDOM$RANDOM
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 NO_COLOR=1 TERM=dumb

ip netns exec "$ns_c" "${run_coordinator[@]}" serve --port "$PORT" --data-port "$DATA_PORT" --bind 0.0.0.0 \
    --workers 2 --min-workers 1 --timeout "$TIMEOUT" \
    --config "$tmp/config.json" --data "$tmp/data.txt" --out "$tmp/out" --token "$token" \
    </dev/null >"$tmp/coordinator.log" 2>&1 &
coordinator_pid=$!
pids+=("$coordinator_pid")

wait_until "$(by 20)" in_log "$tmp/coordinator.log" 'Coordinator listening' \
    || fail_now "the coordinator did not start listening within 20 s"

# --rejoin-timeout 0: the worker whose link is cut exits once its coordinator is silent for the timeout,
# instead of trying to rejoin it (tests/Cluster/RestartTests.cs covers rejoining).
start_worker() { # start_worker <index> <namespace>
    ip netns exec "$2" "${run_worker[@]}" --coordinator "http://10.77.$1.1:$PORT" --token "$token" \
        --threads 1 --name "w$1" --health-port 0 --timeout 20 --rejoin-timeout 0 --transport tcp \
        </dev/null >"$tmp/w$1.log" 2>&1 &
    pids+=("$!")
}
start_worker 1 "$ns_w1"
w1_pid=${pids[-1]}
start_worker 2 "$ns_w2"
w2_pid=${pids[-1]}

wait_until "$(by 40)" in_log "$tmp/coordinator.log" 'All 2 workers joined' \
    || fail_now "the two workers had not joined 40 s after the start"
total_steps=$(grep -Eo 'training [0-9]+ steps' "$tmp/coordinator.log" | head -n 1 | grep -Eo '[0-9]+' || true)

# The progress display wraps long lines, so only the start of an epoch line is matched.
epoch_line='step +[0-9]+ +epoch +[0-9]+ +train loss'
wait_until "$(by 60)" in_log "$tmp/coordinator.log" "$epoch_line" \
    || fail_now "no epoch line in the coordinator log 60 s after the start"
exited "$coordinator_pid" && fail_now "the coordinator exited before the link could be cut (run too short)"

# Cut worker 2's link on the coordinator's side.
ip -n "$ns_c" link set to-w2 down
cut_at=$((SECONDS - start_time))
log "cut worker 2's link ${cut_at} s after the start, after the coordinator's first epoch line: $(grep -Eo "$epoch_line [0-9.]+" "$tmp/coordinator.log" | head -n 1 | tr -s ' ')"

# ------------------------------------------------------------------ checks

lost_line='Lost rank [0-9]+ \(w2,'
since_cut() { echo $((SECONDS - start_time - cut_at)); }
if wait_until "$(by $((cut_at + TIMEOUT + 10)))" in_log "$tmp/coordinator.log" "$lost_line"; then
    check ok "coordinator dropped w2 $(since_cut) s after the cut (limit $((TIMEOUT + 10)) s)"
    if wait_until "$(by $((cut_at + TIMEOUT + 15)))" in_log "$tmp/coordinator.log" 'Re-sharded: .* 1 workers'; then
        check ok "re-sharded onto 1 worker"
    else
        check fail "coordinator did not re-shard onto the remaining worker after dropping w2"
    fi
else
    check fail "coordinator did not log 'Lost rank N (w2, ...)' within $((TIMEOUT + 10)) s of the cut"
fi
if in_log "$tmp/coordinator.log" 'Lost (rank [0-9]+ )?\(?w1[ ,]'; then
    check fail "coordinator also dropped w1"
fi

if wait_until "$(by $((cut_at + TIMEOUT + 15)))" exited "$w2_pid"; then
    reap "$w2_pid"
    if [[ $rc -ne 0 ]]; then
        check ok "w2 exited $rc (lost the coordinator) $(since_cut) s after the cut (limit $((TIMEOUT + 15)) s)"
    else
        check fail "w2 exited 0 although its link was cut"
    fi
else
    check fail "w2 still running $(since_cut) s after the cut"
fi

if wait_until "$(by $((cut_at + 45)))" exited "$coordinator_pid"; then
    reap "$coordinator_pid"
    if [[ $rc -eq 0 ]]; then check ok "coordinator exited 0 $(since_cut) s after the cut"; else check fail "coordinator exited $rc"; fi
else
    check fail "coordinator still running $(since_cut) s after the cut"
fi

summary=$tmp/out/summary.json
if [[ -f $summary ]]; then
    json=$(tr -d ' \n\r\t' <"$summary")
    if [[ $json == *'"interrupted":false'* ]]; then
        check ok "summary.json: interrupted false"
    else
        check fail "summary.json: not \"interrupted\": false: $json"
    fi
    val_loss=$(grep -Eo '"val_loss":[^,}]*' <<<"$json" | head -n 1 | cut -d: -f2 || true)
    if [[ $val_loss =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then
        check ok "summary.json: val_loss $val_loss"
    else
        check fail "summary.json: val_loss is not a finite number: '${val_loss}'"
    fi
    steps=$(grep -Eo '"steps":[0-9]+' <<<"$json" | head -n 1 | cut -d: -f2 || true)
    if [[ -n $total_steps && ${steps:-} == "$total_steps" ]]; then
        check ok "summary.json: all $steps steps done"
    else
        check fail "summary.json: steps '${steps:-}' but the run planned '${total_steps:-?}'"
    fi
else
    check fail "no summary.json in the output directory"
fi

if wait_until "$(by $((SECONDS - start_time + 10)))" exited "$w1_pid"; then
    reap "$w1_pid"
    if [[ $rc -eq 0 ]]; then check ok "w1 exited 0"; else check fail "w1 exited $rc"; fi
    # These workers stand for other machines (same /dev/shm here, so they are told to use the raw TCP data plane): the network path.
    if in_log "$tmp/coordinator.log" 'w1.*gradients over tcp'; then check ok "w1's gradients went over the network (tcp)"; else check fail "w1 did not use the tcp data plane"; fi
    # The worker's per-assignment timing line: the all-reduce's share of each step, over the veths.
    reduce_ms=$(grep -Eo '[0-9.]+ ms all-reduce' "$tmp/w1.log" | tail -n 1 | grep -Eo '^[0-9.]+' || true)
    [[ -z $reduce_ms ]] || log "w1: ${reduce_ms} ms all-reduce per step (its last assignment, tcp over a veth)"
else
    check fail "w1 still running 10 s after the coordinator ended (or the time budget ran out)"
fi

elapsed=$((SECONDS - start_time))
if ((${#failures[@]} == 0)); then
    log "PASS in ${elapsed} s: $(IFS=';'; echo "${checks[*]}" | sed 's/;/; /g')"
    exit 0
fi
# The logs first and the verdict last, so the end of a CI log says what failed.
show_logs
((${#checks[@]} == 0)) || log "passed: $(IFS=';'; echo "${checks[*]}" | sed 's/;/; /g')"
for f in "${failures[@]}"; do log "FAIL: $f"; done
log "FAIL in ${elapsed} s (${#failures[@]} failed checks)"
exit 1
