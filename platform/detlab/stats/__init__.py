"""Statistics over seeds, below every layer that reports or decides with them (sweep
confirmation, ablation reports): mean ± std, paired tests and the power of a comparison."""

from detlab.stats.paired import PairedTest, mean_std, paired_test
from detlab.stats.power import delta_interval, paired_power, seeds_needed

__all__ = ["PairedTest", "mean_std", "paired_test", "delta_interval", "paired_power", "seeds_needed"]
