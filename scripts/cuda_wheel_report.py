"""What GPU code a built mmcv-full wheel carries, read with ``cuobjdump`` (no GPU needed).

    python scripts/cuda_wheel_report.py [WHEEL] [--json]

WHEEL defaults to the CUDA wheel ``FORCE_CUDA=1 make install`` keeps in the wheelhouse
(``$DETLAB_WHEELHOUSE`` or ``~/.cache/detlab/wheelhouse``, ``torch-<ver>-cuda/``). Prints the
architectures of the embedded device code and, for every mmcv op the detector runs on a GPU,
its kernels per architecture. Exit 1 when an architecture of ``TORCH_CUDA_ARCH_LIST`` (default
8.0;8.6;9.0) or a kernel of such an op is missing: a wheel that would fail on the cluster with
"no kernel image is available for execution on the device".
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

# mmcv op (as the detector uses it) -> kernel names in mmcv 1.7.2's .cu sources
DETECTOR_OPS = {
    "box_iou_rotated (rotated IoU: assigners, evaluation)": ("box_iou_rotated_cuda_kernel",),
    "nms_rotated (test-time rotated NMS)": ("nms_rotated_cuda_kernel",),
    "DeformConv2d (the refine stage's align conv)": (
        "deformable_im2col_gpu_kernel",
        "deformable_col2im_gpu_kernel",
        "deformable_col2im_coord_gpu_kernel",
    ),
    "sigmoid_focal_loss (mmdet's FocalLoss on CUDA)": (
        "sigmoid_focal_loss_forward_cuda_kernel",
        "sigmoid_focal_loss_backward_cuda_kernel",
    ),
}
DEFAULT_ARCHS = "8.0;8.6;9.0"


def default_wheel(flavor: str = "cuda") -> Path | None:
    """The mmcv-full wheel install_stack.sh keeps for the installed torch: ``cuda`` or ``cpu``."""
    import torch

    house = Path(os.environ.get("DETLAB_WHEELHOUSE", Path.home() / ".cache" / "detlab" / "wheelhouse"))
    found = sorted((house / f"torch-{torch.__version__}-{flavor}").glob("mmcv_full-*.whl"))
    return found[-1] if found else None


def cuobjdump() -> str:
    """The pinned cuobjdump in the venv (nvidia-cuda-cuobjdump), else one on PATH."""
    venv = Path(sysconfig.get_paths()["purelib"]) / "nvidia" / "cu13" / "bin" / "cuobjdump"
    tool = str(venv) if venv.is_file() else shutil.which("cuobjdump")
    if tool is None:
        raise SystemExit("cuda_wheel_report: no cuobjdump: pip install -c constraints.txt nvidia-cuda-cuobjdump")
    return tool


def wanted_archs(spec: str) -> list[str]:
    return [f"sm_{a.replace('.', '').replace('+PTX', '')}" for a in spec.replace(" ", ";").split(";") if a]


def kernels_by_arch(ext: Path) -> dict[str, set[str]]:
    """{sm_XX: demangled kernel names} of the device code embedded in ``ext``."""
    out = subprocess.run([cuobjdump(), "-res-usage", str(ext)], capture_output=True, text=True, timeout=600, check=True)
    found: dict[str, set[str]] = {}
    arch = None
    mangled: list[tuple[str, str]] = []
    for line in out.stdout.splitlines():
        m = re.match(r"arch = (sm_\d+)", line.strip())
        if m:
            arch = m.group(1)
            found.setdefault(arch, set())
        m = re.match(r"\s*Function (\S+):", line)
        if m and arch:
            mangled.append((arch, m.group(1)))
    names = subprocess.run(
        ["c++filt"], input="\n".join(n for _, n in mangled), capture_output=True, text=True, timeout=120, check=True
    ).stdout.splitlines()
    for (arch, _), name in zip(mangled, names, strict=True):
        found[arch].add(name)
    return found


def _kernel_name(signature: str) -> str:
    """``void nms_rotated_cuda_kernel<float>(int, ...)`` -> ``nms_rotated_cuda_kernel``."""
    m = re.match(r"(?:void )?([\w:]+)", signature)
    return m.group(1) if m else signature


def report(wheel: Path, archs: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as z:
            ext_name = next(n for n in z.namelist() if re.fullmatch(r"mmcv/_ext\..*\.so", n))
            ext = Path(z.extract(ext_name, tmp))
        size_mb = ext.stat().st_size / 2**20
        by_arch = kernels_by_arch(ext)
    ops = {
        op: {a: sum(1 for k in by_arch.get(a, ()) if _kernel_name(k) in patterns) for a in archs}
        for op, patterns in DETECTOR_OPS.items()
    }
    missing = [a for a in archs if a not in by_arch]
    missing += [f"{op} on {a}" for op, per in ops.items() for a, n in per.items() if n == 0]
    return {
        "wheel": str(wheel),
        "ext_mb": round(size_mb, 1),
        "architectures": {a: len(k) for a, k in sorted(by_arch.items())},
        "ops": ops,
        "missing": missing,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("wheel", nargs="?", type=Path, help="mmcv-full wheel (default: the wheelhouse's CUDA wheel)")
    p.add_argument("--archs", default=os.environ.get("TORCH_CUDA_ARCH_LIST", DEFAULT_ARCHS))
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = p.parse_args(argv)
    wheel = args.wheel or default_wheel()
    if wheel is None or not wheel.is_file():
        print("cuda_wheel_report: no CUDA wheel: build it with FORCE_CUDA=1 make install", file=sys.stderr)
        return 2
    rep = report(wheel, wanted_archs(args.archs))
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        print(f"{rep['wheel']}: _ext {rep['ext_mb']} MB")
        print("kernels per architecture: " + ", ".join(f"{a} {n}" for a, n in rep["architectures"].items()))
        for op, per in rep["ops"].items():
            print(f"  {op}: " + ", ".join(f"{a} {n}" for a, n in per.items()))
        print("missing: " + (", ".join(rep["missing"]) or "nothing"))
    return 1 if rep["missing"] else 0


if __name__ == "__main__":
    sys.exit(main())
