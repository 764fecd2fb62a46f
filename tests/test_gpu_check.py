"""scripts/gpu_check.sh, the first thing to run on a GPU machine, says in one line why it cannot run
where there is no GPU (its checks themselves need one: docs/clusters.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.sh"


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible: the checks would run for real")
def test_without_a_gpu_it_exits_2_with_one_line():
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu_check: FAILED: no CUDA device visible to torch"), lines
    assert "FORCE_CUDA=1 make install" in lines[0]


def test_the_train_step_check_runs_on_the_cpu():
    """The paper-size train step of the script, on the CPU at 256x256: the code a GPU machine runs first."""
    proc = subprocess.run(["bash", str(SCRIPT), "--cpu-smoke"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("gpu_check: train step:"))
    assert "at 256x256 on cpu" in line and "images/s" in line
    loss = float(line.split("loss ")[1].split()[0].rstrip(","))
    assert loss == loss and loss > 0  # finite, positive


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible: the build and checks would run for real")
def test_the_host_torch_variant_without_a_gpu_exits_2_with_one_line(tmp_path):
    """scripts/gpu_check_host_torch.sh (a GPU node's own torch, no registry) stops before it installs
    or compiles anything where the python3 on PATH has no torch that sees a GPU."""
    script = SCRIPT.with_name("gpu_check_host_torch.sh")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "SITE": str(tmp_path / "site")}
    proc = subprocess.run(["bash", str(script), str(tmp_path)], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu_check_host_torch: this python3 has no torch that sees a GPU")
    assert not (tmp_path / "site").exists()
