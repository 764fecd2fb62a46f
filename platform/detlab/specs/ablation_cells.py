"""Ablation file -> validated `AblationSpec` -> resolved cells (config, overrides, fingerprint).

Like study specs, everything is checked before Ray or MLflow is touched: every
override key of every cell must exist in that cell's base config (`+key` adds one),
so a typo fails at once with the file, the cell and the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detlab.config import OverrideError, apply_overrides, load_config
from detlab.config.suggest import suggest
from detlab.config.variants import variant_table
from detlab.errors import UserError
from detlab.specs.ablation import AblationSpec, CellSpec
from detlab.specs.files import load_base_config, load_spec_file, validate_spec

__all__ = ["ResolvedCell", "load_ablation", "parse_ablation", "resolve_cells", "fingerprint"]


@dataclass(frozen=True)
class ResolvedCell:
    """A cell ready to train: its absolute config, every override in order, and its fingerprint."""

    name: str
    title: str
    config: str  # absolute path
    base_config: str  # as the definition names it (relative to the repository root)
    overrides: dict[str, Any]  # ablation overrides, variant set, cell overrides (in order)
    fingerprint: str  # of the merged config and the dataset: same cell, same number
    paper: float | None = None
    paper_note: str | None = None
    paper_protocol: dict[str, str] | None = None
    assigner: dict[str, Any] = field(default_factory=dict)  # merged model.train_cfg.assigner


def load_ablation(path: str | Path, sets: Sequence[str] = (), *, root: str | Path | None = None) -> AblationSpec:
    """Read `path`, apply `--set FIELD=VALUE` edits, validate; the cells are checked by `resolve_cells`."""
    return load_spec_file(path, sets, AblationSpec, root=root)


def parse_ablation(data: dict[str, Any], source: str = "<ablation>") -> AblationSpec:
    """Validate raw ablation data (one line per problem)."""
    return validate_spec(data, source, AblationSpec)


def resolve_cells(spec: AblationSpec) -> list[ResolvedCell]:
    """Each cell's base config and ordered overrides, checked against that config."""

    table = variant_table() if any(c.variant for c in spec.cells) else {}
    return [_resolve(spec, i, cell, table) for i, cell in enumerate(spec.cells)]


def fingerprint(cfg: Any, spec: AblationSpec) -> str:
    """sha256 of the merged config (before data paths are rebased) and the dataset: a cell whose
    fingerprint is unchanged would train exactly the same model, so its finished runs count."""
    doc = {"config": cfg._cfg_dict.to_dict(), "dataset": spec.dataset.model_dump(mode="json")}
    text = json.dumps(doc, sort_keys=True, default=repr)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _resolve(spec: AblationSpec, index: int, cell: CellSpec, table: dict[str, dict]) -> ResolvedCell:
    where = f"{spec.source}: cells.{index} ({cell.name})"
    variant_set: dict[str, Any] = {}
    base = cell.base_config
    if cell.variant is not None:
        if cell.variant not in table:
            close = suggest(cell.variant, list(table))
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserError(f"{where}: variant: no variant {cell.variant!r} in experiments/configs/variants.yaml{hint}")
        variant_set = dict(table[cell.variant]["set"])
        base = base or table[cell.variant]["base"]
    assert base is not None  # the model requires base_config or variant
    path = spec.resolve(base)
    cfg = load_base_config(spec, base, where)
    layers = [("overrides", spec.overrides), (f"variant {cell.variant}", variant_set), ("overrides", cell.overrides)]
    merged: dict[str, Any] = {}
    for label, layer in layers:
        for key, value in layer.items():
            try:
                cfg = apply_overrides(cfg, {key: value}, source="")
            except OverrideError as err:
                field_ = (
                    f"{spec.source}: overrides.{key} (cell {cell.name})"
                    if layer is spec.overrides
                    else f"{where}: {label}.{key}"
                    if label == "overrides"
                    else f"{where}: {label}: {key}"
                )
                raise UserError(f"{field_}: {base}: {err.problem}") from None
            merged.pop(key, None)  # a later layer's value comes last, as it is applied last
            merged[key] = value
    _check_flat(where, path, merged, cfg)
    assigner = (cfg.get("model", {}).get("train_cfg") or {}).get("assigner") or {}
    return ResolvedCell(
        name=cell.name,
        title=cell.title,
        config=str(path),
        base_config=base,
        overrides=merged,
        fingerprint=fingerprint(cfg, spec),
        paper=cell.paper,
        paper_note=cell.paper_note,
        paper_protocol=cell.paper_protocol,
        assigner=dict(assigner),
    )


def _check_flat(where: str, path: Path, merged: dict[str, Any], cfg: Any) -> None:
    """The layers flattened into one ordered dict must give the same config (a key set in two layers
    moves to its last position; a nested key set between two whole-dict values would break that)."""
    try:
        again = apply_overrides(load_config(path, import_custom_modules=False), merged, source="")
        same = again._cfg_dict.to_dict() == cfg._cfg_dict.to_dict()
    except OverrideError:
        same = False
    if not same:
        raise UserError(
            f"{where}: the same key is set in several layers (ablation overrides, variant, "
            f"cell) in an order that one list of overrides cannot reproduce; set it in one place"
        )
