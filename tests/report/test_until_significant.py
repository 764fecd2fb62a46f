"""`detlab ablate run --until-significant --max-seeds N` end to end (toy trainer with a large seed
noise, real `mlflow server`): seeds go only to the cells of undecided comparisons, and the run
stops when every comparison is decided or has N seeds."""
from __future__ import annotations

import csv
import io
import re
import subprocess

import pytest

from mlflow_testing import running_runs
from report_helpers import DETLAB, REPO, cell_runs

pytestmark = pytest.mark.slow

ABLATION = "experiments/ablations/neighbors_smoke.yaml"
EXPERIMENT = "test-until-significant"
MAX_SEEDS = 5


@pytest.fixture(scope="module")
def extended(mlflow_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("until")
    sets = [f"dataset.root={tmp / 'synth_hrsc2016'}", f"mlflow.experiment={EXPERIMENT}", "seeds=[0, 1]"]
    env = {"MLFLOW_TRACKING_URI": mlflow_server.uri, "DETLAB_TOY_EVAL_S": "0.2", "DETLAB_TOY_SEED_SD": "0.05", "DETLAB_TOY_INLINE": "1",
           "DETLAB_MLFLOW_SPOOL": str(tmp / "spool"), "PYTHONUNBUFFERED": "1",
           "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5"}
    import os

    env = dict(os.environ, **env)
    cmd = [*DETLAB, "ablate", "run", ABLATION, "--trainer", "toy", "--storage", str(tmp / "sweeps"),
           "--num-cpus", "2", "--synth-images", "12", "--progress-interval", "30", "--until-significant",
           "--max-seeds", str(MAX_SEEDS), "--report-dir", str(tmp / "report"),
           *sum((["--set", s] for s in sets), [])]
    run = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=840)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return run, tmp, mlflow_server.uri


def test_seeds_go_to_undecided_comparisons_until_decided_or_n(extended):
    run, tmp, uri = extended
    out = run.stdout
    assert "until-significant: not decided yet" in out            # the noise leaves 2 seeds undecided
    extended_cells = {c for line in re.findall(r"-> cells (.*?) run seeds", out) for c in line.split(", ")}
    rows = {r["cell"]: r for r in csv.DictReader(io.StringIO((tmp / "report" / "table.csv").read_text()))}
    for name, row in rows.items():
        n = int(row["n_finished"])
        assert n == 2 or name in extended_cells, (name, n)         # no seeds for cells nobody asked about
        assert n <= MAX_SEEDS
        if row["reference"]:
            ref_n = int(rows[row["reference"]]["n_finished"])
            decided = row["significant"] == "true"
            assert decided or min(n, ref_n) == MAX_SEEDS, row      # it stopped at a decision or at N
            assert row["delta_ci_low"] and row["delta_ci_high"]
            assert float(row["delta_ci_low"]) <= float(row["delta"]) <= float(row["delta_ci_high"])
    assert ("every comparison is decided" in out) or (f"stopped at --max-seeds {MAX_SEEDS}" in out)
    assert not running_runs(uri)


def test_each_extra_seed_is_trained_once(extended):
    _, _, uri = extended
    seen: dict[tuple[str, int], int] = {}
    for r in cell_runs(uri, EXPERIMENT, "neighbors_smoke"):
        if r.info.status == "FINISHED" and "detlab.ablate.reused_from" not in r.data.tags:
            key = (r.data.tags["detlab.ablate.cell"], int(r.data.tags["detlab.ablate.seed"]))
            seen[key] = seen.get(key, 0) + 1
    assert seen and max(seen.values()) == 1, seen
