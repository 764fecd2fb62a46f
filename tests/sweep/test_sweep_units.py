"""The sweep's pieces without a cluster: data rebasing, Optuna storage and cleanup, concurrency,
the leaderboard, the progress table, ASHA's stop at max_t, the toy objective."""
from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pytest

from detlab.errors import UserError
from detlab.specs import check_against_config, load_spec
from sweep_helpers import REPO, SMOKE


@pytest.fixture(scope="module")
def smoke():
    return load_spec(SMOKE)


def test_dataset_root_rebases_every_data_path(smoke, tmp_path: Path) -> None:
    from detlab.sweep.data import dataset_overrides

    spec = load_spec(SMOKE, [f"dataset.root={tmp_path}/hrsc"])
    out = dataset_overrides(spec, check_against_config(spec))
    assert out["data.train.ann_file"] == f"{tmp_path}/hrsc/ImageSets/trainval.txt"
    assert out["data.val.ann_file"] == f"{tmp_path}/hrsc/ImageSets/test.txt"
    assert out["data.test.img_prefix"] == f"{tmp_path}/hrsc/FullDataSet/AllImages/"
    assert {k.split(".")[1] for k in out} == {"train", "val", "test"}
    rel = dataset_overrides(smoke, check_against_config(smoke))
    assert rel["data.train.ann_subdir"] == f"{REPO}/{smoke.dataset.root}/FullDataSet/Annotations/"  # relative: the repo's


def test_missing_data_root_is_a_user_error(tmp_path: Path) -> None:
    from detlab.sweep.data import check_data_exists

    spec = load_spec(SMOKE, [f"dataset.root={tmp_path}/nope"])
    with pytest.raises(UserError, match="dataset.root: .*nope does not exist .*--synth-images"):
        check_data_exists(spec)


def test_optuna_storage_url(smoke, tmp_path: Path) -> None:
    from detlab.sweep.optuna_store import storage_url

    assert storage_url(smoke, tmp_path / "o.db") == f"sqlite:///{tmp_path}/o.db"
    spec = load_spec(SMOKE, ["storage.optuna=sweeps/x.db"])
    assert storage_url(spec, tmp_path / "o.db") == f"sqlite:///{REPO}/sweeps/x.db"
    spec = load_spec(SMOKE, ["storage.optuna=postgresql://u@db:5432/optuna"])
    assert storage_url(spec, tmp_path / "o.db") == "postgresql://u@db:5432/optuna"


def test_running_optuna_trials_are_failed(tmp_path: Path) -> None:
    import optuna

    from detlab.sweep.optuna_store import ZOMBIE_ATTR, fail_running_trials, make_storage

    url = f"sqlite:///{tmp_path}/o.db"
    study = optuna.create_study(study_name="s", storage=make_storage(url))
    study.tell(study.ask(), 1.0)
    study.ask()  # left RUNNING, as by a killed driver
    assert fail_running_trials(url, "s", "zombie") == [1]
    states = [t.state.name for t in optuna.load_study(study_name="s", storage=url).trials]
    assert states == ["COMPLETE", "FAIL"]
    assert optuna.load_study(study_name="s", storage=url).trials[1].system_attrs[ZOMBIE_ATTR] == "zombie"
    assert fail_running_trials(url, "missing", "x") == []


def test_an_unusable_optuna_storage_is_one_line_without_its_password(tmp_path: Path) -> None:
    from detlab.errors import UserError
    from detlab.sweep.optuna_store import make_storage

    with pytest.raises(UserError) as err:  # no PostgreSQL driver in the test environment
        make_storage("postgresql://optuna:s3cret@127.0.0.1:1/optuna")
    line = str(err.value)
    assert "\n" not in line and "s3cret" not in line and "optuna:***@127.0.0.1" in line
    assert "driver is not installed" in line and "psycopg[binary]" in line

    (tmp_path / "afile").write_text("")
    with pytest.raises(UserError) as err:  # a SQLite file that cannot be opened
        make_storage(f"sqlite:///{tmp_path}/afile/o.db")
    assert str(err.value).startswith(f"Optuna storage sqlite:///{tmp_path}/afile/o.db: ")


@pytest.mark.parametrize("cpus, gpus, conc, available, expected", [
    (0.9, 0, 2, {"CPU": 2.0}, 2),       # 2 x (0.9 + 0.1) = 2
    (1.0, 0, 4, {"CPU": 2.0}, 1),       # 1.1 per trial
    (0.9, 0, 8, {"CPU": 16.0}, 8),      # the spec's own limit
    (4, 1, 4, {"CPU": 32.0, "GPU": 2.0}, 1),   # 2 workers x 1 GPU
])
def test_concurrency_is_capped_by_the_cluster(smoke, cpus, gpus, conc, available, expected) -> None:
    from detlab.sweep.cluster import concurrency

    workers = 2 if gpus else 1
    spec = load_spec(SMOKE, [f"resources.cpus_per_worker={cpus}", f"resources.gpus_per_worker={gpus}",
                             f"resources.workers_per_trial={workers}", f"trials.max_concurrent={conc}"])
    assert concurrency(spec, available) == expected


def test_trial_processes_on_the_head_cap_concurrency(smoke) -> None:
    from detlab.sweep.cluster import concurrency

    spec = load_spec(SMOKE, ["resources.cpus_per_worker=0.1", "trials.max_concurrent=50"])
    assert concurrency(spec, {"CPU": 64.0}, head_cpu=1.0) == 10
    with pytest.raises(UserError, match="the head node has 0 CPU"):
        concurrency(spec, {"CPU": 64.0}, head_cpu=0.0)


def test_a_trial_that_does_not_fit_is_refused(smoke) -> None:
    from detlab.sweep.cluster import concurrency

    with pytest.raises(UserError, match=r"resources.workers_per_trial: 4 workers x 0.9 CPU .* cluster has 2$"):
        concurrency(load_spec(SMOKE, ["resources.workers_per_trial=4"]), {"CPU": 2.0})
    with pytest.raises(UserError, match="plus 0.1 for its own process, but the cluster has 1"):
        concurrency(load_spec(SMOKE, ["resources.cpus_per_worker=1"]), {"CPU": 1.0})


def test_asha_lets_a_full_trial_end_by_itself_and_records_stops() -> None:
    from ray.tune.schedulers import TrialScheduler

    from detlab.sweep.search import PruningASHA, is_pruned

    asha = PruningASHA(time_attr="training_iteration", metric="m", mode="max", max_t=3, grace_period=1,
                       reduction_factor=2)
    trials = [SimpleNamespace(trial_id=f"t{i}") for i in range(3)]
    for t in trials:
        asha.on_trial_add(None, t)
    decisions = [asha.on_trial_result(None, t, {"training_iteration": 1, "m": v})
                 for t, v in zip(trials, (0.9, 0.8, 0.1))]
    assert decisions == [TrialScheduler.CONTINUE, TrialScheduler.STOP, TrialScheduler.STOP]
    assert asha.pruned == {"t1", "t2"}
    assert asha.on_trial_result(None, trials[0], {"training_iteration": 3, "m": 0.95}) == TrialScheduler.CONTINUE
    assert is_pruned(asha, "t2", 1, 3) and not is_pruned(asha, "t0", 3, 3)
    assert is_pruned(None, "x", 1, 3) and not is_pruned(None, "x", 1, None)


def test_leaderboard_ranks_and_renders(smoke) -> None:
    import pandas as pd

    from detlab.sweep import leaderboard
    from detlab.sweep.runs import ChildRuns

    metric = smoke.objective.metric
    keys = list(smoke.search_space)

    def result(tid, values, error=None):
        config = {k: 0.5 for k in keys} | {"model.train_cfg.assigner.num_neighbors": 2, "seed": 0}
        df = pd.DataFrame({metric: values, "training_iteration": range(1, len(values) + 1)}) if values else None
        metrics = {"trial_id": tid, "training_iteration": len(values), "done": error is None}
        metrics |= {metric: values[-1]} if values else {}
        return SimpleNamespace(metrics=metrics, metrics_dataframe=df, error=error, config=config,
                               path=f"/x/t00{tid[-1]}_{tid}")

    results = [result("a1", [0.1, 0.3, 0.2]), result("b2", [0.05]), result("c3", [], RuntimeError("boom")),
               result("d4", [0.2, 0.25, 0.28]), result("e5", [0.9])]
    results[-1].metrics["done"] = False                                       # interrupted while running
    runs = ChildRuns("/nonexistent", "sqlite:////tmp/x.db", "e", None)
    rows = leaderboard.build(smoke, results, runs, None, 3)
    assert [r["trial_id"] for r in rows] == ["e5", "a1", "d4", "b2", "c3"]
    assert [r["status"] for r in rows] == ["unfinished", "finished", "finished", "pruned", "failed"]
    rows = [r for r in rows if r["status"] != "unfinished"]
    assert rows[0][metric] == 0.3 and rows[0][f"{metric} (last)"] == 0.2   # best over evaluations
    assert rows[3]["error"] == "RuntimeError: boom"
    assert leaderboard.best_row(rows, metric)["trial_id"] == "a1"
    csv_text = leaderboard.to_csv(rows, smoke)
    assert csv_text.splitlines()[0].startswith(f"rank,trial,status,evaluations,{metric}")
    text = leaderboard.to_text(rows, smoke)
    assert "radius" in text and "failed trials:" in text


def test_progress_table(smoke) -> None:
    from detlab.sweep.progress import ProgressTable, short_names

    assert short_names(["a.b.radius", "x.lr", "y.lr"]) == {"a.b.radius": "radius", "x.lr": "x.lr", "y.lr": "y.lr"}
    table = ProgressTable("s", "m", "max", ["a.radius"], total=2, interval=0)
    table.out = io.StringIO()
    trial = SimpleNamespace(trial_id="ab", experiment_tag="1_x", config={"a.radius": 0.5}, status="RUNNING")
    table.on_trial_start(0, [], trial)
    table.on_trial_result(0, [], trial, {"training_iteration": 1, "m": 0.4})
    table.on_step_end(0, [trial])
    text = table.out.getvalue()
    assert "+ t001_ab started: radius=0.5" in text and "best m=0.4 (t001_ab)" in text


def test_toy_objective_is_a_function_of_the_config() -> None:
    from detlab.sweep.toy import objective, plateau

    good = {"model.train_cfg.assigner.radius": 0.6, "optimizer.lr": 3e-3, "model.bbox_head.with_refine": True}
    bad = good | {"model.train_cfg.assigner.radius": 0.1, "model.bbox_head.with_refine": False}
    assert plateau(good) > plateau(bad)
    assert objective(good, 3, 3, seed=1) == objective(good, 3, 3, seed=1)   # reproducible
    assert objective(good, 1, 3) < objective(good, 3, 3)                     # it learns


def test_an_existing_synthetic_set_of_another_size_is_used_and_said(tmp_path, capsys) -> None:
    from detlab.atomic import read_marker
    from detlab.sweep.data import ensure_synthetic

    root = tmp_path / "hrsc"
    ensure_synthetic("hrsc2016", root, 2, seed=0)
    assert read_marker(root)["images"] == 2 and capsys.readouterr().err == ""
    ensure_synthetic("hrsc2016", root, 3, seed=0)                      # not regenerated
    assert read_marker(root)["images"] == 2
    assert "already holds a synthetic hrsc2016 set of 2 images (seed 0); using it, not 3" in capsys.readouterr().err


def test_settling_that_outlasts_its_bound_is_named(caplog) -> None:
    """The end-of-sweep settling waits a bounded time; trials still waiting on MLflow are named."""
    import threading

    from detlab.sweep.runs import Settler, TrialOutcome

    release = threading.Event()

    class SlowRuns:  # MLflow that does not answer for this trial
        tracking_uri = "http://127.0.0.1:9"

        def settle(self, outcome):
            release.wait(30)

    settler = Settler(SlowRuns())  # type: ignore[arg-type]
    settler.submit(TrialOutcome("t007", "t007", "finished", 3, None))
    with caplog.at_level("WARNING", logger="detlab.sweep"):
        settler.join(timeout=0.5)
    release.set()
    lines = [r.getMessage() for r in caplog.records if "not settled" in r.getMessage()]
    assert len(lines) == 1 and "1 trial run(s) not settled after 0 s (t007)" in lines[0]
