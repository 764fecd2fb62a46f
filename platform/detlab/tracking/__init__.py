"""MLflow tracking for training runs and sweeps: URI rules, a local server, a recorder that
never blocks training, and the tools to send what an outage left behind (see docs/tracking.md)."""

from detlab.tracking.recorder import NullRecorder, RunRecorder, default_spool_dir, workers_spool
from detlab.tracking.uri import print_hint_once, resolve_tracking_uri, ui_hint

__all__ = [
    "RunRecorder",
    "NullRecorder",
    "default_spool_dir",
    "workers_spool",
    "resolve_tracking_uri",
    "print_hint_once",
    "ui_hint",
]
