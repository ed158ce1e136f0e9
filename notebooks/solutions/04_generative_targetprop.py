"""Solutions of the exercises in 04_generative_targetprop.ipynb (one function per exercise cell)."""

import numpy as np
from scipy.special import logsumexp


def target_prop_step(pair, upper, lower):
    """Target-propagation estimate of where ``upper`` should move: ``f(lower) - f(g(upper))``."""
    return pair.encode(lower) - pair.encode(pair.decode(upper))


def inference_step(model, x, h1, h2, delta=0.1, alpha=0.001):
    """One iteration of INFERENCE (Algorithm 2); returns the new ``(h1, h2)``."""
    pair1, pair2 = model.pairs
    h2 = h2 + delta * target_prop_step(pair2, h2, h1)
    h1 = h1 + delta * target_prop_step(pair1, h1, x) + alpha * (pair2.decode(h2) - h1)
    # the paper keeps h1 >= 0 (softplus units) and h2 in [0, 1] (sigmoid units)
    return np.maximum(h1, 0), np.clip(h2, 0, 1)


def parzen_log_likelihood(samples, data, sigma):
    """``log p(x)`` of each row of ``data`` under Gaussian kernels of width ``sigma`` on ``samples``."""
    n, d = samples.shape
    # squared distances without a (rows, samples, pixels) array: |x|^2 + |s|^2 - 2 x.s
    sq = (data**2).sum(1)[:, None] + (samples**2).sum(1)[None, :] - 2 * data @ samples.T
    log_kernels = -np.maximum(sq, 0) / (2 * sigma**2) - 0.5 * d * np.log(2 * np.pi * sigma**2)
    return logsumexp(log_kernels, axis=1) - np.log(n)
