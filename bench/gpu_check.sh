#!/usr/bin/env bash
# Run bench/gpu_check.py on a CUDA machine that has torch, transformers, peft and accelerate
# but may lack bitsandbytes and platformdirs (as the lent GPU machines do), and cannot download.
#
# Prepare the wheels once on a machine with pip access, in the repository root:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_24_x86_64 --platform manylinux2014_x86_64 -d .whl \
#       bitsandbytes==0.50.2 platformdirs==4.14.8
# Then, on the GPU machine, from the repository root (with .whl/ beside it):
#   bash bench/gpu_check.sh [gpu_check.py options]
# The report goes to $OUT when that is set (the device tool's output folder), else bench/out.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c "import bitsandbytes, platformdirs" 2>/dev/null; then
  if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/lift-site .whl/*.whl
    export PYTHONPATH="/tmp/lift-site${PYTHONPATH:+:$PYTHONPATH}"
  else
    echo "bitsandbytes or platformdirs is missing and there is no .whl/ folder: see the top of $0" >&2
    exit 2
  fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
export LIFT_READER_HOME="${LIFT_READER_HOME:-$(mktemp -d)}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
OUT_DIR="${OUT:-bench/out}"
"$PY" bench/gpu_check.py --out-dir "$OUT_DIR" "$@"
