"""Config handling: the one override language for mmcv configs (docs/design.md)."""

from detlab.config.literals import parse_value, yaml_load
from detlab.config.overrides import OverrideError, apply_overrides, flatten_config, load_config, parse_override

__all__ = [
    "OverrideError",
    "apply_overrides",
    "flatten_config",
    "load_config",
    "parse_override",
    "parse_value",
    "yaml_load",
]
