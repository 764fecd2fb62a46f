"""The model-profile metrics every training run logs (`detlab.training.profile`) and the short
column names the sweep leaderboard and the ablation report show them under. Here, at the
tracking layer, because both the sweep and the report read them and neither may import the other."""

from __future__ import annotations

PARAMS, GFLOPS, LATENCY_CPU, LATENCY_GPU = (
    "profile/params_M",
    "profile/gflops",
    "profile/latency_ms_cpu",
    "profile/latency_ms_gpu",
)
# metric -> column, in the order tables show them (GPU latency only where a GPU measured it)
PROFILE = {PARAMS: "params_M", GFLOPS: "GFLOPs", LATENCY_CPU: "cpu_ms"}

__all__ = ["PROFILE", "PARAMS", "GFLOPS", "LATENCY_CPU", "LATENCY_GPU"]
