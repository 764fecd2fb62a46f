"""Imports inside `detlab` run down the layers of docs/design.md, and no folder imports another
that imports it back. Every import counts, also those inside functions, and so do the
`module:function` strings by which trainers are looked up."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "platform" / "detlab"

# low to high; a unit may import only units of a lower layer (and itself)
LAYERS: list[set[str]] = [
    {"errors", "limits", "options", "ports", "subpath"},
    {"atomic", "quiet", "foreground", "figures", "stats"},
    {"config", "tracking", "evaluation"},
    {"data", "specs"},
    {"training"},
    {"inference"},
    {"sweep"},
    {"diagnostics"},
    {"report"},
    {"ablate"},
    {"commands"},
    {"cli", "__init__", "__main__"},
]
RANK = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}
TARGET = re.compile(r"^detlab\.(\w+)(?:[.:]\w+)*$")


def unit_of(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported_units(path: Path) -> list[tuple[int, str]]:
    """(line, detlab unit) of every import and trainer string in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ["detlab", *path.relative_to(ROOT).parent.parts]
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names] if base == "detlab" else [base]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and ":" in node.value:
            names = [node.value]
        for name in names:
            m = TARGET.match(name)
            if m:
                found.append((node.lineno, m.group(1)))
    return found


def edges() -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        src = unit_of(path)
        for line, dst in imported_units(path):
            if dst != src:
                out.setdefault((src, dst), []).append(f"{path.relative_to(ROOT)}:{line}")
    return out


def test_every_unit_has_a_layer():
    units = {unit_of(p) for p in ROOT.rglob("*.py")}
    missing = sorted(units - set(RANK))
    assert not missing, f"add these detlab packages/modules to LAYERS in {Path(__file__).name}: {missing}"


def test_no_import_runs_up_the_layers():
    up = [f"{src} -> {dst} ({', '.join(where)})" for (src, dst), where in edges().items()
          if RANK.get(dst, -1) >= RANK.get(src, len(LAYERS))]
    assert not up, "imports up (or across) the layers:\n" + "\n".join(up)


def test_no_cycle_between_folders():
    graph: dict[str, set[str]] = {}
    for src, dst in edges():
        graph.setdefault(src, set()).add(dst)
    cycles = [(a, b) for a in graph for b in graph[a] if a in graph.get(b, set())]
    assert not cycles, f"folders importing each other: {cycles}"


@pytest.mark.parametrize("code, unit", [
    ("from detlab.sweep import run_sweep", "sweep"),
    ("def f():\n    from detlab.report.table import build_table", "report"),
    ("TRAINERS = {'x': 'detlab.ablate.study:plan_of'}", "ablate"),
    ("from . import plots", "report"),
])
def test_the_scan_sees_every_kind_of_import(tmp_path, code, unit, monkeypatch):
    """Guards the guard: an upward import of each kind is found."""
    fake = tmp_path / "detlab"
    (fake / "report").mkdir(parents=True)
    path = fake / "report" / "probe.py"
    path.write_text(code + "\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", fake)
    assert [u for _, u in imported_units(path)] == [unit]
