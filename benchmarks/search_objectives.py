"""The two objectives `search_efficiency.py` searches: the toy and the mini detector.

Both give the benchmark the same three things: the study spec the search samples from
(`spec`), the values a sampled trial trains with (`values_of`), a Tune trial body that
reports `METRIC` once per evaluation (`run_trial`), and the final result of a list of
(setting, seed) runs for the confirmations (`finals`).

- `ToyObjective`: `detlab.sweep.toy.objective` on the full CLA study's 5 keys plus 3 FRHead
  keys (8 dimensions), 12 evaluations a trial; free, so 32 random trials are affordable.
- `DetectorObjective`: the mini Refined-Det config trained for real (mmdet's loop, the
  platform's evaluator) on a synthetic HRSC2016 set, the smoke study's 5 CLA/lr keys, a
  short schedule (one evaluation per epoch). A trial costs about a minute on 2 cores, so the
  arms are small; what differs from the toy is the noise (real seed-to-seed spread of a
  short training) and a landscape nobody chose.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "experiments" / "studies" / "cla_hrsc.yaml"
SMOKE = REPO / "experiments" / "studies" / "cla_hrsc_smoke.yaml"
METRIC = "val/mAP_voc07"
FRHEAD = [  # the FRHead dimensions too: 8 dimensions, as the two HRSC studies together
    "search_space.model.bbox_head.stacked_convs={type: int, low: 1, high: 4}",
    "search_space.model.bbox_head.with_attention={type: choice, values: [true, false]}",
    "search_space.model.bbox_head.with_refine={type: choice, values: [true, false]}",
]


class ToyObjective:
    """The toy's learning curve; the baseline is the paper's CLA setting on the base config."""

    name, cpus_per_trial = "toy", 0.5

    def __init__(self) -> None:
        from detlab.specs import load_spec

        self.max_t = load_spec(STUDY).scheduler.max_t
        self.base = self._base_values()

    def spec(self, sets: list[str]) -> Any:
        from detlab.specs import load_spec

        return load_spec(STUDY, FRHEAD + sets)

    @staticmethod
    def _base_values() -> dict[str, Any]:
        """The toy's view of the base config (its SHAPE keys) with the paper's CLA setting."""
        from detlab.config import load_config
        from detlab.specs import load_spec
        from detlab.specs.study import CLA_BASELINE
        from detlab.sweep.toy import config_values

        spec = load_spec(STUDY)
        values = config_values(load_config(spec.resolve(spec.base_config), {**spec.overrides, **CLA_BASELINE},
                                           import_custom_modules=False))
        values.pop("evaluations")
        return values

    def values_of(self, sampled: dict[str, Any]) -> dict[str, Any]:
        return {**self.base, **{k: v for k, v in sampled.items() if k in self.base}}

    def baseline(self) -> dict[str, Any]:
        return dict(self.base)

    def run_trial(self, values: dict[str, Any], seed: int, report: Callable[[float], None]) -> None:
        from detlab.sweep.toy import objective

        for evaluation in range(1, self.max_t + 1):
            report(objective(values, evaluation, self.max_t, seed=seed))

    def finals(self, jobs: list[tuple[dict[str, Any], int]]) -> list[float]:
        from detlab.sweep.toy import objective

        return [objective(values, self.max_t, self.max_t, seed=seed) for values, seed in jobs]


class DetectorObjective:
    """The mini detector on synthetic HRSC2016: `epochs` epochs, an evaluation after each."""

    name, cpus_per_trial = "detector", 1.0

    def __init__(self, data_root: str, images: int = 32, epochs: int = 4) -> None:
        from detlab.config import load_config
        from detlab.specs import load_spec
        from detlab.specs.study import CLA_BASELINE
        from detlab.sweep.data import dataset_overrides, ensure_synthetic

        self.max_t = epochs
        ensure_synthetic("hrsc2016", data_root, images)
        base = load_spec(SMOKE, [f"dataset.root={data_root}", "confirm=null"])
        self.config = str(base.resolve(base.base_config))
        self.overrides = {**base.overrides, "runner.max_epochs": epochs, "evaluation.interval": 1,
                          "lr_config.step": [max(1, epochs - 1)], "lr_config.warmup_iters": 5,
                          "checkpoint_config.interval": 1000, "log_config.interval": 50}
        self.overrides.update(dataset_overrides(base, load_config(self.config, self.overrides,
                                                                  import_custom_modules=False)))
        self.sets = [f"dataset.root={data_root}", "confirm=null"]
        self.keys = set(base.search_space)
        self.cla_baseline = dict(CLA_BASELINE)

    def spec(self, sets: list[str]) -> Any:
        from detlab.specs import load_spec

        return load_spec(SMOKE, self.sets + [s for s in sets if not s.startswith("search_space.")])

    def values_of(self, sampled: dict[str, Any]) -> dict[str, Any]:
        """The searched keys only: a trial's decoded overrides also hold the study's own (its
        20-epoch schedule), which this benchmark's short schedule replaces."""
        return {k: v for k, v in sampled.items() if k in self.keys}

    def baseline(self) -> dict[str, Any]:
        return dict(self.cla_baseline)

    def run_trial(self, values: dict[str, Any], seed: int, report: Callable[[float], None]) -> None:
        train(self.config, {**self.overrides, **values}, seed, report)

    def finals(self, jobs: list[tuple[dict[str, Any], int]]) -> list[float]:
        """Each (setting, seed) trained to its end, two at a time on Ray (one CPU each)."""
        import ray

        @ray.remote(num_cpus=1)
        def final(config: str, overrides: dict[str, Any], seed: int) -> float:
            seen: list[float] = []
            train(config, overrides, seed, seen.append)
            return seen[-1]

        return ray.get([final.remote(self.config, {**self.overrides, **values}, seed) for values, seed in jobs],
                       timeout=3600)


def train(config: str, overrides: dict[str, Any], seed: int, report: Callable[[float], None]) -> None:
    """mmdet's training loop in this process, `report(METRIC)` after each evaluation."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch
    from mmcv.runner import HOOKS, Hook

    from detlab.training.worker.local import train_local
    from detlab.training.driver.setup import prepare_config

    torch.set_num_threads(1)
    if "BenchReportHook" not in HOOKS.module_dict:

        class BenchReportHook(Hook):
            """After the platform's evaluation (priority LOW): hand its number to the benchmark."""

            def after_train_epoch(self, runner) -> None:
                val = (runner.meta or {}).get("val") or {}
                if val.get("epoch") == runner.epoch + 1:
                    BenchReportHook.report(float(val["metrics"][METRIC]))

        HOOKS.register_module(name="BenchReportHook", module=BenchReportHook)
    HOOKS.module_dict["BenchReportHook"].report = staticmethod(report)
    with tempfile.TemporaryDirectory(prefix="bench-det-") as work:
        cfg = prepare_config(config, overrides, work_dir=work, seed=seed, device="cpu")
        # VERY_LOW: after the platform's eval hook (LOW) in the same epoch
        cfg.custom_hooks = list(cfg.get("custom_hooks", [])) + [dict(type="BenchReportHook", priority="VERY_LOW")]
        train_local(cfg, progress=False, validate=True)


__all__ = ["ToyObjective", "DetectorObjective", "METRIC", "STUDY", "SMOKE"]
