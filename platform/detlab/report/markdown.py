"""The ablation table as GitHub Markdown (what a PR or an issue shows)."""

from __future__ import annotations

from detlab.report.table import Table, cells_text
from detlab.tracking.profile_columns import PROFILE

__all__ = ["to_markdown"]


def to_markdown(table: Table, profile: bool = False) -> str:
    """The table; ``profile=True`` adds the cells' params / GFLOPs / CPU latency (profile/* metrics)."""

    head = [
        "Method",
        f"Ours ({table.metric})",
        "Δ",
        "95 % CI of Δ",
        "p",
        "n80",
        *(["Paper"] if table.has_paper else []),
        "seeds",
        *(PROFILE.values() if profile else []),
    ]
    lines = [
        f"### {table.name}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    for row in table.rows:
        t = cells_text(row)
        ours = t["ours"] if row.cell.complete else f"**{t['ours']}**"
        delta = f"**{t['delta'].rstrip('*')}**\\*" if t["significant"] else t["delta"]
        paper = t["paper"] + (f"<sup>{table.note_number(row)}</sup>" if table.note_number(row) else "")
        cells = [
            _md(t["method"]),
            ours,
            delta,
            t["ci"],
            t["p"],
            t["needed"],
            *([paper] if table.has_paper else []),
            t["seeds"],
        ]
        if profile:
            found = row.cell.profile()
            cells += [f"{found[k]:.4g}" if k in found else "-" for k in PROFILE]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", table.caption()]
    for i, note in enumerate(table.notes(), 1):
        lines.append(f"<sup>{i}</sup> {_md(note)}")
    protocol = [f"- {_md(title)}: {note}" for title, note in table.protocol_notes()]
    if protocol:
        lines += ["", "Protocol beside the paper's numbers:", *protocol]
    errors = [f"- {row.cell.title}, {e}" for row in table.rows for e in row.cell.errors]
    if errors:
        lines += ["", "Failed runs:", *errors]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")
