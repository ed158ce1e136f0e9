"""Solutions to the exercises of notebook 02 (one function per exercise cell, same name)."""

import numpy as np


def rate_drift(rho_pre, rho_post, drho_post_dt, int_K, int_sK):
    return rho_pre * (int_K * rho_post + int_sK * drho_post_dt)


def pair_sum(pre_times, post_times, window):
    s = np.asarray(post_times)[None, :] - np.asarray(pre_times)[:, None]   # every pair: t_post - t_pre
    return float(np.sum(window(s)))


def update_cosine(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
