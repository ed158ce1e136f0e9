"""Evaluation metrics shared by the models: Parzen-window log-likelihood, MSE, cosine.

The Parzen estimator follows Breuleux et al. (2011) and Goodfellow et al. (2014): an
isotropic Gaussian kernel of width ``sigma`` on each generated sample,

    log p(x) = logsumexp_i [ -||x - s_i||^2 / (2 sigma^2) ] - log n - d/2 log(2 pi sigma^2),

computed in chunks with log-sum-exp so memory stays bounded whatever the sample count.
"""

import numpy as np

__all__ = [
    "parzen_log_likelihood",
    "parzen_select_sigma",
    "mse",
    "cosine_similarity",
]


def parzen_log_likelihood(samples, data, sigma, chunk=500, max_bytes=256 << 20):
    """Log-likelihood of each row of ``data`` under a Gaussian Parzen window on ``samples``.

    Parameters
    ----------
    samples : ndarray, shape (n, d)
        Generated samples (the kernel centres).
    data : ndarray, shape (m, d)
        Points to evaluate.
    sigma : float
        Kernel standard deviation (> 0).
    chunk : int
        Rows of ``data`` evaluated together.
    max_bytes : int
        Memory bound for one chunk's distance matrix; ``chunk`` shrinks to respect it.

    Returns
    -------
    ndarray, shape (m,)
        ``log p(x)`` in nats for each row of ``data``.
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    samples = np.asarray(samples, dtype=np.float64)
    data = np.asarray(data, dtype=np.float64)
    n, d = samples.shape
    if data.shape[1] != d:
        raise ValueError(f"samples have {d} dimensions but data have {data.shape[1]}")
    chunk = max(1, min(chunk, max_bytes // (8 * max(n, 1))))
    s_sq = np.einsum("ij,ij->i", samples, samples)
    const = -np.log(n) - 0.5 * d * np.log(2 * np.pi * sigma**2)
    out = np.empty(len(data))
    for start in range(0, len(data), chunk):
        x = data[start : start + chunk]
        sq = np.einsum("ij,ij->i", x, x)[:, None] + s_sq[None, :] - 2.0 * x @ samples.T
        np.maximum(sq, 0.0, out=sq)
        a = -sq / (2 * sigma**2)
        amax = a.max(axis=1, keepdims=True)
        out[start : start + chunk] = (amax[:, 0] + np.log(np.exp(a - amax).sum(axis=1))) + const
    return out


def parzen_select_sigma(samples, validation, sigmas=None, **kwargs):
    """Choose the Parzen width that maximises the mean validation log-likelihood.

    Parameters
    ----------
    samples : ndarray, shape (n, d)
    validation : ndarray, shape (m, d)
    sigmas : sequence of float, optional
        Grid to search (default: 20 log-spaced values from 0.05 to 0.5).

    Returns
    -------
    best_sigma : float
    scores : dict
        ``{sigma: mean validation log-likelihood}`` for every grid value.
    """
    if sigmas is None:
        sigmas = np.logspace(np.log10(0.05), np.log10(0.5), 20)
    scores = {float(s): float(parzen_log_likelihood(samples, validation, s, **kwargs).mean()) for s in sigmas}
    best = max(scores, key=scores.get)
    return best, scores


def mse(a, b):
    """Mean squared error between two arrays of equal shape."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.mean((a - b) ** 2))


def cosine_similarity(a, b):
    """Cosine of the angle between two arrays, flattened."""
    a = np.ravel(np.asarray(a, dtype=np.float64))
    b = np.ravel(np.asarray(b, dtype=np.float64))
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom > 0 else 0.0
