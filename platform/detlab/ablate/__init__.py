"""Ablations (docs/ablations.md): typed definitions of paper tables (cells x seeds) in
`experiments/ablations/`, run as one grid study through `detlab.sweep`.

Importing this package imports neither Ray nor MLflow.
"""

from detlab.ablate.run import AblateOptions, run_ablation
from detlab.specs.ablation import AblationSpec, CellSpec
from detlab.specs.ablation_cells import ResolvedCell, load_ablation, parse_ablation, resolve_cells

__all__ = [
    "AblationSpec",
    "CellSpec",
    "ResolvedCell",
    "load_ablation",
    "parse_ablation",
    "resolve_cells",
    "AblateOptions",
    "run_ablation",
]
