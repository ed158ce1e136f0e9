"""Checks for the exercises of notebook 02 (STDP as a rate gradient).

Each ``check_<name>(func)`` calls the student's ``func`` on fresh random inputs, compares the
answer with the library's own implementation (:meth:`spiking_bpdl.plasticity.PairSTDP.rate_drift`,
:func:`spiking_bpdl.plasticity.reference_pair_dw`, :func:`spiking_bpdl.metrics.cosine_similarity`)
and prints ``correct`` or raises ``AssertionError`` with a hint. A stub's ``NotImplementedError``
propagates.
"""

import numpy as np

from ..plasticity import PairSTDP, reference_pair_dw
from ._steps import check_steps

__all__ = ["check_rate_drift", "check_pair_sum", "check_update_cosine"]


def check_rate_drift(func, seed=None):
    """Exercise 1: ``func(rho_pre, rho_post, drho_post_dt, int_K, int_sK)`` is
    :meth:`~spiking_bpdl.plasticity.PairSTDP.rate_drift`.

    Checked first at constant post rates (only the ``int K`` term), then with changing rates on a
    balanced window (only the ``int sK`` term), then both together.

    Parameters
    ----------
    func : callable
        The expected ``dW/dt`` for rates in Hz and a rate change in Hz/s (arrays, broadcast).
    seed : int, optional
        Seed of the random inputs (default: fresh ones).

    Raises
    ------
    AssertionError
        When the drift differs from the library's.
    """
    rng = np.random.default_rng(seed)
    name = "Exercise 1 (rate drift)"
    pre, post, slope = rng.uniform(5, 80, 8), rng.uniform(5, 80, 8), rng.uniform(-300, 300, 8)
    unbalanced = PairSTDP(A_plus=rng.uniform(0.005, 0.01), A_minus=rng.uniform(0.012, 0.02), tau_plus=20e-3,
                          tau_minus=30e-3)
    balanced = PairSTDP.balanced(A_plus=rng.uniform(0.005, 0.02), tau_plus=rng.uniform(10e-3, 25e-3),
                                 tau_minus=rng.uniform(30e-3, 50e-3))
    check_steps(name, [
        dict(got=func(pre, post, np.zeros(8), unbalanced.integral_K(), unbalanced.integral_sK()),
             want=unbalanced.rate_drift(pre, post, np.zeros(8)), rtol=1e-9, atol=0.0,
             what="constant rates, unbalanced window",
             hint="At constant rates only the baseline remains: rho_pre * (int K) * rho_post."),
        dict(got=func(pre, post, slope, balanced.integral_K(), balanced.integral_sK()),
             want=balanced.rate_drift(pre, post, slope), rtol=1e-9, atol=1e-12,
             what="changing rates, balanced window",
             hint="With int K = 0 only the derivative term remains: rho_pre * (int sK) * d rho_post/dt."),
        dict(got=func(pre, post, slope, unbalanced.integral_K(), unbalanced.integral_sK()),
             want=unbalanced.rate_drift(pre, post, slope), rtol=1e-9, atol=0.0,
             what="changing rates, unbalanced window", hint="Both terms together, both multiplied by rho_pre."),
    ])


def check_pair_sum(func, seed=None):
    """Exercise 2: ``func(pre_times, post_times, window)`` sums ``window(t_post - t_pre)`` over all pairs.

    Compared with :func:`spiking_bpdl.plasticity.reference_pair_dw`, the independent event-by-event
    reference of all-to-all pair STDP (weights kept away from the bounds, so nothing is clipped).

    Parameters
    ----------
    func : callable
        ``window`` is a vectorised ``K(s)``, here :meth:`~spiking_bpdl.plasticity.PairSTDP.window`.
    seed : int, optional
        Seed of the random inputs (default: fresh ones).

    Raises
    ------
    AssertionError
        When the sum differs from the reference's weight change.
    """
    rng = np.random.default_rng(seed)
    name = "Exercise 2 (pair sum)"
    # w0 = 1 in [0, 2]: the sums below stay well inside the bounds, so the reference never clips
    rule = PairSTDP(A_plus=0.01, A_minus=0.006, tau_plus=15e-3, tau_minus=35e-3, w_max=2.0)
    t_pre, gap = 0.05, rng.uniform(3e-3, 20e-3)
    steps = [dict(got=func(np.array([t_pre]), np.array([t_pre + gap]), rule.window),
                  want=reference_pair_dw([t_pre], [t_pre + gap], rule, w0=1.0), rtol=1e-9, atol=0.0,
                  what="one causal pair",
                  hint="One pre spike, then one post spike: s = t_post - t_pre > 0, so the pair potentiates.")]
    for n_pre, n_post in [(4, 3), (7, 9)]:
        pre, post = np.sort(rng.uniform(0, 0.2, n_pre)), np.sort(rng.uniform(0, 0.2, n_post))
        steps.append(dict(got=func(pre, post, rule.window), want=reference_pair_dw(pre, post, rule, w0=1.0),
                          rtol=1e-9, atol=1e-15, what=f"{n_pre} pre and {n_post} post spikes",
                          hint="All-to-all: every pre spike pairs with every post spike (not only the nearest); "
                               "an outer difference post[None, :] - pre[:, None] gives all of them."))
    check_steps(name, steps)


def check_update_cosine(func, seed=None):
    """Exercise 3: ``func(a, b)`` is the cosine of the angle between two arrays, flattened.

    Compared with :func:`spiking_bpdl.metrics.cosine_similarity` on weight matrices.

    Parameters
    ----------
    func : callable
    seed : int, optional
        Seed of the random inputs (default: fresh ones).

    Raises
    ------
    AssertionError
        When the cosine differs from the library's.
    """
    from ..metrics import cosine_similarity as cosine

    rng = np.random.default_rng(seed)
    name = "Exercise 3 (cosine)"
    a, b = rng.normal(size=(6, 10)), rng.normal(size=(6, 10))
    check_steps(name, [
        dict(got=func(a, 3.0 * a), want=1.0, rtol=1e-9, what="cosine(a, 3a)",
             hint="An update and a scaled copy point the same way: divide by both norms, so the scale drops out."),
        dict(got=func(a, -b), want=cosine(a, -b), rtol=1e-9, what="cosine of two weight matrices",
             hint="Treat the matrices as long vectors (np.ravel): sum(a * b) / (|a| |b|), a single number."),
    ])
