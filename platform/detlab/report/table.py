"""The ablation table as data: one row per cell with its seeds, mean ± std, delta, test and paper value.

A cell shows a number only when every seed finished; otherwise its status says what is
missing ("failed 1/3", "missing", "running 2/3"), never a zero. Deltas and tests need
both the row and its reference complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detlab.config.protocol import protocol_differences
from detlab.report.query import RunInfo
from detlab.specs.ablation import AblationSpec
from detlab.specs.ablation_cells import ResolvedCell
from detlab.stats import PairedTest, mean_std, paired_test
from detlab.tracking.profile_columns import PROFILE

__all__ = ["CellResult", "Row", "Table", "build_table", "cell_seeds"]


@dataclass
class CellResult:
    name: str
    title: str
    seeds: list[int]  # seeds the ablation asks for, then extra finished ones
    values: dict[int, float]  # seed -> scaled metric, finished runs only
    runs: dict[int, RunInfo]  # seed -> the run that stands for it
    paper: float | None = None
    paper_note: str | None = None
    paper_protocol: dict[str, str] | None = None

    def profile(self) -> dict[str, float]:
        """Mean of each ``profile/*`` metric over the cell's runs that have it."""

        out = {}
        for key in PROFILE:
            values = [r.metrics[key] for r in self.runs.values() if key in r.metrics]
            if values:
                out[key] = sum(values) / len(values)
        return out

    def protocol_note(self) -> str | None:
        """Beside a paper value: whether our runs followed its protocol (None: no paper value)."""
        if self.paper is None:
            return None

        ours = next((r.protocol for r in self.runs.values() if r.protocol), None)
        if not ours:
            return "our protocol unknown (runs without protocol.* tags)"
        if not self.paper_protocol:
            return "the paper's protocol is not stated in the ablation file: compare with care"
        differ = protocol_differences(ours, self.paper_protocol)
        return ("PROTOCOL DIFFERS: " + "; ".join(differ)) if differ else "same protocol as the paper"

    @property
    def n_finished(self) -> int:
        return sum(1 for s in self.seeds if s in self.values)

    def count(self, status: str) -> int:
        return sum(1 for s in self.seeds if s in self.runs and self.runs[s].status == status)

    @property
    def status(self) -> str:
        """complete | failed | running | incomplete | missing."""
        if self.n_finished == len(self.seeds):
            return "complete"
        if self.count("failed"):
            return "failed"
        if self.count("running"):
            return "running"
        return "incomplete" if self.runs else "missing"

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def mean_std(self) -> tuple[float | None, float | None]:
        """Over finished seeds (for the CSV's partial numbers; tables show it only when complete)."""
        return mean_std([self.values[s] for s in self.seeds if s in self.values])

    def status_text(self) -> str:
        """What a table shows instead of a number."""
        n = len(self.seeds)
        if self.status == "missing":
            return "missing"
        if self.status == "failed":
            return f"failed ({self.count('failed')}/{n} seeds)"
        return f"{self.status} ({self.n_finished}/{n} done)"

    @property
    def errors(self) -> list[str]:
        return [f"seed {s}: {r.error}" for s, r in sorted(self.runs.items()) if r.status == "failed" and r.error]


@dataclass
class Row:
    cell: CellResult
    reference: str | None = None  # name of the cell this row is compared with
    test: PairedTest | None = None


@dataclass
class Table:
    name: str
    description: str
    dataset: str
    metric: str
    scale: float
    compare: str
    test: str
    alpha: float
    seeds: list[int]
    rows: list[Row] = field(default_factory=list)
    trainer: str = "mmdet"
    baseline_title: str = ""
    links: dict[str, str] = field(default_factory=dict)  # run id -> MLflow UI address

    @property
    def has_paper(self) -> bool:
        return any(r.cell.paper is not None for r in self.rows)

    def notes(self) -> list[str]:
        """Numbered paper notes, in row order (the renderers mark the paper value with its number)."""
        out: list[str] = []
        for row in self.rows:
            if row.cell.paper_note and row.cell.paper_note not in out:
                out.append(row.cell.paper_note)
        return out

    def protocol_notes(self) -> list[tuple[str, str]]:
        """(row title, whether our runs followed the paper's protocol) for each row with a paper value:
        every rendering lists them, so no number stands beside the paper's without it."""
        return [(row.cell.title, note) for row in self.rows if (note := row.cell.protocol_note())]

    def note_number(self, row: Row) -> int | None:
        return self.notes().index(row.cell.paper_note) + 1 if row.cell.paper_note else None

    def caption(self) -> str:
        unit = "%" if self.scale == 100 else f"x{self.scale:g}"
        ref = "the row above" if self.compare == "previous" else f"the baseline ({self.baseline_title})"
        test = "paired t-test" if self.test == "paired_t" else "paired bootstrap"
        head = f"{self.description.rstrip('.')}. " if self.description else ""
        return (
            f"{head}{self.metric} ({unit}), mean ± sample std over seeds {', '.join(map(str, self.seeds))}; "
            f"Δ against {ref}, with its 95 % CI (paired t); * marks p < {self.alpha:g} ({test} over seeds); "
            f"n80: seeds needed to detect the observed Δ at α = {self.alpha:g} with 80 % power "
            f"(from the observed spread)."
        )


def build_table(
    spec: AblationSpec, cells: list[ResolvedCell], picked: dict[tuple[str, int], RunInfo], *, trainer: str = "mmdet"
) -> Table:
    sig = spec.significance
    table = Table(
        name=spec.name,
        description=spec.description.strip(),
        dataset=spec.dataset.name,
        metric=spec.metric,
        scale=spec.scale,
        compare=spec.compare,
        test=sig.test,
        alpha=sig.alpha,
        seeds=list(spec.seeds),
        trainer=trainer,
        baseline_title=spec.cell(spec.baseline_cell).title,
    )
    results = []
    for cell in cells:
        seeds = cell_seeds(spec.seeds, cell.name, picked)
        runs = {s: picked[(cell.name, s)] for s in seeds if (cell.name, s) in picked}
        values = {}
        for s, run in runs.items():
            v = run.value(spec.metric)
            if run.status == "finished" and v is not None:
                values[s] = v * spec.scale
        results.append(
            CellResult(
                cell.name,
                cell.title,
                seeds,
                values,
                runs,
                cell.paper,
                cell.paper_note,
                getattr(cell, "paper_protocol", None),
            )
        )
    for i, result in enumerate(results):
        j = spec.reference_of(i)
        row = Row(result, reference=results[j].name if j is not None else None)
        if j is not None and result.complete and results[j].complete:
            row.test = paired_test(
                result.values, results[j].values, test=sig.test, alpha=sig.alpha, resamples=sig.resamples, seed=sig.seed
            )
        table.rows.append(row)
    return table


def cell_seeds(asked: list[int], cell: str, picked: dict[tuple[str, int], RunInfo]) -> list[int]:
    """The seeds the ablation asks for, then any further seed this cell finished (added by
    `detlab ablate run --until-significant`): extra seeds count once they are done."""
    extra = sorted(s for (c, s), run in picked.items() if c == cell and s not in asked and run.status == "finished")
    return list(asked) + extra


def needed_text(test: PairedTest) -> str:
    """Seeds to detect the observed delta (80 % power): a number, "> 1000", or "–" (delta 0, n < 2)."""
    if test.seeds_needed is not None:
        return str(test.seeds_needed)
    return "> 1000" if test.n >= 2 and test.delta != 0.0 else "–"


def fmt(value: float | None, digits: int = 2, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def cells_text(row: Row) -> dict[str, Any]:
    """The strings every renderer shows for a row (plain text; renderers escape and style them)."""
    c = row.cell
    mean, std = c.mean_std
    ours = (f"{fmt(mean)} ± {fmt(std)}" if std is not None else fmt(mean)) if c.complete else c.status_text()
    if row.test is not None:
        delta = fmt(row.test.delta, signed=True) + ("*" if row.test.significant else "")
        p = "–" if row.test.p_value is None else f"{row.test.p_value:.3f}"
        ci = (
            f"[{fmt(row.test.ci_low, signed=True)}, {fmt(row.test.ci_high, signed=True)}]"
            if row.test.ci_low is not None
            else "–"
        )
        needed = needed_text(row.test)
    else:
        delta, p, ci, needed = ("–", "–", "–", "–")
    paper = fmt(c.paper) if c.paper is not None else "–"
    return {
        "method": c.title,
        "ours": ours,
        "delta": delta,
        "p": p,
        "ci": ci,
        "needed": needed,
        "paper": paper,
        "significant": bool(row.test and row.test.significant),
        "seeds": f"{c.n_finished}/{len(c.seeds)}",
    }
