"""The Optuna storage of a study: where it is, and keeping it consistent across driver restarts.

A driver killed mid-sweep leaves the trial Optuna had just been asked for, but that
the last searcher snapshot does not know, RUNNING forever (measured here, see
docs/design.md). Trials still running when the restored sweep ends are such
zombies: `fail_running_trials` marks them FAIL, so optuna-dashboard and TPE agree
with what ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from detlab.errors import UserError
from detlab.limits import OPTUNA_CONNECT_S as CONNECT_S
from detlab.limits import OPTUNA_POOL_S as POOL_S
from detlab.limits import OPTUNA_SQLITE_LOCK_S as SQLITE_LOCK_S
from detlab.specs import StudySpec
from detlab.tracking.client import one_line
from detlab.tracking.uri import absolutize, sqlite_uri

ZOMBIE_ATTR = "detlab_failed_reason"


def storage_url(spec: StudySpec, default_db: Path) -> str:
    """`storage.optuna` as an absolute RDB URL: a URL as given (relative SQLite paths against the
    repository root), a bare path as a SQLite file under the root, nothing as `default_db`."""
    given = spec.storage.optuna
    if not given:
        return sqlite_uri(default_db)
    if "://" in given:
        return absolutize(given, spec.root)
    return sqlite_uri(spec.resolve(given))


def make_storage(url: str) -> Any:
    """An `RDBStorage` whose waits are bounded: SQLite waits up to SQLITE_LOCK_S for its lock (trials
    and the driver share it) instead of failing at once; a database server must answer a connection
    within CONNECT_S and a pooled connection be free within POOL_S. Failing that: one-line UserError."""
    import optuna
    import sqlalchemy.exc

    if url.startswith("sqlite"):
        kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_LOCK_S}}
    else:  # the PostgreSQL (psycopg, psycopg2) and MySQL (PyMySQL) drivers all take connect_timeout
        kwargs = {"connect_args": {"connect_timeout": CONNECT_S}, "pool_timeout": POOL_S, "pool_pre_ping": True}
    try:
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
    except ImportError as err:  # Optuna wraps the driver's ModuleNotFoundError
        cause = err.__cause__ or err
        raise UserError(
            f"Optuna storage {shown(url)}: its database driver is not installed ({one_line(cause)}); "
            "install it on every node (postgresql://: psycopg[binary]; "
            "postgresql+psycopg2://: psycopg2-binary; mysql+pymysql://: PyMySQL)"
        ) from None
    except (sqlalchemy.exc.SQLAlchemyError, OSError) as err:
        raise UserError(f"Optuna storage {shown(url)}: cannot use it ({one_line(err, 200)})") from None


def shown(url: str) -> str:
    """The URL without its password (it goes into error lines and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def fail_running_trials(url: str, study_name: str, reason: str) -> list[int]:
    """Mark every RUNNING trial of the study FAIL (call when no trial can be running); their numbers."""
    import optuna
    from optuna.trial import TrialState

    storage = make_storage(url)
    try:
        study_id = storage.get_study_id_from_name(study_name)
    except KeyError:
        return []
    failed = []
    for trial in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_system_attr(trial._trial_id, ZOMBIE_ATTR, reason)
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        failed.append(trial.number)
    del optuna
    return failed


def load_study(url: str, study_name: str) -> Any | None:
    """The Optuna study for plots, or None when there is none (grid sweeps)."""
    import optuna

    try:
        return optuna.load_study(study_name=study_name, storage=make_storage(url))
    except KeyError:
        return None
