"""The CUDA build of mmcv-full (``FORCE_CUDA=1 make install``), checked on a machine without a GPU.

The wheel must carry device code for every architecture of the cluster images (sm_80, sm_86,
sm_90) and a kernel of every mmcv op the detector runs on a GPU, import where there is no GPU,
and compute on the CPU exactly what the CPU build computes. Skipped where the CUDA wheel was not
built (CI builds only the CPU one: ~1 h more on 2 cores); docs/clusters.md, "The CUDA build".
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "cuda_wheel_report.py"
_spec = importlib.util.spec_from_file_location("cuda_wheel_report", SCRIPT)
assert _spec and _spec.loader
wheel_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(wheel_report)

WHEEL = wheel_report.default_wheel()
needs_wheel = pytest.mark.skipif(WHEEL is None, reason="no CUDA wheel of mmcv-full in the wheelhouse "
                                 "(FORCE_CUDA=1 make install builds it; CI does not)")

# The same random inputs through the ops the detector uses, on the CPU; outputs to an .npz.
PROBE = r"""
import json, sys
import numpy as np, torch
import mmcv
from mmcv.ops import DeformConv2d, box_iou_rotated, get_compiling_cuda_version, nms_rotated

g = torch.Generator().manual_seed(0)
def boxes(n):
    xy = torch.rand(n, 2, generator=g) * 200
    wh = torch.rand(n, 2, generator=g) * 60 + 4
    a = (torch.rand(n, 1, generator=g) - 0.5) * 3.14
    return torch.cat([xy, wh, a], 1)
b1, b2 = boxes(64), boxes(48)
iou = box_iou_rotated(b1, b2)
scores = torch.rand(64, generator=g)
_, keep = nms_rotated(b1, scores, 0.3)
torch.manual_seed(0)
conv = DeformConv2d(8, 8, 3, padding=1)
x = torch.rand(2, 8, 16, 16, generator=g)
offset = torch.randn(2, 18, 16, 16, generator=g)
y = conv(x, offset)
np.savez(sys.argv[1], iou=iou.numpy(), keep=keep.numpy(), y=y.detach().numpy())
print(json.dumps({"mmcv": mmcv.__file__, "cuda": get_compiling_cuda_version(), "torch_cuda": torch.version.cuda}))
"""


@pytest.mark.slow
@needs_wheel
def test_device_code_for_every_architecture_and_detector_op():
    rep = wheel_report.report(WHEEL, wheel_report.wanted_archs("8.0;8.6;9.0"))
    assert set(rep["architectures"]) == {"sm_80", "sm_86", "sm_90"}, rep["architectures"]
    assert rep["missing"] == [], rep["missing"]
    # the same kernels were compiled for each architecture
    assert len(set(rep["architectures"].values())) == 1, rep["architectures"]
    for op, per_arch in rep["ops"].items():
        assert all(n >= 1 for n in per_arch.values()), (op, per_arch)


def _probe(out: Path, pythonpath: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env["CUDA_VISIBLE_DEVICES"] = ""  # as on a CPU node, even where a GPU is visible
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out)], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@needs_wheel
def test_the_cuda_wheel_imports_without_a_gpu_and_its_cpu_ops_match_the_cpu_build(tmp_path):
    cuda_site, cpu_site = tmp_path / "cuda", tmp_path / "cpu"
    with zipfile.ZipFile(WHEEL) as z:
        z.extractall(cuda_site)
    cpu_wheel = wheel_report.default_wheel("cpu")
    if cpu_wheel is not None:  # else: the installed build, if it is the CPU one (asserted below)
        with zipfile.ZipFile(cpu_wheel) as z:
            z.extractall(cpu_site)
    cuda = _probe(tmp_path / "cuda.npz", str(cuda_site))
    cpu = _probe(tmp_path / "cpu.npz", str(cpu_site) if cpu_wheel else None)
    # the probes really ran the CUDA wheel, built for torch's CUDA, and a CPU-only build beside it
    assert Path(cuda["mmcv"]).is_relative_to(cuda_site), cuda
    assert cuda["cuda"] == cuda["torch_cuda"], cuda
    if cpu["cuda"] != "not available":
        pytest.skip("no CPU build to compare with: neither a CPU wheel in the wheelhouse nor installed")
    import numpy as np

    a, b = np.load(tmp_path / "cuda.npz"), np.load(tmp_path / "cpu.npz")
    assert a["iou"].shape == (64, 48) and a["iou"].max() > 0
    for key in ("iou", "keep", "y"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_make_install_and_the_dockerfile_run_the_same_install_script():
    root = SCRIPT.parents[1]
    make = (root / "Makefile").read_text()
    assert "install:\n\t@bash scripts/install_stack.sh" in make
    docker = (root / "clusters" / "Dockerfile").read_text()
    assert "RUN bash scripts/install_stack.sh" in docker and "FORCE_CUDA=1" in docker


def _links_cudart(library: bytes) -> bool:
    """scripts/install_stack.sh's test of a CUDA build (`have_mmcv`): its _ext links CUDA's runtime."""
    return b"libcudart" in library


@pytest.mark.slow
@needs_wheel
def test_the_install_tells_the_cuda_wheel_by_its_link_to_cudart():
    with zipfile.ZipFile(WHEEL) as z:
        name = next(n for n in z.namelist() if n.startswith("mmcv/_ext") and n.endswith(".so"))
        assert _links_cudart(z.read(name))


def test_the_install_tells_the_venvs_build_by_its_link_to_cudart():
    """On the venv's own mmcv-full (the CPU build on CI), the link test agrees with what mmcv reports
    of itself (get_compiling_cuda_version works on a CPU process; it crashed one on a GPU machine)."""
    from mmcv.ops import get_compiling_cuda_version

    origin = importlib.util.find_spec("mmcv._ext").origin
    cuda_build = get_compiling_cuda_version() != "not available"
    assert _links_cudart(Path(origin).read_bytes()) == cuda_build, (origin, get_compiling_cuda_version())
