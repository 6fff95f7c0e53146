#!/usr/bin/env bash
# s8net beside PyTorch, BN vs GN vs LN, on one machine in one session:
#   bench/compare_with_pytorch.sh BIN_DIR OUT_DIR [ROUNDS]      (default 5 rounds, ~1.5 min each)
# Each round times, norm by norm, bench_train's TrainStep and Inference cases and then the same
# cases in bench/pytorch_reference.py, so that both see the same drift of a shared machine; then
# bench_norms runs once and bench_report writes OUT_DIR/bench.md and OUT_DIR/bench.png from each
# case's median round. Needs Debian's python3-torch (apt-get install python3-torch).
set -euo pipefail
usage="usage: $0 BIN_DIR OUT_DIR [ROUNDS]  (BIN_DIR: build/ci/bin or build/release/bin)"
bin=${1:?$usage}
out=${2:?$usage}
rounds=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3  # Debian's interpreter, the one python3-torch installs into

[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "$0: ROUNDS must be a positive integer, got '$rounds'" >&2; exit 2; }
for tool in bench_train bench_norms bench_report; do
  [ -x "$bin/$tool" ] || { echo "$0: $bin/$tool is missing: build first (cmake --build --preset ci)" >&2; exit 1; }
done
"$python" -c "import torch" 2>/dev/null ||
  { echo "$0: $python cannot import torch: apt-get install python3-torch" >&2; exit 1; }

# Runs a command with its output in a log file of OUT_DIR, shown only if the command fails.
quietly() {
  local log="$out/$1.log"
  shift
  "$@" > "$log" 2>&1 || { cat "$log" >&2; echo "$0: failed: $*" >&2; exit 1; }
}

mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
  for norm in bn gn ln; do
    echo "round $round/$rounds, $norm: s8net, then PyTorch"
    quietly "s8net-$norm-$round" "$bin/bench_train" --benchmark_filter="^(TrainStep|Inference)/$norm/" \
      --benchmark_min_time=1 --benchmark_out="$out/s8net-$norm-$round.json" --benchmark_out_format=json
    quietly "pytorch-$norm-$round" "$python" "$here/pytorch_reference.py" --filter="^(TrainStep|Inference)/$norm/" \
      --min-time=1 --out="$out/pytorch-$norm-$round.json"
  done
done
echo "norm kernels alone"
quietly norms "$bin/bench_norms" --benchmark_out="$out/norms.json" --benchmark_out_format=json
"$bin/bench_report" --out "$out" "$out"/s8net-*.json "$out"/pytorch-*.json "$out/norms.json"
