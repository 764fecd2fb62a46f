"""How much compute TPE + ASHA needs to match a 32-trial random search, and how fast a sweep starts.

1. Search efficiency, on the toy objective (`detlab.sweep.toy.objective`: a noisy learning
   curve whose plateau depends on the CLA, FRHead and lr values), with the sampler and
   scheduler a study builds (`detlab.sweep.search`) inside Ray Tune: a random search of 32
   full trials sets the target (its best result); TPE + ASHA then runs until a report reaches
   that target. Compute is counted in trial-evaluations (one evaluation = `evaluation.interval`
   epochs, the same for both). Goal: TPE + ASHA needs <= 40 % of the random search's compute.
2. Cold start: seconds from `python experiments/sweep.py ...` to the first trial running
   (its `started` line), with the detector trainer and the smoke study. Goal: <= 30 s.

    python benchmarks/search_efficiency.py [--repeats 5] [--skip-cold-start]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "experiments" / "studies" / "cla_hrsc.yaml"
SMOKE = REPO / "experiments" / "studies" / "cla_hrsc_smoke.yaml"
FRHEAD = [  # the FRHead dimensions too: 8 dimensions, as the two HRSC studies together
    "search_space.model.bbox_head.stacked_convs={type: int, low: 1, high: 4}",
    "search_space.model.bbox_head.with_attention={type: choice, values: [true, false]}",
    "search_space.model.bbox_head.with_refine={type: choice, values: [true, false]}",
]


def run_search(sampler: str, samples: int, seed: int, scheduler: bool, target: float | None,
               storage_dir: Path) -> dict[str, Any]:
    """One search through Ray Tune; returns every report in the order Tune saw them."""
    from ray import tune

    from detlab.specs import decode_trial, load_spec, param_space
    from detlab.sweep.search import make_scheduler, make_searcher
    from detlab.sweep.toy import METRIC, objective

    max_t = load_spec(STUDY).scheduler.max_t
    # Different sampler seeds for the two searches (TPE's random start-up trials would otherwise
    # repeat the random search's first draws); the objective's noise is `seed` for both.
    sets = FRHEAD + ([f"sampler.seed={seed}"] if sampler == "tpe" else [f"sampler={{type: random, seed: {1000 + seed}}}"])
    spec = load_spec(STUDY, sets + ([] if scheduler else ["scheduler={type: none}"]))

    def trainable(config: dict) -> None:
        values, _ = decode_trial(spec, config)
        for evaluation in range(1, max_t + 1):
            tune.report({METRIC: objective(values, evaluation, max_t, seed=seed)})

    reports: list[tuple[str, int, float]] = []
    reached = {"at": None}

    class Record(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            reports.append((trial.trial_id, result["training_iteration"], result[METRIC]))
            if target is not None and reached["at"] is None and result[METRIC] >= target:
                reached["at"] = len(reports)

    class StopAtTarget(tune.Stopper):
        def __call__(self, trial_id, result):
            return False

        def stop_all(self):
            return reached["at"] is not None

    searcher = make_searcher(spec, storage=None, study_name=None)
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 0.5}), param_space=param_space(spec),
        tune_config=tune.TuneConfig(search_alg=searcher, scheduler=make_scheduler(spec), num_samples=samples,
                                    max_concurrent_trials=4, reuse_actors=True),
        run_config=tune.RunConfig(name=f"{sampler}-{seed}-{time.time_ns()}", storage_path=str(storage_dir),
                                  callbacks=[Record()], stop=StopAtTarget(), verbose=0))
    tuner.fit()
    finals: dict[str, float] = {}
    for trial_id, it, value in reports:
        if it == max_t:
            finals[trial_id] = value
    return {"reports": reports, "reached": reached["at"], "max_t": max_t, "finals": finals,
            "best": max(v for _, _, v in reports)}


def search_efficiency(repeats: int, random_trials: int, tpe_budget: int) -> list[dict[str, float]]:
    import logging

    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(repeats):
            rnd = run_search("random", random_trials, seed, scheduler=False, target=None, storage_dir=Path(tmp))
            target = max(rnd["finals"].values())
            random_cost = random_trials * rnd["max_t"]
            tpe = run_search("tpe", tpe_budget, seed, scheduler=True, target=target, storage_dir=Path(tmp))
            cost = tpe["reached"] if tpe["reached"] is not None else float("nan")
            rows.append({"seed": seed, "target": target, "random_cost": random_cost, "tpe_asha_cost": cost,
                         "fraction": cost / random_cost, "tpe_trials": len({t for t, _, _ in tpe["reports"]}),
                         "tpe_best": tpe["best"]})
            print(f"seed {seed}: random best {target:.4f} in {random_cost} trial-evaluations; TPE+ASHA reached it "
                  f"after {cost} ({cost / random_cost:.1%}) over {rows[-1]['tpe_trials']} trials", flush=True)
    ray.shutdown()
    return rows


def cold_start(runs: int) -> list[float]:
    """Seconds from launching the smoke sweep (detector trainer) to its first trial running."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS",)}
            env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
            cmd = [sys.executable, str(REPO / "experiments" / "sweep.py"), "--study", str(SMOKE),
                   "--storage", f"{tmp}/sweeps", "--synth-images", "96", "--set", "trials.num_samples=1",
                   "--set", "overrides.runner.max_epochs=2",
                   "--set", "overrides.evaluation.interval=1"]
            start = time.monotonic()
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
            seconds, tail = float("nan"), []
            for line in proc.stdout:
                tail = (tail + [line])[-5:]
                if " started: " in line:
                    seconds = time.monotonic() - start
                    break
            else:  # the sweep ended without starting a trial: say why instead of timing nothing
                raise SystemExit("cold start: the sweep started no trial:\n" + "".join(tail))
            proc.send_signal(2)  # Ctrl-C: the sweep stops its trial and closes its runs
            try:
                proc.communicate(timeout=120)  # drain its output while it closes its runs
            except subprocess.TimeoutExpired:
                proc.kill()
            times.append(seconds)
            print(f"cold start: first trial running after {seconds:.1f} s", flush=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="seeds (noise and samplers) to average over")
    parser.add_argument("--random-trials", type=int, default=32)
    parser.add_argument("--tpe-budget", type=int, default=64, help="most TPE+ASHA trials before giving up")
    parser.add_argument("--cold-starts", type=int, default=3)
    parser.add_argument("--skip-cold-start", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    if not args.skip_search:
        rows = search_efficiency(args.repeats, args.random_trials, args.tpe_budget)
        fractions = [r["fraction"] for r in rows]
        print("\n| seed | random-search best (32 trials) | random compute | TPE+ASHA compute to reach it | fraction |")
        print("|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['seed']} | {r['target']:.4f} | {r['random_cost']} | {r['tpe_asha_cost']} | {r['fraction']:.1%} |")
        print(f"\nTPE+ASHA compute / random-search compute: median {statistics.median(fractions):.1%}, "
              f"worst {max(fractions):.1%} (goal <= 40%)")
    if not args.skip_cold_start:
        times = cold_start(args.cold_starts)
        print(f"\ncold start to first trial running: median {statistics.median(times):.1f} s, "
              f"max {max(times):.1f} s (goal <= 30 s; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
