"""Helpers shared by the sweep tests (imported by name: tests/ has no packages)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "experiments" / "studies" / "cla_hrsc_smoke.yaml"
SWEEP = REPO / "experiments" / "sweep.py"
PYTHON = sys.executable

# The acceptance tests fit the detector (mini config, synthetic data); DETLAB_SWEEP_TEST_TRAINER=toy
# runs them against the cheap stand-in instead, to iterate on the machinery.
TRAINER = os.environ.get("DETLAB_SWEEP_TEST_TRAINER", "mmdet")


def quick_sets(data_root: str | Path, samples: int, *, epochs: int = 2, interval: int = 1,
               concurrent: int = 2) -> list[str]:
    """--set arguments that shrink the smoke study to `samples` short trials on `data_root`."""
    return [f"dataset.root={data_root}", f"trials.num_samples={samples}",
            f"trials.max_concurrent={concurrent}", f"overrides.runner.max_epochs={epochs}",
            f"overrides.evaluation.interval={interval}", "scheduler.grace_period=1",
            "overrides.data.samples_per_gpu=1", "sampler.n_startup_trials=2",
            "confirm=null"]   # the confirmation stage has its own test (test_confirm.py)


def sweep_cmd(*args: str) -> list[str]:
    return [PYTHON, str(SWEEP), *args]


def run_sweep_cli(args: list[str], env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(sweep_cmd(*args), cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def study_runs(client: Any, experiment: str) -> tuple[list[Any], list[Any]]:
    """(parent runs, child runs) of an MLflow experiment."""
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return [], []
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def duplicated(names: list[str]) -> list[str]:
    return [n for n, k in Counter(names).items() if k > 1]


def optuna_states(study_dir: Path) -> list[str]:
    """States of the trials in a sweep's Optuna study (from its sweep state)."""
    import optuna

    state = json.loads((study_dir / "detlab" / "sweep.json").read_text())
    study = optuna.load_study(study_name=state["optuna_study"], storage=state["optuna_storage"])
    return [t.state.name for t in study.trials]


def child_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a sweep subprocess: no cluster address, spool and storage in `tmp`."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "MLFLOW_TRACKING_URI")}
    env.update({"DETLAB_MLFLOW_SPOOL": str(tmp / "spool"), "PYTHONUNBUFFERED": "1",
                "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5"})
    env.update(extra)
    return env


def sweep_main():
    """`main` of experiments/sweep.py, loaded by path (experiments/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("experiments_sweep", SWEEP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main
