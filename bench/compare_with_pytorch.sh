#!/usr/bin/env bash
# s8net beside its references, BN vs GN vs LN, on one machine in one session:
#   bench/compare_with_pytorch.sh [--min-time S] [--ort-dir DIR] [--no-onnxruntime] BIN_DIR OUT_DIR [ROUNDS]
# (default 5 rounds, 1 s per case). The references: PyTorch eager, PyTorch channels_last and, for
# inference, frozen TorchScript (bench/pytorch_reference.py), and ONNX Runtime's inference
# (bench/onnxruntime_reference.js). Each round times, per instruction set and norm by norm,
# bench_train's TrainStep and Inference cases and then the same cases in each reference, so that
# all see the same drift of a shared machine. On a CPU with AVX-512 every round runs twice: natively
# and with oneDNN capped to AVX2 (ONEDNN_MAX_CPU_ISA=AVX2, which s8net's and PyTorch's oneDNN honour,
# and ATEN_CPU_CAPABILITY=avx2 for PyTorch's own kernels). ONNX Runtime's kernels (MLAS) pick their
# instruction set from CPUID and have no such switch; they run with a preloaded library that hides
# AVX-512 from CPUID (bench/isa_cap/cpuid_avx2_cap.cpp), or, where the kernel cannot make CPUID
# fault, at the native ISA, marked so in the tables.
# Then bench_norms runs once and bench_report writes OUT_DIR/bench.md and OUT_DIR/bench.png from
# each case's median round, one table per instruction set.
#
# Needs Debian's python3-torch (apt-get install python3-torch) and, for ONNX Runtime, node and npm:
# the first run installs the npm package onnxruntime-node (its CPU library is inside the package, so
# --ignore-scripts skips only its download of GPU libraries) into --ort-dir, by default
# ${XDG_CACHE_HOME:-~/.cache}/s8net/onnxruntime-node-VERSION; later runs reuse it.
set -euo pipefail
usage="usage: $0 [--min-time S] [--ort-dir DIR] [--no-onnxruntime] BIN_DIR OUT_DIR [ROUNDS]  (BIN_DIR: build/ci/bin or build/release/bin)"
ort_version=1.30.0
min_time=1
ort_dir="${XDG_CACHE_HOME:-$HOME/.cache}/s8net/onnxruntime-node-$ort_version"
with_ort=1
while [[ ${1:-} == --* ]]; do
  case $1 in
    --min-time) min_time=${2:?$usage}; shift 2 ;;
    --min-time=*) min_time=${1#*=}; shift ;;
    --ort-dir) ort_dir=${2:?$usage}; shift 2 ;;
    --ort-dir=*) ort_dir=${1#*=}; shift ;;
    --no-onnxruntime) with_ort=0; shift ;;
    --help) echo "$usage"; exit 0 ;;
    *) echo "$0: unknown option '$1'" >&2; echo "$usage" >&2; exit 2 ;;
  esac
done
bin=${1:?$usage}
out=${2:?$usage}
rounds=${3-5}
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3  # Debian's interpreter, the one python3-torch installs into

[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "$0: ROUNDS must be a positive integer, got '$rounds'" >&2; exit 2; }
[[ $min_time =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] && [[ ! $min_time =~ ^[0.]+$ ]] ||
  { echo "$0: --min-time must be a positive number of seconds, got '$min_time'" >&2; exit 2; }
for tool in bench_train bench_norms bench_report; do
  [ -x "$bin/$tool" ] || { echo "$0: $bin/$tool is missing: build first (cmake --build --preset ci)" >&2; exit 1; }
done
[[ -e $out && ! -d $out ]] && { echo "$0: OUT_DIR '$out' exists and is not a directory" >&2; exit 2; }
# One comparison per OUT_DIR at a time: two would mix their files and share the cores.
mkdir -p "$out"
exec 9> "$out/.lock"
flock -n 9 || { echo "$0: OUT_DIR '$out' is in use by another comparison" >&2; exit 1; }
# The report is this run's alone: the results and logs of an earlier run go first.
rm -f "$out"/*.log "$out"/*/*.json "$out"/*/*.log "$out"/*/*.cpuid "$out"/*/*.txt
# bench_train from BIN_DIR must run (it finds its plugins relative to itself), before any round.
bench_check=$("$bin/bench_train" --benchmark_filter='^Inference/bn/32/' --benchmark_min_time=0.01 2>&1) ||
  { printf '%s\n' "$bench_check" | tail -n 5 >&2; echo "$0: $bin/bench_train cannot run (above)" >&2; exit 1; }
"$python" -c "import torch" 2>/dev/null ||
  { echo "$0: $python cannot import torch: apt-get install python3-torch" >&2; exit 1; }
if ((with_ort)); then
  for tool in node npm; do
    command -v "$tool" > /dev/null ||
      { echo "$0: $tool is missing (apt-get install nodejs npm), or pass --no-onnxruntime" >&2; exit 1; }
  done
fi

# Runs a command with its output in a log file of OUT_DIR, shown only if the command fails.
quietly() {
  local log="$out/$1.log"
  shift
  "$@" > "$log" 2>&1 || { cat "$log" >&2; echo "$0: failed: $*" >&2; exit 1; }
}

# The instruction sets to time: the CPU's own and, where it has AVX-512, oneDNN capped to AVX2.
# Google Benchmark's --benchmark_context takes KEY=VALUE pairs split at ',' and '=', hence the
# model name without them.
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1 | tr ',=' '  ')
flags=$(sed -n 's/^flags[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
has_flag() { [[ " $flags " == *" $1 "* ]]; }
if has_flag avx512f; then
  isa_sets=(avx512 avx2)
elif has_flag avx2; then
  isa_sets=(avx2)
else
  isa_sets=(baseline)
fi
# Per set: its directory under OUT_DIR, the context bench_report groups and labels the results by,
# and the environment every program of the set runs under.
context_of() {
  case $1 in
    avx512) echo "cpu=${cpu:-unknown CPU},isa=AVX-512" ;;
    avx2) if has_flag avx512f; then echo "cpu=${cpu:-unknown CPU},isa=AVX2,isa_cap=ONEDNN_MAX_CPU_ISA"; \
          else echo "cpu=${cpu:-unknown CPU},isa=AVX2"; fi ;;
    *) echo "cpu=${cpu:-unknown CPU},isa=below AVX2" ;;
  esac
}
env_of() {
  if [[ $1 == avx2 ]] && has_flag avx512f; then echo "ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2"; fi
}
# ONNX Runtime's MLAS reads CPUID alone, so where oneDNN is capped it runs with the CPUID cap
# preloaded (bench/isa_cap/cpuid_avx2_cap.cpp), which hides AVX-512 from it; where that cap
# cannot hold (no such library in BIN_DIR, or a kernel that cannot make CPUID fault) it runs
# at the CPU's own instruction set and its results say so ("native_isa").
cpuid_cap="$bin/libs8net_cpuid_avx2_cap.so"
ort_cap_state() {  # SET -> "capped", "not capped: why" or "" where the set is not capped
  [[ -n $(env_of "$1") ]] || return 0
  if [ ! -f "$cpuid_cap" ]; then echo "not capped: $cpuid_cap is missing"; return 0; fi
  local report="$out/$1/cpuid-cap-probe.txt"
  rm -f "$report"
  S8NET_CPUID_CAP_REPORT="$report" LD_PRELOAD="$cpuid_cap" node -e 0 2>/dev/null || true
  head -n 1 "$report" 2>/dev/null || echo "not capped: no report at $report (did $cpuid_cap load?)"
}

if ((with_ort)); then
  if [ ! -d "$ort_dir/node_modules/onnxruntime-node" ]; then
    echo "installing onnxruntime-node $ort_version into $ort_dir"
    mkdir -p "$ort_dir"
    quietly npm-install npm install --prefix "$ort_dir" --ignore-scripts --no-audit --no-fund --no-save \
      "onnxruntime-node@$ort_version"
  fi
  quietly onnx-export "$python" "$here/pytorch_reference.py" --export-onnx "$out/onnx"
fi

# What each set's oneDNN reports it runs on, and whether ONNX Runtime is capped with it, as evidence
# that the cap holds (OUT_DIR/SET/isa.txt).
declare -A ort_state
for set in "${isa_sets[@]}"; do
  mkdir -p "$out/$set"
  read -r -a set_env <<< "$(env_of "$set")"
  s8net_isa=$(env "${set_env[@]}" ONEDNN_VERBOSE=1 "$bin/bench_train" --benchmark_filter='^Inference/bn/32/' \
    --benchmark_min_time=0.01 2>&1 | grep -o 'isa:.*' | head -n 1 || true)
  pytorch_isa=$(env "${set_env[@]}" ONEDNN_VERBOSE=1 "$python" -c \
    'import torch; torch.nn.functional.conv2d(torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3))' 2>&1 |
    grep -o 'isa:.*' | head -n 1 || true)
  {
    echo "environment: ${set_env[*]:-(none)}"
    echo "s8net's oneDNN: ${s8net_isa:-(no oneDNN verbose output)}"
    echo "PyTorch's oneDNN: ${pytorch_isa:-(no oneDNN verbose output)}"
    if ((with_ort)); then
      ort_state[$set]=$(ort_cap_state "$set")
      case ${ort_state[$set]} in
        "") echo "ONNX Runtime: the CPU's own" ;;
        capped) echo "ONNX Runtime: AVX2, AVX-512 hidden from its CPUID ($(basename "$cpuid_cap") preloaded)" ;;
        *) echo "ONNX Runtime: the CPU's own, ${ort_state[$set]}" ;;
      esac
    fi
  } > "$out/$set/isa.txt"
  sed "s/^/$set: /" "$out/$set/isa.txt"
done

for round in $(seq 1 "$rounds"); do
  for set in "${isa_sets[@]}"; do
    read -r -a set_env <<< "$(env_of "$set")"
    context=$(context_of "$set")
    dir="$out/$set"
    for norm in bn gn ln; do
      echo "round $round/$rounds, $set, $norm: s8net, PyTorch$( ((with_ort)) && echo ", ONNX Runtime")"
      quietly "$set/s8net-$norm-$round" env "${set_env[@]}" "$bin/bench_train" \
        --benchmark_filter="^(TrainStep|Inference)/$norm/" --benchmark_min_time="$min_time" \
        --benchmark_context="$context" --benchmark_out="$dir/s8net-$norm-$round.json" --benchmark_out_format=json
      quietly "$set/pytorch-$norm-$round" env "${set_env[@]}" "$python" "$here/pytorch_reference.py" \
        --filter="^(TrainStep|Inference)/$norm/" --min-time="$min_time" --context="$context" \
        --out="$dir/pytorch-$norm-$round.json"
      if ((with_ort)); then
        ort_env=("${set_env[@]}") ort_context=$context report="$dir/onnxruntime-$norm-$round.cpuid"
        case ${ort_state[$set]} in
          capped) rm -f "$report"; ort_env+=("LD_PRELOAD=$cpuid_cap" "S8NET_CPUID_CAP_REPORT=$report") ;;
          "") ;;
          *) ort_context+=",native_isa=true" ;;
        esac
        quietly "$set/onnxruntime-$norm-$round" env "${ort_env[@]}" node "$here/onnxruntime_reference.js" \
          --ort-dir="$ort_dir" --models="$out/onnx" --filter="^Inference/$norm/" --min-time="$min_time" \
          --context="$ort_context" --out="$dir/onnxruntime-$norm-$round.json"
        if [[ ${ort_state[$set]} == capped && $(head -n 1 "$report" 2>/dev/null) != capped ]]; then
          echo "$0: the CPUID cap did not hold for ONNX Runtime: $(cat "$report" 2>/dev/null ||
            echo "no report at $report (did $cpuid_cap load?)")" >&2
          exit 1
        fi
      fi
    done
  done
done
echo "norm kernels alone"
quietly "${isa_sets[0]}/norms" "$bin/bench_norms" --benchmark_context="$(context_of "${isa_sets[0]}")" \
  --benchmark_out="$out/${isa_sets[0]}/norms.json" --benchmark_out_format=json
"$bin/bench_report" --out "$out" "$out"/*/*.json
