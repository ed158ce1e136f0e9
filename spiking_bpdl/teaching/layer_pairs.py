"""Checks for the exercises of notebook 03 (layer pairs with feedback).

Each ``check_<name>(func)`` calls the student's ``func`` on a fresh random layer pair, compares
the answer with the library's own implementation (:func:`spiking_bpdl.rate.lif_layer_pair.rate_rule_updates`,
:func:`spiking_bpdl.rate.lif_layer_pair.reconstruction_loss`) and prints ``correct`` or raises
``AssertionError`` with a hint. A stub's ``NotImplementedError`` propagates.
"""

import numpy as np

from ..rate.lif_layer_pair import LayerPairConfig, forward, rate_rule_updates, reconstruction_loss
from ._steps import check_steps

__all__ = ["check_delta_rule_dV", "check_reconstruction_mse"]


def _random_pair(rng, n_in=9, n_hidden=5, batch=3):
    """A small layer pair with random weights and images (rate twin only: cheap)."""
    cfg = LayerPairConfig(name="exercise", n_in=n_in, n_hidden=n_hidden, nudge=rng.uniform(0.5, 3.0),
                          feedback_gain=0.2, A_plus_V=rng.uniform(1e-4, 2e-3))
    x = rng.uniform(0, 1, (batch, n_in))
    W = rng.normal(0, 0.05, (n_in, n_hidden))
    V = rng.normal(0, 0.05, (n_hidden, n_in))
    return cfg, x, W, V


def check_delta_rule_dV(func, seed=None):
    """Exercise 1: ``func(h, r_target, r_free, eta)`` is the rate rule's change of ``V``.

    Compared with ``dV`` of :func:`~spiking_bpdl.rate.lif_layer_pair.rate_rule_updates` on a
    random layer pair, where ``h`` is the hidden rate (mean of both phases), ``r_free`` and
    ``r_target`` the reconstruction rates of the free and the target phase, summed over a batch.

    Parameters
    ----------
    func : callable
        ``h`` is ``(batch, n_hidden)``, ``r_target`` and ``r_free`` are ``(batch, n_in)``.
    seed : int, optional
        Seed of the random inputs (default: fresh ones).

    Raises
    ------
    AssertionError
        When ``dV`` differs from the library's.
    """
    rng = np.random.default_rng(seed)
    cfg, x, W, V = _random_pair(rng)
    _, dV, info = rate_rule_updates(x, x, W, V, cfg)
    h = 0.5 * (info["rho_h"] + info["rho_h_t"])
    # entries near 0 (cancelling rate changes) get an absolute tolerance on the scale of the update
    check_steps("Exercise 1 (delta rule)", [dict(
        got=func(h, info["rho_r_t"], info["rho_r"], cfg.eta_V), want=dV, rtol=1e-9,
        atol=1e-9 * float(np.max(np.abs(dV))), what="dV",
        hint="dV[j, i] = eta * sum over the batch of h[:, j] * (r_target[:, i] - r_free[:, i]): "
             "eta * h.T @ (r_target - r_free), shape (n_hidden, n_in); the sign makes the "
             "reconstruction move toward its target.")])


def check_reconstruction_mse(func, seed=None):
    """Exercise 2: ``func(x, x_hat)`` is the per-pixel mean squared error over all images.

    Compared with :func:`~spiking_bpdl.rate.lif_layer_pair.reconstruction_loss` of a random layer
    pair (the number ``val_mse`` and ``test_mse`` report).

    Parameters
    ----------
    func : callable
        ``x`` and ``x_hat`` are ``(n_images, n_pixels)``.
    seed : int, optional
        Seed of the random inputs (default: fresh ones).

    Raises
    ------
    AssertionError
        When the error differs from the library's.
    """
    rng = np.random.default_rng(seed)
    cfg, x, W, V = _random_pair(rng, batch=4)
    check_steps("Exercise 2 (reconstruction MSE)", [dict(
        got=func(x, forward(x, W, V, cfg)), want=reconstruction_loss(x, W, V, cfg), rtol=1e-9, what="MSE",
        hint="One number: the mean over images AND pixels of (x_hat - x)**2 (not a sum, not per image, "
             "no square root).")])
