"""How sure a paired comparison over seeds is: the t-based 95 % interval of its delta, and how
many seeds it would take to detect the observed delta.

The seeds needed come from the power of the two-sided paired t-test: with n seeds the
statistic follows a noncentral t with n-1 degrees of freedom and noncentrality
delta / sd(d) * sqrt(n); n grows until the chance of p < alpha reaches `power`. It
treats the observed delta and spread as the truth, so it is a planning figure (how many
seeds a re-run should use), not a correction of the p-value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["delta_interval", "paired_power", "seeds_needed", "MAX_SEEDS"]

MAX_SEEDS = 1000  # beyond this the delta is as good as zero: "seeds needed" says "> 1000"


def delta_interval(diffs: Sequence[float] | np.ndarray, confidence: float = 0.95) -> tuple[float, float] | None:
    """The t-based interval of the mean per-seed difference; None with fewer than two seeds."""
    from scipy import stats

    d = np.asarray(diffs, dtype=np.float64)
    if d.size < 2:
        return None
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, d.size - 1)) * sd / math.sqrt(d.size)
    return mean - half, mean + half


def paired_power(delta: float, sd: float, n: int, alpha: float = 0.05) -> float:
    """Chance that a two-sided paired t-test over n seeds gives p < alpha when the true mean
    difference is `delta` and the per-seed differences have sd `sd`."""
    from scipy import stats

    if n < 2:
        return 0.0
    if sd <= 0.0:
        return 1.0 if delta != 0.0 else 0.0
    df = n - 1
    crit = float(stats.t.ppf(1 - alpha / 2, df))
    ncp = delta / sd * math.sqrt(n)
    return float(stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp))


def seeds_needed(
    diffs: Sequence[float] | np.ndarray, alpha: float = 0.05, power: float = 0.8, max_seeds: int = MAX_SEEDS
) -> int | None:
    """The fewest seeds that detect the observed mean difference with `power` at `alpha`, from the
    observed spread; None when it cannot be said (fewer than two seeds, or a zero delta) or when
    it would take more than `max_seeds`."""
    d = np.asarray(diffs, dtype=np.float64)
    if d.size < 2 or float(d.mean()) == 0.0:
        return None
    delta, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0.0:
        return 2
    lo, hi = 2, 2
    while paired_power(delta, sd, hi, alpha) < power:  # doubling, then bisection: O(log n) scipy calls
        if hi >= max_seeds:
            return None
        lo, hi = hi, min(hi * 2, max_seeds)
    while lo < hi:
        mid = (lo + hi) // 2
        if paired_power(delta, sd, mid, alpha) >= power:
            hi = mid
        else:
            lo = mid + 1
    return hi
