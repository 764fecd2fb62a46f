"""Make keys and values acceptable to MLflow *before* they are journaled.

A value MLflow would refuse must not sit in the journal and block the ops behind
it, so limits are applied here: keys keep their dots but lose characters MLflow
rejects, values are strings within MLflow's length limits (6000 chars for params,
8000 for tags in MLflow 3.17; older MLflow had 500), and metrics are floats.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import posixpath
import re
from collections.abc import Mapping
from typing import Any

try:  # the limits of the installed MLflow, when it has them where we expect
    from mlflow.utils.validation import MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH
except Exception:  # pragma: no cover - older/newer layouts
    MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH = 250, 500, 5000

MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000

_BAD = re.compile(r"[^/\w.\- :]")
TRUNCATED = "...[truncated]"

# Environment variables whose values are secrets: never sent to MLflow, whatever carries them
# (a --set value, a config string, an error message). Values under 8 characters are too likely
# to occur by chance ("true", a port) to be searched for.
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|API_?KEY|ACCESS_KEY|PRIVATE_KEY", re.IGNORECASE)
MIN_SECRET_LENGTH = 8


def secret_values(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """{value: variable name} of the secrets in the environment."""
    env = os.environ if env is None else env
    return {v: k for k, v in env.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET_LENGTH}


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """`text` with every secret of the environment replaced by `[redacted $NAME]`."""
    for value, name in sorted(secret_values(env).items(), key=lambda kv: -len(kv[0])):
        if value in text:
            text = text.replace(value, f"[redacted ${name}]")
    return text


def clean_key(key: Any) -> str:
    """A key MLflow accepts, as close to `key` as possible (dots and slashes kept)."""
    k = _BAD.sub("_", str(key)).strip()
    k = posixpath.normpath(k).lstrip("/") if k else "_"
    if k in (".", "") or k.startswith(".."):
        k = "_" + k.lstrip(".")
    if len(k) > MAX_ENTITY_KEY_LENGTH:  # keep it unique: prefix + hash of the whole
        digest = hashlib.sha1(k.encode()).hexdigest()[:10]
        k = k[: MAX_ENTITY_KEY_LENGTH - 11] + "~" + digest
    return k


def stringify(value: Any) -> str:
    """Readable, stable text: JSON for containers, str() otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, dict)):
        try:
            return json.dumps(value, default=str, separators=(",", ":"))
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def clean_params(params: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(params MLflow accepts, {key: full value} of those that had to be shortened)."""
    out: dict[str, str] = {}
    full: dict[str, str] = {}
    for k, v in params.items():
        key, text = clean_key(k), redact(stringify(v))
        if len(text) > MAX_PARAM_VAL_LENGTH:
            full[key] = text
        out[key] = _shorten(text, MAX_PARAM_VAL_LENGTH)
    return out, full


def clean_tags(tags: Mapping[str, Any]) -> dict[str, str]:
    return {clean_key(k): _shorten(redact(stringify(v)), MAX_TAG_VAL_LENGTH) for k, v in tags.items()}


def to_float(value: Any) -> float | None:
    """float for numbers, numpy scalars, 0-d/1-element tensors; None for anything else."""
    if isinstance(value, bool):
        return float(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        item = getattr(value, "item", None)
        if item is None:
            return None
        try:
            f = float(item())
        except (TypeError, ValueError, RuntimeError):
            return None
    return f


def clean_metrics(metrics: Mapping[str, Any]) -> tuple[dict[str, float], list[str]]:
    """({key: float}, [keys skipped because their value is not a number])."""
    out: dict[str, float] = {}
    skipped: list[str] = []
    for k, v in metrics.items():
        f = to_float(v)
        if f is None:
            skipped.append(str(k))
        else:
            out[clean_key(k)] = f
    return out, skipped


def metric_identity(step: int, timestamp: int, value: float) -> tuple[int, int, str]:
    """What makes two logged metric points 'the same' (NaN-safe) for de-duplication."""
    return (int(step), int(timestamp), "nan" if math.isnan(value) else repr(float(value)))
