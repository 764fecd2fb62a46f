"""The typed ablation definition: what `experiments/ablations/*.yaml` may say.

An ablation is a list of named cells (rows of a paper table), each a base config
plus overrides in the one override language, repeated over seeds. Cells may use
different base configs (the Rotated RetinaNet baseline has 9 anchors per cell and
MaxIoU; Refined-Det has one anchor per cell and CLA), which a study's single
`base_config` cannot express: that is why cells are their own list here instead of
a `choice` over `model` sub-dicts. The sections shared with studies (dataset,
resources, mlflow) are the study spec's own models.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PrivateAttr, model_validator

from detlab.config.protocol import FIELDS
from detlab.specs.study import (
    DatasetSpec,
    MlflowSpec,
    ResourcesSpec,
    SpecFile,
    StrictSpec,
    UniqueSeeds,
    overrides_field,
)

__all__ = ["AblationSpec", "CellSpec", "SignificanceSpec", "DiagnosticsSpec"]


class CellSpec(StrictSpec):
    """One row of the table: a base config (or a named variant) plus overrides."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Identifier of the row (MLflow tag `detlab.ablate.cell`); unique.",
    )
    label: str | None = Field(None, description="Row label in the tables (default: the name).")
    base_config: str | None = Field(
        None, description="MMRotate config (.py) relative to the repository root; default: the variant's base."
    )
    variant: str | None = Field(
        None,
        description="Name in experiments/configs/variants.yaml whose override set comes first "
        "(the paper repository's `_cla_` / `_frhead_` configs).",
    )
    overrides: dict[str, Any] = overrides_field(
        "Dotted config key -> value for this row, applied after the ablation's `overrides` and the variant's set."
    )
    paper: float | None = Field(
        None,
        description="The published number for this row (same units as the table), or null when "
        "the paper gives none; never invented.",
    )
    paper_note: str | None = Field(
        None, description="Where `paper` comes from, and how its setting differs from this row's, if it does."
    )
    paper_protocol: dict[str, str] | None = Field(
        None,
        description="The protocol `paper` was measured under, by the fields of every run's protocol.* "
        "tags (dataset, train_split, test_split, ms_train, ms_test, rotation_aug, "
        "pretrained_backbone, input_size, metric); the report flags those that differ.",
    )

    @model_validator(mode="after")
    def _check(self) -> CellSpec:
        if self.base_config is None and self.variant is None:
            raise ValueError("give base_config, variant, or both")
        if self.paper_note and self.paper is None:
            raise ValueError("paper_note without a paper value")
        if self.paper_protocol:
            unknown = sorted(set(self.paper_protocol) - set(FIELDS))
            if unknown:
                raise ValueError(f"paper_protocol: unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
        return self

    @property
    def title(self) -> str:
        return self.label or self.name


class SignificanceSpec(StrictSpec):
    """The paired test over seeds that marks significant deltas."""

    test: Literal["paired_t", "bootstrap"] = Field(
        "paired_t",
        description="paired_t: Student's t on the per-seed differences; bootstrap: percentile "
        "bootstrap of their mean (coarse with 3 seeds: only 10 distinct resamples).",
    )
    alpha: float = Field(0.05, gt=0, lt=1, description="A delta is marked significant when p < alpha.")
    resamples: int = Field(10000, ge=100, description="bootstrap only: resamples of the seed differences.")
    seed: int = Field(0, description="bootstrap only: random seed, so the report is reproducible.")


class DiagnosticsSpec(StrictSpec):
    """Label-assignment diagnostics drawn from the dataset (no training needed)."""

    images: int = Field(16, ge=1, description="Training images the positives-per-GT counts use.")
    sample: int = Field(0, ge=0, description="Index (in the training set) of the image of the assigned-cells picture.")
    cells: list[str] | None = Field(
        None,
        description="Cells whose assignment is counted; null: every cell whose assigner settings "
        "differ from an earlier cell's.",
    )


class AblationSpec(SpecFile):
    """An ablation: cells (table rows) repeated over seeds, run as one grid study."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Ablation name (default: the file name without .yaml); names the study.",
    )
    description: str = Field("", description="What the table asks; the table's caption.")
    dataset: DatasetSpec = Field(description="The data, as in a study spec.")
    metric: str = Field(
        "val/mAP",
        min_length=1,
        description="Metric of each run shown in the table: its last logged value (val/mAP "
        "is VOC07 AP50 on HRSC2016, the devkit mAP on DOTA).",
    )
    scale: float = Field(
        100.0, gt=0, description="Factor from the metric to the table's units (100: the paper's percentages)."
    )
    overrides: dict[str, Any] = overrides_field(
        "Dotted config key -> value for every cell, applied first (schedule, batch size, workers)."
    )
    cells: list[CellSpec] = Field(min_length=2, description="The rows, in table order (section below).")
    compare: Literal["previous", "baseline"] = Field(
        "previous",
        description="Delta and test of each row against the row above (previous) or against the baseline cell.",
    )
    baseline: str | None = Field(None, description="compare: baseline: the reference cell (default: the first cell).")
    response: str | None = Field(
        None,
        description="Dotted key the cells vary (e.g. model.train_cfg.assigner.radius): plots the "
        "metric against its value.",
    )
    seeds: UniqueSeeds = Field(
        default_factory=lambda: [0, 1, 2], min_length=1, description="Training seeds; every cell runs each one."
    )
    significance: SignificanceSpec = Field(default_factory=SignificanceSpec, description="Section below.")
    diagnostics: DiagnosticsSpec = Field(default_factory=DiagnosticsSpec, description="Section below.")
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec, description="As in a study spec.")
    max_concurrent: int = Field(1, ge=1, description="Trials running at the same time.")
    mlflow: MlflowSpec = Field(default_factory=MlflowSpec, description="As in a study spec.")

    _source: str = PrivateAttr("<ablation>")

    @model_validator(mode="after")
    def _check(self) -> AblationSpec:
        names = [c.name for c in self.cells]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"cells: names must be unique, {', '.join(twice)} given twice")
        if self.baseline is not None and self.baseline not in names:
            raise ValueError(f"baseline: no cell named {self.baseline!r} (cells: {', '.join(names)})")
        if self.baseline is not None and self.compare != "baseline":
            raise ValueError("baseline: applies to compare: baseline only")
        for name in self.diagnostics.cells or ():
            if name not in names:
                raise ValueError(f"diagnostics.cells: no cell named {name!r}")
        if self.mlflow.experiment is None:
            self.mlflow.experiment = f"ablation/{self.name}"
        return self

    @property
    def experiment(self) -> str:
        """The MLflow experiment of the ablation (`mlflow.experiment`, default `ablation/NAME`)."""
        return self.mlflow.experiment or f"ablation/{self.name}"

    def cell(self, name: str) -> CellSpec:
        return next(c for c in self.cells if c.name == name)

    @property
    def baseline_cell(self) -> str:
        return self.baseline or self.cells[0].name

    def reference_of(self, index: int) -> int | None:
        """Index of the row row `index` is compared with; None for the reference row itself."""
        if self.compare == "previous":
            return index - 1 if index > 0 else None
        ref = [c.name for c in self.cells].index(self.baseline_cell)
        return None if ref == index else ref
