"""`make_report`: the ablation table from MLflow, written in every format and logged to the parent run.

The table comes from MLflow alone (the runs' tags and metrics); the ablation file only
says which cells, in which order, with which paper numbers. Plots are drawn from the
same runs; the assignment diagnostics from the dataset and the cells' configs. All of
it goes to `<out>/` and, when the ablation has a parent run, to that run's artifacts
(`report/`, `plots/`, `diagnostics/`) with each cell's mean and std as metrics.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("detlab.report")

FORMATS = ("md", "latex", "csv", "html")
FILES = {"md": "table.md", "latex": "table.tex", "csv": "table.csv", "html": "report.html"}


@dataclass
class ReportOptions:
    ablation: str
    sets: list[str] = field(default_factory=list)
    tracking_uri: str | None = None
    trainer: str = "mmdet"
    fmt: str = "md"
    out_dir: str | None = None  # default: <repo>/work_dirs/reports/<name>
    log_to_mlflow: bool = True
    diagnostics: bool = True
    profile: bool = False  # Markdown: params / GFLOPs / CPU latency columns


@dataclass
class Report:
    table: Any
    texts: dict[str, str]  # format -> text
    files: dict[str, Path]
    figures: dict[str, bytes]
    diagnostics: Any | None
    parent_run_id: str | None
    tracking_uri: str


def make_report(opts: ReportOptions, out: Any = None) -> Report:
    from detlab.report.query import fetch_runs, latest_parent, pick_runs
    from detlab.report.table import build_table
    from detlab.specs.ablation_cells import load_ablation, resolve_cells
    from detlab.tracking import resolve_tracking_uri
    from detlab.tracking.client import make_client

    out = out or sys.stdout
    spec = load_ablation(opts.ablation, opts.sets)
    cells = resolve_cells(spec)
    uri = resolve_tracking_uri(opts.tracking_uri or spec.mlflow.tracking_uri)
    client = make_client(uri)
    runs = fetch_runs(client, spec.experiment, spec.name, opts.trainer)
    picked = pick_runs(runs, {c.name: c.fingerprint for c in cells})
    table = build_table(spec, cells, picked, trainer=opts.trainer)
    parent = latest_parent(client, spec.experiment, spec.name)
    if uri.startswith("http"):
        exp = parent.info.experiment_id if parent else None
        table.links = {
            r.run_id: f"{uri.rstrip('/')}/#/experiments/{exp or _exp_of(client, r.run_id)}/runs/{r.run_id}"
            for r in picked.values()
        }

    from detlab.report import plots

    figs: dict[str, Any] = {"plots/cells.png": plots.seeds_figure(table)}
    per_class = plots.per_class_figure(table)
    if per_class is not None:
        figs["plots/per_class_ap.png"] = per_class
    if spec.response:
        xs = _response_values(spec.response, cells)
        curve = plots.response_figure(table, spec.response, xs)
        if curve is not None:
            figs["plots/response.png"] = curve
    diagnostics = _diagnostics(spec, cells) if opts.diagnostics else None
    if diagnostics is not None:
        figs.update(diagnostics.figures)
    pngs = {name: plots.png_bytes(fig) for name, fig in figs.items()}

    from detlab.report.csvfile import to_csv
    from detlab.report.html import to_html
    from detlab.report.latex import to_latex
    from detlab.report.markdown import to_markdown

    texts = {
        "md": to_markdown(table, profile=opts.profile),
        "latex": to_latex(table),
        "csv": to_csv(table),
        "html": to_html(
            table,
            pngs,
            diagnostics=diagnostics.table if diagnostics else (),
            diag_images=diagnostics.images if diagnostics else 0,
            tracking_uri=uri,
            parent_run_id=parent.info.run_id if parent else None,
        ),
    }
    folder = Path(opts.out_dir) if opts.out_dir else spec.root / "work_dirs" / "reports" / spec.name
    files = _write(folder, texts, pngs, diagnostics)
    parent_id = parent.info.run_id if parent else None
    if opts.log_to_mlflow:
        if parent is None:
            print(
                f"no parent run of {spec.name} in MLflow experiment {spec.experiment!r}: "
                "the report is not logged (run `detlab ablate run` first)",
                file=sys.stderr,
            )
        else:
            _log(client, parent.info.run_id, table, files, figs, diagnostics)
    print(texts[opts.fmt], file=out, end="" if texts[opts.fmt].endswith("\n") else "\n")
    print(
        f"report written to {folder}"
        + (f" and logged to MLflow run {parent_id}" if parent_id and opts.log_to_mlflow else ""),
        file=sys.stderr,
    )
    return Report(table, texts, files, pngs, diagnostics, parent_id, uri)


def _exp_of(client: Any, run_id: str) -> str:
    return client.get_run(run_id).info.experiment_id


def _response_values(key: str, cells: list[Any]) -> list[float | None]:
    """The value of `key` in each cell's merged config (None where absent or not a number)."""
    from detlab.config import flatten_config, load_config

    out: list[float | None] = []
    for cell in cells:
        flat = flatten_config(load_config(cell.config, cell.overrides, import_custom_modules=False))
        value = flat.get(key)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        # a cell that switches the mechanism off (e.g. cross_grid false) is not on the curve
        off = flat.get("model.train_cfg.assigner.cross_grid") is False and "assigner" in key
        out.append(float(value) if ok and not off and value is not None else None)
    return out


def _diagnostics(spec: Any, cells: list[Any]) -> Any | None:
    from detlab.diagnostics.ablation import diagnose
    from detlab.sweep.data import cell_data_overrides

    try:
        return diagnose(spec, cells, {c.name: cell_data_overrides(spec, c) for c in cells})
    except Exception as err:  # noqa: BLE001 - no data here (e.g. a cluster path): the table still stands
        print(
            f"diagnostics skipped: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
            file=sys.stderr,
        )
        return None


def _write(folder: Path, texts: dict[str, str], pngs: dict[str, bytes], diagnostics: Any) -> dict[str, Path]:
    from detlab.report.latex import standalone

    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for fmt, text in texts.items():
        files[fmt] = folder / FILES[fmt]
        files[fmt].write_text(text)
    files["latex_standalone"] = folder / "table_standalone.tex"
    files["latex_standalone"].write_text(standalone(texts["latex"]))
    for name, png in pngs.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        files[name] = path
    if diagnostics is not None:
        files["diagnostics_json"] = folder / "diagnostics" / "positives_per_gt.json"
        files["diagnostics_json"].parent.mkdir(parents=True, exist_ok=True)
        files["diagnostics_json"].write_text(diagnostics.to_json())
    return files


def _log(client: Any, run_id: str, table: Any, files: dict[str, Path], figs: dict[str, Any], diagnostics: Any) -> None:
    """Artifacts and per-cell metrics on the parent run; a failure warns, the files stay on disk."""
    import time

    from mlflow.entities import Metric

    try:
        for key in ("md", "latex", "latex_standalone", "csv", "html"):
            client.log_artifact(run_id, str(files[key]), "report")
        for name, fig in figs.items():
            client.log_figure(run_id, fig, name)
        if diagnostics is not None:
            client.log_artifact(run_id, str(files["diagnostics_json"]), "diagnostics")
        now = int(time.time() * 1000)
        metrics = []
        for row in table.rows:
            mean, std = row.cell.mean_std
            if row.cell.complete and mean is not None:
                metrics.append(Metric(f"table/{row.cell.name}/mean", mean, now, 0))
                if std is not None:
                    metrics.append(Metric(f"table/{row.cell.name}/std", std, now, 0))
            test = row.test
            if test is not None:
                numbers = {
                    "delta": test.delta,
                    "delta_ci_low": test.ci_low,
                    "delta_ci_high": test.ci_high,
                    "p_value": test.p_value,
                    "seeds_needed": test.seeds_needed,
                }
                metrics += [
                    Metric(f"table/{row.cell.name}/{k}", float(v), now, 0) for k, v in numbers.items() if v is not None
                ]
        for r in diagnostics.table if diagnostics else ():
            for k, v in r.items():
                if k == "all" or (k.startswith("s") and k[1:].isdigit()):
                    metrics.append(Metric(f"diag/pos_per_gt/{r['cell']}/{r['kind']}/{k}", float(v), now, 0))
        for i in range(0, len(metrics), 500):
            client.log_batch(run_id, metrics=metrics[i : i + 500])
        client.set_tag(run_id, "detlab.report", "report/report.html")
    except Exception as err:  # noqa: BLE001
        print(f"warning: could not log the report to MLflow run {run_id}: {err}", file=sys.stderr)
