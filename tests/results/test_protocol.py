"""Protocol tags from configs, and the report's note beside a paper value (no servers)."""
from __future__ import annotations

import os.path as osp

from results_helpers import CONFIGS, HRSC_MINI

PAPER_HRSC = {"dataset": "hrsc2016", "train_split": "trainval", "test_split": "test", "ms_train": "false",
              "ms_test": "false", "rotation_aug": "true", "pretrained_backbone": "true", "input_size": "800x512"}


def test_protocol_of_the_paper_configs_and_their_mini_twins():
    from detlab.config import load_config
    from detlab.config.protocol import protocol_differences, protocol_of

    full = protocol_of(load_config(osp.join(CONFIGS, "refined_det_obb_r50_fpn_6x_hrsc_rr_le90.py")))
    assert protocol_differences(full, PAPER_HRSC) == []
    mini = protocol_of(load_config(HRSC_MINI))
    assert protocol_differences(mini, PAPER_HRSC) == ["pretrained_backbone: false vs paper true",
                                                      "input_size: 400x256 vs paper 800x512"]
    ms = protocol_of(load_config(osp.join(CONFIGS, "refined_det_obb_r101_fpn_1x_dota_ms_rr_le90.py")))
    assert (ms["dataset"], ms["ms_train"], ms["ms_test"], ms["rotation_aug"]) == ("dota", "true", "true", "false")


def test_report_flags_a_paper_value_measured_under_another_protocol():
    from detlab.report.query import RunInfo
    from detlab.report.table import CellResult

    def cell(protocol, paper_protocol):
        run = RunInfo("r", "both", 0, "f", "finished", {"val/mAP": 0.5}, protocol=protocol)
        return CellResult("both", "Refined-Det", [0], {0: 50.0}, {0: run}, 90.5, None, paper_protocol)

    assert cell(PAPER_HRSC, PAPER_HRSC).protocol_note() == "same protocol as the paper"
    note = cell({**PAPER_HRSC, "input_size": "400x256"}, PAPER_HRSC).protocol_note()
    assert note == "PROTOCOL DIFFERS: input_size: 400x256 vs paper 800x512"
    assert "not stated" in cell(PAPER_HRSC, None).protocol_note()
    assert "unknown" in cell({}, PAPER_HRSC).protocol_note()


def test_markdown_report_shows_the_profile_on_request():
    from detlab.report.markdown import to_markdown
    from detlab.report.query import RunInfo
    from detlab.report.table import CellResult, Row, Table

    run = RunInfo("r", "both", 0, "f", "finished", {"val/mAP": 0.5, "profile/params_M": 0.874,
                                                     "profile/gflops": 0.517, "profile/latency_ms_cpu": 812.0})
    cell = CellResult("both", "Refined-Det", [0], {0: 50.0}, {0: run}, 90.5, None, PAPER_HRSC)
    table = Table(name="t", description="", dataset="hrsc2016", metric="val/mAP", scale=100, compare="previous",
                  test="paired_t", alpha=0.05, seeds=[0], trainer="toy", baseline_title="Refined-Det")
    table.rows = [Row(cell)]
    plain, with_profile = to_markdown(table), to_markdown(table, profile=True)
    assert "GFLOPs" not in plain and "| params_M | GFLOPs | cpu_ms |" in with_profile
    assert "| 0.874 | 0.517 | 812 |" in with_profile
    assert "Refined-Det: our protocol unknown" in plain  # the run has no protocol.* tags


def test_every_rendering_says_when_the_protocol_differs():
    """Markdown, HTML, LaTeX and CSV alike: no number beside the paper's without the protocol line."""
    from detlab.report.csvfile import to_csv
    from detlab.report.html import to_html
    from detlab.report.latex import to_latex
    from detlab.report.markdown import to_markdown
    from detlab.report.query import RunInfo
    from detlab.report.table import CellResult, Row, Table

    run = RunInfo("r", "both", 0, "f", "finished", {"val/mAP": 0.5},
                  protocol={**PAPER_HRSC, "input_size": "400x256"})
    cell = CellResult("both", "Refined-Det", [0], {0: 50.0}, {0: run}, 90.5, None, PAPER_HRSC)
    table = Table(name="t", description="", dataset="hrsc2016", metric="val/mAP", scale=100, compare="previous",
                  test="paired_t", alpha=0.05, seeds=[0], trainer="toy", baseline_title="Refined-Det")
    table.rows = [Row(cell)]
    differs = "PROTOCOL DIFFERS: input_size: 400x256 vs paper 800x512"
    for name, text in [("markdown", to_markdown(table)), ("html", to_html(table, {})), ("csv", to_csv(table))]:
        assert differs in text, name
    assert "PROTOCOL DIFFERS: input\\_size: 400x256 vs paper 800x512" in to_latex(table)
