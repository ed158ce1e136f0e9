"""Solutions of the exercises in 07_parameter_sweeps.ipynb (one function per exercise cell)."""

import numpy as np
from scipy import stats


def t_interval(values):
    """Mean and 95 % t-interval ``(mean, low, high)`` of the values (one per seed)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n)
    return values.mean(), values.mean() - half, values.mean() + half


def paired_ratios(numerator, denominator):
    """Per-seed ratios ``numerator[s] / denominator[s]``, in seed order, where both sides have a value."""
    return [numerator[s] / denominator[s] for s in sorted(numerator)
            if numerator[s] is not None and denominator.get(s) not in (None, 0)]
