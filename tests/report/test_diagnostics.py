"""Positives per GT per FPN level (MaxIoU vs CLA) and the assigned-cells picture on synthetic HRSC2016."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from detlab.ablate import load_ablation, resolve_cells
from detlab.sweep.data import cell_data_overrides
from detlab.config import load_config
from detlab.diagnostics import count_positives, diagnose, featmap_sizes, load_samples
from report_helpers import REPO

ABLATION = REPO / "experiments" / "ablations" / "components_smoke.yaml"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from detlab.data.synth import synth_dataset

    root = tmp_path_factory.mktemp("diag") / "synth_hrsc2016"
    synth_dataset("hrsc2016", root, 10, seed=5, progress=False)
    spec = load_ablation(ABLATION, [f"dataset.root={root}", "diagnostics.images=4"])
    cells = resolve_cells(spec)
    return spec, cells, {c.name: cell_data_overrides(spec, c) for c in cells}


def _cfg(setup, name):
    spec, cells, data = setup
    cell = next(c for c in cells if c.name == name)
    return load_config(cell.config, {**data[name], **cell.overrides})


def test_featmap_sizes_are_the_detectors(setup):
    from mmrotate.models import build_detector

    import refined_det.register  # noqa: F401  (registers the plugins)

    cfg = _cfg(setup, "both")
    model = build_detector(cfg.model).eval()
    pad = (256, 416)
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, *pad))
    assert [tuple(f.shape[-2:]) for f in feats] == featmap_sizes(pad, (8, 16, 32, 64, 128))


def test_counts_equal_the_assigners_own_statistics(setup):
    """Our per-GT counts, summed, are what CrossGridAssigner itself counts in training (AssignStats)."""
    from mmrotate.core import build_assigner, build_prior_generator
    from refined_det.assigners import GridContext

    cfg = _cfg(setup, "cla")
    samples = load_samples(cfg, 3)
    series = {s.kind: s for s in count_positives(cfg, samples, cell="cla")}
    gen = build_prior_generator(cfg.model.bbox_head.anchor_generator)
    assigner = build_assigner(cfg.model.train_cfg.assigner)
    strides = (8, 16, 32, 64, 128)
    for sample in samples:
        sizes = featmap_sizes(sample.pad_shape, strides)
        flat = torch.cat(gen.grid_priors(sizes, device="cpu"))
        ctx = GridContext(flat, torch.ones(len(flat), dtype=torch.bool), tuple(sizes), strides, sample.pad_shape)
        with assigner.grid_context(ctx):
            assigner.assign(flat, torch.as_tensor(sample.gt_bboxes))
    summary = assigner.stats.summary()
    for kind in ("maxiou", "cla"):
        ours = series[kind].mean_per_level()
        for s in strides:
            assert ours[f"s{s}"] == pytest.approx(summary[f"pos_per_gt/{kind}/s{s}"])


def test_cla_gives_more_positives_per_gt_than_maxiou(setup):
    spec, cells, data = setup
    diag = diagnose(spec, cells, data)
    by = {(r["cell"], r["kind"]): r for r in diag.table}
    assert set(by) == {("baseline", "maxiou"), ("cla", "maxiou"), ("cla", "cla"), ("frhead", "maxiou")}
    step_a, cla = by[("cla", "maxiou")], by[("cla", "cla")]
    assert cla["all"] > step_a["all"] and cla["s8"] >= step_a["s8"]
    assert step_a["zero_positive_gts"] == 0            # min_pos_iou=0: every GT keeps its best anchor
    counts = {s.kind: s.counts for s in diag.series if s.cell == "cla"}
    assert counts["cla"].sum() >= counts["maxiou"].sum()
    assert set(diag.figures) == {"diagnostics/positives_per_gt.png", "diagnostics/assigned_cells.png"}
    assert diag.images == 4 and np.isfinite([r["all"] for r in diag.table]).all()


def test_samples_have_no_random_augmentation(setup):
    cfg = _cfg(setup, "both")
    a, b = load_samples(cfg, 2), load_samples(cfg, 2)
    for x, y in zip(a, b):
        assert np.array_equal(x.gt_bboxes, y.gt_bboxes) and x.pad_shape == y.pad_shape
        assert x.pad_shape[0] % 32 == 0 and x.pad_shape[1] % 32 == 0
