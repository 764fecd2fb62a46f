"""The driver side of a training: the trainer, its run lifecycle, placement and preflight."""
