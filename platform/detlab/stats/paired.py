"""Mean, standard deviation and paired tests over seeds.

The std is the sample standard deviation (ddof=1), the usual "± std over seeds".
Tests pair runs by seed (the same seed gives both cells the same data order and
initialisation), so they look at the per-seed differences:

* paired t: t = mean(d) / (sd(d) / sqrt(n)), two-sided, n-1 degrees of freedom;
* bootstrap: resample the n differences with replacement; two-sided p is twice the
  smaller share of resampled means on either side of 0 (percentile bootstrap). With
  3 seeds there are only 10 distinct resamples: a coarse test, documented as such.

Each test also carries the t-based 95 % interval of the delta and the seeds needed to
detect the observed delta at alpha with 80 % power (power.py), whichever test gave p.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from detlab.stats.power import delta_interval, seeds_needed

__all__ = ["mean_std", "PairedTest", "paired_test"]


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """(mean, sample std); std is None with fewer than two values, both None with none."""
    if not values:
        return None, None
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), (float(arr.std(ddof=1)) if arr.size > 1 else None)


@dataclass(frozen=True)
class PairedTest:
    test: str
    n: int  # seeds present in both cells
    delta: float  # mean of the per-seed differences (this row minus its reference)
    p_value: float | None  # None when it cannot be computed (n < 2)
    significant: bool
    ci_low: float | None = None  # 95 % interval of delta (paired t), None with n < 2
    ci_high: float | None = None
    seeds_needed: int | None = None  # seeds to detect `delta` at alpha with 80 % power; None: > 1000 or delta 0

    @property
    def decided(self) -> bool:
        """Whether more seeds are pointless: the difference is significant."""
        return self.significant


def paired_test(
    a: dict[int, float],
    b: dict[int, float],
    *,
    test: str = "paired_t",
    alpha: float = 0.05,
    resamples: int = 10000,
    seed: int = 0,
) -> PairedTest | None:
    """Test a - b over the seeds both have; None when they share no seed."""
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    d = np.asarray([a[s] - b[s] for s in seeds], dtype=np.float64)
    delta = float(d.mean())
    if d.size < 2:
        return PairedTest(test, int(d.size), delta, None, False)

    p = _t_p(d) if test == "paired_t" else _bootstrap_p(d, resamples, seed)
    low, high = delta_interval(d) or (None, None)
    return PairedTest(test, int(d.size), delta, p, p is not None and p < alpha, low, high, seeds_needed(d, alpha=alpha))


def _t_p(d: np.ndarray) -> float:
    from scipy import stats

    sd = float(d.std(ddof=1))
    if sd == 0.0:  # identical differences: certain if non-zero, nothing if zero
        return 0.0 if float(d.mean()) != 0.0 else 1.0
    t = float(d.mean()) / (sd / math.sqrt(d.size))
    return float(2.0 * stats.t.sf(abs(t), df=d.size - 1))


def _bootstrap_p(d: np.ndarray, resamples: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(resamples, d.size))].mean(axis=1)
    below, above = float((means <= 0).mean()), float((means >= 0).mean())
    return min(1.0, 2.0 * min(below, above))
