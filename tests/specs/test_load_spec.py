"""Study specs: a valid one loads and round-trips; each bad one fails with one line naming file and field."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from detlab.config import yaml_load
from detlab.errors import UserError
from detlab.specs import StudySpec, check_resources, load_spec, parse_spec

BASE = """
model = dict(
    type='RefinedDet',
    train_cfg=dict(assigner=dict(type='CrossGridAssigner', radius=0.5, num_neighbors=9,
                                 pos_iou_thr=0.5, neg_iou_thr=0.4)),
    bbox_head=dict(type='FRHead', stacked_convs=4, with_attention=True, with_refine=True))
optimizer = dict(type='SGD', lr=0.0025, momentum=0.9)
runner = dict(type='EpochBasedRunner', max_epochs=12)
evaluation = dict(interval=3, metric='mAP')
data = dict(train=dict(pipeline=[dict(type='LoadImageFromFile'),
                                 dict(type='RResize', img_scale=(800, 800))]))
"""

MINI = """
_base_ = ['./base.py']
model = dict(bbox_head=dict(stacked_convs=2))  # deviation: a smaller head for CPU
custom_imports = dict(imports=['not_installed_here'], allow_failed_imports=False)
"""

SPEC = """
description: CLA radius and neighbours, FRHead switches
base_config: configs/refined_det_mini.py
dataset: {name: hrsc2016, root: data/hrsc}
overrides:
  runner.max_epochs: 6
search_space:
  model.train_cfg.assigner.radius: {type: uniform, low: 0.3, high: 0.9}
  model.train_cfg.assigner.num_neighbors: {type: int, low: 4, high: 12, step: 4}
  model.train_cfg.assigner.pos_iou_thr: {type: choice, values: [0.5, 0.6]}
  model.train_cfg.assigner.neg_iou_thr: {type: uniform, low: 0.3, high: 0.45}
  model.bbox_head.stacked_convs: {type: int, low: 1, high: 4}
  model.bbox_head.with_attention: {type: choice, values: [true, false]}
  model.bbox_head.with_refine: {type: choice, values: [true, false]}
  optimizer.lr: {type: loguniform, low: 1e-4, high: 1e-2}
objective: {metric: val/mAP_voc07, mode: max}
sampler: {type: tpe, seed: 7, n_startup_trials: 4}
scheduler: {type: asha, grace_period: 1, reduction_factor: 2}
trials: {num_samples: 8, max_concurrent: 2}
resources: {workers_per_trial: 2, cpus_per_worker: 1}
seeds: [0]
mlflow: {experiment: cla-radius}
"""

RADIUS = "model.train_cfg.assigner.radius"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small repository: pyproject.toml, an inheriting mmcv config, a studies folder."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "base.py").write_text(BASE)
    (tmp_path / "configs" / "refined_det_mini.py").write_text(MINI)
    (tmp_path / "studies").mkdir()
    return tmp_path


def spec_data() -> dict[str, Any]:
    return yaml_load(SPEC)


def write(repo: Path, data: dict[str, Any] | str, name: str = "study.yaml") -> Path:
    path = repo / "studies" / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def error_of(path: Path, sets: list[str] | None = None) -> str:
    """The message of the UserError that loading raises; checked to be one line naming the file."""
    with pytest.raises(UserError) as err:
        load_spec(path, sets or [])
    message = str(err.value)
    assert "\n" not in message, message
    assert message.startswith(f"{path}: "), message
    return message[len(f"{path}: "):]


# ------------------------------------------------------------------ valid

def test_valid_spec_loads(repo: Path) -> None:
    spec = load_spec(write(repo, spec_data(), "cla_radius.yaml"))
    assert spec.name == "cla_radius"                            # defaults to the file name
    assert spec.base_config == "configs/refined_det_mini.py"
    assert spec.resolve(spec.base_config) == repo / "configs" / "refined_det_mini.py"
    assert spec.search_space["optimizer.lr"].low == 1e-4        # YAML 1.1 would have read a string
    assert spec.search_space["model.bbox_head.stacked_convs"].low == 1
    assert isinstance(spec.search_space["model.bbox_head.stacked_convs"].low, int)
    assert spec.sampler.seed == 7 and spec.trials.num_samples == 8
    assert spec.scheduler.max_t == 2                            # 6 epochs (override) / interval 3
    assert spec.mlflow.experiment == "cla-radius"
    assert spec.source == str(repo / "studies" / "cla_radius.yaml")


def test_valid_spec_round_trips(repo: Path) -> None:
    spec = load_spec(write(repo, spec_data()))
    dumped = spec.model_dump(mode="json")
    assert StudySpec.model_validate(dumped).model_dump(mode="json") == dumped
    again = load_spec(write(repo, dumped, "study.yaml"))
    assert again == spec                                        # fields, source and root
    assert isinstance(again.search_space["model.bbox_head.stacked_convs"].low, int)


def test_defaults_fill_a_minimal_spec(repo: Path) -> None:
    data = {"base_config": "configs/refined_det_mini.py", "dataset": {"name": "dota"},
            "search_space": {RADIUS: {"type": "uniform", "low": 0.3, "high": 0.9}},
            "trials": {"num_samples": 2}}
    spec = load_spec(write(repo, data, "tiny.yaml"))
    assert (spec.sampler.type, spec.scheduler.type, spec.seeds) == ("tpe", "none", [0])
    assert spec.mlflow.experiment == "tiny"
    assert spec.objective.metric == "val/mAP_voc07"


def test_explicit_root(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    path = elsewhere / "s.yaml"
    path.write_text(SPEC)
    assert load_spec(path, root=repo).resolve("x") == repo / "x"
    assert "base_config: no such file configs/refined_det_mini.py" in str(
        pytest.raises(UserError, load_spec, path).value)


# ------------------------------------------------------------------ schema errors

def test_unknown_top_level_key(repo: Path) -> None:
    data = spec_data() | {"num_trials": 3}
    assert error_of(write(repo, data)) == "num_trials: unknown field (did you mean 'trials'?)"


def test_misspelt_key_reports_the_misspelling_first(repo: Path) -> None:
    data = spec_data()
    data["serach_space"] = data.pop("search_space")
    with pytest.raises(UserError) as err:
        load_spec(write(repo, data))
    lines = str(err.value).splitlines()
    assert lines[0].endswith("study.yaml: serach_space: unknown field (did you mean 'search_space'?)")
    assert lines[1].endswith("study.yaml: search_space: required field is missing")


@pytest.mark.parametrize("section, key, message", [
    ("sampler", "sed", "sampler.sed: unknown field (did you mean 'seed'?)"),
    ("scheduler", "grace", "scheduler.grace: unknown field (did you mean 'grace_period'?)"),
    ("resources", "gpus", "resources.gpus: unknown field (did you mean 'gpus_per_worker'?)"),
])
def test_unknown_nested_key(repo: Path, section: str, key: str, message: str) -> None:
    data = spec_data()
    data[section][key] = 1
    assert error_of(write(repo, data)) == message


def test_unknown_key_in_a_dimension(repo: Path) -> None:
    data = spec_data()
    data["search_space"][RADIUS]["hgh"] = 1
    assert error_of(write(repo, data)) == f"search_space.{RADIUS}.hgh: unknown field (did you mean 'high'?)"


def test_empty_search_space(repo: Path) -> None:
    data = spec_data() | {"search_space": {}}
    assert error_of(write(repo, data)).startswith("search_space: is empty")


def test_low_above_high(repo: Path) -> None:
    data = spec_data()
    data["search_space"][RADIUS] = {"type": "uniform", "low": 0.9, "high": 0.3}
    assert error_of(write(repo, data)).startswith(f"search_space.{RADIUS}: low (0.9) must be below high (0.3)")


@pytest.mark.parametrize("low", [0, -1e-3])
def test_loguniform_needs_positive_low(repo: Path, low: float) -> None:
    data = spec_data()
    data["search_space"]["optimizer.lr"]["low"] = low
    assert error_of(write(repo, data)) == f"search_space.optimizer.lr: loguniform needs low > 0, got {low}"


@pytest.mark.parametrize("dim, message", [
    ({"type": "int", "low": 1, "high": 7, "step": 2}, "low (1) and high (7) must be multiples"),
    ({"type": "int", "low": 1.5, "high": 4}, "type int needs integer low and high"),
    ({"type": "choice", "values": []}, "type choice needs a non-empty values list"),
    ({"type": "choice", "values": [1, 2, 1]}, "values lists 1 twice"),
    ({"type": "choice", "values": [1, 2], "low": 0}, "low does not apply to type choice"),
    ({"type": "uniform", "low": 0, "high": 1, "step": 1}, "step does not apply to type uniform"),
    ({"type": "uniform", "low": 0}, "type uniform needs low and high"),
    ({"type": "uniform", "low": "a", "high": 1}, "low: expected a number, got 'a'"),
    ({"type": "normal", "low": 0, "high": 1}, "type: input should be 'uniform', 'loguniform', 'int', 'choice' or 'grid'"),
])
def test_bad_dimensions(repo: Path, dim: dict[str, Any], message: str) -> None:
    data = spec_data()
    data["search_space"][RADIUS] = dim
    error = error_of(write(repo, data))
    assert error.startswith(f"search_space.{RADIUS}"), error
    assert message in error


def test_choice_values_that_differ_only_in_type_are_distinct(repo: Path) -> None:
    data = spec_data()
    data["search_space"][RADIUS] = {"type": "choice", "values": [1, True, 1.0]}
    assert load_spec(write(repo, data)).search_space[RADIUS].values == [1, True, 1.0]


def test_grid_sampler_takes_only_grid_and_choice(repo: Path) -> None:
    data = spec_data() | {"sampler": {"type": "grid"}}
    assert error_of(write(repo, data)) == (
        f"search_space.{RADIUS}: sampler grid takes only grid and choice dimensions, not uniform")


def test_tpe_cannot_enumerate_a_grid(repo: Path) -> None:
    data = spec_data()
    data["search_space"][RADIUS] = {"type": "grid", "values": [0.4, 0.5]}
    assert error_of(write(repo, data)).startswith(f"search_space.{RADIUS}: type grid needs sampler.type grid")


def test_several_seeds_need_a_grid(repo: Path) -> None:
    data = spec_data() | {"seeds": [0, 1]}
    assert error_of(write(repo, data)).startswith("seeds: several seeds need sampler.type grid")


@pytest.mark.parametrize("section, message", [
    ({"sampler": {"type": "random", "n_startup_trials": 3}}, "sampler: n_startup_trials applies to type tpe only"),
    ({"scheduler": {"type": "none", "grace_period": 2}}, "scheduler: grace_period applies to type asha only"),
    ({"scheduler": {"type": "asha", "grace_period": 5, "max_t": 2}}, "scheduler: grace_period (5) must not exceed max_t (2)"),
    ({"trials": {"num_samples": 0}}, "trials.num_samples: input should be greater than or equal to 1, got 0"),
    ({"dataset": {"name": "coco"}}, "dataset.name: input should be 'hrsc2016' or 'dota', got 'coco'"),
    ({"dataset": "hrsc2016"}, "dataset: expected a section (a mapping), got 'hrsc2016'"),
    ({"seeds": [1, 1]}, "seeds: lists a seed twice"),
    ({"name": "no spaces"}, "name: string should match pattern"),
])
def test_section_errors(repo: Path, section: dict[str, Any], message: str) -> None:
    assert error_of(write(repo, spec_data() | section)).startswith(message)


def test_search_key_and_override_conflict(repo: Path) -> None:
    data = spec_data()
    data["overrides"][RADIUS] = 0.5
    assert error_of(write(repo, data)) == f"search_space.{RADIUS}: also set in overrides; keep it in one place"


def test_seed_is_reserved(repo: Path) -> None:
    data = spec_data()
    data["search_space"]["seed"] = {"type": "choice", "values": [1, 2]}
    assert error_of(write(repo, data)).startswith("search_space.seed: 'seed' is reserved")


# ------------------------------------------------------------------ errors against the base config

def test_search_key_missing_from_base_config(repo: Path) -> None:
    data = spec_data()
    data["search_space"]["model.train_cfg.assigner.radus"] = data["search_space"].pop(RADIUS)
    assert error_of(write(repo, data)) == (
        "search_space.model.train_cfg.assigner.radus: configs/refined_det_mini.py: "
        "no key 'radus' under model.train_cfg.assigner (did you mean 'radius'?)")


def test_override_key_missing_from_base_config(repo: Path) -> None:
    data = spec_data()
    data["overrides"] = {"runner.max_epoch": 6}
    assert error_of(write(repo, data)) == (
        "overrides.runner.max_epoch: configs/refined_det_mini.py: "
        "no key 'max_epoch' under runner (did you mean 'max_epochs'?)")


def test_search_value_of_the_wrong_shape(repo: Path) -> None:
    data = spec_data()
    data["search_space"]["model.train_cfg.assigner"] = {"type": "choice", "values": [{"type": "X"}, 0.5]}
    assert error_of(write(repo, data)).startswith(
        "search_space.model.train_cfg.assigner: configs/refined_det_mini.py: is a dict, cannot set it to a float")


def test_plus_adds_a_key_the_base_lacks(repo: Path) -> None:
    data = spec_data()
    data["search_space"]["+model.bbox_head.frh_dropout"] = {"type": "uniform", "low": 0.0, "high": 0.3}
    assert "+model.bbox_head.frh_dropout" in load_spec(write(repo, data)).search_space


def test_missing_base_config(repo: Path) -> None:
    data = spec_data() | {"base_config": "configs/nope.py"}
    assert error_of(write(repo, data)) == f"base_config: no such file configs/nope.py (relative to {repo})"


def test_broken_base_config(repo: Path) -> None:
    (repo / "configs" / "broken.py").write_text("model = dict(\n")
    data = spec_data() | {"base_config": "configs/broken.py"}
    error = error_of(write(repo, data))   # the file and line of the syntax error
    assert error.startswith("base_config: ") and error.endswith("configs/broken.py:1: Python syntax error: "
                                                                "'(' was never closed"), error


def test_asha_without_a_schedule_needs_max_t(repo: Path) -> None:
    (repo / "configs" / "bare.py").write_text("model = dict(train_cfg=dict(assigner=dict(radius=0.5)))\n")
    data = spec_data() | {"base_config": "configs/bare.py", "overrides": {},
                          "search_space": {RADIUS: {"type": "uniform", "low": 0.1, "high": 1}}}
    assert error_of(write(repo, data)).startswith("scheduler.max_t: give it; configs/bare.py has no usable")
    data["scheduler"]["max_t"] = 5
    assert load_spec(write(repo, data)).scheduler.max_t == 5


def test_missing_file_and_bad_yaml(repo: Path) -> None:
    assert error_of(repo / "studies" / "nope.yaml") == "no such file"
    assert error_of(write(repo, "trials: [1,\n")).startswith("not valid YAML (line")
    assert error_of(write(repo, "- a\n- b\n")) == "a study spec is a mapping of fields, got list"


# ------------------------------------------------------------------ resources

def test_too_many_workers_for_the_cluster(repo: Path) -> None:
    path = write(repo, spec_data())
    spec = load_spec(path, ["resources.workers_per_trial=4"])
    with pytest.raises(UserError) as err:
        check_resources(spec, {"CPU": 2.0})
    assert str(err.value) == (f"{path}: resources.workers_per_trial: 4 workers x 1 CPU (cpus_per_worker) "
                              "= 4 CPU per trial, but the cluster has 2")
    check_resources(spec, {"CPU": 4.0})


def test_gpus_are_checked_too(repo: Path) -> None:
    spec = load_spec(write(repo, spec_data()), ["resources.gpus_per_worker=1"])
    with pytest.raises(UserError, match="resources.workers_per_trial: 2 workers x 1 GPU .* cluster has 0"):
        check_resources(spec, {"CPU": 16.0})
    check_resources(spec, {"CPU": 16.0, "GPU": 2.0})


# ------------------------------------------------------------------ --set

def test_set_changes_num_samples(repo: Path) -> None:
    spec = load_spec(write(repo, spec_data()), ["trials.num_samples=2"])
    assert spec.trials.num_samples == 2


def test_set_reaches_fields_the_file_leaves_out(repo: Path) -> None:
    data = spec_data()
    del data["sampler"], data["resources"]
    spec = load_spec(write(repo, data), ["sampler.seed=3", "resources.cpus_per_worker=0.5"])
    assert spec.sampler.seed == 3 and spec.resources.cpus_per_worker == 0.5


def test_set_into_maps_keyed_by_dotted_keys(repo: Path) -> None:
    spec = load_spec(write(repo, spec_data()), [
        f"search_space.{RADIUS}.high=0.8",
        "search_space.optimizer.momentum={type: uniform, low: 0.8, high: 0.95}",
        "overrides.evaluation.interval=2",
        "seeds.0=5",
    ])
    assert spec.search_space[RADIUS].high == 0.8
    assert spec.search_space["optimizer.momentum"].type == "uniform"
    assert spec.overrides == {"runner.max_epochs": 6, "evaluation.interval": 2}
    assert spec.seeds == [5]


def test_set_sections_and_lists_whole(repo: Path) -> None:
    spec = load_spec(write(repo, spec_data()),
                     ["sampler={type: grid}", f"search_space.{RADIUS}={{type: grid, values: [0.4, 0.6]}}",
                      "search_space.optimizer.lr={type: choice, values: [0.01, 0.001]}",
                      "search_space.model.train_cfg.assigner.num_neighbors.type=choice",
                      "search_space.model.train_cfg.assigner.num_neighbors={type: grid, values: [4, 8]}",
                      "search_space.model.train_cfg.assigner.neg_iou_thr={type: grid, values: [0.3, 0.4]}",
                      "search_space.model.bbox_head.stacked_convs={type: grid, values: [1, 2]}",
                      "seeds=[0, 1]"])
    assert spec.sampler.type == "grid" and spec.seeds == [0, 1]


@pytest.mark.parametrize("text, message", [
    ("trials.num_sample=3", "--set trials.num_sample: no field 'num_sample' in trials (did you mean 'num_samples'?)"),
    ("sampelr.seed=1", "--set sampelr.seed: no field 'sampelr' at the top level (did you mean 'sampler'?)"),
    ("search_space.model.train_cfg.assigner.radus.high=0.8",
     "--set search_space.model.train_cfg.assigner.radus.high: no entry 'model.train_cfg.assigner.radus' in "
     "search_space (did you mean 'model.train_cfg.assigner.radius'?)"),
    (f"search_space.{RADIUS}.hi=0.8", f"--set search_space.{RADIUS}.hi: no field 'hi' in search_space.{RADIUS}"),
    ("trials.num_samples.x=1", "--set trials.num_samples.x: trials.num_samples is a value, it has no field 'x'"),
    ("seeds.3=1", "--set seeds.3: seeds has 1 items; '3' is not an index of it"),
    ("trials", "--set trials: 'trials': an override is KEY=VALUE"),
])
def test_set_of_an_unknown_field(repo: Path, text: str, message: str) -> None:
    error = error_of(write(repo, spec_data()), [text])
    assert error.startswith(message), error


def test_set_values_are_validated_too(repo: Path) -> None:
    assert error_of(write(repo, spec_data()), ["trials.num_samples=many"]) == (
        "trials.num_samples: input should be a valid integer, unable to parse string as an integer, got 'many'")


# ------------------------------------------------------------------ no side effects

def test_parse_spec_without_a_file() -> None:
    spec = parse_spec(spec_data() | {"name": "x"})
    assert spec.source == "<spec>" and spec.trials.num_samples == 8
    with pytest.raises(UserError, match=r"^<spec>: trials: required field is missing$"):
        parse_spec({k: v for k, v in spec_data().items() if k != "trials"} | {"name": "x"})


def test_loading_a_bad_spec_imports_neither_ray_nor_mlflow(repo: Path) -> None:
    data = spec_data()
    data["search_space"]["model.train_cfg.assigner.radus"] = data["search_space"].pop(RADIUS)
    path = write(repo, data)
    code = textwrap.dedent(f"""
        import sys
        from detlab.errors import UserError
        from detlab.specs import load_spec
        try:
            load_spec({str(path)!r})
        except UserError:
            pass
        else:
            raise SystemExit("no error")
        bad = sorted(m for m in ("ray", "mlflow", "optuna") if m in sys.modules)
        raise SystemExit(f"imported {{bad}}" if bad else 0)
        """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
