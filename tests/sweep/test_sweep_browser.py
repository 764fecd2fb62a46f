"""What a user sees (issue 17), in headless Chromium (Debian's, driven by Playwright): after a short
toy sweep recorded on a real `mlflow server`, the runs-table link the sweep printed opens on the
trials with their val/mAP values, without any click; `detlab sweep dashboard` starts a real
optuna-dashboard whose printed link shows the study. The parent run carries the best trial's
params, metrics and link; the experiment is a model-training one (checked through the client).
Screenshots: work_dirs/test-artifacts/sweep/ ($DETLAB_TEST_ARTIFACTS overrides the root)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from browser_testing import chromium_page, close_assistant
from sweep_helpers import REPO, SMOKE, child_env, quick_sets, run_sweep_cli, study_runs

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

EXPERIMENT = "refined-det/cla-hrsc-smoke"
METRIC = "val/mAP_voc07"
SAMPLES = 2  # one wave of two concurrent trials: the machine is shared
ARTIFACTS = Path(os.environ.get("DETLAB_TEST_ARTIFACTS", REPO / "work_dirs" / "test-artifacts")) / "sweep"


@pytest.fixture(scope="module")
def toy_sweep(mlflow_server, synth_hrsc, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep-ui")
    env = child_env(tmp, MLFLOW_TRACKING_URI=mlflow_server.uri, DETLAB_TOY_EVAL_S="0.5")
    storage = tmp / "sweeps"
    args = ["--study", str(SMOKE), "--storage", str(storage), "--trainer", "toy", "--num-cpus", "2",
            "--progress-interval", "5",
            *[a for s in quick_sets(synth_hrsc, SAMPLES, epochs=2) for a in ("--set", s)]]
    run = run_sweep_cli(args, env, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run, storage, env


@pytest.fixture(scope="module")
def page():
    yield from chromium_page(ARTIFACTS, width=1600)


def _printed(pattern: str, text: str) -> str:
    found = re.findall(pattern, text)
    assert found, f"{pattern!r} not printed:\n{text[-3000:]}"
    return found[-1]


def test_parent_run_carries_the_best_trial(toy_sweep, client):
    from detlab.tracking.links import KIND_TAG, TRAINING_KIND

    parents, children = study_runs(client, EXPERIMENT)
    parent = parents[0]
    assert client.get_experiment(parent.info.experiment_id).tags[KIND_TAG] == TRAINING_KIND
    best_id = parent.data.tags["best.run_id"]
    best = next(c for c in children if c.info.run_id == best_id)
    # the objective under the trials' own name (its column, its sort), as the best evaluation
    assert parent.data.metrics[METRIC] == pytest.approx(float(parent.data.tags[f"best.{METRIC}"]), rel=1e-5)
    assert parent.data.metrics[METRIC] >= max(c.data.metrics.get(METRIC, float("-inf")) for c in children) - 1e-9
    for key in ("model.train_cfg.assigner.radius", "optimizer.lr"):
        assert parent.data.params[key] == best.data.params[key]
    assert parent.data.tags["best.run_url"].endswith(f"/#/experiments/{parent.info.experiment_id}/runs/{best_id}")
    assert best_id in parent.data.tags["mlflow.note.content"]


def test_printed_link_shows_the_trials_and_their_map_without_a_click(toy_sweep, client, page):
    run, _, _ = toy_sweep
    table = _printed(r"MLflow runs table: (\S+)", run.stdout)
    assert "viewStateShareKey=" in table
    parents, children = study_runs(client, EXPERIMENT)
    finished = [c for c in children if METRIC in c.data.metrics]
    assert finished

    page.goto(table, wait_until="load")
    for child in children:  # every trial is a row, no click needed
        page.locator(f"a[href$='/runs/{child.info.run_id}']").first.wait_for()
    page.get_by_text(METRIC).first.wait_for()  # the metric column
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "01_runs_table_from_printed_link.png"))
    close_assistant(page)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "02_runs_table_assistant_closed.png"))
    grid = page.inner_text("body")
    for child in finished:  # each trial's value (the UI shows it shortened with an ellipsis)
        value = child.data.metrics[METRIC]
        assert f"{value:.6f}"[:6] in grid, (value, grid[:2000])
    assert parents[0].info.run_name in grid          # the parent row, with the best value
    assert "Model training" in grid and "Observability" not in grid  # the runs, not GenAI's overview side bar


def test_dashboard_link_shows_the_study(toy_sweep, page, tmp_path):
    run, storage, env = toy_sweep
    cmd = [sys.executable, "-m", "detlab.cli", "sweep", "dashboard", "--study", str(SMOKE),
           "--storage", str(storage), "--port", "0"]
    log = tmp_path / "dashboard.out"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        link = None
        while time.monotonic() < deadline and link is None and proc.poll() is None:
            found = re.findall(r"Optuna dashboard of \S+: (\S+)", log.read_text())
            link = found[0] if found else None
            time.sleep(0.5)
        assert link, f"no dashboard link printed (exit {proc.poll()}):\n{log.read_text()[-2000:]}"
        assert link.startswith("http://127.0.0.1:")
        page.goto(link, wait_until="load")
        page.get_by_text("History").first.wait_for(state="attached")  # a side-bar item (collapsed)
        page.wait_for_timeout(3000)
        page.screenshot(path=str(ARTIFACTS / "03_optuna_dashboard.png"), full_page=True)
        body = page.inner_text("body")
        assert "cla_hrsc_smoke" in body
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
