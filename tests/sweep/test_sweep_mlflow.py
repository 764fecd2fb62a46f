"""A whole sweep on an embedded Ray, recorded in a real `mlflow server`: one parent run with the
spec, search space, best trial, leaderboard and plots; one child run per trial; pruned trials
FINISHED with `pruned=true`; a crashing trial FAILED with its reason while the study goes on."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from sweep_helpers import SMOKE, TRAINER, child_env, optuna_states, quick_sets, run_sweep_cli, study_runs

EXPERIMENT = "refined-det/cla-hrsc-smoke"
SAMPLES = 5


@pytest.fixture(scope="module")
def sweep(mlflow_server, synth_hrsc, tmp_path_factory):
    """The toy trainer (the machinery, quickly) with one crash rule: trials drawing k=3 raise (the first, seeded draw does)."""
    tmp = tmp_path_factory.mktemp("sweep")
    env = child_env(tmp, MLFLOW_TRACKING_URI=mlflow_server.uri, DETLAB_TOY_CRASH="model.train_cfg.assigner.num_neighbors=3",
                    DETLAB_TOY_EVAL_S="1")
    args = ["--study", str(SMOKE), "--storage", str(tmp / "sweeps"), "--trainer", "toy", "--num-cpus", "2",
            "--progress-interval", "5", *[a for s in quick_sets(synth_hrsc, SAMPLES, epochs=3) for a in ("--set", s)]]
    run = run_sweep_cli(args, env, timeout=780)   # inside the first test's 900 s (a fixture counts there)
    return run, tmp / "sweeps" / "cla_hrsc_smoke"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_sweep_ends_with_the_leaderboard_and_the_ui_command(sweep, mlflow_server) -> None:
    run, study_dir = sweep
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert "starting sweep cla_hrsc_smoke: 5 trials" in out
    assert "trial" in out and "status" in out and "evals" in out         # the live table
    assert "leaderboard of cla_hrsc_smoke (5 trials" in out
    assert f"MLflow tracking server: {mlflow_server.uri}" in out
    rows = list(csv.DictReader(io.StringIO((study_dir / "detlab" / "leaderboard.csv").read_text())))
    assert len(rows) == SAMPLES and [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_one_parent_and_one_child_per_trial(sweep, client) -> None:
    parents, children = study_runs(client, EXPERIMENT)
    assert len(parents) == 1 and len(children) == SAMPLES
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert len({c.info.run_name for c in children}) == SAMPLES
    for child in children:
        params = child.data.params
        assert {"model.train_cfg.assigner.radius", "model.train_cfg.assigner.num_neighbors",
                "optimizer.lr"} <= set(params), sorted(params)
        if child.info.status == "FINISHED":
            assert "val/mAP_voc07" in child.data.metrics
            assert child.data.tags["pruned"] in ("true", "false")
            assert "error" not in child.data.tags


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_pruned_and_crashed_trials(sweep, client) -> None:
    _, children = study_runs(client, EXPERIMENT)
    crashed = [c for c in children if c.data.params["model.train_cfg.assigner.num_neighbors"] == "3"]
    others = [c for c in children if c not in crashed]
    assert crashed and others, "the seeded draws should give both kinds; change the crash rule if not"
    for c in crashed:
        assert c.info.status == "FAILED"
        assert "toy crash: model.train_cfg.assigner.num_neighbors=3" in c.data.tags["error"]
        assert "\n" not in c.data.tags["error"]
    assert all(c.info.status == "FINISHED" for c in others)
    pruned = [c for c in others if c.data.tags["pruned"] == "true"]
    for c in pruned:
        assert int(c.data.tags["detlab.tune.evaluations"]) < 3


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_parent_run_holds_the_study(sweep, client) -> None:
    run, study_dir = sweep
    parent = study_runs(client, EXPERIMENT)[0][0]
    params, metrics, tags = parent.data.params, parent.data.metrics, parent.data.tags
    assert params["trials.num_samples"] == str(SAMPLES) and params["sampler.type"] == "tpe"
    assert params["search_space.model.train_cfg.assigner.radius.type"] == "uniform"
    assert params["objective.metric"] == "val/mAP_voc07"
    assert {"best.model.train_cfg.assigner.radius", "best.optimizer.lr"} <= set(params)
    assert "best/val/mAP_voc07" in metrics and metrics["trials/total"] == SAMPLES
    assert tags["best.run_id"] in {c.info.run_id for c in study_runs(client, EXPERIMENT)[1]}
    assert tags["detlab.study"] == "cla_hrsc_smoke" and "git.commit" in tags
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"spec", "plots", "leaderboard.csv", "best_trial.json"} <= artifacts
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "spec")} >= {
        "spec/study.yaml", "spec/source.yaml", "spec/search_space.json"}
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    assert {"plots/optimization_history.png", "plots/learning_curves.png"} <= plots
    space = json.loads(Path(client.download_artifacts(parent.info.run_id, "spec/search_space.json")).read_text())
    assert space["optimizer.lr"]["optuna"].startswith("FloatDistribution(")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_optuna_storage_is_consistent(sweep) -> None:
    _, study_dir = sweep
    states = optuna_states(study_dir)
    assert len(states) == SAMPLES and "RUNNING" not in states
    assert set(states) <= {"COMPLETE", "FAIL", "PRUNED"}


def test_trainer_choice_is_documented() -> None:
    assert TRAINER in ("mmdet", "toy")
