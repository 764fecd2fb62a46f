"""Registers every plugin in mmrotate's registries: what configs' ``custom_imports`` name.

The package ``__init__`` stays light (see ``refined_det``); this module pulls in
mmrotate and the modules whose decorators fill its registries.
"""

from . import assigners, dense_heads, detectors  # noqa: F401  (registration)
from .datasets import dota, hrsc  # noqa: F401  (registration)
