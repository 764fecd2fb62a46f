"""Which trainer a trial calls: the detector (`mmdet`, the default), the toy objective (`toy`,
for tests and benchmarks of the machinery), `cells` (a grid of cells: ablations and the
confirmation stage, each cell trained by the grid's own trainer), or any `module:function`
that is a `detlab.training.contract.Trainer`."""

from __future__ import annotations

import importlib

from detlab.errors import UserError
from detlab.sweep import toy
from detlab.sweep.cell_trainer import CellTrainer
from detlab.training.contract import Trainer
from detlab.training.driver import ray_trainer

TRAINERS: dict[str, Trainer] = {"mmdet": ray_trainer.train, "toy": toy.train}
CELLS = "cells"  # the trainer of grid-of-cells studies (`StudySpec.cells`)


def resolve_trainer(name: str) -> Trainer:
    if name == CELLS:
        return CellTrainer(resolve_trainer)
    if name in TRAINERS:
        return TRAINERS[name]
    module, _, attr = name.partition(":")
    if not attr:
        raise UserError(f"--trainer {name!r}: choose {', '.join([*TRAINERS, CELLS])} or give module:function")
    try:
        trainer: Trainer = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise UserError(f"--trainer {name!r}: cannot load {name} ({err})") from None
    return trainer
