"""An ablation as a grid study the sweep runner (`detlab.sweep`) runs unchanged.

The study's one grid dimension is the cell name (`cell`, a label), the seeds are the
second; the plan (every cell's config, overrides and fingerprint) is the study's typed
`cells` field (`CellGrid`), and the cells trainer (`detlab.sweep.cell_trainer`) trains a
trial's cell with its own config and overrides. So cells may have different base configs while the sweep keeps
one parent run, one child run per (cell, seed), resume and settling as for any study.
Paths are written absolute, because the generated file lives in the sweep storage.
"""

from __future__ import annotations

from typing import Any

from detlab.specs.ablation import AblationSpec
from detlab.specs.ablation_cells import ResolvedCell
from detlab.specs.study import CELL_DIM
from detlab.sweep.data import cell_data_overrides
from detlab.sweep.generated_study import write_study

__all__ = ["plan_of", "study_data", "write_study"]


def plan_of(spec: AblationSpec, cells: list[ResolvedCell], *, trainer: str, reuse: bool) -> dict[str, Any]:
    """The grid of cells (`CellGrid`, raw data): what every trial needs to train its cell."""
    out: dict[str, Any] = {
        "ablation": spec.name,
        "trainer": trainer,
        "reuse": reuse,
        "metric": spec.metric,
        "cells": {},
    }
    for cell in cells:
        out["cells"][cell.name] = {
            "config": cell.config,
            "overrides": {**cell_data_overrides(spec, cell), **cell.overrides},
            "fingerprint": cell.fingerprint,
        }
    return out


def study_data(spec: AblationSpec, cells: list[ResolvedCell], plan: dict[str, Any]) -> dict[str, Any]:
    """The study spec (raw YAML data) of the ablation: grid over cells x seeds, no early stopping."""
    root = spec.dataset.root
    dataset = {"name": spec.dataset.name, "root": str(spec.resolve(root)) if root else None}
    return {
        "name": spec.name,
        "description": spec.description or f"ablation {spec.name}",
        "base_config": cells[0].config,
        "dataset": dataset,
        "cells": plan,
        "search_space": {CELL_DIM: {"type": "grid", "values": [c.name for c in cells]}},
        "objective": {"metric": spec.metric, "mode": "max"},
        "sampler": {"type": "grid"},
        "scheduler": {"type": "none"},
        "trials": {"num_samples": 1, "max_concurrent": spec.max_concurrent},
        "resources": spec.resources.model_dump(mode="json"),
        "seeds": list(spec.seeds),
        "mlflow": spec.mlflow.model_dump(mode="json"),
    }
