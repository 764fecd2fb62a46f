"""Which `fit` a trial calls: the detector (`mmdet`, the default), the toy objective (`toy`,
for tests and benchmarks of the machinery), or any `module:function` with fit's signature."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from detlab.errors import UserError

TRAINERS = {"mmdet": "detlab.training.ray_trainer:fit", "toy": "detlab.sweep.toy:fit"}


def resolve_trainer(name: str) -> Callable[..., Any]:
    target = TRAINERS.get(name, name)
    module, _, attr = target.partition(":")
    if not attr:
        raise UserError(f"--trainer {name!r}: choose {', '.join(TRAINERS)} or give module:function")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise UserError(f"--trainer {name!r}: cannot load {target} ({err})") from None
