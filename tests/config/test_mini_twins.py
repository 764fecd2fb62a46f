"""Each `_mini` CPU twin equals the paper config it inherits from, apart from the deltas declared
here (each with its reason); the twin files mark the same lines `paper: ...`. A change to a
paper config that a twin's own copy would hide (a pipeline step, the assigner, a loss) fails."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from detlab.config import flatten_config, load_config

REPO = Path(__file__).resolve().parents[2]
TWINS = sorted((REPO / "experiments" / "configs").glob("*/*_mini.py"))
ABSENT = "<absent>"

DECLARED = {  # dotted-key pattern -> why the twin differs
    r"data_root|data\.(train|val|test)\.(ann_file|img_prefix|ann_subdir|img_subdir)":
        "generated synthetic data instead of the released dataset",
    r"((data\.(train|val|test)\.)|train_|test_)pipeline\.\d+\.img_scale": "half the input size",
    r"data\.(samples|workers)_per_gpu": "CPU batch and loader processes",
    r"model\.backbone\.(depth|base_channels|frozen_stages|norm_eval|init_cfg(\..+)?)":
        "ResNet-18 with 16 base channels from random weights: nothing is downloaded",
    r"model\.neck\.(in|out)_channels|model\.bbox_head\.(in|feat)_channels": "channels of the small backbone",
    r"model\.test_cfg\.(nms_pre|max_per_img)": "fewer candidates on small images",
    r"optimizer\..+|lr_config\.(warmup_iters|step)|runner\.max_epochs":
        "AdamW on a short schedule (random weights; see the twin's comment)",
    r"(evaluation|checkpoint_config|log_config)\.interval": "evaluate, save and log on the short schedule",
}


def sibling(twin: Path) -> Path:
    base = re.search(r"_base_ = \[['\"]\./([^'\"]+)['\"]\]", twin.read_text())
    assert base, f"{twin.name}: a twin inherits its paper config (_base_ = ['./NAME.py'])"
    return twin.parent / base.group(1)


def undeclared_deltas(paper: dict, twin: dict) -> list[str]:
    keys = sorted(set(paper) | set(twin))
    changed = [k for k in keys if paper.get(k, ABSENT) != twin.get(k, ABSENT)]
    return [k for k in changed if not any(re.fullmatch(p, k) for p in DECLARED)]


def flat(path: Path, overrides: dict | None = None) -> dict:
    return flatten_config(load_config(str(path), overrides or {}, import_custom_modules=False))


def test_every_paper_config_family_has_twins():
    assert len(TWINS) >= 4, [t.name for t in TWINS]


@pytest.mark.parametrize("twin", TWINS, ids=lambda p: p.name)
def test_twin_differs_only_where_declared(twin):
    paper = sibling(twin)
    assert paper.is_file() and not paper.name.endswith("_mini.py")
    extra = undeclared_deltas(flat(paper), flat(twin))
    assert not extra, f"{twin.name} differs from {paper.name} beyond the declared deltas: {extra}"


def test_an_undeclared_delta_is_caught():
    """Guards the guard: a twin that drifted on the assigner is reported, by key."""
    twin = next(t for t in TWINS if "refined_det" in t.name and "hrsc" in t.name)
    drifted = flat(twin, {"model.train_cfg.assigner.pos_iou_thr": 0.66, "model.bbox_head.loss_cls.gamma": 1.5})
    assert undeclared_deltas(flat(sibling(twin)), drifted) == [
        "model.bbox_head.loss_cls.gamma", "model.train_cfg.assigner.pos_iou_thr"]
