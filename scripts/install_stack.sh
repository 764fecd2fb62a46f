#!/usr/bin/env bash
# Create .venv (if missing) and install the pinned stack plus this project.
#
# Idempotent: a complete install is recorded in .venv/.detlab-stamp (hash of
# constraints.txt + pyproject.toml) and the script returns at once when it is
# current. Every pip call passes `-c constraints.txt`, the one place versions
# are pinned, so the resolver can never replace the torch that mmcv-full's ops
# were compiled against.
#
# mmcv-full 1.7.2 has no wheel for torch 2.14; we compile it from its sdist
# (docs/design.md, "Building mmcv-full") and keep the wheel in a wheelhouse
# keyed by the torch version and the CUDA flag, so the next install of the same
# stack takes seconds:  ${DETLAB_WHEELHOUSE:-~/.cache/detlab/wheelhouse}/torch-<ver>-<cpu|cuda>/
#
# Environment:
#   PYTHON            interpreter for the venv (default: python3.11, else python3)
#   VENV              venv path (default: <repo>/.venv)
#   FORCE_CUDA=1      build mmcv-full's CUDA ops (GPU image). Needs no GPU: the CUDA 13.0 compiler
#                     comes from PyPI into the venv (pinned in constraints.txt) and is used as
#                     CUDA_HOME unless CUDA_HOME is set; see docs/clusters.md, "The CUDA build"
#   TORCH_CUDA_ARCH_LIST  GPU architectures of a CUDA build (default "8.0;8.6;9.0": A100, A10G/A40, H100/H200)
#   MAX_JOBS          parallel compile jobs (default: nproc)
#   DETLAB_WHEELHOUSE where built mmcv-full wheels are kept
#   DETLAB_MMCV_BUILD_DIR  where mmcv-full is compiled (default ~/.cache/detlab/build/torch-<ver>-<cpu|cuda>);
#                     kept after a failed build, so rerunning resumes with the objects already compiled
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
CONSTRAINTS=$ROOT/constraints.txt
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
STAMP=$VENV/.detlab-stamp

say() { printf '\033[1m[install]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[install] error:\033[0m %s\n' "$*" >&2; exit 1; }

pin() {  # pin NAME -> exact version from constraints.txt
  sed -n -E "s/^$1==([^ ;#]+).*/\1/p" "$CONSTRAINTS" | head -n1
}

# --- system packages for the report tests (before the stamp check: they live outside the venv) ---
# tests/report: the browser test drives Debian's chromium with Playwright (never `playwright
# install`), and the LaTeX test compiles the booktabs table with pdflatex. apt-get runs only
# when a binary is missing and we are root on Debian (CI); elsewhere those tests skip.
need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium fonts-liberation)   # fonts: readable screenshots
command -v pdflatex >/dev/null || need_apt+=(texlive-latex-base)
[[ -f /usr/share/texlive/texmf-dist/tex/latex/booktabs/booktabs.sty ]] || need_apt+=(texlive-latex-recommended)
if ((${#need_apt[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "system packages for the report tests: ${need_apt[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null \
      || say "warning: could not install ${need_apt[*]}; the browser/LaTeX tests will skip"
  else
    say "note: ${need_apt[*]} missing (not root or no apt-get); the browser/LaTeX report tests will skip"
  fi
fi

FLAVOR=cpu; [[ ${FORCE_CUDA:-0} == 1 ]] && FLAVOR=cuda
want_stamp=$( (cat "$CONSTRAINTS" "$ROOT/pyproject.toml"; echo "$FLAVOR") | sha256sum | cut -c1-16)
if [[ -f $STAMP && $(cat "$STAMP") == "$want_stamp" ]]; then
  exit 0
fi

if [[ ! -x $VENV/bin/python ]]; then
  say "creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV" || die "could not create a venv with $PYTHON (install python3-venv?)"
fi
PY=$VENV/bin/python
pip_c() { "$PY" -m pip install --disable-pip-version-check -c "$CONSTRAINTS" "$@"; }

say "step 1/4: build tools and torch/torchvision (pinned: torch $(pin torch), torchvision $(pin torchvision))"
pip_c -q setuptools wheel
pip_c torch torchvision numpy opencv-python-headless

# --- step 2: mmcv-full, compiled once per torch version ---------------------
TORCH_VER=$("$PY" -c 'import torch; print(torch.__version__)')
[[ $TORCH_VER == "$(pin torch)"* ]] || die "torch $TORCH_VER is installed but constraints.txt pins $(pin torch)"
MMCV_VER=$(pin mmcv-full)
WHEELHOUSE=${DETLAB_WHEELHOUSE:-$HOME/.cache/detlab/wheelhouse}/torch-$TORCH_VER-$FLAVOR
mkdir -p "$WHEELHOUSE"

# The CUDA 13.0 compiler of a FORCE_CUDA=1 build, from PyPI into the venv (no system CUDA needed);
# prints the CUDA_HOME to build with. An explicit $CUDA_HOME wins (a CUDA devel image, say).
cuda_home() {
  if [[ -n ${CUDA_HOME:-} ]]; then
    echo "$CUDA_HOME"
    return
  fi
  pip_c -q nvidia-cuda-nvcc nvidia-cuda-crt nvidia-nvvm nvidia-cuda-cccl nvidia-cuda-runtime nvidia-cuda-cuobjdump >&2 \
    || die "could not install the CUDA compiler packages (nvidia-cuda-nvcc ...) pinned in constraints.txt"
  local home
  home=$("$PY" -c 'import sysconfig, os; print(os.path.join(sysconfig.get_paths()["purelib"], "nvidia", "cu13"))')
  [[ -x $home/bin/nvcc ]] || die "no nvcc at $home/bin/nvcc after installing nvidia-cuda-nvcc"
  # torch links extensions with -lcudart; the wheel ships only the versioned libcudart.so.13.
  [[ -e $home/lib/libcudart.so ]] || ln -s libcudart.so.13 "$home/lib/libcudart.so"
  local want got
  want=$("$PY" -c 'import torch; print(torch.version.cuda)')
  got=$("$home/bin/nvcc" --version | sed -n -E 's/.*release ([0-9]+\.[0-9]+).*/\1/p')
  [[ $want == "$got" ]] || die "nvcc $got in $home, but torch $TORCH_VER was built with CUDA $want"
  echo "$home"
}

have_mmcv() { "$PY" - <<EOF 2>/dev/null
import importlib.util, mmcv, mmcv.ops
from mmcv.ops import box_iou_rotated, nms_rotated
assert mmcv.__version__ == "$MMCV_VER"
# a CUDA build serves CPU installs too; a FORCE_CUDA=1 install needs one: its _ext links CUDA's
# runtime. Read from the library, not asked of mmcv.ops.get_compiling_cuda_version(), which
# crashed the process (SIGSEGV) on a GPU machine (docs/clusters.md, "Run on an H200").
assert "$FLAVOR" == "cpu" or b"libcudart" in open(importlib.util.find_spec("mmcv._ext").origin, "rb").read()
EOF
}

if have_mmcv; then
  say "step 2/4: mmcv-full $MMCV_VER with compiled ops already installed"
else
  wheel=$(ls "$WHEELHOUSE"/mmcv_full-"$MMCV_VER"-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z $wheel ]]; then
    if [[ $FLAVOR == cuda ]]; then
      say "step 2/4: compiling mmcv-full $MMCV_VER with CUDA ops against torch $TORCH_VER; ~1 h on 2 cores, ~10 min on 16, done once"
    else
      say "step 2/4: compiling mmcv-full $MMCV_VER against torch $TORCH_VER (cpu); ~10-20 min on 2 cores, done once"
    fi
    command -v "${CXX:-g++}" >/dev/null || die "no C++ compiler (g++) found: install build-essential, then rerun"
    "$PY" -c 'import sysconfig,os,sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"],"Python.h")) else 1)' \
      || die "Python headers (Python.h) missing: install python3-dev, then rerun"
    build=${DETLAB_MMCV_BUILD_DIR:-$HOME/.cache/detlab/build/torch-$TORCH_VER-$FLAVOR}
    src=$build/mmcv-full-$MMCV_VER
    if [[ ! -f $src/.detlab-patched ]]; then
      rm -rf "$src" && mkdir -p "$build"
      "$PY" -m pip download -q --no-deps --no-binary :all: "mmcv-full==$MMCV_VER" -d "$build" \
        || die "could not download the mmcv-full $MMCV_VER sdist"
      tar -xzf "$build"/mmcv-full-"$MMCV_VER".tar.gz -C "$build"
      # torch 2.14's ATen headers need C++20; mmcv-full 1.7.2 hard-codes -std=c++17 (for g++ and
      # nvcc alike). The sources compile unchanged under C++20, the .cu files with nvcc 13.0 too.
      sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
      grep -q -- '-std=c++20' "$src/setup.py" || die "could not patch -std=c++17 in mmcv-full's setup.py"
      touch "$src/.detlab-patched"
    else
      say "resuming the build in $src (objects compiled before are kept)"
    fi
    cuda_env=()
    if [[ $FLAVOR == cuda ]]; then
      home=$(cuda_home) || exit 1
      cuda_env=(CUDA_HOME="$home" TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-8.0;8.6;9.0}")
      say "CUDA build: CUDA_HOME=$home, architectures ${cuda_env[1]#TORCH_CUDA_ARCH_LIST=}"
    fi
    started=$SECONDS
    if ! (cd "$src" && env "${cuda_env[@]}" MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$PY" -m pip wheel --no-build-isolation --no-deps -w "$WHEELHOUSE" . >"$build/build.log" 2>&1); then
      tail -n 30 "$build/build.log" >&2
      cp "$build/build.log" "$ROOT/mmcv-build.log" 2>/dev/null || true
      die "mmcv-full $MMCV_VER failed to compile against torch $TORCH_VER (full log: $ROOT/mmcv-build.log; \
rerun to resume from $src). Check: a C++20 compiler (g++ >= 10), Python headers, and that torch is the pinned $(pin torch)."
    fi
    say "compiled in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"
    # only what this script put there: DETLAB_MMCV_BUILD_DIR may name a folder that holds more
    rm -rf "$src" "$build/mmcv-full-$MMCV_VER.tar.gz" "$build/build.log"
    rmdir "$build" 2>/dev/null || true
    wheel=$(ls "$WHEELHOUSE"/mmcv_full-"$MMCV_VER"-*.whl | head -n1)
    say "built $wheel"
  else
    say "step 2/4: mmcv-full $MMCV_VER from wheelhouse $wheel"
  fi
  # --force-reinstall: the same version built the other way (CPU/CUDA) may be installed already
  pip_c --no-deps --force-reinstall "$wheel"
  # mmcv-full's own dependencies (addict, yapf, ...) from the registry, pinned.
  pip_c "$wheel"
  have_mmcv || die "mmcv-full installed but its compiled ops do not import (built against another torch?): delete $WHEELHOUSE and rerun"
fi

say "step 3/4: mmdet, mmrotate, ray, optuna, mlflow and the project (editable)"
pip_c -e "$ROOT[dev]"

say "step 4/4: checking the installed pins"
"$PY" - "$CONSTRAINTS" <<'EOF' || die "installed versions do not match constraints.txt (see above)"
import importlib.metadata as md, re, sys, pathlib
bad = []
for line in pathlib.Path(sys.argv[1]).read_text().splitlines():
    m = re.match(r"^([A-Za-z0-9_.\[\],-]+)==([^\s;#]+)", line)
    if not m:
        continue
    name = m.group(1).split("[")[0]
    try:
        got = md.version(name)
    except md.PackageNotFoundError:
        continue  # pinned for a path that is not installed here
    if got.split("+")[0] != m.group(2):
        bad.append(f"{name}: installed {got}, pinned {m.group(2)}")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
EOF
echo "$want_stamp" >"$STAMP"
say "done: $VENV (torch $TORCH_VER, mmcv-full $MMCV_VER, $FLAVOR ops)"
