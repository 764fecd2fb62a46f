"""`detlab report ABLATION.yaml`: rebuild an ablation's table from MLflow (docs/ablations.md)."""

from __future__ import annotations

import argparse

from detlab.commands.options import add_sets, options_of
from detlab.report import ReportOptions, make_report
from detlab.report.publish import FORMATS

DESCRIPTION = (
    "Rebuild the table of an ablation from MLflow alone: mean ± std over seeds per cell, the delta to the "
    "row above (or the baseline) with a paired test over seeds, the paper's number beside ours; missing "
    "or failed cells are shown as such. Writes Markdown, LaTeX (booktabs), CSV and HTML (with plots and "
    "the positives-per-GT diagnostics) and logs them to the ablation's MLflow parent run; prints the "
    "chosen format."
)


def add_parser(subparsers) -> None:

    p = subparsers.add_parser("report", help="rebuild an ablation table from MLflow", description=DESCRIPTION)
    p.add_argument("ablation", help="ablation definition, e.g. experiments/ablations/components_smoke.yaml")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="md", help="what to print (default md)")
    add_sets(p, "the same --set as given to `detlab ablate run` (they change the cells' fingerprints)", "FIELD=VALUE")
    p.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default: the definition's, else $MLFLOW_TRACKING_URI, else ./mlflow.db)",
    )
    p.add_argument(
        "--trainer",
        default="mmdet",
        choices=["mmdet", "toy"],
        help="which runs to tabulate: the detector's (default) or the toy trainer's",
    )
    p.add_argument(
        "--out", dest="out_dir", default=None, help="folder for the files (default: work_dirs/reports/<name>)"
    )
    p.add_argument(
        "--no-log", dest="log_to_mlflow", action="store_false", help="do not log the report to the parent run"
    )
    p.add_argument(
        "--no-diagnostics",
        dest="diagnostics",
        action="store_false",
        help="skip the positives-per-GT diagnostics (they read the dataset)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="Markdown: add each cell's model profile (params, GFLOPs, CPU latency) from MLflow",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:

    make_report(options_of(ReportOptions, args, sets=list(args.sets)))
    return 0
