#!/usr/bin/env bash
# Installs every Debian package s8net needs to build, test and run (Debian bookworm, as root).
# Non-interactive and idempotent: packages already present are left as they are.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libdnnl-dev ocl-icd-opencl-dev  # Debian's oneDNN CMake config insists on finding OpenCL
  libboost-dev libboost-filesystem-dev libboost-program-options-dev
  libtbb-dev
  libturbojpeg0-dev libpng-dev libarchive-dev  # image import and .tar.gz data sets
  nlohmann-json3-dev                            # run configuration and metrics.jsonl
  libcairo2-dev fonts-dejavu-core               # report figures (charts, text, image grids)
  libonnx-dev libprotobuf-dev                   # s8net export --format onnx (ModelProto, checker)
  libopencv-dnn-dev                             # the ONNX tests run the exported model in OpenCV's dnn
  libboost-mpi-dev openmpi-bin                  # s8net study across machines (mpirun)
  libgtest-dev libgmock-dev libbenchmark-dev
  dpkg-dev                                      # dpkg-shlibdeps: the .deb packages' dependencies (cpack)
  clang libclang-rt-14-dev                      # libFuzzer targets (the fuzz preset)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
