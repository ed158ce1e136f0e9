"""Central finite differences, shared by the gradient tests."""

import numpy as np


def numeric_grad(loss, param, eps=1e-6):
    """d loss() / d param by central differences, perturbing ``param`` in place entry by entry."""
    g = np.zeros_like(param)
    for idx in np.ndindex(param.shape):
        old = param[idx]
        param[idx] = old + eps
        up = loss()
        param[idx] = old - eps
        down = loss()
        param[idx] = old
        g[idx] = (up - down) / (2 * eps)
    return g
