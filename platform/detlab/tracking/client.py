"""MLflow client set up to fail fast, and the calls that must reach the server synchronously.

MLflow's HTTP client retries 7 times with a 120 s timeout (~4 minutes per call)
before raising. The recorder does its own retrying in a background thread, so
each single request should fail within seconds. MLflow reads these limits from
the environment at every request; there is no per-client setting, so
`fast_fail_http()` sets them for the whole process (a training process should
not block on tracking anywhere). `DETLAB_MLFLOW_HTTP_TIMEOUT` changes the timeout.
"""

from __future__ import annotations

import getpass
import os
import time
import uuid
from collections.abc import Mapping
from typing import Any

from detlab.errors import UserError
from detlab.limits import MLFLOW_CREATE_RUN_S, MLFLOW_HTTP_TIMEOUT_S
from detlab.tracking.params import clean_tags

KIND_TAG = "mlflow.experimentKind"
TRAINING_KIND = "custom_model_development"  # the UI's "Model training" experiment type

HTTP_TIMEOUT_S = MLFLOW_HTTP_TIMEOUT_S
CREATE_TOKEN_TAG = "detlab.create_token"


def fast_fail_http() -> None:
    """One try per request, short timeout (process-wide; see the module docstring)."""
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = os.environ.get("DETLAB_MLFLOW_HTTP_TIMEOUT", str(HTTP_TIMEOUT_S))


def make_client(tracking_uri: str):
    """An `MlflowClient` bound to `tracking_uri` (explicit: no process-global active run)."""
    fast_fail_http()
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying later: server unreachable, timeout, 5xx/429. False: the request was refused
    for what it is (bad key, missing run), and retrying would repeat the refusal forever."""
    try:
        from mlflow.exceptions import MlflowException
    except ImportError:  # pragma: no cover
        MlflowException = ()  # type: ignore[assignment,misc]
    import requests

    if isinstance(exc, MlflowException):
        code = exc.get_http_status_code()
        return code >= 500 or code in (408, 429)
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        code = exc.response.status_code
        return code >= 500 or code in (408, 429)
    return isinstance(exc, (OSError, TimeoutError))


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a refused MLflow request, when there was one."""
    import requests

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return exc.response.status_code
    get = getattr(exc, "get_http_status_code", None)
    return get() if callable(get) else None


def auth_refusal(exc: BaseException, tracking_uri: str) -> str | None:
    """One line for a server with authentication (`mlflow server --app-name basic-auth`) that
    refused us, saying which environment variables to set; None for any other failure."""
    status = http_status(exc)
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    if status == 401:
        if user and os.environ.get("MLFLOW_TRACKING_PASSWORD"):
            return (
                f"MLflow at {tracking_uri} refused the credentials of user {user!r} (HTTP 401): "
                f"check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
            )
        return (
            f"MLflow at {tracking_uri} needs a login (HTTP 401): set MLFLOW_TRACKING_USERNAME and "
            f"MLFLOW_TRACKING_PASSWORD"
        )
    if status == 403:
        return (
            f"MLflow at {tracking_uri}: user {user or '(none)'!r} lacks the permission for this "
            f"(HTTP 403): ask the server's admin for EDIT on the experiment"
        )
    return None


def error_code(exc: BaseException) -> str:
    return getattr(exc, "error_code", "") or ""


def one_line(exc_or_text: BaseException | str, limit: int = 300) -> str:
    """`Type: first line of the message`, shortened: what a tag or a warning can hold."""
    if isinstance(exc_or_text, BaseException):
        msg = str(exc_or_text).strip().splitlines()
        text = f"{type(exc_or_text).__name__}: {msg[0] if msg else ''}".rstrip(": ")
    else:
        text = " ".join(str(exc_or_text).split())
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def get_or_create_experiment(client, name: str) -> str:
    """Experiment id for `name`, created if missing (a concurrent creator is not an error) as a
    model-training experiment, so MLflow's UI opens it on its runs, not on GenAI traces."""

    exp = client.get_experiment_by_name(name)
    if exp is None:
        try:
            return client.create_experiment(name, tags={KIND_TAG: TRAINING_KIND})
        except Exception as e:  # someone else created it in between
            if error_code(e) != "RESOURCE_ALREADY_EXISTS":
                raise
            exp = client.get_experiment_by_name(name)
    if exp.lifecycle_stage == "deleted":
        raise UserError(
            f"MLflow experiment {name!r} is deleted: restore it "
            f"(`mlflow experiments restore --experiment-id {exp.experiment_id}`) or use another name"
        )
    return exp.experiment_id


def create_run(
    tracking_uri: str,
    experiment: str,
    run_name: str | None = None,
    *,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    timeout: float = MLFLOW_CREATE_RUN_S,
) -> str:
    """Create a RUNNING run and return its id; retries transient failures up to `timeout` s.

    A request can time out after the server created the run; each attempt carries
    the same random token tag, so a retry finds that run instead of making a second one.
    """

    client = make_client(tracking_uri)
    token = uuid.uuid4().hex
    all_tags = {"restarts": "0", CREATE_TOKEN_TAG: token}
    try:
        all_tags["mlflow.user"] = getpass.getuser()
    except Exception:
        pass
    all_tags.update({str(k): v for k, v in (tags or {}).items()})
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    all_tags = clean_tags(all_tags)

    deadline = time.monotonic() + timeout
    delay, last = 0.5, None
    exp_id = None
    while True:
        try:
            if exp_id is None:
                exp_id = get_or_create_experiment(client, experiment)
            if last is not None:  # an earlier attempt may have landed
                found = client.search_runs(
                    [exp_id], filter_string=f"tags.`{CREATE_TOKEN_TAG}` = '{token}'", max_results=1
                )
                if found:
                    return found[0].info.run_id
            run = client.create_run(exp_id, tags=all_tags, run_name=run_name)
            return run.info.run_id
        except UserError:
            raise
        except Exception as e:
            refusal = auth_refusal(e, tracking_uri)
            if refusal:
                raise UserError(refusal) from None
            if not is_transient(e):
                raise UserError(
                    f"MLflow at {tracking_uri} refused to create a run in experiment {experiment!r}: {one_line(e)}"
                ) from e
            last = e
        if time.monotonic() + delay > deadline:
            raise UserError(
                f"MLflow at {tracking_uri} unreachable for {timeout:.0f} s, cannot create the run: {one_line(last)}"
            ) from last
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
