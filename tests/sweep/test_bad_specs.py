"""A bad study fails before any trial starts: exit code 2, one line on stderr, no MLflow run,
no Ray started (or, for a cluster too small for one trial, nothing but the Ray it looked at)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sweep_helpers import REPO, SMOKE, child_env, run_sweep_cli, sweep_main

MINI = REPO / "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py"
RADIUS = "model.train_cfg.assigner.radius"


def bad_spec(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(SMOKE.read_text())
    data["base_config"] = str(MINI)
    data["dataset"]["root"] = str(tmp_path / "data")
    change(data)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


CASES = {
    "unknown key": (lambda d: d["trials"].update(num_sample=3),
                    "trials.num_sample: unknown field (did you mean 'num_samples'?)"),
    "empty search space": (lambda d: d.update(search_space={}), "search_space: is empty"),
    "min above max": (lambda d: d["search_space"][RADIUS].update(low=0.9, high=0.3),
                      f"search_space.{RADIUS}: low (0.9) must be below high (0.3)"),
    "no such config key": (lambda d: d["search_space"].update(
        {"model.train_cfg.assigner.radus": d["search_space"].pop(RADIUS)}),
        "search_space.model.train_cfg.assigner.radus: " + str(MINI) + ": no key 'radus' under "
        "model.train_cfg.assigner (did you mean 'radius'?)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_spec_fails_before_anything_starts(case: str, tmp_path: Path, monkeypatch, capsys) -> None:
    import ray

    change, message = CASES[case]
    db = tmp_path / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    study = bad_spec(tmp_path, change)
    code = sweep_main()(["--study", str(study), "--storage", str(tmp_path / "sweeps")])
    err = capsys.readouterr().err
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("sweep: error:")]
    assert len(errors) == 1 and err.endswith(errors[0] + "\n"), err   # one line, the last
    assert errors[0].startswith(f"sweep: error: {study}: {message}"), err
    assert not db.exists() and not (tmp_path / "sweeps").exists()
    assert not ray.is_initialized()


@pytest.mark.slow
def test_too_many_workers_for_the_cluster(tmp_path: Path) -> None:
    """The embedded Ray has 2 CPUs; 4 workers x 0.9 CPU cannot fit: refused before the parent run."""
    db = tmp_path / "mlflow.db"
    env = child_env(tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{db}")
    run = run_sweep_cli(["--study", str(SMOKE), "--storage", str(tmp_path / "sweeps"), "--num-cpus", "2",
                         "--synth-images", "4", "--set", f"dataset.root={tmp_path}/data",
                         "--set", "resources.workers_per_trial=4"], env, timeout=300)
    assert run.returncode == 2, run.stderr[-2000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last == (f"sweep: error: {SMOKE}: resources.workers_per_trial: 4 workers x 0.9 CPU (cpus_per_worker) "
                    "= 3.6 CPU per trial, but the cluster has 2"), run.stderr[-2000:]
    assert not db.exists()
    assert not (tmp_path / "sweeps").exists()
