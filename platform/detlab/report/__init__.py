"""Ablation reports rebuilt from MLflow alone: mean ± std over seeds, deltas with paired tests,
the paper's numbers beside ours, in Markdown, LaTeX (booktabs), CSV and HTML, with plots
and assignment diagnostics logged to the study's parent run (docs/ablations.md)."""

from detlab.report.publish import FORMATS, Report, ReportOptions, make_report

__all__ = ["FORMATS", "Report", "ReportOptions", "make_report"]
