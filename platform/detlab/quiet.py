"""Silence the third-party noise every process of the platform would otherwise start with.

Importing mmcv prints torch's ``No CUDA runtime is found, using CUDA_HOME=...`` (a logger
warning of ``torch.utils.cpp_extension`` on machines without a GPU) and mmcv's
``On January 1, 2023, MMCV will release v2.0.0`` warning; a one-line error for a bad
``--set`` then comes out as five lines with the error last. ``silence()`` filters exactly
those known messages at the source: call it in every entry point (``detlab``, the
``experiments/*.py`` runners) and in every Ray worker before mmcv is imported.

``--verbose`` (or ``DETLAB_VERBOSE=1``, which the entry points export so that Ray workers on
this machine inherit it) shows them again.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence

ENV_VAR = "DETLAB_VERBOSE"

# (category, message regex) of Python warnings known to say nothing a user can act on
WARNINGS: tuple[tuple[type[Warning], str], ...] = (
    (UserWarning, r"On January 1, 2023, MMCV will release v2\.0\.0"),
    # mmcv's fp16 / DeepSpeed probe and torch's TypedStorage note, printed by imports only
    (UserWarning, r"TypedStorage is deprecated"),
    (DeprecationWarning, r".*pkg_resources is deprecated"),
    (UserWarning, r".*pkg_resources is deprecated"),
    (FutureWarning, r"`torch\.cuda\.amp\..*` is deprecated"),
    (FutureWarning, r"You are using `torch\.load` with `weights_only=False`"),
)

# loggers whose warnings are such noise: raised to ERROR
LOGGERS: tuple[str, ...] = (
    "torch.utils.cpp_extension",  # "No CUDA runtime is found, using CUDA_HOME=..."
)


def verbose_requested(argv: Sequence[str] | None = None) -> bool:
    """``--verbose`` anywhere on the command line, or ``DETLAB_VERBOSE`` set to a true value."""
    if argv is not None and "--verbose" in argv:
        return True
    return os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def silence(argv: Sequence[str] | None = None) -> bool:
    """Filter the known noise unless verbose was asked for; returns True when filtered.

    Idempotent and cheap: safe to call in each entry point and at each worker start.
    """
    if verbose_requested(argv):
        os.environ[ENV_VAR] = "1"  # Ray workers started from here show it too
        return False
    for category, message in WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    return True
