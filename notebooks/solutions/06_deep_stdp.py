"""Solutions of the exercises in 06_deep_stdp.ipynb (one function per exercise cell)."""

import numpy as np


def delta_rule(rho_pre, rho_free, rho_target, eta):
    """The output projection's update ``eta * rho_pre.T @ (rho_target - rho_free)``, summed over the batch."""
    return eta * np.asarray(rho_pre).T @ (np.asarray(rho_target) - np.asarray(rho_free))


def x_tar(A_plus, A_minus, tau_minus, m, free_phase, target_phase, onset):
    """Offset of pre-centred pair STDP: ``A_minus tau_minus^2 (1 - exp(-L/tau_minus)) m / (A_plus L)``, ``L`` the window."""
    L = min(free_phase - onset, target_phase)
    return A_minus * tau_minus**2 * (1 - np.exp(-L / tau_minus)) * m / (A_plus * L)


def mirrored_window(rule, s):
    """The reciprocal feedback synapse's window: the forward window at the forward's interval ``-s``."""
    return rule.window(-np.asarray(s, dtype=float))
