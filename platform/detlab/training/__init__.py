"""Training: config preparation, mmcv hooks and runners (local; Ray Train in ray_trainer)."""
