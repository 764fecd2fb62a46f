"""Figures for the study's parent run: Optuna's optimisation history and parameter importances
(matplotlib backends: plotly is not installed), and every trial's learning curve, which shows
where ASHA stopped trials."""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Any

from detlab.figures import new_figure

log = logging.getLogger("detlab.sweep")


def optuna_figures(study: Any) -> dict[str, Any]:
    """{"plots/optimization_history.png": fig, "plots/param_importances.png": fig}, what can be drawn."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:  # optuna draws through pyplot: no display needed, and a
        matplotlib.use("Agg")  # process that chose its own backend (a notebook) keeps it
    import optuna
    from optuna.visualization import matplotlib as ovm

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    figures: dict[str, Any] = {}
    for name, draw in (
        ("optimization_history", ovm.plot_optimization_history),
        ("param_importances", ovm.plot_param_importances),
    ):
        try:
            with warnings.catch_warnings():  # "experimental" since Optuna 2.2: noise for the user
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                ax: Any = draw(study)  # Axes, or an array of them
            fig: Any = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
            fig.set_size_inches(8, 5)
            figures[f"plots/{name}.png"] = fig
        except Exception as err:  # noqa: BLE001 - e.g. importances need 2+ complete trials with variance
            log.info("no %s plot: %s", name, err)
    return figures


def curves_figure(results: Any, metric: str, names: dict[str, str]) -> Any | None:
    """Objective against evaluation for every trial (a short line is a pruned trial)."""
    fig = new_figure(8, 5)
    ax = fig.add_subplot(1, 1, 1)
    drawn = 0
    for result in results:
        df = getattr(result, "metrics_dataframe", None)
        if df is None or metric not in df.columns or "training_iteration" not in df.columns:
            continue
        trial_id = (result.metrics or {}).get("trial_id", "")
        ax.plot(df["training_iteration"], df[metric], marker="o", label=names.get(trial_id, trial_id))
        drawn += 1
    if not drawn:
        return None
    ax.set_xlabel("evaluation (Tune training_iteration)")
    ax.set_ylabel(metric)
    ax.set_title("learning curves (short lines: stopped early by ASHA)")
    if drawn <= 16:
        ax.legend(fontsize=7)
    return fig
