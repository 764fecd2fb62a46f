"""Issue 13 on a real training run (mini HRSC2016, one epoch on Ray) and a real `mlflow server`:
`detlab test --run` logs test/* to that run, the registered model round-trips to the same
numbers, and bad input ends in one line with exit code 2."""
from __future__ import annotations

import os.path as osp

import pytest

from results_helpers import DOTA_MINI, REPO, cli, json_out

pytestmark = pytest.mark.slow
TEST_KEYS = ("test/AP50_voc07", "test/AP50_voc12", "test/AP75", "test/mAP50_95", "test/mAP", "test/AP/ship")


def test_test_run_logs_test_metrics_to_the_training_run(trained, mlflow_server, client, capsys):
    assert cli("test", "--run", trained.run_id, "--mlflow-uri", mlflow_server.uri) == 0
    summary = json_out(capsys.readouterr().out)
    assert summary["run_id"] == trained.run_id and summary["dataset"] == "hrsc2016"

    run = client.get_run(trained.run_id)
    assert run.info.status == "FINISHED"  # left as training ended it
    metrics = run.data.metrics
    assert all(k in metrics for k in TEST_KEYS), sorted(metrics)
    assert metrics["test/images"] == 2
    # this config's test split is its val split: the same model on the same images through the
    # same evaluator gives exactly the number training recorded for its best checkpoint
    assert metrics["test/AP50_voc07"] == metrics["best/val/mAP_voc07"]
    assert metrics["test/AP50_voc12"] == metrics["best/val/mAP_voc12"]
    assert 0 <= metrics["test/mAP50_95"] <= metrics["test/AP50_voc07"] <= 1
    assert run.data.tags["test.source"] == f"run {trained.run_id}"
    assert "IoU" in run.data.tags["protocol.metric.test"]
    # every training run: the model profile and the protocol it was trained and evaluated under
    assert metrics["profile/params_M"] > 0 and metrics["profile/gflops"] > 0 and metrics["profile/latency_ms_cpu"] > 0
    assert metrics["profile/infer_imgs_per_s_cpu"] == pytest.approx(1000 / metrics["profile/latency_ms_cpu"])
    assert metrics["train/imgs_per_s"] > 0
    assert run.data.tags["protocol.dataset"] == "hrsc2016" and run.data.tags["protocol.input_size"] == "400x256"
    listed = {a.path for d in ("test", "test/Task1", "test/pr") for a in client.list_artifacts(trained.run_id, d)}
    assert {"test/eval.json", "test/Task1/Task1_ship.txt", "test/pr/pr_ship.png"} <= listed


def test_registered_model_round_trips_to_the_same_metrics(trained, mlflow_server, client, capsys):
    assert cli("test", "--run", trained.run_id, "--mlflow-uri", mlflow_server.uri) == 0
    capsys.readouterr()
    assert cli("model", "register", "--run", trained.run_id, "--name", "mini-hrsc",
               "--mlflow-uri", mlflow_server.uri) == 0
    registered = json_out(capsys.readouterr().out)
    assert registered["registered"]["uri"] == "models:/mini-hrsc/1"
    version = client.get_model_version("mini-hrsc", "1")
    assert version.run_id == trained.run_id

    assert cli("test", "--model", "models:/mini-hrsc/1", "--mlflow-uri", mlflow_server.uri) == 0
    summary = json_out(capsys.readouterr().out)
    assert summary["run_id"] != trained.run_id  # a run of its own, naming its source
    model_run = client.get_run(summary["run_id"])
    assert model_run.info.status == "FINISHED"
    assert model_run.data.tags["detlab.source.model"] == "models:/mini-hrsc/1"
    assert model_run.data.tags["detlab.source.run"] == trained.run_id
    ours = client.get_run(trained.run_id).data.metrics
    assert {k: model_run.data.metrics[k] for k in TEST_KEYS} == {k: ours[k] for k in TEST_KEYS}


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("detlab: error:")]
    assert len(errors) == 1, err
    return errors[0]


def _test_runs(client) -> int:
    exp = client.get_experiment_by_name("detlab-test")
    return len(client.search_runs([exp.experiment_id])) if exp else 0


def test_bad_input_is_one_line_and_exit_2(trained, mlflow_server, client, capsys, tmp_path):
    uri = ["--mlflow-uri", mlflow_server.uri]
    assert cli("test", "--run", "0" * 32, *uri) == 2
    line = _one_line_error(capsys)
    assert "run 00000000" in line and "not found" in line

    exp = client.get_experiment_by_name("results").experiment_id
    empty = client.create_run(exp, run_name="no-checkpoint")
    client.set_terminated(empty.info.run_id, "FAILED")
    assert cli("test", "--run", empty.info.run_id, *uri) == 2
    assert "has no best checkpoint" in _one_line_error(capsys)

    # the HRSC2016 checkpoint (1 class) with the DOTA config (15 classes): refused before any run is made
    before = _test_runs(client)
    assert cli("test", "--checkpoint", trained.best_checkpoint, "--config", DOTA_MINI, *uri) == 2
    line = _one_line_error(capsys)
    assert "does not fit config" in line and "of another shape" in line
    assert _test_runs(client) == before

    (tmp_path / "empty").mkdir()
    assert cli("predict", "--run", trained.run_id, *uri, "--images", str(tmp_path / "empty"),
               "--out", str(tmp_path / "out")) == 2
    assert "no images" in _one_line_error(capsys)
    assert not (tmp_path / "out").exists()


def test_a_sweep_registers_its_confirmed_winner_and_only_it(trained, mlflow_server, client, tmp_path):
    """The glue after a confirmation: the winner's search run is registered with the confirmation's
    numbers on the model version; with no winner, or a winner without a checkpoint, nothing is."""
    import io

    from scipy import stats

    from detlab.specs import load_spec
    from detlab.sweep.confirm import Setting, summarize
    from detlab.sweep.register_winner import register_winner

    spec = load_spec(osp.join(REPO, "experiments", "studies", "cla_hrsc_smoke.yaml"),
                     ["confirm.seeds=[0, 1, 2]", "confirm.model_name=mini-hrsc-winner"])
    base = Setting("baseline", {"model.train_cfg.assigner.radius": 0.5})
    best = Setting("top1", {"model.train_cfg.assigner.radius": 0.8}, "t001", 0.7, trained.run_id)
    clear = {"baseline": {0: 0.50, 1: 0.52, 2: 0.51}, "top1": {0: 0.60, 1: 0.63, 2: 0.61}}
    conf = summarize(spec, [base, best], clear)
    conf.parent_run_id = "p" * 32
    assert conf.winner is not None and conf.winner.setting is best
    out = io.StringIO()
    uri = register_winner(conf, spec, mlflow_server.uri, out)
    assert uri == "models:/mini-hrsc-winner/1", out.getvalue()
    version = client.get_model_version("mini-hrsc-winner", "1")
    assert version.run_id == trained.run_id
    expected = stats.ttest_rel([0.60, 0.63, 0.61], [0.50, 0.52, 0.51]).pvalue
    assert float(version.tags["detlab.confirm.p_value"]) == pytest.approx(expected, rel=1e-5)
    assert version.tags["detlab.confirm.seeds"] == "0,1,2"

    # no winner (the same numbers, reversed): nothing new in the registry
    assert register_winner(summarize(spec, [base, best], {"baseline": clear["top1"], "top1": clear["baseline"]}),
                           spec, mlflow_server.uri, io.StringIO()) == ""
    # a winner whose run has no checkpoint (as with the toy trainer): said, not raised
    exp = client.get_experiment_by_name("results").experiment_id
    bare = client.create_run(exp, run_name="no-checkpoint-winner")
    client.set_terminated(bare.info.run_id, "FINISHED")
    lucky = Setting("top1", best.values, "t002", 0.7, bare.info.run_id)
    out = io.StringIO()
    assert register_winner(summarize(spec, [base, lucky], clear), spec, mlflow_server.uri, out) == ""
    assert "not registered" in out.getvalue() and "no best checkpoint" in out.getvalue()
    assert len(client.search_model_versions("name='mini-hrsc-winner'")) == 1


def test_leaderboard_shows_the_profile_of_each_trial_run_from_mlflow(trained, mlflow_server, client):
    """The sweep leaderboard's params / GFLOPs / latency columns come from each trial's MLflow run."""
    from detlab.specs import load_spec
    from detlab.sweep.leaderboard import profiles, to_csv, to_text

    spec = load_spec(osp.join(REPO, "experiments", "studies", "cla_hrsc_smoke.yaml"))
    logged = client.get_run(trained.run_id).data.metrics
    found = profiles(mlflow_server.uri, [trained.run_id, None])
    assert found[trained.run_id] == {k: logged[k] for k in ("profile/params_M", "profile/gflops",
                                                            "profile/latency_ms_cpu")}
    row = {"rank": 1, "trial": "t000", "status": "finished", "evaluations": 1, "val/mAP_voc07": 0.5,
           "mlflow_run_id": trained.run_id, "error": "", **found[trained.run_id]}
    text = to_text([row], spec)
    assert "params_M" in text and "GFLOPs" in text and "cpu_ms" in text
    assert all(f"{logged[k]:.4g}" in text for k in ("profile/params_M", "profile/gflops", "profile/latency_ms_cpu"))
    board = to_csv([row], spec)
    assert str(logged["profile/params_M"]) in board
