"""Typed study specs: `experiments/studies/*.yaml` -> validated `StudySpec` -> Ray Tune search space.

Loading and checking a spec imports neither Ray nor MLflow (space.py imports
`ray.tune` only when building a search space).
"""

from detlab.specs.files import find_root
from detlab.specs.load import check_against_config, load_spec, parse_spec
from detlab.specs.space import (
    check_resources,
    decode_trial,
    grid_size,
    num_trials,
    param_space,
    searched_values,
    to_tune,
    trial_cell,
    trial_resources,
)
from detlab.specs.study import (
    CELL_DIM,
    SEED_KEY,
    CellGrid,
    DatasetSpec,
    Dimension,
    MlflowSpec,
    ObjectiveSpec,
    ResourcesSpec,
    SamplerSpec,
    SchedulerSpec,
    StorageSpec,
    StudySpec,
    TrialsSpec,
)

__all__ = [
    "CELL_DIM",
    "SEED_KEY",
    "CellGrid",
    "DatasetSpec",
    "Dimension",
    "MlflowSpec",
    "ObjectiveSpec",
    "ResourcesSpec",
    "SamplerSpec",
    "SchedulerSpec",
    "StorageSpec",
    "StudySpec",
    "TrialsSpec",
    "check_against_config",
    "check_resources",
    "decode_trial",
    "find_root",
    "grid_size",
    "load_spec",
    "num_trials",
    "param_space",
    "parse_spec",
    "searched_values",
    "to_tune",
    "trial_cell",
    "trial_resources",
]
