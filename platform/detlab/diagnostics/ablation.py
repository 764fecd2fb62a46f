"""The label-assignment diagnostics of an ablation: which cells, which images, which figures.

Drawn from the dataset and each cell's merged config alone (no training, no MLflow),
so they can be computed before, during or after the runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from detlab.config import load_config
from detlab.diagnostics.figures import assigned_cells_figure, positives_figure
from detlab.diagnostics.positives import Series, count_positives, featmap_sizes, per_level_table, prior_grid
from detlab.diagnostics.samples import load_samples
from detlab.specs.ablation import AblationSpec
from detlab.specs.ablation_cells import ResolvedCell

__all__ = ["Diagnostics", "diagnose", "pick_cells"]


@dataclass
class Diagnostics:
    series: list[Series]
    table: list[dict[str, Any]]  # per_level_table(series)
    figures: dict[str, Any] = field(default_factory=dict)  # artifact path -> matplotlib Figure
    images: int = 0

    def to_json(self) -> str:
        return json.dumps({"images": self.images, "positives_per_gt": self.table}, indent=2)


def pick_cells(spec: AblationSpec, cells: list[ResolvedCell]) -> list[ResolvedCell]:
    """The cells named in `diagnostics.cells`, else each cell whose assignment (anchor generator and
    assigner) differs from every earlier cell's."""
    if spec.diagnostics.cells:
        return [c for c in cells if c.name in spec.diagnostics.cells]

    seen, out = [], []
    for cell in cells:
        cfg = load_config(cell.config, cell.overrides, import_custom_modules=False)
        key = json.dumps(
            [cfg.model.bbox_head.anchor_generator, cfg.model.train_cfg.assigner], sort_keys=True, default=repr
        )
        if key not in seen:
            seen.append(key)
            out.append(cell)
    return out


def diagnose(spec: AblationSpec, cells: list[ResolvedCell], data_overrides: dict[str, dict[str, Any]]) -> Diagnostics:
    """Positives per GT per level for the picked cells, and the assigned-cells picture.

    `data_overrides[cell]`: the overrides that rebase the cell's data paths onto the
    ablation's dataset root (the plan's own, see `detlab.ablate.study.plan_of`).
    """

    picked = pick_cells(spec, cells)
    series: list[Series] = []
    samples_by_data: dict[str, list[Any]] = {}
    picture = None
    for cell in picked:
        cfg = load_config(cell.config, {**data_overrides.get(cell.name, {}), **cell.overrides})
        data_key = json.dumps(cfg.data.train, sort_keys=True, default=repr)
        if data_key not in samples_by_data:
            samples_by_data[data_key] = load_samples(cfg, spec.diagnostics.images)
        samples = samples_by_data[data_key]
        found = count_positives(cfg, samples, cell=cell.name, title=cell.title)
        series += found
        if picture is None and any(s.kind == "cla" for s in found):
            picture = (cell, cfg)
    figures: dict[str, Any] = {}
    title = f"{spec.name} ({spec.dataset.name}): "
    if series:
        figures["diagnostics/positives_per_gt.png"] = positives_figure(series, title)
    if picture is not None:
        cell, cfg = picture
        sample = _sample(cfg, spec.diagnostics.sample)
        if sample is not None:
            labels, strides, per_cell = _cla_labels(cfg, sample)
            figures["diagnostics/assigned_cells.png"] = assigned_cells_figure(
                sample, labels, strides, per_cell, title=f"{cell.title}, "
            )
    n_images = len(next(iter(samples_by_data.values()))) if samples_by_data else 0
    return Diagnostics(series, per_level_table(series), figures, n_images)


def _sample(cfg: Any, index: int) -> Any:

    found = load_samples(cfg, 1, start=index)
    return found[0] if found else None


def _cla_labels(cfg: Any, sample: Any) -> tuple[dict[str, Any], tuple[int, ...], int]:
    """Step-A and CLA labels of one image under a CLA config."""
    import torch
    from mmrotate.core import build_assigner

    from refined_det.assigners.grid_context import GridContext

    gen, strides = prior_grid(cfg)
    a = build_assigner(cfg.model.train_cfg.assigner)
    sizes = featmap_sizes(sample.pad_shape, strides)
    grid = GridContext.whole(gen.grid_priors(sizes, device="cpu"), sizes, strides, sample.pad_shape)
    res = a.assign_grid(grid, torch.as_tensor(sample.gt_bboxes).reshape(-1, 5))
    labels = {
        "MaxIoU (step A)": res.maxiou_assigned.numpy(),
        f"CLA k={a.num_neighbors}, r={a.radius:g}": res.assigned.numpy(),
    }
    return labels, strides, int(gen.num_base_anchors[0])
