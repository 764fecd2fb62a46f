"""The confirmation stage against a real `mlflow server`, with the toy trainer (whose CLA optimum
is the paper's setting, the default baseline): the search's best single run is a lucky seed,
and re-trained over seeds it does not beat the baseline; a baseline that is truly worse is beaten.
Plus the pure parts (settings picked, verdict) on made-up numbers."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from scipy import stats

from sweep_helpers import REPO, child_env, run_sweep_cli, study_runs

BASE = "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py"
EXPERIMENT = "test-confirm"
SEEDS = [0, 1, 2, 3, 4]


def _row(trial, status, value, radius, pos):
    return {"trial": trial, "status": status, "val/mAP_voc07": value, "model.train_cfg.assigner.radius": radius,
            "model.train_cfg.assigner.num_neighbors": 2, "model.train_cfg.assigner.pos_iou_thr": pos,
            "model.train_cfg.assigner.neg_iou_thr": 0.35, "optimizer.lr": 1e-3}


def test_settings_and_verdict_from_made_up_numbers():
    from detlab.specs import load_spec
    from detlab.specs.study import CLA_BASELINE
    from detlab.sweep.confirm import pick_settings, summarize, to_text

    spec = load_spec(REPO / "experiments" / "studies" / "cla_hrsc_smoke.yaml",
                     ["confirm={top_k: 2, seeds: [0, 1, 2]}"])
    rows = [_row("t1", "finished", 0.60, 0.7, 0.5), _row("t2", "pruned", 0.59, 0.4, 0.5),
            _row("t3", "finished", 0.58, 0.7, 0.5), _row("t4", "finished", 0.55, 0.9, 0.45),
            _row("t5", "finished", 0.50, 0.3, 0.45)]
    settings = pick_settings(spec, rows)
    # pruned trials ran a shorter schedule; t3 repeats t1's setting: the next distinct one is t4
    assert [(s.name, s.trial) for s in settings] == [("baseline", ""), ("top1", "t1"), ("top2", "t4")]
    assert settings[0].values == CLA_BASELINE            # the CLA study's default baseline: the paper's setting
    base = {0: 0.50, 1: 0.52, 2: 0.51}
    lucky = summarize(spec, settings, {"baseline": base, "top1": {0: 0.60, 1: 0.49, 2: 0.50},
                                       "top2": {0: 0.49, 1: 0.50, 2: 0.52}})
    assert lucky.winner is None and lucky.complete
    assert lucky.verdict.startswith("no setting beat the baseline at α = 0.05 over 3 seeds")
    top1 = lucky.rows[1]
    assert top1.test.p_value == pytest.approx(stats.ttest_rel([0.60, 0.49, 0.50], [0.50, 0.52, 0.51]).pvalue)
    low, high = top1.interval
    assert (low, high) == pytest.approx(stats.t.interval(0.95, 2, loc=np.mean([0.60, 0.49, 0.50]),
                                                         scale=stats.sem([0.60, 0.49, 0.50])))
    real = summarize(spec, settings, {"baseline": base, "top1": {0: 0.56, 1: 0.575, 2: 0.57},
                                      "top2": {0: 0.52, 1: 0.54, 2: 0.52}})
    assert real.winner is real.rows[1] and real.verdict.startswith("winner: top1")
    assert "top1 *" in to_text(real)
    worse = summarize(spec, settings, {"baseline": base, "top1": {0: 0.40, 1: 0.41, 2: 0.405}, "top2": base})
    assert worse.winner is None                          # significant, but worse: not a winner
    partial = summarize(spec, settings, {"baseline": base, "top1": {0: 0.6}})
    assert not partial.complete and partial.winner is None and partial.verdict.startswith("no verdict")


def _study(tmp, data_root, name: str, baseline: str = "", samples: int = 6, seeds: list[int] = SEEDS) -> str:
    """A small CLA search near the paper's setting: radius and the positive IoU threshold only, so
    no searched setting is truly better than the baseline (the toy's optimum) unless told otherwise."""
    path = tmp / f"{name}.yaml"
    path.write_text(f"""
name: {name}
base_config: {REPO / BASE}
dataset: {{name: hrsc2016, root: {data_root}}}
overrides: {{runner.max_epochs: 2, evaluation.interval: 1, data.samples_per_gpu: 1}}
search_space:
  model.train_cfg.assigner.radius: {{type: uniform, low: 0.35, high: 0.65}}
  model.train_cfg.assigner.pos_iou_thr: {{type: uniform, low: 0.45, high: 0.55}}
objective: {{metric: val/mAP_voc07, mode: max}}
sampler: {{type: random, seed: 1}}
trials: {{num_samples: {samples}, max_concurrent: 2}}
resources: {{workers_per_trial: 1, cpus_per_worker: 0.5}}
mlflow: {{experiment: {EXPERIMENT}-{name}}}
confirm: {{top_k: 1, seeds: {seeds}{baseline}}}
""")
    return str(path)


def _run(tmp, study, mlflow_server):
    env = child_env(tmp, MLFLOW_TRACKING_URI=mlflow_server.uri, DETLAB_TOY_EVAL_S="0.2", DETLAB_TOY_SEED_SD="0.03",
                    DETLAB_TOY_INLINE="1")
    run = run_sweep_cli(["--study", study, "--storage", str(tmp / "sweeps"), "--trainer", "toy", "--num-cpus", "2",
                         "--progress-interval", "30"], env, timeout=780)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return run


@pytest.fixture(scope="module")
def lucky(mlflow_server, synth_hrsc, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("confirm-lucky")
    return _run(tmp, _study(tmp, synth_hrsc, "lucky"), mlflow_server), tmp / "sweeps"


def _confirmation(folder) -> dict[str, dict]:
    return {r["setting"]: r for r in csv.DictReader(io.StringIO((folder / "detlab" / "confirmation.csv").read_text()))}


def _values(client, experiment, parent_id) -> dict[str, dict[int, float]]:
    """setting -> seed -> val/mAP_voc07 of the confirmation's child runs, straight from MLflow."""
    _, children = study_runs(client, experiment)
    out: dict[str, dict[int, float]] = {}
    for c in children:
        if c.data.tags.get("detlab.ablation", "").endswith(".confirm") and c.info.status == "FINISHED":
            assert c.data.tags["mlflow.parentRunId"] == parent_id
            out.setdefault(c.data.tags["detlab.ablate.cell"], {})[int(c.data.tags["detlab.ablate.seed"])] = \
                c.data.metrics["val/mAP_voc07"]
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_lucky_best_run_is_not_declared_the_winner(lucky, client):
    run, sweeps = lucky
    rows = _confirmation(sweeps / "lucky")
    assert set(rows) == {"baseline", "top1"}
    # the best single run of the search beat the baseline's run with the same seed: it looked like a win
    assert float(rows["top1"]["search_value"]) > _baseline_seed0(client, "lucky")
    # over seeds, it does not: no winner, and the terminal and the parent run say so plainly
    assert rows["top1"]["winner"] == "false"
    assert "no setting beat the baseline at α = 0.05" in run.stdout
    assert "confirmation of lucky" in run.stdout and "95 % CI" in run.stdout
    parents, _ = study_runs(client, f"{EXPERIMENT}-lucky")
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["detlab.confirm.winner"] == "none"
    assert parent.data.tags["detlab.confirm.verdict"].startswith("no setting beat the baseline")
    # the p-values are scipy's paired t-test over the runs MLflow holds (5 seeds each)
    values = _values(client, f"{EXPERIMENT}-lucky", parent.info.run_id)
    for name in ("top1",):
        a = [values[name][s] for s in SEEDS]
        b = [values["baseline"][s] for s in SEEDS]
        assert float(rows[name]["p_value"]) == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-6)
        assert float(rows[name]["mean"]) == pytest.approx(np.mean(a), abs=1e-12)
        assert parent.data.metrics[f"confirm/{name}/p_value"] == pytest.approx(float(rows[name]["p_value"]))
    # the leaderboard carries the confirmed numbers of the trials that were confirmed
    board = list(csv.DictReader(io.StringIO((sweeps / "lucky" / "detlab" / "leaderboard.csv").read_text())))
    assert board[0]["confirm_setting"] == "top1" and board[0]["confirm_winner"] == "false"
    assert float(board[0]["confirm_mean"]) == pytest.approx(float(rows["top1"]["mean"]))


def _baseline_seed0(client, name) -> float:
    parents, _ = study_runs(client, f"{EXPERIMENT}-{name}")
    return _values(client, f"{EXPERIMENT}-{name}", parents[0].info.run_id)["baseline"][0]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_rerun_reuses_the_finished_confirmation(lucky, mlflow_server, client):
    run, sweeps = lucky
    again = _run(sweeps.parent, str(sweeps.parent / "lucky.yaml"), mlflow_server)
    assert "resuming the confirmation of lucky" in again.stdout
    assert "no setting beat the baseline" in again.stdout
    _, children = study_runs(client, f"{EXPERIMENT}-lucky")
    confirm = [c for c in children if c.data.tags.get("detlab.ablation") == "lucky.confirm"]
    assert len(confirm) == 2 * len(SEEDS)                         # nothing trained twice


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_truly_worse_baseline_is_beaten(mlflow_server, synth_hrsc, tmp_path_factory, client):
    tmp = tmp_path_factory.mktemp("confirm-worse")
    # far from the toy's optimum: 2 search trials and 3 seeds are plenty to beat it
    run = _run(tmp, _study(tmp, synth_hrsc, "worse", ", baseline: {model.train_cfg.assigner.radius: 0.95}",
                           samples=2, seeds=[0, 1, 2]), mlflow_server)
    rows = _confirmation(tmp / "sweeps" / "worse")
    winner = [n for n, r in rows.items() if r["winner"] == "true"]
    assert len(winner) == 1 and float(rows[winner[0]]["p_value"]) < 0.05 and float(rows[winner[0]]["delta"]) > 0
    assert f"winner: {winner[0]}" in run.stdout
    parents, _ = study_runs(client, f"{EXPERIMENT}-worse")
    assert parents[0].data.tags["detlab.confirm.winner"] == winner[0]
    # the winner would be registered; the toy's runs have no checkpoint, so the sweep says why it is not
    assert f"winner {winner[0]} not registered" in run.stdout and "no best checkpoint" in run.stdout
    assert "detlab.confirm.model" not in parents[0].data.tags


def test_the_confirm_section_is_checked(tmp_path):
    from detlab.errors import UserError
    from detlab.specs import check_against_config, load_spec

    smoke = REPO / "experiments" / "studies" / "cla_hrsc_smoke.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text(smoke.read_text().replace("  top_k: 1 ", "  top_k: 1\n  topk: 2 "))
    with pytest.raises(UserError, match=r"bad.yaml: confirm.topk: unknown field \(did you mean 'top_k'\?\)"):
        load_spec(bad)
    with pytest.raises(UserError, match="confirm: seeds: lists seed 0 twice"):
        load_spec(smoke, ["confirm.seeds=[0, 0]"])
    with pytest.raises(UserError, match="confirm.baseline.model.train_cfg.assigner.radus: .*did you mean 'radius'"):
        check_against_config(load_spec(smoke, ["confirm.baseline={model.train_cfg.assigner.radus: 0.5}"]))
    assert load_spec(smoke, ["confirm=null"]).confirm is None
