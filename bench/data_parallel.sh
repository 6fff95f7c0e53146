#!/bin/sh
# Data-parallel training on one machine (docs/data-parallel.md): one process with T threads
# against T ranks of one thread each, training images per second for each norm, with and without
# synchronized BatchNorm; then the time of one allreduce of the gradients.
#   bench/data_parallel.sh BUILD_BIN_DIR DATA [IMAGES] [RANKS]
# BUILD_BIN_DIR holds s8net and bench_allreduce (build/ci/bin); DATA is a directory written by
# s8net data prepare. IMAGES (default 6400) training images per run, at batch 32.
set -eu
bin=$1
data=$2
images=${3:-6400}
ranks=${4:-2}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
root=""
[ "$(id -u)" = 0 ] && root="--allow-run-as-root"

# train_images_per_second of the run's only epoch.
rate() { sed -n 's/.*"train_images_per_second":\([0-9.e+-]*\).*/\1/p' "$1/metrics.jsonl"; }

train_flags="--data $data --epochs 1 --limit-train $images --limit-test 100 --batch 32 --no-report --overwrite"
# The third column, one process of one thread, is the per-image compute time of the scaling model.
printf '%-24s %18s %18s %8s %18s\n' norm "1 proc x $ranks thr" "$ranks ranks x 1 thr" ratio "1 proc x 1 thr"
for norm in "bn" "bn --norm-option sync=1" "gn" "ln"; do
  OMP_NUM_THREADS=$ranks "$bin/s8net" train $train_flags --norm $norm --out "$scratch/one" >/dev/null
  OMP_NUM_THREADS=1 mpirun $root --oversubscribe -np "$ranks" "$bin/s8net" train $train_flags --norm $norm \
    --out "$scratch/ranks" >/dev/null
  OMP_NUM_THREADS=1 "$bin/s8net" train $train_flags --norm $norm --out "$scratch/alone" >/dev/null
  one=$(rate "$scratch/one")
  many=$(rate "$scratch/ranks")
  alone=$(rate "$scratch/alone")
  printf '%-24s %18.0f %18.0f %8.2f %18.0f\n' "$norm" "$one" "$many" "$(echo "$many / $one" | bc -l)" "$alone"
done
mpirun $root --oversubscribe -np "$ranks" "$bin/bench_allreduce"
