"""The worker side of a training: the per-worker loop, its session, DDP on CPU, seeds, local training."""
