"""Partition functions of binary Boltzmann machines: AIS (RBM) and exact enumeration (tiny models).

Annealed importance sampling follows Salakhutdinov & Murray (2008): a base-rate RBM with
visible biases ``b_A`` (the logit of the training-data mean) and no weights, geometric
interpolation ``p_k(v) ∝ exp((1 - beta_k) b_A^T v) * p*_target(v)^{beta_k}``-style
intermediate RBMs (weights and biases scaled by ``beta_k``), block-Gibbs transitions, and

    log Z_B ≈ log Z_A + log mean_i w_i.

The unnormalised marginal ``p*_k(v) = exp((1-beta) b_A^T v + beta b^T v) prod_j (1 + exp(beta (c_j + (vW)_j)))``
is available in closed form, so the weights are accumulated in log space in float64 (the
matrix products run in the model's dtype; ``vW + c`` is computed once per step and reused for
both the weight increment and the hidden sample).
"""

import itertools

import numpy as np

from ..errors import ConfigError
from .boltzmann import energy, free_energy

__all__ = ["ais_log_partition", "exact_log_partition", "rbm_log_likelihood", "AISResult"]


class AISResult(dict):
    """``log_z``, its standard error ``log_z_sem`` (delta method), ``log_z_low``/``log_z_high``
    (log of mean weight -/+ 3 standard errors), ``n_chains`` and ``n_betas``."""


def ais_log_partition(model, n_chains=100, n_betas=10000, base_visible_bias=None, rng=None):
    """Estimate ``log Z`` of an RBM by annealed importance sampling.

    Parameters
    ----------
    model : BoltzmannMachine
        An RBM (one hidden layer, no laterals).
    n_chains : int
        Independent AIS runs.
    n_betas : int
        Number of intermediate distributions (beta from 0 to 1: 0.5k up to 0.5,
        most of them between 0.5 and 0.9, the rest up to 1, as in Salakhutdinov & Murray).
    base_visible_bias : ndarray, optional
        Visible biases of the base-rate model (default: zeros).
    rng : numpy.random.Generator, optional

    Returns
    -------
    AISResult
    """
    if not model.is_rbm:
        raise ConfigError("AIS is implemented for RBMs (one hidden layer, no laterals)")
    rng = np.random.default_rng(rng)
    dtype = model.dtype
    W = model.weights[0]
    b = model.biases[0].astype(np.float64)
    c = model.biases[1]
    nv, nh = W.shape
    b_a = np.zeros(nv) if base_visible_bias is None else np.asarray(base_visible_bias, dtype=np.float64)
    n1, n2 = int(0.1 * n_betas), int(0.4 * n_betas)
    betas = np.concatenate([np.linspace(0, 0.5, n1, endpoint=False), np.linspace(0.5, 0.9, n2, endpoint=False),
                            np.linspace(0.9, 1.0, n_betas - n1 - n2)])
    log_za = np.logaddexp(0.0, b_a).sum() + nh * np.log(2.0)
    # sample from the base model (independent visible units)
    v = (rng.random((n_chains, nv)) < 1 / (1 + np.exp(-b_a))).astype(dtype)
    log_w = np.zeros(n_chains)
    for prev, beta in zip(betas[:-1], betas[1:]):
        # log p*_k(v) - log p*_{k-1}(v) for the current v; x = vW + c is reused for sampling h
        x = (v @ W + c).astype(np.float64)
        vd = v.astype(np.float64)
        log_w += (beta - prev) * (vd @ (b - b_a)) + (np.logaddexp(0.0, beta * x) - np.logaddexp(0.0, prev * x)).sum(axis=1)
        ph = 1 / (1 + np.exp(-beta * x))
        h = (rng.random(ph.shape) < ph).astype(dtype)
        pv = 1 / (1 + np.exp(-((1 - beta) * b_a + beta * ((h @ W.T).astype(np.float64) + b))))
        v = (rng.random(pv.shape) < pv).astype(dtype)
    m = log_w.max()
    w = np.exp(log_w - m)
    mean_w = w.mean()
    sem_w = w.std(ddof=1) / np.sqrt(n_chains) if n_chains > 1 else np.inf
    log_z = log_za + m + np.log(mean_w)
    res = AISResult(
        log_z=float(log_z),
        log_z_sem=float(sem_w / mean_w),
        log_z_low=float(log_za + m + np.log(max(mean_w - 3 * sem_w, 1e-300))),
        log_z_high=float(log_za + m + np.log(mean_w + 3 * sem_w)),
        n_chains=int(n_chains),
        n_betas=int(n_betas),
    )
    return res


def exact_log_partition(model, max_units=22):
    """``log Z`` by exhaustive enumeration.

    For an RBM the layer with fewer units is enumerated and the other summed out in closed
    form; otherwise every joint state is enumerated.

    Parameters
    ----------
    model : BoltzmannMachine
    max_units : int
        Refuse to enumerate more than ``2**max_units`` states.

    Returns
    -------
    float
    """
    if model.is_rbm:
        nv, nh = model.sizes
        if min(nv, nh) > max_units:
            raise ConfigError(f"exact log Z: 2^{min(nv, nh)} states is too many")
        W = model.weights[0].astype(np.float64)
        b = model.biases[0].astype(np.float64)
        c = model.biases[1].astype(np.float64)
        if nh <= nv:
            h = np.array(list(itertools.product([0.0, 1.0], repeat=nh)))
            terms = h @ c + np.logaddexp(0.0, h @ W.T + b).sum(axis=1)
        else:
            v = np.array(list(itertools.product([0.0, 1.0], repeat=nv)))
            terms = -free_energy(model, v)
        m = terms.max()
        return float(m + np.log(np.exp(terms - m).sum()))
    total = sum(model.sizes)
    if total > max_units:
        raise ConfigError(f"exact log Z: 2^{total} joint states is too many")
    allx = np.array(list(itertools.product([0.0, 1.0], repeat=total)))
    states, start = [], 0
    for n in model.sizes:
        states.append(allx[:, start:start + n])
        start += n
    m64 = model.copy()
    m64.weights = [w.astype(np.float64) for w in m64.weights]
    m64.biases = [x.astype(np.float64) for x in m64.biases]
    m64.laterals = [None if u is None else u.astype(np.float64) for u in m64.laterals]
    terms = -energy(m64, states)
    m = terms.max()
    return float(m + np.log(np.exp(terms - m).sum()))


def rbm_log_likelihood(model, v, log_z):
    """``log p(v) = -F(v) - log Z`` for each row of ``v`` (nats)."""
    return -free_energy(model, v) - log_z
