"""What Ray Train costs over mmdet's own loop, and what a second worker buys, in one run.

    .venv/bin/python benchmarks/train_overhead.py [--images 64] [--batch 4] [--epochs 3] [--threads 1] [--repeat 5]
        [--control-idle]

Trains the mini Refined-Det config on a synthetic HRSC2016 set in five ways, each with the
same global batch and the same torch threads per process, interleaved --repeat times:
  plain:    mmdet's ``train_detector`` in this process (what ``train_local`` runs);
  ray x1:   ``detlab.training.driver.ray_trainer.train`` with 1 worker (DDP over gloo, hooks,
            evaluation, MLflow recording to a local SQLite store, checkpoints);
  ray x2:   the same with 2 workers, each with half the batch;
  torchrun x2: plain PyTorch DDP (mmcv's DDP over gloo, the same mmdet loop) in 2 processes
            launched by ``torchrun`` (``torchrun_ddp.py``), each with half the batch: what a user
            would run without Ray;
  half:     the plain loop at a worker's share of the batch.
Ratios are per interleaved pair (ray x1 / plain, ray x2 / torchrun x2), min / median / max over
the pairs; goal (Ray's published overhead): median <= 1.025.
Every iteration's wall and CPU time (data loading included) is recorded by
``IterTimesHook``; steady state leaves out each epoch's first iteration and the first 3
of the run. Throughput is global batch / steady wall time per iteration. Ray's fixed startup (``train(FitRequest(...))`` to the first iteration, less the plain loop's
own time to its first iteration) and the time of each ``ray.train.report`` (with the
checkpoint upload; made once per evaluation; the plain and torchrun sides evaluate and
checkpoint nothing) are reported apart from the iteration time. Scaling
efficiency (t_x1 / (2 t_x2)) >= 0.8 -- which needs 2 idle cores. On a shared, busy
machine wall times mostly measure the neighbours, so CPU time per iteration (of the
whole process, all threads) is printed too: it is what the work itself costs. The plain
loop at a worker's share of the batch is also timed: a smaller batch costs more than
half, which bounds the efficiency whatever the communication. For the two 2-process arms, every
process's CPU time is sampled (``proc_cpu.py``, /proc every 0.5 s) and the cores each kind of
process used during the steady iterations are printed: with 2 training processes on 2 cores,
whatever else runs (Ray's raylet, GCS, dashboard, Train controller; torchrun's agent) takes its
share from them; ``--control-idle`` (``control_idle.py``) runs all of those, on both sides, under
``SCHED_IDLE``, so that they get only the time the training leaves idle, as on a node with a core to
spare. Ray's workers train at nice 0, as the platform's own local Ray starts them
(``workers_at_full_priority``; Ray's default is nice 15, against torchrun's and the plain loop's 0);
the printed core counts give the nice value the training processes ran at.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from control_idle import ControlIdle  # noqa: E402  (benchmarks/ is not a package)
from proc_cpu import TRAIN, ProcCpu  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MINI = osp.join(REPO, "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py")
WARMUP_ITERS = 3


def overrides(root: str, per_worker_batch: int, epochs: int) -> list[str]:
    sets = [f"data.{s}.{k}={root}{sub}" for s in ("train", "val", "test")
            for k, sub in (("ann_subdir", "FullDataSet/Annotations/"), ("img_subdir", "FullDataSet/AllImages/"),
                           ("img_prefix", "FullDataSet/AllImages/"))]
    return sets + [f"data.train.ann_file={root}ImageSets/trainval.txt", f"data.val.ann_file={root}ImageSets/test.txt",
                   f"data.samples_per_gpu={per_worker_batch}", "data.workers_per_gpu=0",
                   f"runner.max_epochs={epochs}", "evaluation.interval=1", "lr_config.warmup_iters=5",
                   "lr_config.step=[100]", "log_config.interval=1000"]


def steady(times_file: str) -> dict:
    """Median wall and CPU time per iteration, without the first 3 iterations and each epoch's
    first (data loader start)."""
    with open(times_file) as f:
        data = json.load(f)
    wall, cpu, last_epoch = [], [], None
    for i, (epoch, w, c, *_) in enumerate(data["times"]):
        first_of_epoch = epoch != last_epoch
        last_epoch = epoch
        if i >= WARMUP_ITERS and not first_of_epoch:
            wall.append(w)
            cpu.append(c)
    return {"wall": statistics.median(wall), "cpu": statistics.median(cpu), "n": len(wall),
            "first_iter_at": data["first_iter_at"]}


def steady_windows(times_file: str) -> list[tuple[float, float]]:
    """Wall-clock stretches of steady iterations, one per epoch (from the end of its first iteration,
    or of the run's warm-up, to the end of its last): evaluations and checkpoints fall outside."""
    with open(times_file) as f:
        rows = json.load(f)["times"]
    ends: dict[int, list[float]] = {}
    for i, (epoch, _w, _c, end_at) in enumerate(rows):
        if i >= WARMUP_ITERS - 1:  # from the end of the warm-up's last iteration
            ends.setdefault(epoch, []).append(end_at)
    return [(at[0], at[-1]) for at in ends.values() if len(at) >= 2]


def cpu_by_process(sampler: ProcCpu, times_file: str) -> dict:
    cores, seconds = sampler.cores(steady_windows(times_file))
    return {"cores": cores, "seconds": seconds, "train_nice": sorted(sampler.nice.get(TRAIN, ()))}


def best(results: list[dict]) -> dict:
    """Per figure, the lowest of the repeats (the run least disturbed by other processes)."""
    out = dict(results[0])
    for key in ("wall", "cpu", "to_first_iter"):
        out[key] = min(r[key] for r in results)
    out["reports"] = [t for r in results for t in r.get("reports", [])]
    return out


def run_plain(root: str, batch: int, epochs: int, threads: int, out: str, tag: str = "plain") -> dict:
    import torch
    from mmcv.runner import set_random_seed
    from mmdet.apis import train_detector

    import refined_det.register  # noqa: F401  (registers the plugins and strict datasets)
    from detlab.training.hooks import epoch_stats  # noqa: F401  (registers IterTimesHook)
    from detlab.training.worker.local import build_for_training
    from detlab.training.driver.setup import prepare_config

    torch.set_num_threads(threads)
    times = osp.join(out, f"{tag}.json")
    start = time.time()
    cfg = prepare_config(MINI, overrides(root, batch, epochs), work_dir=osp.join(out, tag), seed=0, device="cpu")
    cfg.checkpoint_config = None
    cfg.custom_hooks = [dict(type="IterTimesHook", out_file=times)]
    set_random_seed(0)
    model, dataset = build_for_training(cfg)
    train_detector(model, dataset, cfg, distributed=False, validate=False, meta={})
    stats = steady(times)
    stats["to_first_iter"] = stats["first_iter_at"] - start
    return stats


def run_ray(root: str, workers: int, batch: int, epochs: int, threads: int, out: str, uri: str) -> dict:
    from detlab.training.contract import FitRequest
    from detlab.training.driver.ray_trainer import DetectorOptions, train

    times = osp.join(out, f"ray{workers}.json")
    start = time.time()
    request = FitRequest(MINI, overrides(root, batch // workers, epochs), workers=workers, cpus_per_worker=threads,
                         seed=0, mlflow_uri=uri, experiment="train-overhead", storage_path=osp.join(out, "ray"),
                         name=f"x{workers}-{uuid.uuid4().hex[:8]}", resume=False, max_failures=0)
    hooks = [dict(type="IterTimesHook", out_file=times, priority="VERY_LOW")]
    with ProcCpu() as sampler:
        result = train(request, DetectorOptions(hooks=hooks))
    stats = steady(times)
    stats["processes"] = cpu_by_process(sampler, times)
    stats["to_first_iter"] = stats["first_iter_at"] - start
    stats["fit_s"] = time.time() - start
    stats["reports"] = result.report_times_s
    return stats


def run_torchrun(root: str, workers: int, batch: int, epochs: int, threads: int, out: str) -> dict:
    """Plain PyTorch DDP: ``torchrun --standalone --nproc_per_node workers torchrun_ddp.py``."""
    times = osp.join(out, f"torchrun{workers}.json")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               PYTHONPATH=os.pathsep.join([osp.join(REPO, "platform"), osp.join(REPO, "detectors"),
                                           os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={workers}",
           osp.join(REPO, "benchmarks", "torchrun_ddp.py"), "--root", root, "--batch", str(batch // workers),
           "--epochs", str(epochs), "--threads", str(threads), "--out", out]
    start = time.time()
    with ProcCpu() as sampler:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"torchrun failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    stats = steady(times)
    stats["processes"] = cpu_by_process(sampler, times)
    stats["to_first_iter"] = stats["first_iter_at"] - start
    return stats


def where_the_cores_go(arm: list[dict]) -> str:
    """Cores each kind of process used during the steady iterations, over all runs of an arm."""
    seconds = sum(r["processes"]["seconds"] for r in arm)
    used: dict[str, float] = {}
    for r in arm:
        for name, cores in r["processes"]["cores"].items():
            used[name] = used.get(name, 0.0) + cores * r["processes"]["seconds"]
    if not seconds:
        return "no steady stretch sampled"
    cores = {k: v / seconds for k, v in used.items()}
    rest = sum(v for k, v in cores.items() if k != TRAIN)
    named = ", ".join(f"{k} {v:.3f}" for k, v in sorted(cores.items(), key=lambda kv: -kv[1])
                      if k != TRAIN and v >= 0.005)
    nice = sorted({n for r in arm for n in r["processes"]["train_nice"]})
    return (f"cores used during steady iterations ({seconds:.0f} s sampled): training processes "
            f"{cores.get(TRAIN, 0.0):.2f} (at nice {', '.join(map(str, nice))}), all others {rest:.3f} ({named})")


def spread(values: list[float]) -> str:
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64, help="synthetic HRSC2016 images (3/4 train)")
    parser.add_argument("--batch", type=int, default=4, help="global batch (even: split over 2 workers)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved repeats (pairs for the ratios)")
    parser.add_argument("--keep", default=None, help="keep data and runs in this folder")
    parser.add_argument("--control-idle", action="store_true",
                        help="run every process this benchmark starts except the training ones (Ray's raylet, GCS, "
                             "dashboard, idle workers, Train control actors; torchrun's agent) under SCHED_IDLE, on "
                             "both sides: the control plane gets only the time the training leaves idle, as on a "
                             "node with a core to spare (control_idle.py)")
    args = parser.parse_args(argv)
    if args.batch % 2:
        parser.error("--batch must be even")

    import ray

    from detlab.data.synth import synth_dataset
    from detlab.training.driver.ray_runtime import workers_at_full_priority

    out = args.keep or tempfile.mkdtemp(prefix="train-overhead-")
    os.makedirs(out, exist_ok=True)
    root = osp.join(out, "hrsc2016") + "/"
    if not osp.exists(osp.join(root, ".complete")):
        synth_dataset("hrsc2016", root, args.images, seed=0, progress=False)
    with open(osp.join(root, "ImageSets", "trainval.txt")) as f:
        n_train = sum(1 for line in f if line.strip())
    load0 = os.getloadavg()

    t = time.time()
    workers_at_full_priority()  # as the platform's own local Ray: Ray's default would train at nice 15
    ray.init(address="local", num_cpus=max(2, 2 * args.threads))
    ray_init_s = time.time() - t
    uri = "sqlite:///" + osp.join(out, "mlflow.db")
    runs: dict[str, list[dict]] = {"plain": [], "half": [], "one": [], "two": [], "torchrun": []}
    policy = ControlIdle() if args.control_idle else contextlib.nullcontext()
    try:  # interleaved: neighbours on a shared machine come and go, each pair shares their load
        with policy:
            for i in range(args.repeat):
                print(f"repeat {i + 1}/{args.repeat} ...", flush=True)
                runs["plain"].append(run_plain(root, args.batch, args.epochs, args.threads, out))
                runs["one"].append(run_ray(root, 1, args.batch, args.epochs, args.threads, out, uri))
                runs["two"].append(run_ray(root, 2, args.batch, args.epochs, args.threads, out, uri))
                runs["torchrun"].append(run_torchrun(root, 2, args.batch, args.epochs, args.threads, out))
                runs["half"].append(run_plain(root, args.batch // 2, args.epochs, args.threads, out, tag="plain-half"))
    finally:
        ray.shutdown()
    plain, one, two, tr2, half = (best(runs[k]) for k in ("plain", "one", "two", "torchrun", "half"))
    pair_x1 = [o["wall"] / p["wall"] for o, p in zip(runs["one"], runs["plain"])]
    pair_x2 = [o["wall"] / t["wall"] for o, t in zip(runs["two"], runs["torchrun"])]
    cpu_x1 = [o["cpu"] / p["cpu"] for o, p in zip(runs["one"], runs["plain"])]
    cpu_x2 = [o["cpu"] / t["cpu"] for o, t in zip(runs["two"], runs["torchrun"])]

    reports = one["reports"] + two["reports"]
    row = "{:<36} {:>9.3f} s {:>9.3f} s {:>6d} {:>11.1f} s {:>9.2f}"
    print(f"\ntrain_overhead: mini Refined-Det, synthetic HRSC2016 ({n_train} train images), global batch "
          f"{args.batch}, {args.epochs} epochs, {args.threads} torch thread(s) per process, best of {args.repeat}, "
          f"{os.cpu_count()} CPU cores, load average {load0[0]:.1f} -> {os.getloadavg()[0]:.1f}")
    if args.control_idle:
        print(f"scheduling: {len(policy.idled)} processes this run started ran under SCHED_IDLE (Ray's and torchrun's "
              f"control processes), {len(policy.trainers)} training processes under the normal policy")
    else:
        print("scheduling: every process under the normal policy (--control-idle: control processes under SCHED_IDLE)")
    print(f"{'per iteration (median; best run)':<36} {'wall':>11} {'CPU':>11} {'iters':>6} {'to 1st iter':>13} "
          f"{'images/s':>9}")
    for label, r, batch in (("plain mmdet loop (1 process)", plain, args.batch), ("Ray Train, 1 worker", one, args.batch),
                            (f"Ray Train, 2 workers ({args.batch // 2} img each)", two, args.batch),
                            (f"torchrun DDP, 2 processes ({args.batch // 2} each)", tr2, args.batch),
                            (f"plain, batch {args.batch // 2} (a worker's share)", half, args.batch // 2)):
        print(row.format(label, r["wall"], r["cpu"], r["n"], r["to_first_iter"], batch / r["wall"]))
    print(f"Ray 1 worker / plain mmdet loop, steady wall per pair, min / median / max over {len(pair_x1)}: "
          f"{spread(pair_x1)} (CPU {spread(cpu_x1)}); goal: median <= 1.025")
    print(f"Ray 2 workers / torchrun DDP 2 processes, steady wall per pair, min / median / max over {len(pair_x2)}: "
          f"{spread(pair_x2)} (CPU {spread(cpu_x2)}); goal: median <= 1.025")
    for label, arm in (("Ray Train, 2 workers", runs["two"]), ("torchrun DDP, 2 processes", runs["torchrun"])):
        print(f"{label}: {where_the_cores_go(arm)}")
    print(f"Ray fixed startup: {one['to_first_iter'] - plain['to_first_iter']:.1f} s (train() to first "
          f"iteration, less the plain loop's {plain['to_first_iter']:.1f} s); ray.init {ray_init_s:.1f} s")
    print(f"checkpoint + report (ray.train.report, once per evaluation; the evaluation itself is outside the "
          f"iteration times): mean {statistics.fmean(reports):.3f} s, max {max(reports):.3f} s over "
          f"{len(reports)} reports; plain loop and torchrun: none "
          f"(RAY_TRAIN_HEALTH_CHECK_INTERVAL_S="
          f"{os.environ.get('RAY_TRAIN_HEALTH_CHECK_INTERVAL_S', '2 (default)')})")
    print(f"2 workers vs 1, same global batch: wall speed-up {one['wall'] / two['wall']:.2f}x, scaling "
          f"efficiency {one['wall'] / two['wall'] / 2:.2f} (goal >= 0.8; needs 2 idle cores); from CPU "
          f"time per worker {one['cpu'] / two['cpu'] / 2:.2f}; the batch split alone allows "
          f"{one['cpu'] / half['cpu'] / 2:.2f} (CPU of a worker's share in one process)")
    print(f"data and runs: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
