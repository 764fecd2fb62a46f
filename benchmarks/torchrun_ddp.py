"""One process of plain PyTorch DDP, launched by `torchrun`: the other side of train_overhead.py's
"Ray Train, 2 workers" row. Same config, data, global batch, torch threads and mmdet loop as a Ray
Train worker (mmcv's DDP over gloo on CPU), without Ray, MLflow or the evaluation hook.

    torchrun --standalone --nproc_per_node 2 benchmarks/torchrun_ddp.py --root DATA/ --batch 2 \
        --epochs 3 --threads 1 --out DIR
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from train_overhead import MINI, overrides  # noqa: E402  (benchmarks/ is not a package)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="synthetic HRSC2016 root (with a trailing /)")
    p.add_argument("--batch", type=int, required=True, help="images per process")
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True, help="folder for the iteration times (torchrun<N>.json)")
    args = p.parse_args()

    import torch
    import torch.distributed as dist
    from mmcv.runner import set_random_seed
    from mmdet.apis import train_detector

    import refined_det.register  # noqa: F401  (registers the plugins and strict datasets)
    from detlab.training.hooks import epoch_stats  # noqa: F401  (registers IterTimesHook)
    from detlab.training.worker.ddp import ddp_on_any_device
    from detlab.training.worker.local import build_for_training
    from detlab.training.driver.setup import prepare_config

    dist.init_process_group("gloo")  # torchrun's env:// rendezvous
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.set_num_threads(args.threads)
    work = osp.join(args.out, f"torchrun{world}-r{rank}")
    cfg = prepare_config(MINI, overrides(args.root, args.batch, args.epochs), work_dir=work, seed=0, device="cpu")
    cfg.gpu_ids = list(range(world))
    cfg.checkpoint_config = None
    times = osp.join(args.out, f"torchrun{world}.json")
    cfg.custom_hooks = [dict(type="IterTimesHook", out_file=times, priority="VERY_LOW")]  # rank 0 writes
    set_random_seed(0)
    with ddp_on_any_device():
        model, dataset = build_for_training(cfg)
        train_detector(model, dataset, cfg, distributed=True, validate=False, meta={})
    dist.destroy_process_group()


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
