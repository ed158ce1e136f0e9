"""Solutions of the exercises in 05_vpf.ipynb (one function per exercise cell)."""

import numpy as np

from spiking_bpdl.models.boltzmann import all_inputs, sigmoid


def flip_energy_difference(x, a):
    """``E(x with bit n flipped) - E(x)`` for every unit: ``s_n a_n`` with ``s_n = 2 x_n - 1``."""
    return (2 * x - 1) * a


def flow_objective(model, states):
    """The probability flow ``K`` out of the batch's states into their one-flip neighbours, per example."""
    inputs = all_inputs(model, states)
    flow = sum(np.exp(-0.5 * flip_energy_difference(x, a)).sum() for x, a in zip(states, inputs))
    return flow / len(states[0])


def cd1_weight_update(W, b, c, v, rng):
    """CD-1 ascent direction of an RBM's weights for the batch ``v``."""
    ph = sigmoid(v @ W + c)                                            # P(h = 1 | v): data phase
    h = (rng.random(ph.shape, dtype=ph.dtype) < ph).astype(ph.dtype)   # one sample of h
    pv = sigmoid(h @ W.T + b)                                          # the reconstruction P(v = 1 | h)
    ph2 = sigmoid(pv @ W + c)                                          # P(h = 1 | reconstruction)
    return (v.T @ ph - pv.T @ ph2) / len(v)
