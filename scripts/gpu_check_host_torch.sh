#!/usr/bin/env bash
# scripts/gpu_check.sh on a GPU machine that has its own torch and no package registry (a lent
# check machine, an air-gapped node): mmcv-full is compiled against that torch, the OpenMMLab
# packages come from wheels fetched beforehand on a machine with a registry.
#
#   on a machine with a registry:  scripts/gpu_check_host_torch.sh --fetch DIR [PYTHON_VERSION=3.12]
#   on the GPU machine:            scripts/gpu_check_host_torch.sh DIR [gpu_check.sh options]
#
# Then the tests marked `cuda` (which CI and a CPU machine skip) run there under pytest.
# DIR gets whl/ (mmdet, mmrotate, pytest and their pure-Python needs, versions from constraints.txt)
# and src/ (mmcv-full's sdist). The GPU run installs into $SITE (default /tmp/detlab-site), keeps the
# built wheel in $SITE.wheel/ (a second run skips the build: ~260 s on 16 cores for one
# architecture), and leaves that machine's numpy and torch as they are.
# Environment: TORCH_CUDA_ARCH_LIST (default: the visible GPU's), MAX_JOBS (default nproc).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pin() { sed -n -E "s/^$1==([^ ;#]+).*/\1/p" "$ROOT/constraints.txt" | head -n1; }
die() { echo "gpu_check_host_torch: $*" >&2; exit 2; }
PURE=(mmdet mmrotate e2cnn addict yapf platformdirs terminaltables setuptools
      pytest pytest-timeout pluggy iniconfig packaging Pygments)

if [[ ${1:-} == --fetch ]]; then
  dir=${2:?usage: $0 --fetch DIR [PYTHON_VERSION]}; py=${3:-3.12}
  mkdir -p "$dir/whl" "$dir/src"
  specs=(); for name in "${PURE[@]}" pycocotools; do specs+=("$name==$(pin "$name")"); done
  plats=(); for p in manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64; do plats+=(--platform "$p"); done
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$py" --implementation cp \
    "${plats[@]}" -d "$dir/whl" "${specs[@]}" || die "could not download the wheels for Python $py"
  python3 -m pip download -q --no-deps --no-binary :all: "mmcv-full==$(pin mmcv-full)" -d "$dir/src" \
    || die "could not download the mmcv-full sdist"
  echo "gpu_check_host_torch: $(ls "$dir/whl" | wc -l) wheels and $(ls "$dir/src") in $dir"
  exit 0
fi

dir=${1:?usage: $0 DIR [gpu_check.sh options] (DIR from --fetch)}; shift
PY=$(command -v python3) || die "no python3"
SITE=${SITE:-/tmp/detlab-site}
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' \
  || die "this python3 has no torch that sees a GPU: run scripts/gpu_check.sh after FORCE_CUDA=1 make install instead"
"$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" "$dir"/whl/*.whl \
  || die "could not install the wheels in $dir/whl"
export PYTHONPATH=$SITE
wheel=$(ls "$SITE.wheel"/mmcv_full-*.whl 2>/dev/null | head -n1 || true)
if [[ -z $wheel ]]; then
  command -v ninja >/dev/null || die "no ninja on PATH (a serial build takes an hour)"
  build=$(mktemp -d)
  tar -xzf "$dir"/src/mmcv-full-*.tar.gz -C "$build"
  src=$(ls -d "$build"/mmcv-full-*)
  sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"  # as scripts/install_stack.sh: torch's headers need C++20
  arch=${TORCH_CUDA_ARCH_LIST:-$("$PY" -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())')}
  echo "gpu_check_host_torch: compiling mmcv-full for $arch against torch $("$PY" -c 'import torch; print(torch.__version__)')"
  started=$SECONDS
  (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=$arch MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    "$PY" -m pip wheel -q --no-build-isolation --no-deps -w "$SITE.wheel" . >"$build/build.log" 2>&1) \
    || { tail -n 20 "$build/build.log" >&2; die "mmcv-full failed to compile (log: $build/build.log)"; }
  echo "gpu_check_host_torch: compiled in $((SECONDS - started)) s"
  wheel=$(ls "$SITE.wheel"/mmcv_full-*.whl | head -n1)
fi
"$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" "$wheel"
export PYTHONPATH=$SITE:$ROOT/platform:$ROOT/detectors
rc=0
PYTHON=$PY bash "$ROOT/scripts/gpu_check.sh" "$@" || rc=$?
echo "gpu_check_host_torch: the tests marked cuda"
(cd "$ROOT" && "$PY" -m pytest -q -p no:cacheprovider -m cuda -rA tests/detectors) || { t=$?; ((rc)) || rc=$t; }
exit "$rc"
