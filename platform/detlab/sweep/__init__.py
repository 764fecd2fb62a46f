"""Ray Tune sweeps over study specs (docs/sweeps.md): one Tuner per study, OptunaSearch + ASHA,
one Ray Train fit per trial, an MLflow parent run per study and a child run per trial.

Submodules have one job each; `run_sweep` (runner.py) ties them together. Importing this
package imports neither Ray nor MLflow.
"""

from detlab.sweep.runner import SweepOptions, SweepOutcome, run_sweep

__all__ = ["SweepOptions", "SweepOutcome", "run_sweep"]
