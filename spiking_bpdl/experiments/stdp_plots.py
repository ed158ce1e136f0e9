"""Figures of the STDP experiments. Plotting only: nothing here runs a simulation."""

import numpy as np

__all__ = ["plot_pair_window", "plot_voltage_derivative_window", "plot_match_scatter",
           "plot_convergence", "plot_weight_histogram", "plot_gradient_match"]


def _plt():
    # No backend is forced: matplotlib picks Agg by itself without a display, and forcing it here
    # would switch off the inline backend of a Jupyter kernel (notebooks would show no figures).
    import matplotlib.pyplot as plt

    return plt


def plot_pair_window(result, ax=None):
    """``dw`` against ``dt`` of :func:`~spiking_bpdl.experiments.stdp_window.pair_window`."""
    plt = _plt()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.5))
    dt_ms = np.asarray(result["dt"]) * 1e3
    ax.plot(dt_ms, result["expected"], "-", color="0.6", lw=3, label="closed form K(dt)")
    ax.plot(dt_ms, result["dw"], ".", color="C0", ms=4, label="Brian2, one pair per synapse")
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("dt = t_post - t_pre (ms)")
    ax.set_ylabel("dw")
    ax.set_title("pair STDP window")
    ax.legend(frameon=False, fontsize=8)
    return fig or ax.figure


def plot_voltage_derivative_window(result, ax=None, label=None):
    """Mean ``dW`` against mean ``dT`` per slope, with the fitted exponentials."""
    plt = _plt()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.5))
    dt = np.asarray(result["mean_dt"]) * 1e3
    dw = np.asarray(result["mean_dw"])
    ax.errorbar(dt, dw, xerr=np.asarray(result["sem_dt"]) * 1e3, yerr=result["sem_dw"], fmt="o",
                ms=4, label=label or f"slopes {result['slope_range_per_ms'][0]:g}-{result['slope_range_per_ms'][1]:g} θ/ms")
    fit = result["fit"]
    for sign, a, tau in ((1, fit["a_plus"], fit["tau_plus"]), (-1, fit["a_minus"], fit["tau_minus"])):
        if np.isfinite(tau):
            x = np.linspace(0.5, np.nanmax(np.abs(dt)), 200)
            ax.plot(sign * x, sign * a * np.exp(-x / (tau * 1e3)), "-", color="0.4", lw=1)
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("mean ΔT = t_post − t_pre (ms)")
    ax.set_ylabel("mean ΔW (θ/ms × η)")
    ax.set_title(f"emergent window: τ+ {fit['tau_plus']*1e3:.1f} ms, τ− {fit['tau_minus']*1e3:.1f} ms")
    ax.legend(frameon=False, fontsize=8)
    return fig or ax.figure


def plot_match_scatter(measured, predicted, ax=None, title="", xlabel="prediction", sem=None):
    """Measured mean update per synapse against a prediction, with the identity line."""
    plt = _plt()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 4))
    measured, predicted = np.asarray(measured).ravel(), np.asarray(predicted).ravel()
    if sem is not None:
        ax.errorbar(predicted, measured, yerr=np.asarray(sem).ravel(), fmt=".", ms=3, alpha=0.5, lw=0.5)
    else:
        ax.plot(predicted, measured, ".", ms=3, alpha=0.6)
    lo = min(predicted.min(), measured.min())
    hi = max(predicted.max(), measured.max())
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("measured mean Δw")
    ax.set_title(title, fontsize=9)
    return fig or ax.figure


def plot_convergence(n_trials, pearson_r, ax=None, labels=None):
    """Pearson r against the number of trials (one curve per row of ``pearson_r``)."""
    plt = _plt()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
    r = np.atleast_2d(pearson_r)
    for k, row in enumerate(r):
        ax.plot(n_trials, row, "o-", ms=3, label=None if labels is None else labels[k])
    ax.set_xscale("log")
    ax.set_xlabel("trials")
    ax.set_ylabel("Pearson r")
    ax.set_ylim(min(0, np.nanmin(r)), 1.01)
    ax.axhline(1, color="k", lw=0.5)
    if labels is not None:
        ax.legend(frameon=False, fontsize=8)
    return fig or ax.figure


def plot_weight_histogram(weights, w_max, ax=None, title="final weights"):
    """Histogram of final weights in units of ``w_max`` (Song-Miller-Abbott)."""
    plt = _plt()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.hist(np.asarray(weights) / w_max, bins=40, range=(0, 1), color="C0")
    ax.set_xlabel("w / g_max")
    ax.set_ylabel("synapses")
    ax.set_title(title)
    return fig or ax.figure


def plot_gradient_match(update, gradient, ax=None, title=""):
    """Mean STDP update matrix against −∂J/∂W, entry by entry.

    The two have different units (pair sums against Hz² per volt), so the gradient is drawn
    times the least-squares scale ``k = <u, g> / <g, g>``; the identity line then shows the
    direction match that the cosine measures."""
    u, g = np.ravel(update), np.ravel(gradient)
    k = float(np.dot(u, g) / np.dot(g, g))
    return plot_match_scatter(update, k * np.asarray(gradient), ax=ax, title=title,
                              xlabel=f"−∂J/∂W of the rate twin × {k:.3g} (least-squares scale)")
