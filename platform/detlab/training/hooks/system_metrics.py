"""MLflow system metrics (CPU, memory, disk, network; GPU through NVML when there is one) of a
training run, sent through the run's recorder.

MLflow's ``SystemMetricsMonitor`` samples with its own monitors (psutil, pynvml) and logs
with a synchronous client that gives up for good when the server is down once. Here the
sampling is MLflow's and the sending is the recorder's: journaled, never blocking training,
delivered after an outage like every other metric. One worker per node samples (the
metrics are the node's); on a multi-node run each node's names carry its id
(``system/node1/cpu_utilization_percentage``), as MLflow's ``node_id`` does.
Sampling interval: ``DETLAB_SYSTEM_METRICS_INTERVAL`` on the driver (seconds, default 10);
MLflow's own ``MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL`` on a worker's node wins over it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

log = logging.getLogger("detlab.training")
DEFAULT_INTERVAL_S = 10.0


class RecorderSystemMetrics(SystemMetricsMonitor):
    """``SystemMetricsMonitor`` whose samples go to ``recorder.log_metrics``."""

    def __init__(
        self, recorder: Any, *, node_id: str | None = None, sampling_interval: float = DEFAULT_INTERVAL_S
    ) -> None:
        super().__init__(
            recorder.run_id,
            sampling_interval=sampling_interval,
            samples_before_logging=1,
            node_id=node_id,
            tracking_uri=recorder.tracking_uri,
        )
        self.recorder = recorder

    def monitor(self) -> None:
        """Sample, wait an interval, log; until finish(). No status polling of the run (the
        recorder keeps the run's state), so an outage never ends the sampling."""
        while True:
            self.collect_metrics()
            if self._shutdown_event.wait(float(self.sampling_interval)):
                return
            try:
                self.publish_metrics(self.aggregate_metrics())
            except Exception as err:  # noqa: BLE001 - a sampler must never take training down
                log.debug("system metrics: %s", err)

    def publish_metrics(self, metrics: dict[str, float]) -> None:
        prefix = self._metrics_prefix + (self.node_id + "/" if self.node_id else "")
        # wall-clock seconds as the step: monotonic across worker restarts of the same run
        self.recorder.log_metrics({prefix + k: v for k, v in metrics.items()}, step=int(time.time()))
        for monitor in self.monitors:
            monitor.clear_metrics()

    def finish(self, timeout: float | None = None) -> None:
        """Stop sampling (bounded wait: one interval plus 5 s)."""
        thread, self._process = self._process, None
        if thread is None:
            return
        self._shutdown_event.set()
        thread.join(timeout if timeout is not None else float(self.sampling_interval) + 5)


def start_system_metrics(
    recorder: Any, *, node_id: str | None = None, interval: float = DEFAULT_INTERVAL_S
) -> RecorderSystemMetrics | None:
    """A started sampler, or None (with one warning) when MLflow's monitors cannot run here."""
    try:
        sampler = RecorderSystemMetrics(recorder, node_id=node_id, sampling_interval=interval)
        sampler._process = threading.Thread(target=sampler.monitor, daemon=True, name="detlab-system-metrics")
        sampler._process.start()
        return sampler
    except Exception as err:  # noqa: BLE001 - e.g. psutil missing
        log.warning("MLflow system metrics off: %s", err)
        return None
