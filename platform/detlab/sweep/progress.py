"""The live view of a sweep on the console: a line per trial event, and the trial table again
every `interval` seconds while something changed. Plain text, so it reads the same in a
terminal and in `ray job logs`."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from ray.tune import Callback

from detlab.sweep.search import TIME_ATTR, is_pruned
from detlab.sweep.trial import trial_name

ENDED = ("finished", "pruned", "failed")  # the statuses of a trial that will not run again


def short_names(keys: Sequence[str]) -> dict[str, str]:
    """Dotted keys -> their shortest unique tails (`model.train_cfg.assigner.radius` -> `radius`)."""
    out: dict[str, str] = {}
    for key in keys:
        parts = key.lstrip("+").split(".")
        for n in range(1, len(parts) + 1):
            tail = ".".join(parts[-n:])
            if sum(1 for k in keys if k.lstrip("+").split(".")[-n:] == parts[-n:]) == 1:
                out[key] = tail
                break
        else:
            out[key] = key
    return out


def fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned."""
    cells = [list(map(str, header))] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    numeric = [all(_is_number(r[i]) for r in cells[1:] if r[i] not in ("", "-")) for i in range(len(header))]
    lines = []
    for r in cells:
        lines.append(
            "  ".join(
                c.rjust(w) if num and r is not cells[0] else c.ljust(w) for c, w, num in zip(r, widths, numeric)
            ).rstrip()
        )
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


class ProgressTable(Callback):
    """Prints trial events and, every `interval` s when anything changed, the table of all trials."""

    def __init__(
        self,
        study: str,
        metric: str,
        mode: str,
        keys: Sequence[str],
        total: int,
        interval: float = 20.0,
        scheduler: Any = None,
        max_t: int | None = None,
    ) -> None:
        self.study, self.metric, self.mode, self.total, self.interval = study, metric, mode, total, interval
        self.scheduler, self.max_t = scheduler, max_t
        self.keys = list(keys)
        self.names = short_names(self.keys)
        self.rows: dict[str, dict[str, Any]] = {}
        self.started = time.time()
        self._last_print = 0.0
        self._dirty = False
        self.out: TextIO | None = None

    def restart(self) -> None:
        """A restored sweep: rows come back as the trials report; the clock starts again."""
        self.rows.clear()
        self.started = time.time()

    # -- Tune hooks ---------------------------------------------------------------------
    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        row = self._row(trial)
        row["status"] = "running"
        self._say(
            f"+ {row['trial']} started: " + " ".join(f"{self.names[k]}={fmt(row['params'].get(k))}" for k in self.keys)
        )

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        row = self._row(trial)
        row["evals"] = result.get(TIME_ATTR, row["evals"])
        value = result.get(self.metric)
        if isinstance(value, (int, float)):
            row["last"] = float(value)
            row["best"] = (
                value
                if row["best"] is None
                else (max(row["best"], value) if self.mode == "max" else min(row["best"], value))
            )
        self._dirty = True

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        row = self._row(trial)
        pruned = is_pruned(self.scheduler, trial.trial_id, int(row["evals"] or 0), self.max_t)
        row["status"] = "pruned" if pruned else "finished"
        self._say(
            f"= {row['trial']} {'stopped early by ASHA' if pruned else 'finished'} after "
            f"{row['evals']} evaluation(s): {self.metric}={fmt(row['last'])}"
        )

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        row = self._row(trial)
        row["status"] = "failed"
        self._say(f"! {row['trial']} failed (the study goes on); see its MLflow run for the reason")

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        for trial in trials:
            row = self._row(trial)
            if trial.status in ("PENDING", "PAUSED") and row["status"] == "-":
                row["status"] = "pending"
        if self._dirty and time.time() - self._last_print >= self.interval:
            self.print_table()

    # -- output ---------------------------------------------------------------------------
    def print_table(self, final: bool = False) -> None:
        self._last_print, self._dirty = time.time(), False
        rows = sorted(self.rows.values(), key=lambda r: r["trial"])
        done = sum(r["status"] in ENDED for r in rows)
        best = self._best(rows)
        head = (
            f"[{_clock(time.time() - self.started)}] {self.study}: {done}/{self.total} trials ended, "
            f"{sum(r['status'] == 'running' for r in rows)} running"
        )
        if best is not None:
            head += f"; best {self.metric}={fmt(best['best'])} ({best['trial']})"
        header = ["trial", "status", "evals", self.metric, "best"] + [self.names[k] for k in self.keys]
        table = render_table(
            header,
            [
                [
                    r["trial"],
                    r["status"],
                    r["evals"],
                    r["last"] if r["last"] is not None else "-",
                    r["best"] if r["best"] is not None else "-",
                    *[r["params"].get(k, "") for k in self.keys],
                ]
                for r in rows
            ],
        )
        self._write(f"{head}\n{table}\n")

    def _best(self, rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
        scored = [r for r in rows if r["best"] is not None]
        if not scored:
            return None
        pick = max if self.mode == "max" else min
        return pick(scored, key=lambda r: r["best"])

    def _row(self, trial: Any) -> dict[str, Any]:
        row = self.rows.get(trial.trial_id)
        if row is None:
            config = getattr(trial, "config", {}) or {}
            row = self.rows[trial.trial_id] = {
                "trial": trial_name(trial),
                "status": "-",
                "evals": 0,
                "last": None,
                "best": None,
                "params": {k: config.get(k) for k in self.keys},
            }
        return row

    def _say(self, line: str) -> None:
        self._dirty = True
        self._write(f"[{_clock(time.time() - self.started)}] {line}\n")

    def _write(self, text: str) -> None:
        out = self.out or sys.stdout
        out.write(text)
        out.flush()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "out": None}


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m:02d}:{s:02d}"
