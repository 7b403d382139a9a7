#!/usr/bin/env bash
# The scale table of docs/benchmarks.md: at about 0.8M, 10M and 85M parameters, on the first 200 kB of
# tinyshakespeare, one after the other: one process (2 threads), `--workers 2` (local workers, 1 thread
# each, shared memory) and the TorchSharp peer (2 threads). Prints a markdown table: tokens/s, the
# workers' per-step split (forward/backward, all-reduce, optimizer), the coordinator's CPU per step,
# and peak RSS per process.
# Run from the project root after `dotnet build -c Release`, on a quiet machine:  bash docs/scale-table.sh [0.8M 10M 85M]
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peer="$root/../shared/peers/torchsharp-gpt/run.sh"
d="${TMPDIR:-/tmp}/scale-table"; rm -rf "$d"; mkdir -p "$d"
head -c 200000 "$root/data/tinyshakespeare.txt" > "$d/small.txt"

# name layers heads width context batch steps
shapes=("0.8M 4 4 128 64 12 200" "10M 6 6 384 256 8 12" "85M 12 12 768 256 4 8")
wanted=("${@:-0.8M 10M 85M}")

rss() { awk -F: '/Maximum resident set size/ {printf "%d", $2/1024}' "$1"; }
tps() { python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["tokens_per_sec"],1))' "$1"; }
coordinator=(dotnet "$root/coordinator/bin/Release/net10.0/coordinator.dll")

echo "| params | one process tok/s | --workers 2 tok/s (x) | worker step: fwd/bwd, all-reduce, optimizer (ms) | coordinator CPU per step (ms) | peak RSS one / coordinator / worker (MB) | peer tok/s | peer peak RSS (MB) |"
echo "|---|---|---|---|---|---|---|---|"
for shape in "${shapes[@]}"; do
    read -r name layers heads width context batch steps <<<"$shape"
    [[ " ${wanted[*]} " == *" $name "* ]] || continue
    cat > "$d/$name.json" <<J
{ "num_layers": $layers, "num_heads": $heads, "embedding_size": $width, "max_sequence_length": $context, "tokenizer": "char",
  "batch_size": $batch, "max_steps": $steps, "eval_interval": 100000, "warmup_steps": 1, "eval_batches": 1 }
J
    /usr/bin/time -v "${coordinator[@]}" train --config "$d/$name.json" --data "$d/small.txt" --out "$d/$name-one" >"$d/$name-one.log" 2>&1 \
        || { tail -5 "$d/$name-one.log"; exit 1; }
    /usr/bin/time -v "${coordinator[@]}" train --config "$d/$name.json" --data "$d/small.txt" --out "$d/$name-two" --workers 2 >"$d/$name-two.log" 2>&1 \
        || { tail -5 "$d/$name-two.log"; exit 1; }
    /usr/bin/time -v bash "$peer" --data "$d/small.txt" --n-layer "$layers" --n-head "$heads" --n-embd "$width" --block-size "$context" \
        --batch-size "$batch" --max-iters "$steps" --eval-iters 1 --warmup-iters 1 --lr-decay-iters "$steps" --timing-skip 1 --log-interval 0 \
        --threads 2 >"$d/$name-peer.log" 2>&1 || { tail -5 "$d/$name-peer.log"; exit 1; }
    one=$(tps "$d/$name-one/summary.json"); two=$(tps "$d/$name-two/summary.json")
    split=$(grep -ho 'per step [0-9.]* ms forward/backward, [0-9.]* ms all-reduce (send, wait, receive), [0-9.]* ms optimizer' "$d/$name-two"/logs/worker-*.log \
        | sed -E 's/per step ([0-9.]*) ms forward\/backward, ([0-9.]*) ms all-reduce \(send, wait, receive\), ([0-9.]*) ms optimizer/\1 \/ \2 \/ \3/' | paste -sd ';' -)
    cpu=$(grep -ho 'per training step, after the first: [0-9.]* ms' "$d/$name-two/logs/coordinator.log" | grep -Eo '[0-9.]+ ms' | head -1)
    crss=$(grep -ho 'peak RSS [0-9]* MB' "$d/$name-two/logs/coordinator.log" | grep -Eo '[0-9]+' | head -1)
    wrss=$(grep -ho 'peak RSS [0-9]* MB' "$d/$name-two"/logs/worker-*.log | grep -Eo '[0-9]+' | sort -n | tail -1)
    ptps=$(grep '^{' "$d/$name-peer.log" | tail -1 | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["tokens_per_sec"],1))')
    echo "| $name ($(python3 -c "import json;print(f\"{json.load(open('$d/$name-one/summary.json'))['params']:,}\")")) | $one | $two ($(python3 -c "print(round($two/$one,2))")x) | $split | ${cpu:-?} | $(rss "$d/$name-one.log") / ${crss:-?} / ${wrss:-?} | $ptps | $(rss "$d/$name-peer.log") |"
done
echo "(logs in $d)"
