"""A cheap stand-in for the detector, for tests and benchmarks of the sweep machinery.

`objective` is a real function of the merged config: a smooth, noisy learning curve
whose plateau depends on the CLA/FRHead/lr values the way a tuned detector's mAP
might (CLA on/off, an optimum for radius, k and the IoU thresholds at the paper's
setting, the refine stage, its 1x3/3x1 branch and attention each helping, a high
learning rate learning fast but ending lower), with per-seed noise, so paired
comparisons over seeds see real, noisy differences. `train` is a `Trainer` (the contract
of `detlab.training.contract`) with the detector's life cycle (an MLflow child run
created on the driver and kept in the run folder, a TorchTrainer whose rank 0 logs
per evaluation and reports with a checkpoint, the run closed by the driver), in
seconds instead of minutes: sweeps run it with `--trainer toy`.

Knobs for fault tests (environment, read by the workers):
`DETLAB_TOY_EVAL_S` seconds per evaluation (default 0.3);
`DETLAB_TOY_SEED_SD` the seed-to-seed sd of a config's final mAP (default 0.01);
`DETLAB_TOY_CRASH="key=value"` makes trials whose config has that value raise at
their first evaluation;
`DETLAB_TOY_INLINE=1` runs the loop in the calling process (the Tune trial) instead of a
one-worker Ray Train group, resuming from a state file in the run folder: for tests of the
statistics, reports and confirmation, where the worker group's start (10-15 s a trial on
2 cores, most of a toy trial) is only cost. Fault tests that kill Train workers leave it unset.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import os.path as osp
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import Any

from detlab.atomic import atomic_write_text
from detlab.config import load_config, parse_value
from detlab.tracking import RunRecorder, workers_spool
from detlab.tracking.context import flatten, run_params
from detlab.training.contract import FitOutcome, FitRequest
from detlab.training.driver.lifecycle import TrainingRun, locate
from detlab.training.driver.placement import record_worker_group
from detlab.training.driver.worker_group import fit_worker_group, workers_dir

DEFAULT_STORAGE = osp.join("work_dirs", "toy")

METRIC = "val/mAP_voc07"
CLA = "model.train_cfg.assigner.cross_grid"
REFINE = "model.bbox_head.with_refine"
FRHEAD_PARTS = ("model.bbox_head.with_attention", "model.bbox_head.with_asym_convs", REFINE)

# dotted key -> (scale, optimum, width): a bump around the optimum (log10 distance for "log"),
# or for "bool" the factor the plateau takes when the switch is off. The CLA optimum is the
# paper's setting (radius 0.5, k = 3, IoU 0.5 / 0.4): no searched CLA setting truly beats it.
SHAPE: dict[str, tuple[str, Any, float]] = {
    CLA: ("bool", True, 0.95),
    "model.train_cfg.assigner.radius": ("lin", 0.5, 0.3),
    "model.train_cfg.assigner.num_neighbors": ("lin", 3, 2.5),
    "model.train_cfg.assigner.pos_iou_thr": ("lin", 0.5, 0.15),
    "model.train_cfg.assigner.neg_iou_thr": ("lin", 0.4, 0.12),
    "model.bbox_head.stacked_convs": ("lin", 3, 2.0),
    "model.bbox_head.with_attention": ("bool", True, 0.96),
    "model.bbox_head.with_asym_convs": ("bool", True, 0.97),
    REFINE: ("bool", True, 0.90),
    "optimizer.lr": ("log", 3e-3, 0.7),
}
# keys that act only while a switch is on: radius and k only with CLA (off, the assigner is
# mmdet's MaxIoU), the attention and 1x3/3x1 branch only inside the refine stage
ACTS_ONLY_WITH = {
    "model.train_cfg.assigner.radius": CLA,
    "model.train_cfg.assigner.num_neighbors": CLA,
    "model.bbox_head.with_attention": REFINE,
    "model.bbox_head.with_asym_convs": REFINE,
}
SEED_SD = 0.01  # a config's final mAP moves this much between seeds (about a point of mAP)
SHARED_SD = 0.005  # the part of it every config shares for one seed (same data order)
EVAL_SD = 0.002  # evaluation-to-evaluation jitter within one run


def plateau(values: Mapping[str, Any]) -> float:
    """The mAP a full schedule would reach with these config values (keys not in SHAPE ignored;
    a switch that is not given counts as on)."""
    score = 0.92
    for key, (scale, best, width) in SHAPE.items():
        if key not in values or values[key] is None:
            continue
        switch = ACTS_ONLY_WITH.get(key)
        if switch is not None and values.get(switch) is False:
            continue
        v = values[key]
        if scale == "bool":
            score *= 1.0 if bool(v) == best else width
        else:
            d = (math.log10(float(v)) - math.log10(best)) if scale == "log" else (float(v) - best)
            score *= 0.35 + 0.65 * math.exp(-((d / width) ** 2))
    return score


def objective(values: Mapping[str, Any], evaluation: int, evaluations: int, seed: int = 0) -> float:
    """mAP after `evaluation` of `evaluations` evaluations: a saturating curve to `plateau`,
    faster with a higher learning rate, plus seed noise: a per-(config, seed) offset (sd
    `SEED_SD`, `SHARED_SD` of it common to all configs under that seed, as paired runs share
    data order) and a small per-evaluation jitter. Deterministic given (values, seed)."""
    lr = float(values.get("optimizer.lr") or 3e-3)
    speed = 1.5 + 2.0 * min(max(math.log10(lr / 1e-4) / 2.0, 0.0), 1.5)
    p = evaluation / max(evaluations, 1)
    curve = (1 - math.exp(-speed * p)) / (1 - math.exp(-speed))
    sd = float(os.environ.get("DETLAB_TOY_SEED_SD", SEED_SD))
    shared = min(SHARED_SD, sd)
    own = math.sqrt(max(sd**2 - shared**2, 0.0))
    ident = _identity(values)
    noise = (shared * _normal(f"seed|{seed}") + own * _normal(f"{ident}|{seed}")) * curve
    return max(0.0, plateau(values) * curve + noise + EVAL_SD * _normal(f"{ident}|{seed}|{evaluation}"))


def _identity(values: Mapping[str, Any]) -> str:
    """The config's identity for the noise: every given value (rounded, so 0.1 + 0.2 == 0.3)."""

    def canon(v: Any) -> Any:
        return round(v, 9) if isinstance(v, float) else v

    return json.dumps({k: canon(v) for k, v in sorted(values.items()) if k != "evaluations"}, default=str)


def _normal(key: str) -> float:
    """A standard normal draw that is a pure function of `key` (Box-Muller over two hashes)."""
    h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
    h2 = int.from_bytes(hashlib.sha256((key + "b").encode()).digest()[:8], "big") / 2**64
    return math.sqrt(-2 * math.log(max(h, 1e-12))) * math.cos(2 * math.pi * h2)


def config_values(cfg: Any) -> dict[str, Any]:
    """The SHAPE keys of a merged config, and its schedule in evaluations. Switches the config
    lacks are off: no CrossGridAssigner means no CLA, a head without FRHead's parts has none."""
    flat = flatten(cfg)
    out = {k: flat.get(k) for k in SHAPE}
    if flat.get("model.train_cfg.assigner.type") != "CrossGridAssigner":
        out[CLA] = False
    elif out[CLA] is None:
        out[CLA] = True  # CrossGridAssigner's default
    for key in FRHEAD_PARTS:
        if out[key] is None:
            out[key] = False
    epochs = int(cfg.runner.max_epochs)
    interval = int((cfg.get("evaluation") or {}).get("interval", 1))
    out["evaluations"] = max(1, epochs // max(1, interval))
    return out


def train(request: FitRequest) -> FitOutcome:
    """The detector trainer's contract over the toy objective (see the module doc)."""
    from ray.train import CheckpointConfig

    place = locate(request, DEFAULT_STORAGE)
    cfg = load_config(request.config, place.overrides, import_custom_modules=False)
    spool = workers_spool()  # the machine's spool, as mmdet trials
    run = TrainingRun.open(place, request, tags={"detlab.trainer": "toy"}, spool=spool, print_hint=False)
    spec = {
        "values": config_values(cfg),
        "seed": place.seed,
        "run_id": run.run_id,
        "uri": run.tracking_uri,
        "spool": spool,
        "params": dict(run_params(place.overrides, cfg)),
        "eval_s": float(os.environ.get("DETLAB_TOY_EVAL_S", "0.3")),
        "crash": os.environ.get("DETLAB_TOY_CRASH", ""),
        "pid_dir": workers_dir(place),
    }
    inline = os.environ.get("DETLAB_TOY_INLINE") == "1" and request.workers == 1
    try:
        if inline:
            path, metrics = place.run_dir, _inline(spec, osp.join(place.run_dir, "detlab", "toy_state.json"))
        else:
            result = fit_worker_group(_loop, spec, request, place, checkpoint_config=CheckpointConfig(num_to_keep=1))
            path, metrics = result.path, dict(result.metrics or {})
    except BaseException as err:
        raise run.fail(err) from err
    run.close("FINISHED")
    return FitOutcome(run.run_id, place.name, path, run.tracking_uri, metrics)


def _crashes(values: Mapping[str, Any], rule: str) -> bool:
    if "=" not in rule:
        return False
    key, _, value = rule.partition("=")
    return key in values and values[key] == parse_value(value)


def _loop(spec: dict[str, Any]) -> None:
    """One Ray Train worker: an evaluation every `eval_s` seconds, resumable from its checkpoint."""
    import ray.train

    rank = ray.train.get_context().get_world_rank()
    start = 0
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            start = json.loads(open(osp.join(d, "state.json")).read())["evaluation"]
    record_worker_group(spec.get("pid_dir"))

    def report(metrics: dict[str, Any], evaluation: int) -> None:
        if rank != 0:
            ray.train.report(metrics)
            return
        with tempfile.TemporaryDirectory() as d:
            with open(osp.join(d, "state.json"), "w") as f:
                json.dump({"evaluation": evaluation}, f)
            ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(d))

    _evaluate(spec, rank, start, report)


def _inline(spec: dict[str, Any], state_file: str) -> dict[str, Any]:
    """The loop in this process (DETLAB_TOY_INLINE=1): reports go to Tune when this is a Tune
    trial; the evaluation reached is kept in `state_file`, so a retried trial resumes there."""
    from ray.tune.trainable.trainable_fn_utils import _in_tune_session

    start = json.loads(open(state_file).read())["evaluation"] if osp.isfile(state_file) else 0
    in_tune = _in_tune_session()
    last: dict[str, Any] = {}

    def report(metrics: dict[str, Any], evaluation: int) -> None:
        atomic_write_text(state_file, json.dumps({"evaluation": evaluation}))
        last.update(metrics)
        if in_tune:
            from ray import tune

            tune.report(metrics)

    _evaluate(spec, 0, start, report)
    return last


def _evaluate(spec: dict[str, Any], rank: int, start: int, report: Callable[[dict[str, Any], int], None]) -> None:
    """Evaluations `start + 1 ..`: the objective logged by this rank's recorder and reported."""
    values, total = spec["values"], spec["values"]["evaluations"]
    rec = RunRecorder.for_rank(rank, spec["run_id"], tracking_uri=spec["uri"], spool_dir=spec["spool"])
    if rank == 0 and start == 0:
        rec.log_params(spec["params"])
    try:
        for evaluation in range(start + 1, total + 1):
            time.sleep(spec["eval_s"])
            if _crashes(values, spec["crash"]):
                raise RuntimeError(f"toy crash: {spec['crash']}")
            score = objective(values, evaluation, total, spec["seed"])
            metrics = {"epoch": evaluation, METRIC: score, "val/mAP": score, "train/loss": 1.0 - score}
            rec.log_metrics({k: v for k, v in metrics.items() if k != "epoch"}, step=evaluation)
            report(metrics, evaluation)
    except BaseException as err:
        rec.finish("FAILED", error=err)
        raise
    rec.finish("FINISHED")
