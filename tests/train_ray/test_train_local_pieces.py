"""The pieces Ray Train workers use, without Ray: mmdet's ``train_detector(distributed=True)``
on CPU through the DDP adapter (2 gloo processes), and the evaluation hook in a plain
single-process ``train_local(validate=True)``."""
from __future__ import annotations

import json
import os

import pytest

from detlab.ports import free_port
from train_helpers import MINI, tiny_sets

pytestmark = pytest.mark.slow


def ddp_worker(rank: int, world: int, port: int, root: str, work_dir: str, out: str) -> None:
    """One gloo rank: different initial weights per rank on purpose (DDP must broadcast rank 0's)."""
    import torch
    import torch.distributed as dist
    from mmcv.runner import set_random_seed
    from mmdet.apis import train_detector

    import refined_det.register  # noqa: F401  (registers the plugins and strict datasets)
    from detlab.training.worker.ddp import ddp_on_any_device
    from detlab.training.worker.local import build_for_training
    from detlab.training.driver.setup import prepare_config

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), LOCAL_RANK=str(rank))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    cfg = prepare_config(MINI, tiny_sets(root, epochs=1), work_dir=work_dir, seed=0, device="cpu")
    cfg.gpu_ids, cfg.checkpoint_config = list(range(world)), None
    set_random_seed(rank)
    model, dataset = build_for_training(cfg)
    with ddp_on_any_device():
        train_detector(model, dataset, cfg, distributed=True, validate=False, meta={})
    total = sum(p.detach().double().sum().item() for p in model.parameters())
    sums = [None] * world
    dist.all_gather_object(sums, total)
    if rank == 0:
        with open(out, "w") as f:
            json.dump(sums, f)
    dist.destroy_process_group()


def test_mmdet_train_detector_runs_ddp_on_cpu_and_keeps_ranks_in_sync(synth_hrsc, tmp_path):
    import torch.multiprocessing as mp

    out = tmp_path / "sums.json"
    mp.spawn(ddp_worker, args=(2, free_port(), synth_hrsc, str(tmp_path / "work"), str(out)), nprocs=2)
    sums = json.loads(out.read_text())
    assert sums[0] == sums[1], sums  # same start (broadcast) and same averaged gradients


def test_train_local_validates_with_the_platform_evaluator(synth_hrsc, tmp_path):
    from detlab.training.worker.local import train_local
    from detlab.training.driver.setup import prepare_config

    cfg = prepare_config(MINI, tiny_sets(synth_hrsc, epochs=1) + ["checkpoint_config.interval=100"],
                         work_dir=tmp_path, seed=0, device="cpu")
    train_local(cfg, progress=False, validate=True)
    assert (tmp_path / "plots" / "epoch_001" / "pr_ship.png").is_file()
    logged = [json.loads(line) for f in tmp_path.glob("*.log.json") for line in f.read_text().splitlines()]
    val = [entry for entry in logged if "val/mAP_voc07" in entry]
    assert val and {"val/mAP_voc12", "val/AP/ship", "val/mAP"} <= set(val[-1])
