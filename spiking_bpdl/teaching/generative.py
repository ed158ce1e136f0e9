"""Checks for the exercises of ``notebooks/04_generative_targetprop.ipynb``.

Each ``check_<name>(func)`` runs the student's ``func`` and the library's own implementation on
fresh inputs (small random layer pairs and models, not the notebook's) and reports through
:func:`spiking_bpdl.teaching.report`: a wrong answer raises ``AssertionError`` with a hint, an
unfinished exercise's ``NotImplementedError`` propagates.
"""

import numpy as np

from ..metrics import parzen_log_likelihood
from ..models.targetprop import TargetPropConfig, TargetPropModel
from ..rate.layer_pair import LayerPair
from ._compare import check_close

__all__ = ["check_target_prop_step", "check_inference_step", "check_parzen_log_likelihood"]


def _random_pair(n_in, n_out, f_act, g_act, rng):
    """A layer pair with every parameter random (a fresh pair's decoder is constant: too easy)."""
    pair = LayerPair(n_in, n_out, f_act, g_act, rng)
    pair.set_parameters({k: rng.normal(0, 0.8, v.shape) for k, v in pair.parameters().items()})
    return pair


def check_target_prop_step(target_prop_step):
    """Exercise 1: ``target_prop_step(pair, upper, lower)`` = ``f(lower) - f(g(upper))``.

    Compared with :meth:`spiking_bpdl.rate.layer_pair.LayerPair.target_prop_step` on random pairs
    of both activation orders.

    Parameters
    ----------
    target_prop_step : callable
        ``(pair, upper, lower) -> ndarray`` of the upper layer's shape.
    """
    rng = np.random.default_rng(2015)
    got, want = [], []
    for f_act, g_act in (("softplus", "sigmoid"), ("sigmoid", "softplus")):
        pair = _random_pair(11, 6, f_act, g_act, rng)
        lower = rng.random((5, 11)).astype(np.float32)
        upper = rng.random((5, 6)).astype(np.float32)
        got.append(target_prop_step(pair, upper.copy(), lower.copy()))
        want.append(pair.target_prop_step(upper, lower))
    check_close("Exercise 1 (target_prop_step)", got, want, rtol=1e-5, atol=1e-6,
                what="f(lower) - f(g(upper)) for two random pairs",
                hint="Encode the lower layer with pair.encode; decode the upper layer with pair.decode and "
                     "encode that reconstruction; return the first minus the second (upper layer's shape).")


def check_inference_step(inference_step):
    """Exercise 2: one iteration of INFERENCE (Algorithm 2), returning ``(h1, h2)``.

    Compared with ``TargetPropModel.infer(x, n_steps=1, h_init=(h1, h2))`` on a small model
    with random parameters, for two ``(delta, alpha)`` settings.

    Parameters
    ----------
    inference_step : callable
        ``(model, x, h1, h2, delta, alpha) -> (h1, h2)``.
    """
    rng = np.random.default_rng(1502)
    model = TargetPropModel(TargetPropConfig(n_visible=16, n_h1=9, n_h2=4), rng=rng)
    for pair in model.pairs:
        pair.set_parameters({k: rng.normal(0, 0.8, v.shape) for k, v in pair.parameters().items()})
    x = rng.random((6, 16)).astype(np.float32)
    # h1 >= 0 and h2 in [0, 1]: infer() clips its starting point, so start inside the ranges
    h1 = rng.random((6, 9)).astype(np.float32) * 2
    h2 = rng.random((6, 4)).astype(np.float32)
    got, want = [], []
    for delta, alpha in ((0.1, 0.001), (0.5, 0.3)):
        got.append(inference_step(model, x.copy(), h1.copy(), h2.copy(), delta, alpha))
        want.append(tuple(model.infer(x, n_steps=1, delta=delta, alpha=alpha, h_init=(h1, h2))))
    check_close("Exercise 2 (inference_step)", got, want, rtol=1e-5, atol=1e-6,
                what="(h1, h2) after one step, two (delta, alpha) settings",
                hint="Update h2 first: h2 + delta * target_prop_step(pair2, h2, h1). Then h1, with the NEW h2: "
                             "h1 + delta * target_prop_step(pair1, h1, x) + alpha * (pair2.decode(h2) - h1); "
                     "then clip (h1 >= 0, h2 in [0, 1]) and return (h1, h2).")


def check_parzen_log_likelihood(parzen_log_likelihood_fn):
    """Exercise 3: the Parzen-window log-likelihood of each data row.

    Compared with :func:`spiking_bpdl.metrics.parzen_log_likelihood`, at a wide and at a
    narrow kernel (where exp of the log-kernels underflows: log-sum-exp is needed).

    Parameters
    ----------
    parzen_log_likelihood_fn : callable
        ``(samples, data, sigma) -> ndarray`` of shape ``(len(data),)``.
    """
    rng = np.random.default_rng(2011)
    samples = rng.random((40, 7))
    data = rng.random((13, 7))
    got, want = [], []
    for sigma in (0.8, 0.005):
        got.append(parzen_log_likelihood_fn(samples.copy(), data.copy(), sigma))
        want.append(parzen_log_likelihood(samples, data, sigma))
    check_close("Exercise 3 (parzen_log_likelihood)", got, want, rtol=1e-7, atol=1e-7,
                what="log p(x) of 13 points, sigma = 0.8 and 0.005",
                hint="log p(x) = logsumexp_i(-||x - s_i||^2 / (2 sigma^2)) - log n - d/2 log(2 pi sigma^2). "
                     "Use scipy.special.logsumexp (a plain log(mean(exp(...))) gives -inf at small sigma) and "
                     "do not forget -log n (a MEAN of the kernels) and the Gaussian's normalisation.")
