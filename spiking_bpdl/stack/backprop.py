"""Exact backprop through the stack's rate forward pass.

The loss is the squared error of the top layer's rates in target units,

    J = 1/2 sum_batch || rho_n / R - y ||^2 ,

not a cross-entropy: it is the loss whose gradient the twin's output rule follows
(``d f_n = eta rho_(n-1) (rho_n^ - rho_n) = -(eta beta R / tau_m) dJ/df_n + O(beta^2)``, tested),
so backprop and the twin optimize the same objective and their accuracy gap measures the
learning rule, not the loss. The gradient is that of the network as computed: the
transfer function is the piecewise-linear table of
:func:`spiking_bpdl.rate.lif_layer_pair.transfer` and its derivative the slope of the segment
(:func:`spiking_bpdl.rate.lif_layer_pair.transfer_derivative`), checked by finite differences.
Only the forward projections have gradients; biases are fixed.
"""

import numpy as np

from ..rate.lif_layer_pair import transfer_derivative
from .twin import free_phase, output

__all__ = ["loss", "gradients"]


def loss(cfg, weights, x, y):
    """``J = 1/2 sum || rho_n / R - y ||^2`` of the free-phase forward pass (summed over the batch)."""
    _, rates = free_phase(cfg, weights, x)
    return 0.5 * float(np.sum((output(cfg, rates) - y) ** 2))


def gradients(cfg, weights, x, y):
    """Gradients of :func:`loss` with respect to every forward projection.

    Parameters
    ----------
    cfg : StackConfig
    weights : dict of str to ndarray
    x : ndarray (batch, n_0)
    y : ndarray (batch, n_n)

    Returns
    -------
    grads : dict of str to ndarray
        ``dJ / d f_l`` for every forward projection (frozen ones included, for diagnostics).
    J : float
    info : dict
        ``drives`` and ``rates`` of the forward pass and ``deltas`` (``dJ / d a_l``).
    """
    drives, rates = free_phase(cfg, weights, x)
    err = output(cfg, rates) - y
    n = len(cfg.layers) - 1
    dtype = rates[-1].dtype
    grads, deltas = {}, [None] * (n + 1)
    d_rate = err / cfg.target_rate  # dJ / d rho_n
    for l in range(n, 0, -1):
        layer = cfg.layers[l]
        delta = d_rate * transfer_derivative(drives[l], layer).astype(dtype, copy=False)  # dJ / d a_l
        deltas[l] = delta
        W = weights[cfg.forward(l).name]
        grads[cfg.forward(l).name] = layer.tau_m * (rates[l - 1].T @ delta)
        if l > 1:
            d_rate = layer.tau_m * (delta @ W.T)
    return grads, 0.5 * float(np.sum(err ** 2)), {"drives": drives, "rates": rates, "deltas": deltas}
