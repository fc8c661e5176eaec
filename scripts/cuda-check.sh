#!/usr/bin/env bash
# Proves the CUDA build compiles on a machine with no GPU and no system CUDA: installs NVIDIA's
# CUDA 13 compiler and library wheels from PyPI into a virtualenv (about 650 MB, once), then runs
# `cargo check -p distill --features cuda` (candle-kernels' nvcc steps: ~8 min cold on 2 cores).
# On a GPU workstation with CUDA 13 installed, `cargo build --release -p distill --features cuda`
# is all it takes. Not part of the test command: too slow for CI.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${CUDA_VENV:-.cuda-venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# Pinned: nvcc 13.5 makes cudarc's build script refuse the toolkit version.
"$VENV/bin/pip" install -q --disable-pip-version-check \
  nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88 \
  nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 nvidia-cuda-nvrtc==13.0.88 \
  nvidia-curand==10.4.0.35 nvidia-cublas==13.1.2.11
CU=$("$VENV/bin/python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')
# The wheels ship only versioned libraries; the linker looks for the unversioned names.
for lib in "$CU"/lib/*.so.*; do
  base=${lib%%.so.*}.so
  [ -e "$base" ] || ln -s "$(basename "$lib")" "$base"
done
export CUDA_HOME="$CU" NVCC="$CU/bin/nvcc" PATH="$CU/bin:$PATH"
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
"$NVCC" --version | tail -2
cargo check -p distill --features cuda
echo "cuda-check: the CUDA build of distill compiles"
