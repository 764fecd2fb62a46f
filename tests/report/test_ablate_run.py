"""`detlab ablate run` + `detlab report` end to end against a real `mlflow server` (toy trainer):
the table's numbers against the runs' own metrics, a killed and resumed run, a failed cell."""
from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections import defaultdict

import numpy as np
import pytest

from mlflow_testing import running_runs
from report_helpers import cell_runs

pytestmark = pytest.mark.slow


def _csv_rows(run) -> dict[str, dict]:
    return {r["cell"]: r for r in csv.DictReader(io.StringIO(run.report.stdout))}


def _finished_values(run) -> dict[str, dict[int, list[float]]]:
    """cell -> seed -> every FINISHED run's last val/mAP, straight from MLflow (no detlab code)."""
    out: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in cell_runs(run.uri, run.experiment, run.name):
        if r.info.status == "FINISHED" and r.data.tags.get("pruned") != "true":
            out[r.data.tags["detlab.ablate.cell"]][int(r.data.tags["detlab.ablate.seed"])].append(
                r.data.metrics["val/mAP"])
    return out


def test_report_writes_every_format(ablation_run):
    folder = ablation_run.report_dir
    for name in ("table.md", "table.tex", "table_standalone.tex", "table.csv", "report.html",
                 "plots/cells.png", "diagnostics/positives_per_gt.png", "diagnostics/assigned_cells.png",
                 "diagnostics/positives_per_gt.json"):
        assert (folder / name).is_file(), name
    md = (folder / "table.md").read_text()
    assert "| Rotated RetinaNet |" in md and "84.80" in md and "90.50" in md
    tex = (folder / "table.tex").read_text()
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex and "|" not in tex.split(
        r"\begin{tabular}")[1].split("}")[0]


def test_latex_compiles(ablation_run, tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed (apt texlive-latex-base texlive-latex-recommended)")
    shutil.copy(ablation_run.report_dir / "table_standalone.tex", tmp_path / "t.tex")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "t.pdf").stat().st_size > 1000


def test_table_numbers_equal_the_runs_metrics(ablation_run):
    rows = _csv_rows(ablation_run)
    values = _finished_values(ablation_run)
    checked = 0
    for cell in ("baseline", "frhead", "both"):
        row = rows[cell]
        assert row["status"] == "complete", row
        per_seed = values[cell]
        assert sorted(per_seed) == [0, 1, 2]
        # one value per seed (a re-run of a seed gives the same number; it must not count twice)
        seed_values = [per_seed[s][0] * 100 for s in (0, 1, 2)]
        for s in (0, 1, 2):
            assert float(row[f"seed_{s}"]) == pytest.approx(per_seed[s][0] * 100, abs=1e-9)
        assert float(row["mean"]) == pytest.approx(np.mean(seed_values), abs=1e-9)
        assert float(row["std"]) == pytest.approx(np.std(seed_values, ddof=1), abs=1e-9)
        assert int(row["n_finished"]) == 3
        checked += 1
    assert checked == 3
    # the delta of `both` is against `frhead` (the row above); recompute the paired t-test
    from scipy import stats

    a = [values["both"][s][0] * 100 for s in (0, 1, 2)]
    b = [values["frhead"][s][0] * 100 for s in (0, 1, 2)]
    assert float(rows["both"]["delta"]) == pytest.approx(np.mean(np.subtract(a, b)), abs=1e-9)
    # the toy gives CLA a real effect and each seed its own noise: a non-zero delta that varies by seed
    assert abs(np.mean(np.subtract(a, b))) > 0.5 and np.std(np.subtract(a, b)) > 0
    expected = stats.ttest_rel(a, b).pvalue
    assert 0.0 < expected < 1.0
    assert float(rows["both"]["p_value"]) == pytest.approx(expected, rel=1e-6)


def test_killed_and_resumed_run_counts_each_seed_once(ablation_run):
    assert ablation_run.killed_pids and 4 <= ablation_run.finished_before_kill < 12
    assert "resuming sweep" in ablation_run.second_log
    rows = _csv_rows(ablation_run)
    for cell, row in rows.items():
        ids = row["run_ids"].split(";")
        assert len(ids) == len(set(ids)) == 3, (cell, ids)
        assert int(row["n_finished"]) + int(row["n_failed"]) == 3
    # MLflow holds exactly one finished run per (cell, seed) of this ablation, or identical copies
    for cell, per_seed in _finished_values(ablation_run).items():
        for seed, vals in per_seed.items():
            assert max(vals) - min(vals) < 1e-12, (cell, seed, vals)
    assert not running_runs(ablation_run.uri)


def test_failed_cell_is_shown_as_failed(ablation_run):
    rows = _csv_rows(ablation_run)
    assert rows["cla"]["status"] == "failed" and rows["cla"]["n_failed"] == "3"
    assert rows["cla"]["mean"] == "" and "toy crash" in rows["cla"]["errors"]
    assert rows["frhead"]["delta"] == ""          # its reference (the row above) failed: no delta
    md = (ablation_run.report_dir / "table.md").read_text()
    cla_line = next(line for line in md.splitlines() if line.startswith("| + CLA |"))
    assert "failed (3/3 seeds)" in cla_line and "0.00" not in cla_line
    html = (ablation_run.report_dir / "report.html").read_text()
    assert "data-status='failed'" in html
    tex = (ablation_run.report_dir / "table.tex").read_text()
    assert r"\textit{failed (3/3 seeds)}" in tex


def test_report_is_logged_to_the_parent_run(ablation_run):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=ablation_run.uri)
    parent = client.get_run(ablation_run.parent_run_id)
    assert parent.data.tags["detlab.study"] == "components_smoke" and parent.info.status == "FINISHED"
    names = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/table.md", "report/table.tex", "report/table.csv", "report/report.html"} <= names
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "diagnostics")}
    assert "diagnostics/positives_per_gt.png" in plots and "diagnostics/assigned_cells.png" in plots
    assert parent.data.metrics["table/baseline/mean"] == pytest.approx(
        float(_csv_rows(ablation_run)["baseline"]["mean"]))
    children = [r for r in cell_runs(ablation_run.uri, ablation_run.experiment, "components_smoke")
                if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert {r.data.tags["detlab.ablate.cell"] for r in children} == {"baseline", "cla", "frhead", "both"}
