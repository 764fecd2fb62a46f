"""`detlab ablate run --until-significant --max-seeds N`: more seeds for the comparisons the
table cannot decide yet, until each is decided (p < alpha) or has N seeds.

After the ablation's own sweep, the table is read back from MLflow. The cells of every
comparison that is complete but not significant get more seeds, as one more grid sweep
over just those cells (a "round" study, `<ablation>.seeds-<first>-<last>`, beside the
ablation's own in the sweep storage). A round jumps straight to the seeds the power
analysis asks for (`seeds_needed`, at least one more, at most N), so a clear case takes one
round. Trials reuse every (cell, seed) MLflow already has finished (the ablation
trainer's reuse), and the report counts a cell's extra seeds once they are done, so an
interrupted round is picked up by running the same command again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from detlab.ablate.options import AblateOptions, sweep_options
from detlab.ablate.study import plan_of, study_data, write_study
from detlab.errors import UserError
from detlab.report.query import fetch_runs, pick_runs
from detlab.report.table import Row, Table, build_table
from detlab.specs.ablation import AblationSpec
from detlab.specs.ablation_cells import ResolvedCell
from detlab.stats import PairedTest
from detlab.sweep import run_sweep
from detlab.tracking.client import make_client

__all__ = ["Round", "plan_round", "until_significant", "read_table"]


@dataclass(frozen=True)
class Round:
    cells: list[str]  # cells that get seeds, in table order
    seeds: list[int]  # the seeds each of them should have after the round
    reasons: list[str]  # one line per undecided comparison


def read_table(spec: AblationSpec, cells: list[ResolvedCell], uri: str, trainer: str) -> Table:
    """The ablation's table as MLflow has it now (the report's own reading)."""
    runs = fetch_runs(make_client(uri), spec.experiment, spec.name, trainer)
    return build_table(spec, cells, pick_runs(runs, {c.name: c.fingerprint for c in cells}), trainer=trainer)


def undecided(table: Table) -> list[tuple[Row, PairedTest]]:
    """Rows (with their test) whose comparison ran on complete cells and is not significant."""
    return [
        (row, row.test)
        for row in table.rows
        if row.test is not None and row.test.p_value is not None and not row.test.significant
    ]


def plan_round(table: Table, max_seeds: int) -> Round | None:
    """The next round, or None when every comparison is decided or has `max_seeds` seeds."""
    by_name = {row.cell.name: row.cell for row in table.rows}
    open_rows = [(row, test) for row, test in undecided(table) if test.n < max_seeds]
    if not open_rows:
        return None
    names = {n for row, _ in open_rows for n in (row.cell.name, row.reference)}
    cells = [row.cell.name for row in table.rows if row.cell.name in names]
    have = max(test.n for _, test in open_rows)
    wanted = max((test.seeds_needed or max_seeds) for _, test in open_rows)
    target = min(max_seeds, max(have + 1, wanted))
    seeds = sorted({s for n in cells for s in by_name[n].values})
    nxt = max([*seeds, *table.seeds]) + 1
    while len(seeds) < target:
        seeds.append(nxt)
        nxt += 1
    reasons = [
        f"{row.cell.name} vs {row.reference}: Δ {test.delta:+.2f}, p = {test.p_value:.3f} "
        f"over {test.n} seeds (n80: {test.seeds_needed or '> 1000'})"
        for row, test in open_rows
    ]
    return Round(cells, seeds, reasons)


def until_significant(
    opts: AblateOptions, spec: AblationSpec, cells: list[ResolvedCell], storage: Path, uri: str, out: TextIO | None
) -> bool:
    """Run rounds until no comparison is open; True when every round's sweep completed."""

    if opts.max_seeds is None or opts.max_seeds < 2:
        raise UserError(f"--max-seeds {opts.max_seeds}: --until-significant needs --max-seeds N with N >= 2")
    alpha = spec.significance.alpha
    for _ in range(opts.max_seeds):  # each round adds at least one seed: bounded by N rounds
        table = read_table(spec, cells, uri, opts.trainer)
        step = plan_round(table, opts.max_seeds)
        if step is None:
            left = undecided(table)
            if left:
                names = ", ".join(f"{r.cell.name} vs {r.reference} (p = {t.p_value:.3f}, {t.n} seeds)" for r, t in left)
                print(
                    f"until-significant: stopped at --max-seeds {opts.max_seeds}; not decided at α = {alpha:g}: "
                    f"{names}",
                    file=out,
                )
            else:
                print(f"until-significant: every comparison is decided at α = {alpha:g}", file=out)
            return True
        subset = [c for c in cells if c.name in step.cells]
        print(
            "until-significant: not decided yet:\n  "
            + "\n  ".join(step.reasons)
            + f"\n  -> cells {', '.join(step.cells)} run seeds {step.seeds} (max {opts.max_seeds})",
            file=out,
        )
        data = study_data(spec, subset, plan_of(spec, subset, trainer=opts.trainer, reuse=True))
        data["name"] = f"{spec.name}.seeds-{step.seeds[0]}-{step.seeds[-1]}-{'-'.join(step.cells)}"
        data["seeds"] = list(step.seeds)
        study = write_study(data, storage / "ablations")
        outcome = run_sweep(sweep_options(opts, study, storage), out)
        if not outcome.complete:
            return False
    return True
