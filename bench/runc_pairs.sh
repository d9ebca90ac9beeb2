#!/bin/bash
# Same-hour pairs of our batch-1 decoding against llama2.c's own run.c (issue 15's fp32 baseline).
# usage: bench/runc_pairs.sh N [L2C_DIR]
#   L2C_DIR (default /tmp/l2c) holds llama2.c's run.c built as `gcc -Ofast -march=native -fopenmp -o run run.c -lm`
#   and model.bin + tok.bin from ../shared/bench/llama2c_random_model.py (the 'small' llama shape).
# Each pair runs `llm bench --only generate --threads 2 --repeats 3` and then run.c twice (greedy, -t 0, and its
# default top-p), and prints like against like: our greedy line vs run -t 0, our top-p line vs run's default.
set -euo pipefail
N=${1:-5}; L2C=${2:-/tmp/l2c}; LLM=${LLM:-.build/release/llm}
if [ ! -x "$L2C/run" ] || [ ! -f "$L2C/model.bin" ]; then
  echo "error: no $L2C/run or $L2C/model.bin (see the usage above)" >&2; exit 1
fi
rate() { awk '{for (i = 1; i <= NF; i++) if ($i == "tokens/s") { print $(i - 1); exit }}'; }
for i in $(seq "$N"); do
  out=$("$LLM" bench --only generate --threads 2 --repeats 3 --json /tmp/runc_pairs.json 2>&1)
  ours_top_p=$(echo "$out" | grep 'llama-small.*KV cache, 2 threads' | rate)
  ours_greedy=$(echo "$out" | grep 'llama-small.*KV cache, greedy, 2 threads' | rate)
  runc() { (cd "$L2C" && OMP_NUM_THREADS=2 ./run model.bin -z tok.bin -n 200 "$@" 2>&1 \
            | grep -ao 'achieved tok/s: [0-9.]*' | awk '{print $3}'); }
  runc_greedy=$(runc -t 0); runc_top_p=$(runc)
  echo "pair $i: greedy ours $ours_greedy vs run.c -t 0 $runc_greedy" \
       "($(echo "$ours_greedy $runc_greedy" | awk '{printf "%.2f", $1 / $2}')×);" \
       "top-p ours $ours_top_p vs run.c $runc_top_p" \
       "($(echo "$ours_top_p $runc_top_p" | awk '{printf "%.2f", $1 / $2}')×)"
done
