"""The ablation table as LaTeX with booktabs (\\toprule/\\midrule/\\bottomrule, no vertical rules).

`to_latex` gives a `table` float to `\\input`; `standalone` wraps it in a minimal
article that pdflatex compiles (needs the booktabs package, in texlive-latex-recommended).
"""

from __future__ import annotations

import re

from detlab.report.table import Table, cells_text

__all__ = ["to_latex", "standalone", "escape"]

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_SYMBOLS = {
    "±": r"$\pm$",
    "Δ": r"$\Delta$",
    "–": "--",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "×": r"$\times$",
    "α": r"$\alpha$",
}


def escape(text: str) -> str:
    """Plain text -> LaTeX text (specials escaped, the few symbols the tables use as math)."""
    out = "".join(_SPECIAL.get(ch, ch) for ch in text)
    for sym, tex in _SYMBOLS.items():
        out = out.replace(sym, tex)
    return out


def to_latex(table: Table) -> str:
    paper = table.has_paper
    cols = "l" + "r" * (6 if paper else 5)
    head = ["Method", "Ours", r"$\Delta$", r"95\,\% CI of $\Delta$", r"$p$", r"$n_{80}$", *(["Paper"] if paper else [])]
    label = re.sub(r"[^A-Za-z0-9:-]+", "-", table.name)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{escape(table.caption())}}}",
        rf"\label{{tab:{label}}}",
        rf"\begin{{tabular}}{{{cols}}}",
        r"\toprule",
        " & ".join(head) + r" \\",
        r"\midrule",
    ]
    for row in table.rows:
        t = cells_text(row)
        ours = escape(t["ours"]) if row.cell.complete else rf"\textit{{{escape(t['ours'])}}}"
        delta = _signed(t["delta"].rstrip("*")) + (r"$^{*}$" if t["significant"] else "")
        note = table.note_number(row)
        paper_cell = escape(t["paper"]) + (rf"$^{{{note}}}$" if note else "")
        cells = [
            escape(t["method"]),
            ours,
            delta,
            _interval(t["ci"]),
            escape(t["p"]),
            escape(t["needed"]),
            *([paper_cell] if paper else []),
        ]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    notes = [rf"$^{{{i}}}$ {escape(n)}" for i, n in enumerate(table.notes(), 1)]
    notes += [f"{escape(title)}: {escape(note)}" for title, note in table.protocol_notes()]
    if notes:
        lines += [r"\par\smallskip\raggedright\footnotesize", r" \\ ".join(notes)]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def _signed(text: str) -> str:
    """A signed number with a real minus/plus sign (a hyphen is too short in a table)."""
    if text[:1] in "+-" and text[1:2].isdigit():
        return f"${text[0]}${text[1:]}"
    return escape(text)


def _interval(text: str) -> str:
    """ "[+0.12, +1.40]" with real signs."""
    if not text.startswith("["):
        return escape(text)
    low, high = text[1:-1].split(", ")
    return f"[{_signed(low)}, {_signed(high)}]"


def standalone(body: str) -> str:
    """A minimal article around one or more tables, for pdflatex."""
    return "\n".join(
        [
            r"\documentclass{article}",
            r"\usepackage[utf8]{inputenc}",
            r"\usepackage[T1]{fontenc}",
            r"\usepackage{booktabs}",
            r"\begin{document}",
            body.rstrip(),
            r"\end{document}",
            "",
        ]
    )
