"""The delta's interval, the seeds-needed figure, the table columns that show them, and the
rounds `--until-significant` plans from a table (made-up runs; no Ray, no MLflow)."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from scipy import stats

from detlab.ablate import load_ablation, resolve_cells
from detlab.ablate.extend import plan_round
from detlab.report.csvfile import to_csv
from detlab.report.markdown import to_markdown
from detlab.stats.power import delta_interval, paired_power, seeds_needed
from detlab.report.query import RunInfo, pick_runs
from detlab.report.table import build_table
from report_helpers import REPO

NEIGHBORS = REPO / "experiments" / "ablations" / "neighbors_smoke.yaml"


def test_interval_is_scipys_t_interval():
    d = [0.4, 1.9, 1.1, 0.2]
    low, high = delta_interval(d)
    ref = stats.t.interval(0.95, len(d) - 1, loc=np.mean(d), scale=stats.sem(d))
    assert (low, high) == pytest.approx(ref)
    assert delta_interval([1.0]) is None


@pytest.mark.parametrize("effect, expected", [(1.0, 10), (0.5, 34)])
def test_seeds_needed_matches_the_textbook_paired_t_power(effect, expected):
    # differences with sd 1 and mean `effect`: 10 and 34 pairs, as G*Power gives for dz = 1 and 0.5
    d = list(np.array([-1.0, 1.0]) / np.sqrt(2) + effect)
    assert seeds_needed(d) == expected
    assert paired_power(effect, 1.0, expected) >= 0.8 > paired_power(effect, 1.0, expected - 1)


def test_seeds_needed_has_the_power_it_claims():
    """Simulated paired t-tests at the claimed n reject about 80 % of the time."""
    rng = np.random.default_rng(0)
    n = seeds_needed([0.1, 1.5, 0.9, 0.3])
    delta, sd = np.mean([0.1, 1.5, 0.9, 0.3]), np.std([0.1, 1.5, 0.9, 0.3], ddof=1)
    draws = rng.normal(delta, sd, size=(4000, n))
    p = stats.ttest_1samp(draws, 0.0, axis=1).pvalue
    assert 0.77 < float((p < 0.05).mean()) < 0.84


def test_seeds_needed_edge_cases():
    assert seeds_needed([0.5]) is None                 # one seed: no spread
    assert seeds_needed([1.0, -1.0]) is None           # zero delta: never
    assert seeds_needed([1.0, 1.0]) == 2               # no spread, a delta: the least a test takes
    assert seeds_needed([0.01, -0.02, 0.015], max_seeds=50) is None   # more than 50


def _run(cell, seed, value, fp):
    return RunInfo(run_id=f"{cell}-{seed}", cell=cell, seed=seed, fingerprint=fp, status="finished",
                   metrics={"val/mAP": value})


def _table(values: dict[str, list[float]], extra: dict[str, dict[int, float]] | None = None):
    spec = load_ablation(NEIGHBORS)
    cells = resolve_cells(spec)
    fps = {c.name: c.fingerprint for c in cells}
    runs = [_run(c, s, v, fps[c]) for c, vs in values.items() for s, v in enumerate(vs)]
    runs += [_run(c, s, v, fps[c]) for c, per in (extra or {}).items() for s, v in per.items()]
    return build_table(spec, cells, pick_runs(runs, fps), trainer="toy")


def test_rows_show_the_interval_and_seeds_needed():
    table = _table({"k1": [0.60, 0.62, 0.61], "k2": [0.61, 0.60, 0.64], "k3": [0.70, 0.73, 0.71]})
    rows = {r.cell.name: r for r in table.rows}
    k2 = rows["k2"].test
    d = np.subtract([61.0, 60.0, 64.0], [60.0, 62.0, 61.0])
    assert (k2.ci_low, k2.ci_high) == pytest.approx(stats.t.interval(0.95, 2, loc=d.mean(), scale=stats.sem(d)))
    assert k2.seeds_needed == seeds_needed(d) and k2.seeds_needed > 3 and not k2.significant
    md = to_markdown(table)
    line = next(l for l in md.splitlines() if l.startswith("| CLA k = 2 |"))
    assert f"[{k2.ci_low:+.2f}, {k2.ci_high:+.2f}]" in line and f"| {k2.seeds_needed} |" in line
    assert "95 % CI of Δ" in md and "n80" in md
    row = {r["cell"]: r for r in csv.DictReader(io.StringIO(to_csv(table)))}["k2"]
    assert float(row["delta_ci_low"]) == pytest.approx(k2.ci_low) and int(row["seeds_needed"]) == k2.seeds_needed


def test_a_round_adds_seeds_to_the_undecided_comparison_only():
    table = _table({"k1": [0.60, 0.62, 0.61], "k2": [0.61, 0.60, 0.64], "k3": [0.70, 0.73, 0.71]})
    step = plan_round(table, max_seeds=8)
    # k2 vs k1 is open; k3 vs k2 is decided (but k2 is in the open comparison)
    assert step.cells == ["k1", "k2"]
    needed = {r.cell.name: r.test for r in table.rows}["k2"].seeds_needed
    assert step.seeds == list(range(min(8, needed)))
    assert plan_round(table, max_seeds=3) is None      # already at N seeds: stop


def test_extra_seeds_count_once_finished_and_decide():
    k1_more = {s: 0.60 for s in range(3, 8)}
    k2_more = {3: 0.66, 4: 0.67, 5: 0.66, 6: 0.67, 7: 0.66}
    table = _table({"k1": [0.60, 0.62, 0.61], "k2": [0.61, 0.60, 0.64], "k3": [0.70, 0.73, 0.71]},
                   {"k1": k1_more, "k2": k2_more})
    rows = {r.cell.name: r for r in table.rows}
    assert rows["k1"].cell.seeds == list(range(8)) and rows["k3"].cell.seeds == [0, 1, 2]
    assert rows["k2"].test.n == 8 and rows["k3"].test.n == 3      # k3 vs k2 pairs on the seeds both have
    k1 = {s: v * 100 for s, v in {**dict(enumerate([0.60, 0.62, 0.61])), **k1_more}.items()}
    k2 = {s: v * 100 for s, v in {**dict(enumerate([0.61, 0.60, 0.64])), **k2_more}.items()}
    ref = stats.ttest_rel([k2[s] for s in range(8)], [k1[s] for s in range(8)]).pvalue
    assert rows["k2"].test.p_value == pytest.approx(ref) and ref < 0.05
    assert rows["k2"].test.significant and plan_round(table, max_seeds=8) is None
