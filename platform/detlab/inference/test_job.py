"""``detlab test``: a trained model on the val or test split, scored as the benchmark does,
recorded in MLflow beside the training numbers (see docs/results.md).

Everything that can be wrong with the input (the run, the checkpoint, the config, the
data) is checked before an MLflow run is created or a file is written.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from detlab.errors import UserError
from detlab.inference.model import build_model, load_test_config
from detlab.inference.record import TestRecord
from detlab.inference.runner import build_split, infer, infer_on_ray
from detlab.inference.source import ModelSource


@dataclass
class TestOptions:
    split: str = "test"
    sets: list[str] = field(default_factory=list)
    submission: str | None = None  # OUT.zip: the Task1 files the DOTA server takes
    workers: int = 1  # > 1: Ray tasks, one shard each
    labels: str | None = None  # DOTA full-image labelTxt (default: the split's source)
    out: str | None = None  # keep the Task1 files, PR curves and eval.json here
    device: str = "cpu"


def metric_prefix(split: str) -> str:
    """``test/`` for the test split; ``test-val/`` when the val split is tested (never mixed up)."""
    return "test" if split == "test" else f"test-{split}"


def _check_submission(path: str | None) -> Path | None:
    if path is None:
        return None
    p = Path(path).absolute()
    if p.suffix != ".zip":
        raise UserError(f"--submission {path}: must end in .zip (the file the DOTA server takes)")
    if not p.parent.is_dir():
        raise UserError(f"--submission {path}: folder {p.parent} does not exist")
    return p


def _write_outputs(root: Path, score, classes, submission: Path | None) -> None:
    from detlab.data.merge import write_submission
    from detlab.evaluation.plots import save_pr_curves
    from detlab.evaluation.task1 import write_task1_dir

    write_task1_dir(root / "Task1", score.dets, classes)
    if score.result is not None:
        save_pr_curves(score.result, root / "pr")
        (root / "eval.json").write_text(
            json.dumps({"metrics": score.metrics, "notes": score.notes, "headline": score.result.to_dict()}, indent=2)
            + "\n"
        )
    if submission is not None:
        with tempfile.TemporaryDirectory(dir=submission.parent, prefix=".submission-") as tmp:
            archive = write_submission(Path(tmp), score.dets, submission.name, classes)
            os.replace(archive, submission)  # all or nothing


def run_test(source: ModelSource, opts: TestOptions, tracking_uri: str) -> dict:
    """Test ``source`` on ``opts.split``; returns the summary the CLI prints."""
    from detlab.inference.scoring import METRIC_DEFINITIONS, score
    from detlab.training.worker.val_eval import dataset_kind

    if opts.workers < 1:
        raise UserError(f"--workers must be >= 1, got {opts.workers}")
    submission = _check_submission(opts.submission)
    cfg = load_test_config(source.config, opts.sets, opts.device)
    model = build_model(cfg, source.checkpoint, source.config, source.classes)
    dataset = build_split(cfg, opts.split)
    if len(dataset) == 0:
        raise UserError(f"data.{opts.split}: no images")
    kind = dataset_kind(dataset)
    prefix = metric_prefix(opts.split)
    record = TestRecord(
        tracking_uri, source.run_id, source_tags=source.tags, run_name=f"test {os.path.basename(source.describe)}"
    )
    try:
        started = time.perf_counter()
        if opts.workers > 1:
            results = infer_on_ray(
                cfg, source.checkpoint, source.config, model.CLASSES, opts.split, len(dataset), opts.workers
            )
        else:
            results = infer(model, dataset)
        infer_s = time.perf_counter() - started
        sc = score(kind, dataset, results, prefix, opts.labels)
        metrics = dict(sc.metrics)
        metrics[f"{prefix}/images"] = float(len(dataset))
        metrics[f"{prefix}/infer_s_per_image"] = infer_s / len(dataset)
        tags = {
            f"{prefix}.split": opts.split,
            f"{prefix}.dataset": kind,
            f"{prefix}.source": source.describe,
            f"{prefix}.workers": opts.workers,
            f"protocol.metric.{prefix}": METRIC_DEFINITIONS[kind],
        }
        if opts.sets:
            tags[f"{prefix}.overrides"] = " ".join(opts.sets)
        out_root = Path(opts.out).absolute() if opts.out else Path(tempfile.mkdtemp(prefix="detlab-test-"))
        out_root.mkdir(parents=True, exist_ok=True)
        _write_outputs(out_root, sc, sc.classes, submission)
        record.log(metrics, tags)
        record.log_dir(out_root, prefix)
        if not opts.out:
            shutil.rmtree(out_root, ignore_errors=True)
    except BaseException as err:
        record.close(False, str(err) or type(err).__name__)
        raise
    record.close(True)
    return {
        "run_id": record.run_id,
        "source": source.describe,
        "split": opts.split,
        "dataset": kind,
        "metrics": metrics,
        "notes": sc.notes,
        "submission": str(submission) if submission else None,
        "out": opts.out,
    }
