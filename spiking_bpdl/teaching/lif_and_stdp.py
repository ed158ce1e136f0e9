"""Checks for the exercises of notebook 01 (LIF neurons and pair STDP).

Each ``check_<name>(func)`` calls the student's ``func`` on fresh random inputs, compares the
answer with the library's own implementation (:func:`spiking_bpdl.neurons.lif_rate`,
:meth:`spiking_bpdl.plasticity.PairSTDP.window`, :meth:`~spiking_bpdl.plasticity.PairSTDP.integral_K`
and :meth:`~spiking_bpdl.plasticity.PairSTDP.integral_sK`) and prints ``correct`` or raises
``AssertionError`` with a hint. A stub's ``NotImplementedError`` propagates.
"""

import numpy as np

from ..neurons import LIFParams, lif_rate
from ..plasticity import PairSTDP
from . import report
from ._steps import check_steps

__all__ = ["check_lif_rate_hz", "check_stdp_window", "check_window_integrals"]


def _random_params(rng):
    """LIF parameters away from the defaults, so that a hard-coded constant shows."""
    return LIFParams(tau_m=rng.uniform(8e-3, 40e-3), v_threshold=rng.uniform(12e-3, 25e-3),
                     v_reset=rng.uniform(-5e-3, 8e-3), t_ref=rng.uniform(1e-3, 5e-3), R=rng.uniform(50e6, 200e6))


def _random_rule(rng):
    """An unbalanced window with four different numbers (a swapped pair shows)."""
    return PairSTDP(A_plus=rng.uniform(0.005, 0.02), A_minus=rng.uniform(0.005, 0.02),
                    tau_plus=rng.uniform(10e-3, 25e-3), tau_minus=rng.uniform(30e-3, 60e-3))


def check_lif_rate_hz(func, seed=None):
    """Exercise 1: ``func(current, params)`` is the noise-free LIF rate (Hz) of :func:`~spiking_bpdl.neurons.lif_rate`.

    Parameters
    ----------
    func : callable
        ``func(current, params)``; ``current`` an array of currents (A), ``params`` a
        :class:`~spiking_bpdl.neurons.LIFParams`.
    seed : int, optional
        Seed of the random inputs (default: fresh ones).

    Raises
    ------
    AssertionError
        When the rates differ from the library's.
    """
    rng = np.random.default_rng(seed)
    p = _random_params(rng)
    theta_current = p.v_threshold / p.R
    below = theta_current * rng.uniform(0.0, 1.0, 5)
    above = theta_current * rng.uniform(1.05, 4.0, 12)
    check_steps("Exercise 1 (LIF rate)", [
        dict(got=func(below, p), want=np.zeros(5), what="rates below threshold",
             hint="Below threshold (R*I <= v_threshold) the membrane never reaches threshold: the rate is 0, not nan."),
        dict(got=func(above, p), want=lif_rate(above, p), rtol=1e-9, what="rates above threshold",
             hint="The interval is t_ref + tau_m * log((R*I - v_reset) / (R*I - v_threshold)); the rate is its "
                  "inverse (Hz). Use the parameters passed in (params.tau_m, params.R, ...), not the defaults."),
    ])


def check_stdp_window(func, seed=None):
    """Exercise 2: ``func(s, A_plus, A_minus, tau_plus, tau_minus)`` is the window ``K(s)``.

    Compared with :meth:`~spiking_bpdl.plasticity.PairSTDP.window`.

    Parameters
    ----------
    func : callable
        The window ``K(s)``, ``s = t_post - t_pre`` in seconds (an array).
    seed : int, optional
        Seed of the random inputs (default: fresh ones).

    Raises
    ------
    AssertionError
        When ``K`` differs from the library's at ``s = 0``, for ``s > 0`` or for ``s < 0``.
    """
    rng = np.random.default_rng(seed)
    rule = _random_rule(rng)
    args = (rule.A_plus, rule.A_minus, rule.tau_plus, rule.tau_minus)
    zero, pos = np.zeros(1), np.sort(rng.uniform(1e-4, 0.1, 20))
    neg = -pos[::-1]
    check_steps("Exercise 2 (STDP window)", [
        dict(got=func(zero, *args), want=rule.window(zero), rtol=1e-9, what="K(0)",
             hint="At s = 0 (pre and post in the same step) the pair counts as causal: K(0) = +A_plus."),
        dict(got=func(pos, *args), want=rule.window(pos), rtol=1e-9, what="K(s) for s > 0",
             hint="For s = t_post - t_pre > 0 (pre before post): K(s) = A_plus * exp(-s / tau_plus), positive."),
        dict(got=func(neg, *args), want=rule.window(neg), rtol=1e-9, what="K(s) for s < 0",
             hint="For s < 0 (post before pre): K(s) = -A_minus * exp(s / tau_minus), negative, decaying as "
                  "s -> -inf."),
    ])


def check_window_integrals(func, seed=None):
    """Exercise 3: ``func(A_plus, A_minus, tau_plus, tau_minus)`` returns ``(int K, int sK)``.

    Compared with :meth:`~spiking_bpdl.plasticity.PairSTDP.integral_K` and
    :meth:`~spiking_bpdl.plasticity.PairSTDP.integral_sK`.

    Parameters
    ----------
    func : callable
    seed : int, optional
        Seed of the random inputs (default: fresh ones).

    Raises
    ------
    AssertionError
        When either integral differs from the library's.
    """
    rng = np.random.default_rng(seed)
    rule = _random_rule(rng)
    name = "Exercise 3 (window integrals)"
    got = func(rule.A_plus, rule.A_minus, rule.tau_plus, rule.tau_minus)
    try:
        int_K, int_sK = got
    except (TypeError, ValueError):
        report(name, False, f"the function returned {got!r}.", "Return a pair: (int K ds, int s K ds).")
    check_steps(name, [
        dict(got=int_K, want=rule.integral_K(), rtol=1e-9, atol=0.0, what="int K(s) ds",
             hint="int_0^inf A_plus e^(-s/tau_plus) ds = A_plus tau_plus; the depression side contributes "
                  "-A_minus tau_minus."),
        dict(got=int_sK, want=rule.integral_sK(), rtol=1e-9, atol=0.0, what="int s K(s) ds",
             hint="int_0^inf s e^(-s/tau) ds = tau^2; on the negative side s and K are both negative, so that "
                  "side adds +A_minus tau_minus^2."),
    ])
