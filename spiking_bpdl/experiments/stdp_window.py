"""STDP windows measured in Brian2: the pairing protocol and the emergent voltage-derivative window.

:func:`pair_window`
    The classic pairing protocol for :class:`~spiking_bpdl.plasticity.PairSTDP`: one
    synapse per time difference, a single pre and a single post spike each
    (``SpikeGeneratorGroup``), all in one run. Returns ``dw`` against ``dt = t_post - t_pre``.

:func:`voltage_derivative_window`
    The window that *emerges* from ``w += eta dV/dt`` at pre spikes
    (Bengio et al. 2015, Fig. 1). Protocol (the paper gives none; this one follows
    ``docs/stdp.md``):

    * one pre-synaptic spike at ``t_pre`` = the middle of the run (equal margins on both
      sides, so that a post spike is as likely to be found before as after it);
    * per condition (a slope ``s`` of the background drive, both signs, log-spaced
      magnitudes), ``trials`` LIF neurons whose reset-free membrane follows
      ``U(t) = V_c + s (t - t_pre) + n(t)``: the input is ``R I(t) = V_c + s (t - t_pre + tau_m) + n(t)``,
      with ``V_c`` (the free membrane at the pre spike) uniform in ``[v_reset, v_threshold)``,
      independent of the slope, and ``n`` an Ornstein-Uhlenbeck noise (filtered, so the
      membrane has a derivative);
    * the rule reads ``dU/dt`` (free membrane, default) or the real ``dv/dt`` exactly;
    * per condition: mean ``dT = t_post - t_pre`` (nearest post spike; trials without a
      post spike in the run are counted and left out) and mean ``dW``;
    * one exponential per side is fitted to the points ``(mean dT, mean dW)``.

    A steep rise reaches threshold soon after the pre spike (small ``dT > 0``, large
    ``dW > 0``); a falling membrane most likely fired before it (``dT < 0``, ``dW < 0``).
    Since ``dW ~ s`` and ``dT ~ (v_threshold - V_c)/s``, the curve is hyperbola-like, and the
    fitted time constants depend on the slope range: they are reported together with it.
"""

import numpy as np

from ..errors import ConfigError
from ..neurons import LIFParams
from ..plasticity import PairSTDP, VoltageDerivativeRule, derivative_lif_equations

__all__ = ["pair_window", "voltage_derivative_window", "fit_exponential_sides", "nearest_spike_dt"]

BI_POO_TAU_PLUS_MS = 16.8
BI_POO_TAU_MINUS_MS = 33.7


def _finish_run(net, duration, target, directory):
    import brian2 as b2

    net.run(duration * b2.second)
    if target == "cpp_standalone":
        b2.device.build(directory=directory, run=True)


def pair_window(rule=None, dt_max=100e-3, dt_step=1e-3, sim_dt=0.1e-3, target="numpy"):
    """Measure ``dw(dt)`` of a pair rule with one isolated spike pair per synapse.

    Parameters
    ----------
    rule : PairSTDP, optional
        Default: Bi & Poo time constants (16.8 / 33.7 ms), ``A_plus = 0.01``, balanced.
    dt_max, dt_step : float
        Time differences ``-dt_max .. +dt_max`` in steps of ``dt_step`` (seconds).
    sim_dt : float
        Simulation time step (seconds); spike times are multiples of it.
    target : {'numpy', 'cython', 'cpp_standalone'}

    Returns
    -------
    dict
        ``dt`` (s), ``dw``, ``expected`` (closed form ``rule.window(dt)``), ``rule``.
    """
    import brian2 as b2

    from ..codegen import use_target

    rule = rule or PairSTDP.balanced(A_plus=0.01, tau_plus=16.8e-3, tau_minus=33.7e-3, w_max=1.0)
    if not (dt_max > 0 and dt_step > 0 and sim_dt > 0):
        raise ConfigError("dt_max, dt_step and sim_dt must be > 0")
    n_half = int(round(dt_max / dt_step))
    dts = np.arange(-n_half, n_half + 1) * dt_step
    dts = np.round(dts / sim_dt) * sim_dt
    t0 = dt_max + 5 * sim_dt
    # w starts mid-range; w_max is raised so no pair is clipped by the hard bound
    rule_sim = rule.replace(w_max=max(rule.w_max, 4 * (rule.A_plus + rule.A_minus) + 1.0))
    w0 = rule_sim.w_max / 2
    with use_target(target) as directory:
        b2.start_scope()
        b2.defaultclock.dt = sim_dt * b2.second
        n = len(dts)
        idx = np.arange(n)
        pre = b2.SpikeGeneratorGroup(n, idx, np.full(n, t0) * b2.second)
        post = b2.SpikeGeneratorGroup(n, idx, (t0 + dts) * b2.second)
        syn = b2.Synapses(pre, post, **rule_sim.synapse_code().kwargs())
        syn.connect(j="i")
        syn.w = w0
        net = b2.Network(pre, post, syn)
        _finish_run(net, t0 + dt_max + 5 * sim_dt, target, directory)
        dw = np.array(syn.w[:], dtype=np.float64) - w0
    if rule.weight_dependence == "soft":
        expected = np.where(dts >= 0, rule.window(dts) * (1 - w0 / rule_sim.w_max), rule.window(dts) * w0 / rule_sim.w_max)
    else:
        expected = rule.window(dts)
    return {"dt": dts, "dw": dw, "expected": expected, "rule": rule}


def nearest_spike_dt(spike_i, spike_t, n, t_ref):
    """``t_post - t_ref`` of each neuron's spike nearest to ``t_ref`` (NaN without spikes).

    Ties (equal distance before and after) go to the later spike.
    """
    spike_i = np.asarray(spike_i, dtype=np.int64)
    d = np.asarray(spike_t, dtype=np.float64) - t_ref
    out = np.full(n, np.nan)
    if len(d) == 0:
        return out
    order = np.lexsort((np.abs(d) - 1e-12 * (d >= 0), spike_i))  # sort by neuron, then |d|
    si, sd = spike_i[order], d[order]
    first = np.ones(len(si), dtype=bool)
    first[1:] = si[1:] != si[:-1]
    out[si[first]] = sd[first]
    return out


def _fit_side(dt, dw, sign):
    """Fit ``dw = sign * a * exp(-|dt| / tau)`` on one side; returns (a, tau, r2)."""
    from scipy.optimize import curve_fit

    x, y = np.abs(dt), sign * dw
    ok = y > 0
    if ok.sum() < 3:
        return np.nan, np.nan, np.nan
    # start from a log-linear fit, then least squares on the linear scale
    slope, icpt = np.polyfit(x[ok], np.log(y[ok]), 1)
    tau0 = -1.0 / slope if slope < 0 else np.ptp(x) or 1.0
    try:
        (a, tau), _ = curve_fit(lambda x, a, tau: a * np.exp(-x / tau), x, y,
                                p0=(np.exp(icpt), tau0), maxfev=20000)
    except RuntimeError:
        return np.nan, np.nan, np.nan
    resid = y - a * np.exp(-x / tau)
    ss_tot = np.sum((y - y.mean()) ** 2)
    r2 = 1 - np.sum(resid**2) / ss_tot if ss_tot > 0 else np.nan
    return a, tau, r2


def fit_exponential_sides(dt, dw):
    """Fit one exponential to each side of a window.

    Returns
    -------
    dict
        ``tau_plus``/``tau_minus`` (same unit as ``dt``), amplitudes ``a_plus``/``a_minus``
        (positive), ``r2_plus``/``r2_minus`` on the linear scale.
    """
    dt, dw = np.asarray(dt, float), np.asarray(dw, float)
    a_p, tau_p, r2_p = _fit_side(dt[dt > 0], dw[dt > 0], +1)
    a_m, tau_m, r2_m = _fit_side(dt[dt < 0], dw[dt < 0], -1)
    return {"tau_plus": tau_p, "tau_minus": tau_m, "a_plus": a_p, "a_minus": a_m,
            "r2_plus": r2_p, "r2_minus": r2_m}


def voltage_derivative_window(params=None, slope_min=0.01, slope_max=0.05, n_slopes=8, trials=500,
                              noise_sigma=0.02, noise_tau=5e-3, margin=None, membrane="free",
                              sim_dt=0.1e-3, seed=0, target="numpy"):
    """The STDP window that emerges from ``w += eta dV/dt``.

    Parameters
    ----------
    params : LIFParams, optional
        Post-synaptic neuron (default: tau_m 20 ms, threshold 20 mV, reset 0, t_ref 2 ms).
    slope_min, slope_max : float
        Range of slope magnitudes of the free membrane, in units of ``v_threshold`` per ms
        (log-spaced; both signs are simulated).
    n_slopes : int
        Magnitudes per sign.
    trials : int
        Neurons per slope (one trial each, all in one network).
    noise_sigma : float
        Standard deviation of the OU noise in the drive, in units of ``v_threshold``.
    noise_tau : float
        OU correlation time (s).
    margin : float, optional
        Time simulated on each side of the pre spike (s); default ``1.5 / slope_min`` ms
        plus ``5 tau_m`` so that even the slowest ramp crosses threshold inside the run.
    membrane : {'free', 'real'}
        Read the derivative of the reset-free membrane ``U`` (default) or of the real ``v``.
    seed : int
    target : {'numpy', 'cython', 'cpp_standalone'}

    Returns
    -------
    dict
        ``slopes`` (V/s, per condition), ``mean_dt`` (s), ``mean_dw`` (``dW`` in units of
        ``v_threshold``/ms, i.e. ``eta = 1 ms / v_threshold``), ``sem_dt``, ``sem_dw``,
        ``n_valid`` (trials with a post spike), ``fit`` (:func:`fit_exponential_sides`, s),
        ``slope_range_per_ms`` and the settings.
    """
    import brian2 as b2

    from ..codegen import use_target

    p = params or LIFParams()
    if not (0 < slope_min < slope_max):
        raise ConfigError(f"need 0 < slope_min < slope_max, got {slope_min}, {slope_max}")
    if int(n_slopes) < 2 or int(trials) < 1:
        raise ConfigError("n_slopes must be >= 2 and trials >= 1")
    if membrane not in ("free", "real"):
        raise ConfigError(f"membrane must be 'free' or 'real', got {membrane!r}")
    if not (noise_sigma >= 0 and noise_tau > 0):
        raise ConfigError("noise_sigma must be >= 0 and noise_tau > 0")
    theta = p.v_threshold - p.v_reset
    mags = np.geomspace(slope_min, slope_max, int(n_slopes))
    slopes_rel = np.concatenate([-mags[::-1], mags])  # in theta per ms
    slopes = slopes_rel * theta / 1e-3  # V/s
    n_cond = len(slopes)
    n = n_cond * int(trials)
    if margin is None:
        margin = 1.5e-3 / slope_min + 5 * p.tau_m
    margin = float(np.round(margin / sim_dt) * sim_dt)
    t_pre = margin
    rng = np.random.default_rng(seed)
    cond = np.repeat(np.arange(n_cond), int(trials))
    v_c = p.v_reset + theta * rng.uniform(0, 1, n)
    ns = p.namespace()
    ns.update(t_pre=t_pre * b2.second, tau_n=noise_tau * b2.second, sigma_n=noise_sigma * theta * b2.volt)
    eqs = derivative_lif_equations(p, input_current="(V_c + slope*(t - t_pre + tau_m) + n)/R",
                                   free_membrane=True)
    eqs += b2.Equations("dn/dt = -n/tau_n + sigma_n*sqrt(2/tau_n)*xi : volt\n"
                        "V_c : volt (constant)\nslope : volt/second (constant)")
    variable = "dUdt" if membrane == "free" else "dvdt"
    eta = 1e-3 / theta  # dW in units of theta per ms
    rule = VoltageDerivativeRule(eta=eta, variable=variable)
    with use_target(target) as directory:
        b2.start_scope()
        b2.defaultclock.dt = sim_dt * b2.second
        b2.seed(seed)
        post = b2.NeuronGroup(n, eqs, threshold="v > v_threshold", reset="v = v_reset",
                              refractory="t_ref", method="euler", namespace=ns)
        post.V_c = v_c * b2.volt
        post.slope = slopes[cond] * b2.volt / b2.second
        # start on the stationary (noise-free) trajectory of the ramp
        u0 = v_c - slopes[cond] * t_pre
        n0 = noise_sigma * theta * rng.standard_normal(n)
        post.n = n0 * b2.volt
        post.U = u0 * b2.volt
        post.v = u0 * b2.volt
        pre = b2.SpikeGeneratorGroup(1, [0], [t_pre] * b2.second)
        syn = b2.Synapses(pre, post, **rule.synapse_code(post_namespace=ns).kwargs())
        syn.connect()
        mon = b2.SpikeMonitor(post)
        net = b2.Network(post, pre, syn, mon)
        _finish_run(net, 2 * t_pre + sim_dt, target, directory)
        dw = np.zeros(n)
        dw[np.array(syn.j[:])] = np.array(syn.w[:])
        spike_i, spike_t = np.array(mon.i[:]), np.array(mon.t[:])
    # the pre spike is processed at the end of its step: t_post == t_pre is simultaneous
    dt = nearest_spike_dt(spike_i, spike_t, n, t_pre)
    mean_dt = np.full(n_cond, np.nan)
    mean_dw = np.full(n_cond, np.nan)
    sem_dt = np.full(n_cond, np.nan)
    sem_dw = np.full(n_cond, np.nan)
    n_valid = np.zeros(n_cond, dtype=int)
    for c in range(n_cond):
        sel = (cond == c) & np.isfinite(dt)
        n_valid[c] = sel.sum()
        if n_valid[c] >= 2:
            mean_dt[c], mean_dw[c] = dt[sel].mean(), dw[sel].mean()
            sem_dt[c] = dt[sel].std(ddof=1) / np.sqrt(n_valid[c])
            sem_dw[c] = dw[sel].std(ddof=1) / np.sqrt(n_valid[c])
    ok = np.isfinite(mean_dt)
    fit = fit_exponential_sides(mean_dt[ok], mean_dw[ok])
    return {
        "slopes": slopes, "slopes_per_ms": slopes_rel, "mean_dt": mean_dt, "mean_dw": mean_dw,
        "sem_dt": sem_dt, "sem_dw": sem_dw, "n_valid": n_valid, "trials": int(trials),
        "fit": fit, "slope_range_per_ms": [float(slope_min), float(slope_max)],
        "membrane": membrane, "tau_m": p.tau_m, "margin": margin, "noise_sigma": noise_sigma,
        "noise_tau": noise_tau, "dt_all": dt, "dw_all": dw, "cond": cond,
    }
