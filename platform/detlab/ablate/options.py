"""What `detlab ablate run` is asked to do, and the sweep runner's options that follow from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from detlab.options import options_of
from detlab.sweep import SweepOptions
from detlab.sweep.trainers import CELLS


@dataclass
class AblateOptions:
    ablation: str
    sets: list[str] = field(default_factory=list)
    storage: str | None = None
    trainer: str = "mmdet"  # mmdet | toy
    address: str | None = None
    num_cpus: int | None = None
    fresh: bool = False
    synth_images: int = 0
    max_failures: int = 3
    trial_retries: int = 2
    progress_interval: float = 20.0
    verbose: bool = False
    reuse: bool = True  # finished cells already in MLflow are not rerun
    report: bool = True  # publish the report to the parent run at the end
    report_dir: str | None = None
    until_significant: bool = False  # add seeds to undecided comparisons (extend.py) ...
    max_seeds: int | None = None  # ... up to this many


def sweep_options(opts: AblateOptions, study: Path, storage: Path, *, fresh: bool = False) -> SweepOptions:
    """How an ablation's generated grid study is run: the sweep runner with the cell trainer."""

    # the options of running a sweep (address, num_cpus, retries, ...) are the same fields in both
    return options_of(SweepOptions, opts, study=str(study), storage=str(storage), sets=[], trainer=CELLS, fresh=fresh)
