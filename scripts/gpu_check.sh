#!/usr/bin/env bash
# The first thing to run on a machine with a GPU (after FORCE_CUDA=1 make install):
# CLA on CUDA vs CPU, a paper-size train step with fp16 off and on, 2-worker Ray Train over NCCL.
# Exits non-zero with one line saying why where there is no GPU or a check fails.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PY ]] || { echo "gpu_check: no $PY: run 'FORCE_CUDA=1 make install' first" >&2; exit 2; }
cd "$ROOT"
exec "$PY" scripts/gpu_check.py "$@"
