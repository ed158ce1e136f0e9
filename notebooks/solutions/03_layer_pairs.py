"""Solutions to the exercises of notebook 03 (one function per exercise cell, same name)."""

import numpy as np


def delta_rule_dV(h, r_target, r_free, eta):
    return eta * h.T @ (r_target - r_free)


def reconstruction_mse(x, x_hat):
    return float(np.mean((np.asarray(x_hat) - np.asarray(x)) ** 2))
