"""The ablation table as CSV: one line per cell, machine-readable (status, per-seed values, run ids).

Unlike the other formats the CSV keeps the mean over the finished seeds of an
incomplete cell; its `status` column says the cell is not complete.
"""

from __future__ import annotations

import csv
import io

from detlab.report.table import Table

__all__ = ["to_csv"]


def to_csv(table: Table) -> str:
    seeds = sorted({s for row in table.rows for s in row.cell.seeds} | set(table.seeds))
    columns = [
        "cell",
        "label",
        "status",
        "n_seeds",
        "n_finished",
        "n_failed",
        "mean",
        "std",
        *[f"seed_{s}" for s in seeds],
        "reference",
        "delta",
        "delta_ci_low",
        "delta_ci_high",
        "p_value",
        "seeds_needed",
        "significant",
        "test",
        "paper",
        "paper_note",
        "protocol",
        "metric",
        "scale",
        "run_ids",
        "errors",
    ]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in table.rows:
        c = row.cell
        mean, std = c.mean_std
        line = {
            "cell": c.name,
            "label": c.title,
            "status": c.status,
            "n_seeds": len(c.seeds),
            "n_finished": c.n_finished,
            "n_failed": c.count("failed"),
            "mean": _num(mean),
            "std": _num(std),
            "reference": row.reference or "",
            "test": table.test if row.test else "",
            "delta": _num(row.test.delta if row.test else None),
            "p_value": _num(row.test.p_value if row.test else None),
            "delta_ci_low": _num(row.test.ci_low if row.test else None),
            "delta_ci_high": _num(row.test.ci_high if row.test else None),
            "seeds_needed": "" if row.test is None else (row.test.seeds_needed or ""),
            "significant": "" if row.test is None else str(row.test.significant).lower(),
            "paper": _num(c.paper),
            "paper_note": c.paper_note or "",
            "protocol": c.protocol_note() or "",
            "metric": table.metric,
            "scale": f"{table.scale:g}",
            "run_ids": ";".join(c.runs[s].run_id for s in c.seeds if s in c.runs),
            "errors": " | ".join(c.errors),
        }
        line.update({f"seed_{s}": _num(c.values.get(s)) for s in seeds})
        writer.writerow(line)
    return buf.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else repr(float(value))
