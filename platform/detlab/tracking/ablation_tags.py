"""The MLflow tags that tie a run to its ablation table cell: written by the ablation trainer
(`detlab.sweep.cell_trainer`), read by the report (`detlab.report.query`) to pick runs."""

from __future__ import annotations

TAG_ABLATION = "detlab.ablation"
TAG_CELL = "detlab.ablate.cell"
TAG_SEED = "detlab.ablate.seed"
TAG_FINGERPRINT = "detlab.ablate.fingerprint"
TAG_TRAINER = "detlab.ablate.trainer"
TAG_REUSED = "detlab.ablate.reused_from"
