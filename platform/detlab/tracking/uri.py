"""Where runs are recorded: one rule for the tracking URI, always absolute.

Ray workers run in other directories than the driver, so a relative
`sqlite:///mlflow.db` would silently create a second, empty store per worker.
Everything that leaves this module is therefore absolute.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

ENV_VAR = "MLFLOW_TRACKING_URI"
DEFAULT_DB_NAME = "mlflow.db"

_hint_shown: set[str] = set()


def resolve_tracking_uri(
    flag: str | None = None, *, env: Mapping[str, str] | None = None, cwd: str | os.PathLike | None = None
) -> str:
    """Flag > $MLFLOW_TRACKING_URI > `sqlite:///<abs cwd>/mlflow.db`, made absolute."""
    env = os.environ if env is None else env
    base = Path(cwd) if cwd is not None else Path.cwd()
    uri = flag or env.get(ENV_VAR) or ""
    if not uri.strip():
        return sqlite_uri(base / DEFAULT_DB_NAME)
    return absolutize(uri.strip(), base)


def sqlite_uri(path: str | os.PathLike) -> str:
    """`sqlite:////abs/path.db` (four slashes: three for the scheme, one for the root)."""
    return "sqlite:///" + str(Path(path).expanduser().resolve())


def absolutize(uri: str, base: str | os.PathLike) -> str:
    """Make file-system based URIs absolute against `base`; leave network URIs alone."""
    base = Path(base)
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///") :]
        query = ""
        if "?" in path:
            path, query = path.split("?", 1)
            query = "?" + query
        if path.startswith("/"):  # already absolute (sqlite:////abs)
            return uri
        if path in ("", ":memory:"):
            return uri
        return sqlite_uri(base / path) + query
    if uri.startswith("file:"):
        parsed = urlparse(uri)
        path = parsed.path if uri.startswith("file://") else uri[len("file:") :]
        return Path(base / Path(path).expanduser()).resolve().as_uri()
    if "://" not in uri and ":" not in uri.split("/", 1)[0]:
        # a bare path: MLflow treats it as a file store
        return Path(base / Path(uri).expanduser()).resolve().as_uri()
    return uri


def is_local_store(uri: str) -> bool:
    """True for stores the client opens itself (no server, nothing can be 'down')."""
    return uri.startswith(("sqlite:", "file:")) or uri.startswith(("mysql", "postgresql", "mssql"))


def ui_hint(uri: str) -> str:
    """One line telling the user how to look at what is recorded at `uri`."""
    if uri.startswith(("http://", "https://")):
        return f"MLflow tracking server: {uri} (open it in a browser)"
    return (
        f"MLflow tracking store: {uri}\n"
        f"  open the UI with: detlab mlflow ui --store '{uri}'\n"
        f"  (the same as: mlflow ui --backend-store-uri '{uri}' --host 127.0.0.1)"
    )


def print_hint_once(uri: str, file=None) -> bool:
    """Print `ui_hint(uri)` the first time this process uses `uri`; True if printed."""
    if uri in _hint_shown:
        return False
    _hint_shown.add(uri)
    print(ui_hint(uri), file=file or sys.stderr, flush=True)
    return True
