"""Statistics over seeds, the pick of one run per (cell, seed), and the four renderers, on made-up runs."""
from __future__ import annotations

import csv
import io
import shutil
import subprocess

import numpy as np
import pytest
from scipy import stats

from detlab.ablate import load_ablation, resolve_cells
from detlab.report.csvfile import to_csv
from detlab.report.html import to_html
from detlab.report.latex import escape, standalone, to_latex
from detlab.report.markdown import to_markdown
from detlab.report.query import RunInfo, pick_runs
from detlab.stats import mean_std, paired_test
from detlab.report.table import build_table
from report_helpers import REPO

ABLATION = REPO / "experiments" / "ablations" / "components_smoke.yaml"


def test_mean_and_sample_std():
    assert mean_std([]) == (None, None)
    assert mean_std([0.5]) == (0.5, None)
    m, s = mean_std([1.0, 2.0, 4.0])
    assert m == pytest.approx(7 / 3) and s == pytest.approx(np.std([1, 2, 4], ddof=1))


def test_paired_t_equals_scipy():
    a, b = {0: 71.0, 1: 72.5, 2: 70.2}, {0: 69.0, 1: 70.1, 2: 69.5}
    t = paired_test(a, b)
    ref = stats.ttest_rel([71.0, 72.5, 70.2], [69.0, 70.1, 69.5])
    assert t.n == 3 and t.delta == pytest.approx(np.mean([2.0, 2.4, 0.7]))
    assert t.p_value == pytest.approx(ref.pvalue) and t.significant == (ref.pvalue < 0.05)
    assert paired_test({0: 1.0}, {1: 1.0}) is None                      # no common seed
    assert paired_test({0: 1.0}, {0: 0.5}).p_value is None              # one seed: no test
    assert paired_test({0: 1.0, 1: 2.0}, {0: 0.0, 1: 1.0}).p_value == 0.0   # same difference every seed


def test_bootstrap_is_reproducible_and_two_sided():
    a, b = {s: 10.0 + s for s in range(5)}, {s: 9.0 + s + 0.1 * (s % 2) for s in range(5)}
    one = paired_test(a, b, test="bootstrap", resamples=2000, seed=3)
    assert one == paired_test(a, b, test="bootstrap", resamples=2000, seed=3)
    assert one.p_value < 0.05 and one.significant
    flat = paired_test({0: 1.0, 1: 0.0}, {0: 0.0, 1: 1.0}, test="bootstrap", resamples=2000)
    assert flat.p_value > 0.5


def _run(cell, seed, status="finished", value=0.5, start=0, reused=None, fp=None, error=""):
    return RunInfo(run_id=f"{cell}-{seed}-{start}", cell=cell, seed=seed, fingerprint=fp or f"fp-{cell}",
                   status=status, metrics={"val/mAP": value, "val/AP/ship": value}, error=error,
                   start_time=start, reused_from=reused)


def test_pick_prefers_finished_then_original_then_latest():
    fps = {"a": "fp-a"}
    runs = [_run("a", 0, "killed", start=1), _run("a", 0, "finished", 0.4, start=2),
            _run("a", 0, "finished", 0.4, start=3, reused="x"), _run("a", 0, "failed", start=4),
            _run("a", 1, "failed", start=1, error="boom"), _run("a", 1, "running", start=2),
            _run("a", 2, "finished", fp="old-config")]
    picked = pick_runs(runs, fps)
    assert picked[("a", 0)].run_id == "a-0-2"
    assert picked[("a", 1)].status == "running"
    assert ("a", 2) not in picked                # another fingerprint: another cell


@pytest.fixture(scope="module")
def table():
    spec = load_ablation(ABLATION)
    cells = resolve_cells(spec)
    fps = {c.name: c.fingerprint for c in cells}
    runs = []
    for s, (base, both) in enumerate([(0.60, 0.70), (0.62, 0.73), (0.61, 0.71)]):
        runs += [_run("baseline", s, value=base, fp=fps["baseline"]),
                 _run("cla", s, "failed", fp=fps["cla"], error="RuntimeError: boom"),
                 _run("both", s, value=both, fp=fps["both"])]
    runs.append(_run("baseline", 0, "killed", value=0.0, start=-1, fp=fps["baseline"]))   # a duplicate seed
    return build_table(spec, cells, pick_runs(runs, fps), trainer="toy")


def test_statuses_and_numbers(table):
    rows = {r.cell.name: r for r in table.rows}
    assert rows["baseline"].cell.status == "complete" and rows["baseline"].cell.n_finished == 3
    assert rows["baseline"].cell.mean_std[0] == pytest.approx(61.0)
    assert rows["cla"].cell.status == "failed" and rows["cla"].cell.status_text() == "failed (3/3 seeds)"
    assert rows["frhead"].cell.status == "missing"
    assert rows["both"].test is None              # the row above (frhead) is missing: no delta


def test_markdown_never_shows_a_number_for_a_missing_or_failed_cell(table):
    md = to_markdown(table)
    line = {l.split("|")[1].strip(): l for l in md.splitlines() if l.startswith("| ")}
    assert "**failed (3/3 seeds)**" in line["+ CLA"] and "**missing**" in line["+ FRHead"]
    assert "61.00 ± 1.00" in line["Rotated RetinaNet"] and "84.80<sup>1</sup>" in line["Rotated RetinaNet"]
    assert "Failed runs:" in md and "seed 0: RuntimeError: boom" in md


def test_csv_is_machine_readable(table):
    rows = {r["cell"]: r for r in csv.DictReader(io.StringIO(to_csv(table)))}
    assert rows["baseline"]["status"] == "complete" and float(rows["baseline"]["mean"]) == pytest.approx(61.0)
    assert rows["cla"]["mean"] == "" and rows["cla"]["n_failed"] == "3"
    assert rows["frhead"]["status"] == "missing" and rows["frhead"]["run_ids"] == ""
    assert rows["both"]["paper"] == "90.5"


def test_html_marks_status(table):
    html = to_html(table, {"plots/x.png": b"\x89PNG"})
    assert "data-status='failed'" in html and "data-status='missing'" in html
    assert "data:image/png;base64," in html and "<table id='ablation-table'>" in html


def test_latex_booktabs_and_escaping(table):
    tex = to_latex(table)
    assert tex.count(r"\toprule") == tex.count(r"\midrule") == tex.count(r"\bottomrule") == 1
    assert r"\textit{failed (3/3 seeds)}" in tex and r"61.00 $\pm$ 1.00" in tex
    assert escape("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"


def test_latex_compiles(table, tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed (apt texlive-latex-base texlive-latex-recommended)")
    (tmp_path / "t.tex").write_text(standalone(to_latex(table)))
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


def test_response_curve_of_the_radius_table():
    from detlab.report.plots import png_bytes, response_figure
    from detlab.report.publish import _response_values

    spec = load_ablation(REPO / "experiments" / "ablations" / "radius_smoke.yaml")
    cells = resolve_cells(spec)
    xs = _response_values(spec.response, cells)
    assert xs == [0.3, 0.5, 0.7, 0.9]
    fps = {c.name: c.fingerprint for c in cells}
    runs = [_run(c.name, s, value=0.5 + 0.1 * x - 0.01 * s, fp=fps[c.name]) for c, x in zip(cells, xs)
            for s in (0, 1, 2)]
    table = build_table(spec, cells, pick_runs(runs, fps))
    fig = response_figure(table, spec.response, xs)
    assert fig is not None and png_bytes(fig)[:4] == b"\x89PNG"
    k = load_ablation(REPO / "experiments" / "ablations" / "neighbors_smoke.yaml")
    assert _response_values(k.response, resolve_cells(k)) == [1.0, 2.0, 3.0]
