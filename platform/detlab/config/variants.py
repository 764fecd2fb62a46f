"""Named config variants: a base config plus overrides (experiments/configs/variants.yaml).

The paper's single-component configs (``_cla_``, ``_frhead_``) live there as
override sets, so an ablation setting is one line of YAML, not a copied file.
"""

from __future__ import annotations

import os.path as osp
from pathlib import Path

from mmcv import Config

from detlab.config.literals import yaml_load
from detlab.config.overrides import load_config
from detlab.errors import UserError

REPO = Path(__file__).resolve().parents[3]
VARIANTS = REPO / "experiments" / "configs" / "variants.yaml"


def variant_table(path: str | Path = VARIANTS) -> dict[str, dict]:
    """``{name: {"base": path, "set": {key: value}}}`` as written in the YAML file."""
    table = yaml_load(Path(path).read_text())
    for name, entry in table.items():
        if set(entry) != {"base", "set"}:
            raise UserError(f"{path}: {name}: needs exactly the fields 'base' and 'set'")
    return table


def load_variant(name: str, path: str | Path = VARIANTS) -> Config:
    """The merged config of variant ``name`` (base config + its overrides)."""
    table = variant_table(path)
    if name not in table:
        raise UserError(f"{path}: no variant {name!r} (known: {', '.join(sorted(table))})")
    entry = table[name]
    return load_config(osp.join(REPO, entry["base"]), entry["set"], source=f"{path}: {name}")
