"""How much compute TPE + ASHA needs to match a 32-trial random search, and how fast a sweep starts.

1. Search efficiency, on the toy objective (`detlab.sweep.toy.objective`: a noisy learning
   curve whose plateau depends on the CLA, FRHead and lr values), with the sampler and
   scheduler a study builds (`detlab.sweep.search`) inside Ray Tune: a random search of 32
   full trials sets the target (its best result); TPE + ASHA then runs until a report reaches
   that target. Compute is counted in trial-evaluations (one evaluation = `evaluation.interval`
   epochs, the same for both). Goal: TPE + ASHA needs <= 40 % of the random search's compute.
   Both arms are judged by the same rule, a trial's final result (a pruned trial has none);
   the old rule (TPE+ASHA's first report of any rung reaching the target, where the random
   arm's target is a final result) is printed beside it. Then the compute each arm needs to
   reach a setting *confirmed* better than the baseline (the paper's CLA setting on the base
   config): each new incumbent is retrained with --confirm-seeds fresh seeds, as is the
   baseline once, and must win a paired t-test at --alpha; confirmations count as compute.
   Both searches run to their end (32 random trials, --tpe-budget TPE+ASHA trials); the costs
   are read off the order in which Tune saw the reports.
   `--objective detector` runs the same two arms on the mini detector itself (trained for real
   on synthetic HRSC2016, the smoke study's 5 CLA/lr keys, a short schedule; see
   `search_objectives.py`), small: `--random-trials 8 --tpe-budget 8 --repeats 1`.
2. Cold start: seconds from `python experiments/sweep.py ...` to the first trial running
   (its `started` line), with the detector trainer and the smoke study. Goal: <= 30 s.

    python benchmarks/search_efficiency.py [--repeats 5] [--skip-cold-start]
    python benchmarks/search_efficiency.py --objective detector --random-trials 8 --tpe-budget 8 \
        --repeats 1 --skip-cold-start
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
SMOKE = REPO / "experiments" / "studies" / "cla_hrsc_smoke.yaml"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_objectives import METRIC  # noqa: E402  (benchmarks/ is not a package)


def run_search(objective: Any, sampler: str, samples: int, seed: int, scheduler: bool,
               storage_dir: Path) -> dict[str, Any]:
    """One search through Ray Tune, run to its end; returns every report in the order Tune saw
    them, and each trial's values (the arms' costs are read off this sequence afterwards)."""
    from ray import tune

    from detlab.specs import decode_trial, param_space
    from detlab.sweep.search import make_scheduler, make_searcher

    max_t = objective.max_t
    # Different sampler seeds for the two searches (TPE's random start-up trials would otherwise
    # repeat the random search's first draws); the objective's noise is `seed` for both.
    sets = [f"sampler.seed={seed}"] if sampler == "tpe" else [f"sampler={{type: random, seed: {1000 + seed}}}"]
    sets += [f"scheduler.max_t={max_t}"] + ([] if scheduler else ["scheduler={type: none}"])
    spec = objective.spec(sets)

    def values_of(config: dict) -> dict[str, Any]:
        return objective.values_of(decode_trial(spec, config)[0])

    def trainable(config: dict) -> None:
        objective.run_trial(values_of(config), seed, lambda value: tune.report({METRIC: value}))

    reports: list[tuple[str, int, float]] = []
    trial_values: dict[str, dict[str, Any]] = {}

    class Record(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            reports.append((trial.trial_id, result["training_iteration"], result[METRIC]))
            trial_values.setdefault(trial.trial_id, values_of(trial.config))

    searcher = make_searcher(spec, storage=None, study_name=None)
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": objective.cpus_per_trial}), param_space=param_space(spec),
        tune_config=tune.TuneConfig(search_alg=searcher, scheduler=make_scheduler(spec), num_samples=samples,
                                    max_concurrent_trials=4, reuse_actors=objective.name == "toy"),
        run_config=tune.RunConfig(name=f"{sampler}-{seed}-{time.time_ns()}", storage_path=str(storage_dir),
                                  callbacks=[Record()], verbose=0 if objective.name == "toy" else 1))
    tuner.fit()
    return {"reports": reports, "values": trial_values, "max_t": max_t, "seed": seed}


def first_report_cost(search: dict[str, Any], target: float) -> int | None:
    """Evaluations spent when any report (an intermediate one too) first reached `target`: the
    rule the benchmark used before, kept for comparison."""
    return next((i for i, (_, _, v) in enumerate(search["reports"], 1) if v >= target), None)


def finals(search: dict[str, Any]) -> list[tuple[int, str, float]]:
    """(evaluations spent so far, trial, final result) for each trial that ran its whole schedule,
    in the order the final results arrived. A pruned trial has no final result."""
    return [(i, t, v) for i, (t, it, v) in enumerate(search["reports"], 1) if it == search["max_t"]]


def final_result_cost(search: dict[str, Any], target: float) -> int | None:
    """Evaluations spent when a trial's final result first reached `target` (the fair rule: both
    arms are judged on what a finished trial gives, not on one noisy intermediate report)."""
    return next((i for i, _, v in finals(search) if v >= target), None)


def confirmed_cost(objective: Any, search: dict[str, Any], base: dict[int, float], seeds: list[int],
                   alpha: float) -> tuple[int | None, int]:
    """Evaluations the arm needs to reach a setting confirmed better than the baseline, and how many
    confirmations it ran: each new best final result (the incumbent) is retrained with `seeds`, as
    is the baseline (once, `base`: seed -> final), and a one-sided win needs Δ > 0 with paired-t
    p < alpha. The clock counts the search up to that final result plus every confirmation so far."""
    from detlab.stats import paired_test

    max_t = search["max_t"]
    spent, checks, best = len(seeds) * max_t, 0, float("-inf")
    for cost, trial, value in finals(search):
        if value <= best:
            continue
        best = value
        values = search["values"][trial]
        runs = dict(zip(seeds, objective.finals([(values, s) for s in seeds])))
        spent += len(seeds) * max_t
        checks += 1
        test = paired_test(runs, base, alpha=alpha)
        if test.significant and test.delta > 0:
            return cost + spent, checks
    return None, checks


def search_efficiency(objective: Any, repeats: int, random_trials: int, tpe_budget: int, confirm_seeds: int,
                      alpha: float) -> list[dict[str, float]]:
    import logging

    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    seeds = [100 + i for i in range(confirm_seeds)]     # not the search's seeds: fresh runs
    base = dict(zip(seeds, objective.finals([(objective.baseline(), s) for s in seeds])))
    print(f"baseline ({objective.name}): final {METRIC} over seeds {seeds}: "
          + ", ".join(f"{v:.4f}" for v in base.values()), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(repeats):
            rnd = run_search(objective, "random", random_trials, seed, scheduler=False, storage_dir=Path(tmp))
            tpe = run_search(objective, "tpe", tpe_budget, seed, scheduler=True, storage_dir=Path(tmp))
            target = max(v for _, _, v in finals(rnd))
            random_cost = random_trials * rnd["max_t"]
            old = first_report_cost(tpe, target)
            fair_tpe, fair_rnd = final_result_cost(tpe, target), final_result_cost(rnd, target)
            conf_rnd, checks_rnd = confirmed_cost(objective, rnd, base, seeds, alpha)
            conf_tpe, checks_tpe = confirmed_cost(objective, tpe, base, seeds, alpha)
            row = {"seed": seed, "target": target, "random_cost": random_cost, "old_tpe_cost": old,
                   "old_fraction": _frac(old, random_cost), "fair_random_cost": fair_rnd, "fair_tpe_cost": fair_tpe,
                   "fair_fraction": _frac(fair_tpe, random_cost), "confirmed_random": conf_rnd,
                   "confirmed_tpe": conf_tpe, "checks_random": checks_rnd, "checks_tpe": checks_tpe,
                   "confirmed_fraction": _frac(conf_tpe, conf_rnd)}
            rows.append(row)
            print(f"seed {seed}: random best final {target:.4f} ({random_cost} evaluations in all; its best trial "
                  f"finished after {fair_rnd}); TPE+ASHA: first report >= it after {old}, first final result "
                  f">= it after {fair_tpe}; confirmed better than the baseline: random {conf_rnd} "
                  f"({checks_rnd} confirmations), TPE+ASHA {conf_tpe} ({checks_tpe})", flush=True)
    ray.shutdown()
    return rows


def _frac(a: float | None, b: float | None) -> float:
    return float("nan") if a is None or not b else a / b


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
    parser.add_argument("--confirm-seeds", type=int, default=3, help="seeds of each confirmation (and the baseline)")
    parser.add_argument("--alpha", type=float, default=0.05, help="level of the confirmation's paired t-test")
    parser.add_argument("--skip-cold-start", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--objective", choices=["toy", "detector"], default="toy",
                        help="what the arms search: the toy objective, or the mini detector trained for real")
    parser.add_argument("--images", type=int, default=32, help="detector: synthetic HRSC2016 images")
    parser.add_argument("--epochs", type=int, default=4, help="detector: epochs a trial (an evaluation each)")
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    if not args.skip_search:
        from search_objectives import DetectorObjective, ToyObjective

        objective = ToyObjective() if args.objective == "toy" else DetectorObjective(
            str(REPO / "data" / f"synth_hrsc2016_{args.images}"), images=args.images, epochs=args.epochs)
        print(f"objective: {args.objective}, {objective.max_t} evaluations a trial")
        rows = search_efficiency(objective, args.repeats, args.random_trials, args.tpe_budget, args.confirm_seeds, args.alpha)
        print(f"\n| seed | random best final | random compute | TPE+ASHA, first report >= (old rule) | "
              f"TPE+ASHA, first final result >= (fair) | confirmed > baseline: random | confirmed > baseline: "
              f"TPE+ASHA |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['seed']} | {r['target']:.4f} | {r['random_cost']} | {r['old_tpe_cost']} "
                  f"({r['old_fraction']:.1%}) | {r['fair_tpe_cost']} ({r['fair_fraction']:.1%}) | "
                  f"{r['confirmed_random']} ({r['checks_random']} conf.) | {r['confirmed_tpe']} "
                  f"({r['checks_tpe']} conf.) |")
        for key, arm in (("confirmed_random", "random search"), ("confirmed_tpe", "TPE+ASHA")):
            got = [r[key] for r in rows if r[key] is not None]
            print(f"compute to a setting confirmed better than the baseline, {arm}: reached in {len(got)}/{len(rows)} "
                  f"seeds" + (f", median {statistics.median(got):g} trial-evaluations (confirmations included)"
                              if got else ""))
        for key, what in (("old_fraction", "first report >= target (old rule)"),
                          ("fair_fraction", "first final result >= target (same rule as the random arm)"),
                          ("confirmed_fraction", "compute to a setting confirmed better than the baseline, "
                                                 "TPE+ASHA / random (seeds where both reached one)")):
            vals = [r[key] for r in rows if r[key] == r[key]]
            if vals:
                print(f"{what}: median {statistics.median(vals):.1%}, worst {max(vals):.1%} "
                      f"({len(vals)}/{len(rows)} seeds reached it)")
            else:
                print(f"{what}: not reached in any seed")
    if not args.skip_cold_start:
        times = cold_start(args.cold_starts)
        print(f"\ncold start to first trial running: median {statistics.median(times):.1f} s, "
              f"max {max(times):.1f} s (goal <= 30 s; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
