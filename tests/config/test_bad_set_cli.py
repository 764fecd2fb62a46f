"""A bad `--set` (unknown key, wrong type, out of range, negative epochs) on the command line:
exactly one line on stderr, naming the key; exit code 2; no MLflow store or run created.
Run as users run them (subprocesses), so third-party import noise would show up here."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DETLAB = [sys.executable, "-m", "detlab.cli"]
SWEEP = [sys.executable, str(REPO / "experiments" / "sweep.py")]
MINI = REPO / "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py"
SMOKE = REPO / "experiments/studies/cla_hrsc_smoke.yaml"


def _run(cmd: list[str], tmp: Path, verbose: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "DETLAB_VERBOSE")}
    env.update(MLFLOW_TRACKING_URI=f"sqlite:///{tmp / 'mlflow.db'}", DETLAB_MLFLOW_SPOOL=str(tmp / "spool"),
               DETLAB_SWEEP_STORAGE=str(tmp / "sweeps"), PYTHONUNBUFFERED="1")
    return subprocess.run(cmd + (["--verbose"] if verbose else []), cwd=tmp, env=env, capture_output=True,
                          text=True, timeout=600)


def _one_line_error(run: subprocess.CompletedProcess, *needles: str) -> str:
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    assert len(lines) == 1, run.stderr
    assert all(n in lines[0] for n in needles), lines[0]
    return lines[0]


TRAIN_CASES = {
    "unknown key": ("runner.max_epoch=3", ["runner.max_epoch", "max_epochs"]),
    "wrong type": ("runner.max_epochs=abc", ["runner.max_epochs", "int"]),
    "out of range": ("optimizer.lr=0", ["optimizer.lr", "> 0"]),
    "negative epochs": ("runner.max_epochs=-1", ["runner.max_epochs", "-1", ">= 1"]),
}


@pytest.mark.parametrize("case", list(TRAIN_CASES))
def test_detlab_train_bad_set_is_one_line(case, tmp_path):
    override, needles = TRAIN_CASES[case]
    run = _run([*DETLAB, "train", "--config", str(MINI), "--set", override], tmp_path)
    line = _one_line_error(run, *needles)
    assert line.startswith("detlab: error: ")
    assert not (tmp_path / "mlflow.db").exists(), "a bad --set must not create an MLflow run"


SWEEP_CASES = {
    "unknown key": ("trials.num_sample=2", ["trials.num_sample"]),
    "wrong type": ("trials.num_samples=many", ["trials.num_samples"]),
    "out of range": ("overrides.data.samples_per_gpu=0", ["data.samples_per_gpu", ">= 1"]),
    "negative epochs": ("overrides.runner.max_epochs=-1", ["runner.max_epochs", ">= 1"]),
}


@pytest.mark.parametrize("case", list(SWEEP_CASES))
def test_sweep_bad_set_is_one_line(case, tmp_path):
    override, needles = SWEEP_CASES[case]
    run = _run([*SWEEP, "--study", str(SMOKE), "--set", override], tmp_path)
    line = _one_line_error(run, *needles)
    assert line.startswith("sweep: error: ") and str(SMOKE) in line
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "sweeps").exists()


def test_verbose_shows_the_third_party_warnings(tmp_path):
    """The filtered noise is really there (the filter is what hides it): --verbose brings it back."""
    run = _run([*DETLAB, "train", "--config", str(MINI), "--set", "runner.max_epochs=-1"], tmp_path,
               verbose=True)
    assert run.returncode == 2
    assert "MMCV will release v2.0.0" in run.stderr, run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("detlab: error: ")
