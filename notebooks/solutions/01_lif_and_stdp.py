"""Solutions to the exercises of notebook 01 (one function per exercise cell, same name)."""

import numpy as np


def lif_rate_hz(current, params):
    drive = np.asarray(current, dtype=float) * params.R        # free membrane R*I (V)
    rate = np.zeros_like(drive)
    above = drive > params.v_threshold                         # below threshold: never fires
    d = drive[above]
    rate[above] = 1.0 / (params.t_ref + params.tau_m * np.log((d - params.v_reset) / (d - params.v_threshold)))
    return rate


def stdp_window(s, A_plus, A_minus, tau_plus, tau_minus):
    s = np.asarray(s, dtype=float)
    return np.where(s >= 0, A_plus * np.exp(-np.abs(s) / tau_plus), -A_minus * np.exp(-np.abs(s) / tau_minus))


def window_integrals(A_plus, A_minus, tau_plus, tau_minus):
    int_K = A_plus * tau_plus - A_minus * tau_minus
    int_sK = A_plus * tau_plus**2 + A_minus * tau_minus**2
    return int_K, int_sK
