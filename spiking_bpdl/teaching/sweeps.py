"""Checks for the exercises of ``notebooks/07_parameter_sweeps.ipynb``.

Each ``check_<name>(func)`` runs the student's ``func`` and the library's own implementation
(:mod:`spiking_bpdl.sweep.summary`) on fresh, made-up seed values and reports through
:func:`spiking_bpdl.teaching.report`: a wrong answer raises ``AssertionError`` with a hint, an
unfinished exercise's ``NotImplementedError`` propagates.
"""

import numpy as np

from ..sweep.spec import parse_sweep
from ..sweep.summary import interval, summarize
from ._compare import check_close

__all__ = ["check_t_interval", "check_paired_ratios"]


def check_t_interval(t_interval):
    """Exercise 1: ``t_interval(values) -> (mean, low, high)``, the 95 % t-interval of a mean.

    Compared with :func:`spiking_bpdl.sweep.summary.interval` for 2, 3, 5 and 30 values.

    Parameters
    ----------
    t_interval : callable
        ``(values) -> (mean, low, high)``.
    """
    rng = np.random.default_rng(975)
    got, want = [], []
    for n in (2, 3, 5, 30):
        values = list(rng.normal(0.05, 0.01, n))
        got.append(t_interval(np.array(values)))
        ref = interval(values)
        want.append([ref["mean"], *ref["ci95"]])
    check_close("Exercise 1 (t_interval)", got, want, rtol=1e-9, atol=1e-12,
                what="(mean, low, high) for 2, 3, 5 and 30 seeds",
                hint="half-width = t(0.975, n - 1) * sd / sqrt(n), with scipy.stats.t.ppf for the quantile "
                     "(4.30 for n = 3, not 1.96) and the sample sd (np.std(values, ddof=1)).")


def check_paired_ratios(paired_ratios):
    """Exercise 2: per-seed ratios of one metric between two grid points.

    Compared with the ``per_seed`` list of a ``[ratios]`` entry in
    :func:`spiking_bpdl.sweep.summary.summarize`, on made-up rows where one seed failed on each
    side and one denominator is zero.

    Parameters
    ----------
    paired_ratios : callable
        ``(numerator, denominator) -> list of float``; both arguments map seed -> value (None
        when that run failed).
    """
    seeds = list(range(7))
    spec = parse_sweep({"command": "train", "args": ["layer_pair_small"], "grid": {"layer_pair.nudge": [2, 12]},
                        "seeds": seeds, "ratios": {"r": {"metric": "val_mse", "axis": "layer_pair.nudge",
                                                         "numerator": 12, "denominator": 2}}},
                       source="check", validate=False)
    rng = np.random.default_rng(12)
    values = {nudge: {s: float(v) for s, v in zip(seeds, rng.uniform(0.02, 0.06, len(seeds)))} for nudge in (2, 12)}
    values[12][2] = None   # failed run on the numerator side
    values[2][5] = None    # failed run on the denominator side
    values[2][4] = 0.0     # a zero denominator has no ratio
    rows = [{"point": spec.point_id({"layer_pair.nudge": nudge}), "seed": s,
             "status": "ok" if v is not None else "error", "val_mse": v}
            for nudge, by_seed in values.items() for s, v in by_seed.items()]
    want = summarize(spec, rows)["ratios"]["r"]["groups"]["-"]["per_seed"]
    got = paired_ratios(dict(values[12]), dict(values[2]))
    check_close("Exercise 2 (paired_ratios)", got, want, rtol=1e-12, atol=0,
                what="per-seed ratios over 7 seeds (one failed on each side, one zero denominator)",
                hint="Divide seed by seed: numerator[s] / denominator[s], in seed order, only for seeds where both "
                     "runs have a value and the denominator is not zero. Not a ratio of means.")
