"""Where a trained model comes from: a training run, a registered MLflow model, or two files.

Whatever the source, the result is the same ``ModelSource``: a local checkpoint, the
merged config it was trained with, the class names, and the MLflow run its numbers
belong to (``None``: a new run is made, tagged with the source).
"""

from __future__ import annotations

import json
import os
import os.path as osp
import re
import tempfile
from dataclasses import dataclass, field

from detlab.errors import UserError
from detlab.tracking.client import make_client, one_line

CHECKPOINT_ARTIFACT = "checkpoints/best"  # ray_trainer._close logs the best checkpoint here
CHECKPOINT_FILE = "checkpoint.pth"
CONFIG_ARTIFACT = "config/merged.py"  # RunRecorder.log_config writes the merged config here
MODEL_URI = re.compile(r"^models:/(?P<name>[^/]+)/(?P<version>\d+|latest)$")
# inside a logged detlab model (pyfunc.py): artifacts/<key>
MODEL_ARTIFACTS = {"checkpoint": CHECKPOINT_FILE, "config": "merged.py", "classes": "classes.json"}


@dataclass
class ModelSource:
    """A model ready to build: files on this machine plus where it came from."""

    checkpoint: str
    config: str
    describe: str  # e.g. "run 3f2a...", "models:/refined-det/2", a file path
    run_id: str | None = None  # the training run numbers are logged to
    classes: tuple[str, ...] | None = None
    tags: dict[str, str] = field(default_factory=dict)


def _need_file(path: str, what: str) -> str:
    if not osp.isfile(path):
        raise UserError(f"{what} not found: {path}")
    return osp.abspath(path)


def from_files(checkpoint: str, config: str) -> ModelSource:
    """``--checkpoint FILE --config FILE``."""
    ckpt = _need_file(checkpoint, "checkpoint")
    cfg = _need_file(config, "config")
    return ModelSource(ckpt, cfg, describe=ckpt, tags={"detlab.source.checkpoint": ckpt, "detlab.source.config": cfg})


def from_run(run_id: str, tracking_uri: str, dst: str | None = None) -> ModelSource:
    """The best checkpoint and merged config a training run logged."""
    client = make_client(tracking_uri)
    try:
        run = client.get_run(run_id)
    except Exception as err:  # RESOURCE_DOES_NOT_EXIST, or the server is down
        raise UserError(f"run {run_id} not found in {tracking_uri}: {one_line(err)}") from None
    listed = {a.path for a in client.list_artifacts(run_id, CHECKPOINT_ARTIFACT)}
    if f"{CHECKPOINT_ARTIFACT}/{CHECKPOINT_FILE}" not in listed:
        status = run.info.status
        raise UserError(
            f"run {run_id} ({run.info.run_name}, {status}) has no best checkpoint "
            f"({CHECKPOINT_ARTIFACT}/{CHECKPOINT_FILE}): it never finished an evaluation"
        )
    dst = dst or tempfile.mkdtemp(prefix=f"detlab-run-{run_id[:8]}-")
    ckpt = client.download_artifacts(run_id, f"{CHECKPOINT_ARTIFACT}/{CHECKPOINT_FILE}", dst)
    try:
        cfg = client.download_artifacts(run_id, CONFIG_ARTIFACT, dst)
    except Exception:
        raise UserError(f"run {run_id} has a checkpoint but no merged config ({CONFIG_ARTIFACT})") from None
    return ModelSource(ckpt, cfg, describe=f"run {run_id}", run_id=run_id)


def from_model_uri(uri: str, tracking_uri: str, dst: str | None = None) -> ModelSource:
    """A registered model (``models:/NAME/VERSION``) logged by ``detlab model register``."""
    m = MODEL_URI.match(uri)
    if m is None:
        raise UserError(f"--model {uri!r}: expected models:/NAME/VERSION")
    import mlflow.artifacts

    client = make_client(tracking_uri)
    try:
        if m["version"] == "latest":
            versions = client.search_model_versions(f"name = '{m['name']}'")
            if not versions:
                raise UserError(f"--model {uri}: no registered model named {m['name']!r}")
            version = max(versions, key=lambda v: int(v.version))
        else:
            version = client.get_model_version(m["name"], m["version"])
    except UserError:
        raise
    except Exception as err:
        raise UserError(f"--model {uri}: not in the model registry at {tracking_uri} ({one_line(err)})") from None
    dst = dst or tempfile.mkdtemp(prefix="detlab-model-")
    os.environ.setdefault("MLFLOW_TRACKING_URI", tracking_uri)  # models:/ resolves through the registry
    import mlflow

    mlflow.set_registry_uri(tracking_uri)
    try:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{m['name']}/{version.version}", dst_path=dst, tracking_uri=tracking_uri
        )
    except Exception as err:
        raise UserError(f"--model {uri}: cannot download it ({one_line(err)})") from None
    art = osp.join(local, "artifacts")
    files = {k: osp.join(art, v) for k, v in MODEL_ARTIFACTS.items()}
    missing = [v for v in files.values() if not osp.isfile(v)]
    if missing:
        raise UserError(f"--model {uri}: not a detlab model (no {osp.relpath(missing[0], local)})")
    with open(files["classes"], encoding="utf-8") as f:
        classes = tuple(json.load(f))
    return ModelSource(
        files["checkpoint"],
        files["config"],
        describe=f"models:/{m['name']}/{version.version}",
        run_id=None,
        classes=classes,
        tags={
            "detlab.source.model": f"models:/{m['name']}/{version.version}",
            "detlab.source.run": version.run_id or "",
        },
    )


def resolve(args, tracking_uri: str) -> ModelSource:
    """The one source the command line names (``--run``, ``--model`` or ``--checkpoint --config``)."""
    given = [n for n in ("run", "model", "checkpoint") if getattr(args, n, None)]
    if len(given) != 1:
        raise UserError(
            "give exactly one of --run RUN_ID, --model models:/NAME/VERSION, --checkpoint FILE --config FILE"
        )
    if args.run:
        if args.config:
            raise UserError("--config goes with --checkpoint; a run brings its own merged config")
        return from_run(args.run, tracking_uri)
    if args.model:
        if args.config:
            raise UserError("--config goes with --checkpoint; a registered model brings its own config")
        return from_model_uri(args.model, tracking_uri)
    if not args.config:
        raise UserError("--checkpoint needs --config (the config the checkpoint was trained with)")
    return from_files(args.checkpoint, args.config)
