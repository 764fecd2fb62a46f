"""The model-profile metrics every training run logs (`detlab.training.driver.profile`) and the short
column names the sweep leaderboard and the ablation report show them under. Here, at the
tracking layer, because both the sweep and the report read them and neither may import the other."""

from __future__ import annotations

PARAMS, GFLOPS, LATENCY_CPU, LATENCY_GPU = (
    "profile/params_M",
    "profile/gflops",
    "profile/latency_ms_cpu",
    "profile/latency_ms_gpu",
)
# inference throughput, one image at a time, pipeline and NMS included (1000 / latency)
IMGS_PER_S_CPU, IMGS_PER_S_GPU = "profile/infer_imgs_per_s_cpu", "profile/infer_imgs_per_s_gpu"
# metric -> column, in the order tables show them (GPU latency only where a GPU measured it)
PROFILE = {PARAMS: "params_M", GFLOPS: "GFLOPs", LATENCY_CPU: "cpu_ms"}

__all__ = ["PROFILE", "PARAMS", "GFLOPS", "LATENCY_CPU", "LATENCY_GPU", "IMGS_PER_S_CPU", "IMGS_PER_S_GPU"]
