"""The confirmation stage of a sweep: is the search's best setting really better than the baseline?

A search ranks trials by one run each, and detection mAP moves by a point or more
between seeds of one config, so the top of a leaderboard is partly luck. When the study
has a `confirm` section, after the search the `top_k` best distinct settings of finished
trials and the baseline are trained again with each of `confirm.seeds`, as one Ray Tune
grid (settings x seeds) in its own sweep folder (`<study>.confirm`), with every child
run under the search's parent run. It is compiled to the same grid study an ablation
runs (`detlab.ablate.study`) and trained by the ablation's cell-aware trainer around the
sweep's trainer, so resume and reuse work as for ablations: running the sweep command
again picks up an interrupted confirmation, and a (setting, seed) MLflow has finished
is not trained again.

The result: mean and 95 % interval (t, over seeds) per setting, and a paired t-test of
each setting against the baseline. A setting wins only when it beats the baseline at
`confirm.alpha`; otherwise the verdict says plainly that none did.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detlab.errors import UserError
from detlab.specs import SEED_KEY, StudySpec, check_against_config, load_spec, num_trials
from detlab.specs.study import CELL_DIM, ConfirmSpec
from detlab.stats import PairedTest, paired_test
from detlab.sweep.cluster import concurrency, head_cpus
from detlab.sweep.data import dataset_overrides, dataset_root
from detlab.sweep.generated_study import write_study
from detlab.sweep.layout import StudyPaths
from detlab.sweep.register_winner import register_winner
from detlab.sweep.runner import _settle_all
from detlab.sweep.trial import TrialJob

__all__ = [
    "Setting",
    "SettingResult",
    "Confirmation",
    "pick_settings",
    "summarize",
    "run_confirmation",
    "to_text",
    "to_csv",
    "BASELINE",
]

BASELINE = "baseline"
SUFFIX = ".confirm"


@dataclass(frozen=True)
class Setting:
    name: str  # baseline, top1, top2, ...
    values: dict[str, Any]  # its override set (search keys, or the baseline's)
    trial: str = ""  # the search trial it comes from
    search_value: float | None = None  # that trial's objective in the search (one seed)
    run_id: str = ""  # that trial's MLflow run (its checkpoint is what gets registered)


@dataclass
class SettingResult:
    setting: Setting
    values: dict[int, float]  # seed -> the objective's last value, finished trials only
    seeds: list[int]
    test: PairedTest | None = None  # against the baseline (None for the baseline itself)

    @property
    def complete(self) -> bool:
        return all(s in self.values for s in self.seeds)

    @property
    def mean(self) -> float | None:
        v = list(self.values.values())
        return sum(v) / len(v) if v else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """95 % t interval of the mean over seeds."""
        from scipy import stats

        v = list(self.values.values())
        if len(v) < 2:
            return None
        m = sum(v) / len(v)
        sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
        half = float(stats.t.ppf(0.975, len(v) - 1)) * sd / math.sqrt(len(v))
        return m - half, m + half


@dataclass
class Confirmation:
    metric: str
    mode: str
    alpha: float
    rows: list[SettingResult]
    winner: SettingResult | None
    verdict: str
    complete: bool
    folder: Path | None = None
    parent_run_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def confirm_of(spec: StudySpec) -> ConfirmSpec:
    """The study's `confirm` section; only studies that have one reach the confirmation stage."""
    if spec.confirm is None:
        raise UserError(f"{spec.source}: no confirm section: the study has no confirmation stage")
    return spec.confirm


def pick_settings(spec: StudySpec, rows: list[dict]) -> list[Setting]:
    """The baseline, then the `top_k` best distinct settings among finished trials (the leaderboard's
    order: best objective first). Pruned trials ran a shorter schedule: their value is not comparable."""
    confirm = confirm_of(spec)
    metric = spec.objective.metric
    out = [Setting(BASELINE, confirm.baseline_for(spec.search_space))]
    seen = {json.dumps(out[0].values, sort_keys=True, default=str)}
    for row in rows:
        if len(out) > confirm.top_k or row.get("status") != "finished" or row.get(metric) is None:
            continue
        values = {k: row[k] for k in spec.search_space if k in row}
        key = json.dumps(values, sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        out.append(Setting(f"top{len(out)}", values, row["trial"], float(row[metric]), row.get("mlflow_run_id") or ""))
    return out


def plan_of(spec: StudySpec, settings: list[Setting], *, trainer: str, data_overrides: dict[str, Any]) -> dict:
    """The grid of cells (`CellGrid`, raw data): each setting as a cell over the study's base config,
    trained by the sweep's own trainer."""
    config = str(spec.resolve(spec.base_config))
    cells = {}
    for s in settings:
        overrides = {**data_overrides, **spec.overrides, **confirm_of(spec).overrides, **s.values}
        ident = json.dumps({"config": config, "overrides": overrides}, sort_keys=True, default=str)
        cells[s.name] = {
            "config": config,
            "overrides": overrides,
            "fingerprint": hashlib.sha256(ident.encode()).hexdigest()[:16],
        }
    return {
        "ablation": spec.name + SUFFIX,
        "trainer": trainer,
        "reuse": True,
        "metric": spec.objective.metric,
        "cells": cells,
    }


def study_data(spec: StudySpec, settings: list[Setting], plan: dict) -> dict[str, Any]:
    """The confirmation as a grid study (settings x seeds, no early stopping), like an ablation's."""
    root = spec.dataset.root
    return {
        "name": spec.name + SUFFIX,
        "description": f"confirmation of {spec.name}: the top settings and the baseline over seeds",
        "base_config": str(spec.resolve(spec.base_config)),
        "dataset": {"name": spec.dataset.name, "root": str(spec.resolve(root)) if root else None},
        "cells": plan,
        "search_space": {CELL_DIM: {"type": "grid", "values": [s.name for s in settings]}},
        "objective": spec.objective.model_dump(mode="json"),
        "sampler": {"type": "grid"},
        "scheduler": {"type": "none"},
        "trials": {"num_samples": 1, "max_concurrent": spec.trials.max_concurrent},
        "resources": spec.resources.model_dump(mode="json"),
        "seeds": list(confirm_of(spec).seeds),
        "mlflow": spec.mlflow.model_dump(mode="json"),
    }


def summarize(spec: StudySpec, settings: list[Setting], values: dict[str, dict[int, float]]) -> Confirmation:
    """Means, intervals, paired tests against the baseline, and the verdict."""
    confirm, metric, mode = confirm_of(spec), spec.objective.metric, spec.objective.mode
    seeds = list(confirm.seeds)
    rows = [SettingResult(s, dict(values.get(s.name, {})), seeds) for s in settings]
    base = rows[0]
    sign = 1.0 if mode == "max" else -1.0
    for row in rows[1:]:
        if row.complete and base.complete:
            row.test = paired_test(row.values, base.values, alpha=confirm.alpha)
    complete = all(r.complete for r in rows)
    tested = [(r, r.test) for r in rows[1:] if r.test is not None]
    better = [(r, t) for r, t in tested if t.significant and sign * t.delta > 0]
    best = max(better, key=lambda rt: sign * rt[1].delta) if better else None
    winner = best[0] if best else None
    if not complete:
        missing = ", ".join(f"{r.setting.name} ({len(r.values)}/{len(seeds)} seeds)" for r in rows if not r.complete)
        verdict = f"no verdict: the confirmation is incomplete ({missing})"
    elif best is not None:
        winner, t = best
        verdict = (
            f"winner: {winner.setting.name} ({_setting_text(winner.setting)}) beats the baseline: "
            f"Δ {t.delta:+.4g} [{t.ci_low:+.4g}, {t.ci_high:+.4g}], p = {t.p_value:.3g} < α = {confirm.alpha:g} "
            f"over {t.n} seeds"
        )
    else:
        verdict = (
            f"no setting beat the baseline at α = {confirm.alpha:g} over {len(seeds)} seeds: keep the "
            f"baseline ({_setting_text(base.setting) or 'the base config'})"
        )
    return Confirmation(metric, mode, confirm.alpha, rows, winner, verdict, complete)


def _setting_text(s: Setting) -> str:
    from detlab.sweep.progress import short_names

    names = short_names(list(s.values))
    return ", ".join(f"{names[k]}={_fmt(v)}" for k, v in s.values.items())


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def to_text(conf: Confirmation) -> str:
    """The console table: setting, its values, search value, mean ± CI, Δ against the baseline, p."""
    from detlab.sweep.progress import render_table

    header = [
        "setting",
        "from trial",
        "search (1 seed)",
        f"mean {conf.metric}",
        "95 % CI",
        "Δ vs baseline",
        "p",
        "values",
    ]
    body = []
    for r in conf.rows:
        ci = r.interval
        t = r.test
        body.append(
            [
                r.setting.name + (" *" if r is conf.winner else ""),
                r.setting.trial or "-",
                _num(r.setting.search_value),
                _num(r.mean),
                f"[{_num(ci[0])}, {_num(ci[1])}]" if ci else "-",
                f"{t.delta:+.4f}" if t else "-",
                f"{t.p_value:.3g}" if t and t.p_value is not None else "-",
                _setting_text(r.setting) or "(base config)",
            ]
        )
    return render_table(header, body) + f"\n{conf.verdict}"


def to_csv(conf: Confirmation) -> str:
    buf = io.StringIO()
    columns = [
        "setting",
        "trial",
        "search_value",
        "n_seeds",
        "mean",
        "ci95_low",
        "ci95_high",
        "delta",
        "delta_ci95_low",
        "delta_ci95_high",
        "p_value",
        "significant",
        "winner",
        "values",
    ]
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    for r in conf.rows:
        ci, t = r.interval, r.test
        w.writerow(
            {
                "setting": r.setting.name,
                "trial": r.setting.trial,
                "search_value": _raw(r.setting.search_value),
                "n_seeds": len(r.values),
                "mean": _raw(r.mean),
                "ci95_low": _raw(ci[0]) if ci else "",
                "ci95_high": _raw(ci[1]) if ci else "",
                "delta": _raw(t.delta) if t else "",
                "delta_ci95_low": _raw(t.ci_low) if t else "",
                "delta_ci95_high": _raw(t.ci_high) if t else "",
                "p_value": _raw(t.p_value) if t else "",
                "significant": str(bool(t and t.significant)).lower(),
                "winner": str(r is conf.winner).lower(),
                "values": json.dumps(r.setting.values, default=str),
            }
        )
    return buf.getvalue()


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def _raw(v: float | None) -> str:
    return "" if v is None else repr(float(v))


def trial_values(cspec: StudySpec, results: Any) -> dict[str, dict[int, float]]:
    """setting -> seed -> the objective's last reported value, for trials that ended without error."""

    out: dict[str, dict[int, float]] = {}
    for result in results:
        config, last = result.config or {}, dict(result.metrics or {})
        value = last.get(cspec.objective.metric)
        if result.error is None and isinstance(value, (int, float)) and CELL_DIM in config:
            out.setdefault(str(config[CELL_DIM]), {})[int(config[SEED_KEY])] = float(value)
    return out


def run_confirmation(opts: Any, spec: StudySpec, paths: Any, state: Any, outcome: Any, out: Any) -> Confirmation:
    """Train (or resume) the confirmation grid under the sweep's parent run; print and log the verdict."""
    import ray
    from ray import tune

    from detlab.sweep.trainers import CELLS
    from detlab.sweep.tuner import build_tuner, restore_tuner

    settings = pick_settings(spec, outcome.rows)
    data_overrides = dataset_overrides(spec, check_against_config(spec))
    plan = plan_of(spec, settings, trainer=state.trainer, data_overrides=data_overrides)
    study = write_study(study_data(spec, settings, plan), paths.storage / "confirm")
    cspec = load_spec(study)
    check_against_config(cspec)
    cpaths = StudyPaths(paths.storage, cspec.name)
    _own_folder(cpaths, state.parent_run_id, out)
    _reopen(state)
    resumed = tune.Tuner.can_restore(str(cpaths.experiment_dir))
    print(
        f"\n{'resuming' if resumed else 'starting'} the confirmation of {spec.name}: "
        f"{', '.join(s.name for s in settings)} x seeds {list(confirm_of(spec).seeds)} "
        f"({num_trials(cspec)} trials) under MLflow run {state.parent_run_id}",
        file=out,
    )
    out.flush()
    job = TrialJob(
        spec=cspec.model_dump(mode="json"),
        config=str(cspec.resolve(cspec.base_config)),
        data_overrides={},
        trainer=CELLS,
        tracking_uri=state.tracking_uri,
        experiment=spec.experiment,
        parent_run_id=state.parent_run_id,
        train_storage=str(cpaths.train_storage),
        max_failures=opts.max_failures,
        synth=(spec.dataset.name, str(dataset_root(spec)), opts.synth_images)
        if opts.synth_images and dataset_root(spec)
        else None,
    )
    if resumed:
        tuner = restore_tuner(cpaths, cspec, job)
    else:
        tuner = build_tuner(
            cpaths,
            cspec,
            job,
            optuna_storage=None,
            optuna_study=None,
            max_concurrent=concurrency(cspec, ray.cluster_resources(), head_cpus()),
            trial_retries=opts.trial_retries,
            progress_interval=opts.progress_interval,
        )
    from detlab.tracking import RunRecorder

    rec = RunRecorder.attach(
        state.parent_run_id, tracking_uri=state.tracking_uri, spool_dir=paths.spool, count_attempt=False
    )
    try:
        results = tuner.fit()
    except BaseException as err:
        rec.finish("KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED", error=err)
        raise
    _settle(tuner, cspec, cpaths, state, results)
    conf = summarize(spec, settings, trial_values(cspec, results))
    conf.folder, conf.parent_run_id = cpaths.experiment_dir, state.parent_run_id
    if conf.complete:
        conf.extra["model"] = register_winner(conf, spec, state.tracking_uri, out)
    _publish(conf, spec, paths, outcome, rec)
    print(
        f"\nconfirmation of {spec.name} ({spec.objective.metric}, mean and 95 % CI over seeds "
        f"{list(confirm_of(spec).seeds)}; Δ and p: paired t-test against the baseline):\n{to_text(conf)}\n",
        file=out,
    )
    out.flush()
    return conf


def _own_folder(cpaths: Any, parent_run_id: str, out: Any) -> None:
    """The confirmation folder belongs to one sweep (one parent run): one left by an earlier sweep of
    the study (before --fresh) is archived, so its trials are not restored into this one."""
    marker = cpaths.detlab_dir / "parent_run_id"
    if cpaths.experiment_dir.exists() and (not marker.is_file() or marker.read_text().strip() != parent_run_id):
        moved = cpaths.archive()
        print(f"the confirmation folder of an earlier sweep is now {moved}", file=out)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(parent_run_id + "\n")


def _reopen(state: Any) -> None:
    """The parent run shows RUNNING again while the confirmation trains."""
    from detlab.tracking.client import make_client

    try:
        make_client(state.tracking_uri).update_run(state.parent_run_id, status="RUNNING")
    except Exception:  # noqa: BLE001 - the runs and the verdict do not depend on it
        pass


def _settle(tuner: Any, cspec: StudySpec, cpaths: Any, state: Any, results: Any) -> None:
    """Every ended trial's child run gets its final status (as the search's trials do)."""
    from detlab.sweep import leaderboard
    from detlab.sweep.runs import ChildRuns
    from detlab.sweep.tuner import tuner_parts

    runs = ChildRuns(str(cpaths.train_storage), state.tracking_uri, cspec.experiment, state.parent_run_id)
    rows = leaderboard.build(cspec, results, runs, tuner_parts(tuner)[0], None)
    _settle_all(tuner, runs, rows)


def _publish(conf: Confirmation, spec: StudySpec, paths: Any, outcome: Any, rec: Any) -> None:
    """The table beside the leaderboard and on the parent run (artifacts, metrics, verdict tags); the
    leaderboard CSV gains the confirmed mean, interval and p of the trials that were confirmed."""
    text, table_csv = to_text(conf), to_csv(conf)
    (paths.detlab_dir / "confirmation.csv").write_text(table_csv)
    (paths.detlab_dir / "confirmation.txt").write_text(text + "\n")
    board = leaderboard_with_confirmation(spec, outcome.rows, conf)
    paths.leaderboard.write_text(board)
    metrics: dict[str, float] = {}
    for r in conf.rows:
        name = r.setting.name
        if r.mean is not None:
            metrics[f"confirm/{name}/mean"] = r.mean
        if r.interval:
            metrics[f"confirm/{name}/ci95_low"], metrics[f"confirm/{name}/ci95_high"] = r.interval
        if r.test is not None:
            metrics[f"confirm/{name}/delta"] = r.test.delta
            if r.test.p_value is not None:
                metrics[f"confirm/{name}/p_value"] = r.test.p_value
    rec.log_metrics(metrics)
    tags = {
        "detlab.confirm.verdict": conf.verdict,
        "detlab.confirm.winner": conf.winner.setting.name if conf.winner else "none",
    }
    if conf.winner is not None:
        tags.update({f"confirm.winner.{k}": v for k, v in conf.winner.setting.values.items()})
        tags["confirm.winner.trial"] = conf.winner.setting.trial
    if conf.extra.get("model"):
        tags["detlab.confirm.model"] = conf.extra["model"]
    rec.set_tags(tags)
    rec.log_text(text + "\n", "confirm/confirmation.txt")
    rec.log_text(table_csv, "confirm/confirmation.csv")
    rec.log_text(board, "leaderboard.csv")
    rec.finish(
        "FINISHED" if conf.complete else "KILLED",
        error=None if conf.complete else "confirmation interrupted; run the same command again to resume it",
    )


def leaderboard_with_confirmation(spec: StudySpec, rows: list[dict], conf: Confirmation) -> str:
    """The leaderboard CSV with confirm_* columns filled for the confirmed trials."""
    from detlab.sweep.leaderboard import to_csv as board_csv

    by_trial = {r.setting.trial: r for r in conf.rows if r.setting.trial}
    base = list(csv.DictReader(io.StringIO(board_csv(rows, spec))))
    extra = [
        "confirm_setting",
        "confirm_mean",
        "confirm_ci95",
        "confirm_delta_vs_baseline",
        "confirm_p_value",
        "confirm_winner",
    ]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(base[0]) + extra if base else extra, lineterminator="\n")
    w.writeheader()
    for line in base:
        r = by_trial.get(line.get("trial", ""))
        if r is not None:
            ci = r.interval
            line.update(
                {
                    "confirm_setting": r.setting.name,
                    "confirm_mean": _raw(r.mean),
                    "confirm_ci95": f"[{ci[0]:.6g}, {ci[1]:.6g}]" if ci else "",
                    "confirm_delta_vs_baseline": _raw(r.test.delta) if r.test else "",
                    "confirm_p_value": _raw(r.test.p_value) if r.test else "",
                    "confirm_winner": str(r is conf.winner).lower(),
                }
            )
        w.writerow(line)
    return buf.getvalue()
