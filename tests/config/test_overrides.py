"""The override language: parse, apply, flatten, load (docs/design.md, "One override language")."""
from __future__ import annotations

import gc
import sys
import textwrap
from pathlib import Path

import pytest
from mmcv import Config

from detlab.config import (OverrideError, apply_overrides, flatten_config, load_config,
                           parse_override, parse_value)
from detlab.config.suggest import suggest
from detlab.errors import UserError


def small_cfg() -> Config:
    return Config(dict(
        model=dict(
            type="RefinedDet",
            train_cfg=dict(assigner=dict(type="CrossGridAssigner", radius=0.5, num_neighbors=9,
                                         pos_iou_thr=0.5, neg_iou_thr=0.4)),
            test_cfg=dict(nms=dict(iou_thr=0.1), score_thr=0.05),
            bbox_head=dict(stacked_convs=4, init_cfg=None),
        ),
        data=dict(train=dict(pipeline=[
            dict(type="LoadImageFromFile"),
            dict(type="LoadAnnotations", with_bbox=True),
            dict(type="RResize", img_scale=(800, 800)),
        ])),
        lr_config=dict(step=[8, 11]),
        optimizer=dict(type="SGD", lr=0.01),
    ))


def one_line(err: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(err.value)
    assert "\n" not in message, message
    return message


# ------------------------------------------------------------------ parsing

@pytest.mark.parametrize("text, value", [
    ("0.6", 0.6), ("3", 3), ("-2", -2), ("1e-3", 1e-3),
    ("True", True), ("true", True), ("false", False),
    ("None", None), ("null", None),
    ("word", "word"), ("'quoted word'", "quoted word"), ("RResize", "RResize"),
    ("on", "on"), ("no", "no"), ("2024-01-01", "2024-01-01"),      # YAML 1.1 traps stay strings
    ("/data/hrsc:ro", "/data/hrsc:ro"), ("a # not a comment", "a # not a comment"),
    ("[1, 2]", [1, 2]), ("(640, 640)", (640, 640)), ("[a, 1e-4]", ["a", 1e-4]),
    ("{'type': 'X', 'r': 1}", {"type": "X", "r": 1}), ("{type: X, r: 1}", {"type": "X", "r": 1}),
    ("", ""),
])
def test_parse_value(text: str, value: object) -> None:
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_parse_override_splits_at_first_equals() -> None:
    assert parse_override("model.train_cfg.assigner.radius=0.6") == ("model.train_cfg.assigner.radius", 0.6)
    assert parse_override(" a.b = x=y ") == ("a.b", "x=y")
    assert parse_override("+model.foo=1") == ("+model.foo", 1)


@pytest.mark.parametrize("text", ["model.radius", "=3", ""])
def test_parse_override_needs_key_and_equals(text: str) -> None:
    with pytest.raises(UserError, match="KEY=VALUE"):
        parse_override(text)


# ------------------------------------------------------------------ applying

def test_sets_nested_key_and_leaves_input_alone() -> None:
    cfg = small_cfg()
    new = apply_overrides(cfg, ["model.train_cfg.assigner.radius=0.6", "optimizer.lr=1e-3"])
    assert new.model.train_cfg.assigner.radius == 0.6
    assert new.optimizer.lr == 1e-3
    assert cfg.model.train_cfg.assigner.radius == 0.5 and cfg.optimizer.lr == 0.01
    assert isinstance(new, Config)


def test_mapping_form_keeps_values_as_given() -> None:
    new = apply_overrides(small_cfg(), {"model.bbox_head.stacked_convs": 2, "model.type": "True"})
    assert new.model.bbox_head.stacked_convs == 2
    assert new.model.type == "True"


def test_list_index_and_tuple_kept() -> None:
    new = apply_overrides(small_cfg(), ["data.train.pipeline.2.img_scale=(640,640)"])
    assert new.data.train.pipeline[2].img_scale == (640, 640)
    new = apply_overrides(small_cfg(), ["data.train.pipeline.2.img_scale=[512, 512]"])
    assert new.data.train.pipeline[2].img_scale == (512, 512)       # a tuple key stays a tuple
    new = apply_overrides(small_cfg(), {"lr_config.step": (16, 22)})
    assert new.lr_config.step == [16, 22]                             # and a list stays a list
    new = apply_overrides(small_cfg(), ["lr_config.step.1=12"])
    assert new.lr_config.step == [8, 12]


def test_list_may_become_scalar() -> None:
    # mmcv's lr_config.step takes an int or a list: not a clear type error
    assert apply_overrides(small_cfg(), ["lr_config.step=8"]).lr_config.step == 8


def test_dict_value_replaces_and_gets_attribute_access() -> None:
    new = apply_overrides(small_cfg(), ["model.test_cfg.nms={type: nms_rotated, iou_thr: 0.2}"])
    assert new.model.test_cfg.nms.to_dict() == {"type": "nms_rotated", "iou_thr": 0.2}
    assert new.model.test_cfg.nms.iou_thr == 0.2


def test_none_valued_key_may_be_set() -> None:
    new = apply_overrides(small_cfg(), ["model.bbox_head.init_cfg={type: Normal, std: 0.01}"])
    assert new.model.bbox_head.init_cfg.std == 0.01


def test_dict_valued_key_may_be_set_to_none() -> None:
    assert apply_overrides(small_cfg(), ["model.test_cfg.nms=None"]).model.test_cfg.nms is None


def test_missing_key_names_source_key_component_and_close_match() -> None:
    with pytest.raises(OverrideError) as err:
        apply_overrides(small_cfg(), ["model.train_cfg.assigner.radus=0.6"])
    assert one_line(err) == ("--set model.train_cfg.assigner.radus: no key 'radus' under "
                             "model.train_cfg.assigner (did you mean 'radius'?)")
    assert isinstance(err.value, UserError)


def test_missing_key_high_up_and_custom_source() -> None:
    with pytest.raises(OverrideError) as err:
        apply_overrides(small_cfg(), {"modle.train_cfg.assigner.radius": 0.6}, source="study.yaml: overrides")
    assert one_line(err) == ("study.yaml: overrides modle.train_cfg.assigner.radius: no key 'modle' "
                             "at the top level (did you mean 'model'?)")
    assert (err.value.source, err.value.key) == ("study.yaml: overrides", "modle.train_cfg.assigner.radius")


def test_missing_key_without_close_match_lists_keys() -> None:
    with pytest.raises(OverrideError, match=r"no key 'zzz' under model.test_cfg \(keys: nms, score_thr\)"):
        apply_overrides(small_cfg(), ["model.test_cfg.zzz=1"])


def test_dict_to_scalar_is_an_error() -> None:
    with pytest.raises(OverrideError) as err:
        apply_overrides(small_cfg(), ["model.train_cfg.assigner=0.6"])
    assert "model.train_cfg.assigner: is a dict, cannot set it to a float (0.6)" in one_line(err)
    assert "model.train_cfg.assigner.type=..." in str(err.value)


def test_index_out_of_range_names_the_types() -> None:
    with pytest.raises(OverrideError) as err:
        apply_overrides(small_cfg(), ["data.train.pipeline.7.img_scale=(640,640)"])
    assert one_line(err) == (
        "--set data.train.pipeline.7.img_scale: index 7 out of range for data.train.pipeline "
        "(valid: 0..2) [0=LoadImageFromFile, 1=LoadAnnotations, 2=RResize]")


@pytest.mark.parametrize("key", ["data.train.pipeline.resize.img_scale", "data.train.pipeline.-1.img_scale"])
def test_list_needs_integer_index(key: str) -> None:
    with pytest.raises(OverrideError, match="data.train.pipeline is a list; .* is not an index"):
        apply_overrides(small_cfg(), {key: (640, 640)})


def test_cannot_descend_into_a_scalar_or_none() -> None:
    with pytest.raises(OverrideError, match=r"model.train_cfg.assigner.radius is a float \(0.5\), so it has no key 'x'"):
        apply_overrides(small_cfg(), ["model.train_cfg.assigner.radius.x=1"])
    with pytest.raises(OverrideError, match="model.bbox_head.init_cfg is None, so it has no key 'std'"):
        apply_overrides(small_cfg(), ["model.bbox_head.init_cfg.std=1"])


def test_empty_component_is_an_error() -> None:
    with pytest.raises(OverrideError, match="empty component"):
        apply_overrides(small_cfg(), ["model..type=X"])


def test_plus_adds_new_keys_and_parents() -> None:
    new = apply_overrides(small_cfg(), ["+model.foo=1", "+model.frh.attention.enabled=false"])
    assert new.model.foo == 1
    assert new.model.frh.attention.enabled is False


def test_plus_refuses_an_existing_key() -> None:
    with pytest.raises(OverrideError, match="key 'radius' already exists under model.train_cfg.assigner; drop the '\\+'"):
        apply_overrides(small_cfg(), ["+model.train_cfg.assigner.radius=1"])


def test_overrides_apply_in_order() -> None:
    new = apply_overrides(small_cfg(), ["+model.foo=1", "model.foo=2"])
    assert new.model.foo == 2


def test_one_string_is_refused() -> None:
    with pytest.raises(TypeError):
        apply_overrides(small_cfg(), "model.type=X")  # type: ignore[arg-type]


# ------------------------------------------------------------------ flattening

def test_flatten_indexes_lists_of_dicts_and_keeps_value_lists() -> None:
    flat = flatten_config(small_cfg())
    assert flat["model.train_cfg.assigner.radius"] == 0.5
    assert flat["data.train.pipeline.2.type"] == "RResize"
    assert flat["data.train.pipeline.2.img_scale"] == (800, 800)
    assert flat["lr_config.step"] == [8, 11]
    assert flat["model.bbox_head.init_cfg"] is None
    assert "model.train_cfg" not in flat
    assert flatten_config({"a": {"b": 1, "c": {}}}, prefix="cfg") == {"cfg.a.b": 1, "cfg.a.c": {}}


def test_flattened_keys_are_valid_override_keys() -> None:
    cfg = small_cfg()
    flat = flatten_config(cfg)
    assert flatten_config(apply_overrides(cfg, flat)) == flat


# ------------------------------------------------------------------ files

def write_configs(tmp_path: Path) -> Path:
    (tmp_path / "_base_").mkdir()
    (tmp_path / "_base_" / "model.py").write_text(textwrap.dedent("""
        model = dict(
            type='RefinedDet',
            train_cfg=dict(assigner=dict(type='CrossGridAssigner', radius=0.5, num_neighbors=9)),
            bbox_head=dict(type='FRHead', stacked_convs=4))
        data_root = 'data/hrsc/'
        data = dict(train=dict(ann_file=data_root + 'train.txt',
                               pipeline=[dict(type='LoadImageFromFile'), dict(type='RResize', img_scale=(800, 800))]))
        """))
    child = tmp_path / "refined_det_mini.py"
    child.write_text(textwrap.dedent("""
        _base_ = ['./_base_/model.py']
        model = dict(bbox_head=dict(stacked_convs=2))  # deviation: smaller head for CPU
        custom_imports = dict(imports=['refined_det_not_installed_here'], allow_failed_imports=False)
        """))
    return child


def test_load_config_inherits_and_applies(tmp_path: Path) -> None:
    path = write_configs(tmp_path)
    cfg = load_config(path, ["model.train_cfg.assigner.radius=0.7"], import_custom_modules=False)
    assert cfg.model.bbox_head.stacked_convs == 2            # from the child
    assert cfg.model.bbox_head.type == "FRHead"              # from the base
    assert cfg.model.train_cfg.assigner.radius == 0.7        # from the override
    assert cfg.data.train.pipeline[1].img_scale == (800, 800)
    assert cfg.filename == str(path)
    assert "stacked_convs=2" in cfg.text


def test_load_config_unknown_key_in_inherited_part(tmp_path: Path) -> None:
    path = write_configs(tmp_path)
    with pytest.raises(OverrideError, match="no key 'num_neighbours' .*did you mean 'num_neighbors'"):
        load_config(path, {"model.train_cfg.assigner.num_neighbours": 4}, import_custom_modules=False)


def test_load_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        load_config(tmp_path / "nope.py")
    assert one_line(err) == f"{tmp_path / 'nope.py'}: config file not found"


def test_load_config_missing_base(tmp_path: Path) -> None:
    path = tmp_path / "child.py"
    path.write_text("_base_ = ['./missing_base.py']\n")
    with pytest.raises(UserError, match=r"child.py: .*missing_base.py"):
        load_config(path)


def test_broken_config_leaves_no_temporary_file_to_finalise_later(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # mmcv's fromfile leaks a NamedTemporaryFile when a config fails; finalised later inside
    # ast.parse it breaks CPython 3.11 ("AST constructor recursion depth mismatch").
    path = tmp_path / "broken.py"
    path.write_text("model = dict(type=Undefined)\n")   # parses, fails inside mmcv's fromfile
    with pytest.raises(UserError, match=r"broken.py: does not load: NameError: name 'Undefined'") as err:
        load_config(path)
    seen: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    del err
    gc.collect()
    assert seen == []


@pytest.mark.parametrize("word, names, expected", [
    ("radus", ["type", "radius", "num_neighbors"], ["radius"]),
    ("grace", ["type", "grace_period", "max_t"], ["grace_period"]),
    ("model.train_cfg.assigner.radus", ["model.train_cfg.assigner.radius", "model.train_cfg.assigner.pos_iou_thr"],
     ["model.train_cfg.assigner.radius"]),
    ("zzz", ["type", "radius"], []),
])
def test_suggest(word: str, names: list[str], expected: list[str]) -> None:
    assert suggest(word, names) == expected
