"""The ablation report as one self-contained HTML page: table, notes, failed runs, plots, diagnostics.

Images are embedded (base64 PNG) so the page works as a single MLflow artifact, opened
from the run's artifact view or downloaded. Run ids link to the MLflow UI when the
tracking URI is a server.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from detlab.report.table import Table, cells_text

__all__ = ["to_html"]

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:8px 0 4px}
th,td{padding:4px 10px;text-align:right;font-variant-numeric:tabular-nums}
th:first-child,td:first-child{text-align:left}
thead th{border-top:2px solid #222;border-bottom:1px solid #222}
tbody tr:last-child td{border-bottom:2px solid #222}
td.bad{color:#b00020;font-weight:600}
td.sig{font-weight:700}
.caption{color:#555;font-size:90%;max-width:900px}
img{max-width:100%;border:1px solid #ddd;margin:6px 0}
code{background:#f4f4f4;padding:1px 3px}
"""


def to_html(
    table: Table,
    figures: Mapping[str, bytes],
    *,
    diagnostics: Sequence[Mapping[str, Any]] = (),
    diag_images: int = 0,
    tracking_uri: str = "",
    parent_run_id: str | None = None,
) -> str:
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(table.name)}</title>"
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Ablation <code>{escape(table.name)}</code></h1>",
        f"<p>Dataset: {escape(table.dataset)}; trainer: {escape(table.trainer)}"
        + (f"; MLflow parent run {_link(parent_run_id, table)}" if parent_run_id else "")
        + (f"; tracking URI <code>{escape(tracking_uri)}</code>" if tracking_uri else "")
        + "</p>",
        _table(table),
    ]
    errors = [(row.cell.title, e) for row in table.rows for e in row.cell.errors]
    if errors:
        parts.append(
            "<h2>Failed runs</h2><ul>" + "".join(f"<li>{escape(t)}, {escape(e)}</li>" for t, e in errors) + "</ul>"
        )
    parts.append("<h2>Runs</h2>" + _runs(table))
    if figures:
        parts.append("<h2>Plots</h2>")
        for name, png in figures.items():
            data = base64.b64encode(png).decode()
            parts.append(
                f"<figure><img alt='{escape(name)}' src='data:image/png;base64,{data}'>"
                f"<figcaption><code>{escape(name)}</code></figcaption></figure>"
            )
    if diagnostics:
        parts.append(f"<h2>Positives per GT (from {diag_images} training images)</h2>" + _diag(diagnostics))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _table(table: Table) -> str:
    head = [
        "Method",
        f"Ours ({escape(table.metric)})",
        "Δ",
        "95 % CI of Δ",
        "p",
        "n80",
        *(["Paper"] if table.has_paper else []),
        "seeds",
    ]
    out = ["<table id='ablation-table'><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    for row in table.rows:
        t = cells_text(row)
        note = table.note_number(row)
        cells = [
            f"<td>{escape(t['method'])}</td>",
            f"<td class='{'' if row.cell.complete else 'bad'}' data-status='{row.cell.status}'>"
            f"{escape(t['ours'])}</td>",
            f"<td class='{'sig' if t['significant'] else ''}'>{escape(t['delta'])}</td>",
            f"<td data-col='ci'>{escape(t['ci'])}</td>",
            f"<td>{escape(t['p'])}</td>",
            f"<td data-col='n80'>{escape(t['needed'])}</td>",
        ]
        if table.has_paper:
            cells.append(f"<td>{escape(t['paper'])}{f'<sup>{note}</sup>' if note else ''}</td>")
        cells.append(f"<td>{t['seeds']}</td>")
        out.append(f"<tr data-cell='{escape(row.cell.name)}'>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    out.append(f"<p class='caption'>{escape(table.caption())}</p>")
    for i, n in enumerate(table.notes(), 1):
        out.append(f"<p class='caption'><sup>{i}</sup> {escape(n)}</p>")
    protocol = table.protocol_notes()
    if protocol:
        out.append("<p class='caption'>Protocol beside the paper's numbers:</p><ul class='caption'>")
        out += [f"<li>{escape(title)}: {escape(note)}</li>" for title, note in protocol]
        out.append("</ul>")
    return "\n".join(out)


def _runs(table: Table) -> str:
    rows = ["<table><thead><tr><th>cell</th><th>seed</th><th>status</th><th>value</th><th>run</th></tr></thead><tbody>"]
    for row in table.rows:
        for seed in row.cell.seeds:
            run = row.cell.runs.get(seed)
            value = row.cell.values.get(seed)
            status = run.status if run else "missing"
            reused = f" (copy of {escape(run.reused_from[:8])})" if run and run.reused_from else ""
            rows.append(
                f"<tr><td>{escape(row.cell.title)}</td><td>{seed}</td>"
                f"<td class='{'' if status == 'finished' else 'bad'}'>{status}</td>"
                f"<td>{'' if value is None else f'{value:.2f}'}</td>"
                f"<td>{_link(run.run_id, table) if run else ''}{reused}</td></tr>"
            )
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _diag(rows: Sequence[Mapping[str, Any]]) -> str:
    levels = [k for k in rows[0] if k.startswith("s") and k[1:].isdigit()]
    head = ["series", "GTs", "GTs with 0", *[f"stride {k[1:]}" for k in levels], "all levels"]
    out = ["<table id='positives-table'><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in rows:
        out.append(
            "<tr>"
            + f"<td>{escape(str(r['series']))}</td><td>{r['gts']}</td><td>{r['zero_positive_gts']}</td>"
            + "".join(f"<td>{r[k]:.2f}</td>" for k in levels)
            + f"<td>{r['all']:.2f}</td></tr>"
        )
    out.append(
        "</tbody></table><p class='caption'>Mean positive anchors per GT per FPN level (first stage), "
        "counted with each cell's own anchors and assigner on the resized, padded training images "
        "without random augmentation.</p>"
    )
    return "\n".join(out)


def _link(run_id: str | None, table: Table) -> str:
    if not run_id:
        return ""
    url = table.links.get(run_id)
    short = escape(run_id[:8])
    return f"<a href='{escape(url)}' target='_top'>{short}</a>" if url else f"<code>{short}</code>"
