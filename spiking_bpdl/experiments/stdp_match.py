"""Spiking STDP updates against the rate-based gradient rule (part B; part C, the wired
learning layer, is :mod:`spiking_bpdl.experiments.stdp_gradient`).

Setting
-------
``N`` pre-synaptic Poisson neurons with constant rates ``rho_pre,i`` and ``M``
post-synaptic LIF neurons (white-noise input for the pair rule, Ornstein-Uhlenbeck
input for the voltage-derivative rule, which needs a differentiable membrane) whose mean
drive ``mu_j(t)`` (the free membrane, volts) ramps linearly, so that their rates
``rho_post,j(t) = f(mu_j(t))`` change at known speeds. Every pre neuron connects to
every post neuron of its *replica*; ``R`` replicas (trials) live in ONE Brian2 network and
are simulated by ONE ``run()``.

Plasticity window (a decision the issue leaves open)
----------------------------------------------------
The run is ``[0, T + 2 margin]``; the plasticity window is ``W = [a, b] = [margin, margin + T]``.
The main measurement is *pre-centred*: every pre spike inside ``W`` is paired with every
post spike, also those in the margins. This is exactly the accounting behind the
Taylor expansion ``E[dW/dt] = rho_pre [(int K) rho_post + (int sK) rho_post']``, so
the derivative form needs no edge correction. The same synapses also record the *box*
window (both spikes inside ``W``), whose edge terms are worked out in :func:`edge_terms`
and measured too.

The synapses record, per synapse, the unit-amplitude sums ``P = sum exp(-s/tau_plus)``
(pre-centred, ``s > 0``) and ``D = sum exp(s/tau_minus)`` (``s < 0``) and their box
versions, so that *any* pair window with these time constants is ``dw = A_plus P - A_minus D``:
balanced and unbalanced windows come from one run.

Predictions (no fitted scale) and what each comparison shows
------------------------------------------------------------
(1) kernel-rate -- *bookkeeping*, not theory:
    ``sum_i int_W dt rho_pre,i int ds K(s) rho_post,j(t+s)`` with the trial-averaged post rate
    (PSTH). With constant ``rho_pre`` this equals ``rho_pre,i * (1/R) sum_k G(t_k)`` over the
    post spikes ``t_k`` of neuron ``j`` in all replicas, with ``G(t') = int_W K(t' - t) dt`` in
    closed form (a PSTH with zero bin width). It uses the same post spikes as the measurement
    and replaces only the independent Poisson pre trains by their rate, so given those post
    spikes it is exactly the expected measurement, for *any* post train. It checks the pair
    accounting (window, gating, time grid), not whether the rates follow a theory.
(2) analytic -- the *rate theory*, nothing measured: the LIF transfer function of the
    neuron's imposed input trajectory (Siegert for white noise), in derivative form
    ``eta_eff rho_pre (rho(b) - rho(a)) + (int K) rho_pre int_W rho dt``. This is the test
    that post neurons follow the transfer function and that STDP on them is the rate rule.
"""

import time

import numpy as np

from ..errors import ConfigError
from ..neurons import LIFParams, siegert_rate
from ..plasticity import PairSTDP, VoltageDerivativeRule, derivative_lif_equations

__all__ = [
    "MatchSetup",
    "default_setup",
    "run_replicated",
    "window_kernel_integral",
    "kernel_rate_prediction",
    "analytic_prediction",
    "analytic_check",
    "edge_terms",
    "regression",
    "regression_bootstrap",
    "per_trial_kernel_rate",
    "convergence",
    "match_experiment",
    "COMPARISONS",
    "drive_for_rate",
]


#: What each comparison of part B shows (also written to the ``stdp-match`` JSON).
COMPARISONS = {
    "kernel_rate": ("bookkeeping: the expected update given the measured post spikes (only the independent "
                    "Poisson pre trains replaced by their rate); checks the pair accounting, window and time grid, "
                    "not the rate theory"),
    "analytic": ("theory: Siegert rate of the imposed drive trajectory in derivative form, nothing measured; "
                 "tests that STDP on LIF neurons follows the rate rule eta_eff rho_pre d rho_post/dt"),
}


def _primitive(s, A_plus, A_minus, tau_plus, tau_minus):
    """``F(s) = int_{-inf}^{s} K``."""
    s = np.asarray(s, float)
    neg = -A_minus * tau_minus * np.exp(np.minimum(s, 0) / tau_minus)
    pos = -A_minus * tau_minus + A_plus * tau_plus * (1 - np.exp(-np.maximum(s, 0) / tau_plus))
    return np.where(s < 0, neg, pos)


def window_kernel_integral(t_post, a, b, A_plus, A_minus, tau_plus, tau_minus, box=False, dt=0.0):
    """``G(t') = int_a^b K(t' - t) dt``: the summed window seen by a post spike at ``t'``
    from pre spikes spread uniformly (unit rate) over ``[a, b]``.

    With ``box=True`` post spikes outside ``[a, b]`` get 0 (both spikes must be in the window).
    ``dt`` > 0 adds the time-grid correction: on a grid the sum over pairs is
    ``sum_k K(k dt) dt``, whose ``s = 0`` term (a pre and a post spike in the same step count
    as potentiation, ``K(0) = A_plus``) makes the effective integral larger by
    ``(A_plus + A_minus) dt / 2`` (Euler-Maclaurin at the jump of K).
    """
    t_post = np.asarray(t_post, float)
    g = (_primitive(t_post - a, A_plus, A_minus, tau_plus, tau_minus)
         - _primitive(t_post - b, A_plus, A_minus, tau_plus, tau_minus))
    if dt:
        g = g + (A_plus + A_minus) * dt / 2 * ((t_post >= a) & (t_post < b))
    if box:
        g = np.where((t_post >= a) & (t_post <= b), g, 0.0)
    return g


def drive_for_rate(rate, params, lo=None, hi=None):
    """Mean free-membrane drive (V) that gives ``rate`` (Hz) under :func:`~spiking_bpdl.neurons.siegert_rate`."""
    from scipy.optimize import brentq

    lo = params.v_reset - 5 * params.sigma - 0.02 if lo is None else lo
    hi = params.v_threshold + 10 * params.sigma + 0.1 if hi is None else hi
    out = []
    for r in np.atleast_1d(rate):
        out.append(brentq(lambda mu: siegert_rate(mu / params.R, params) - r, lo, hi, xtol=1e-9))
    return np.array(out)


class MatchSetup(dict):
    """Settings of a replicated ramp experiment (SI floats).

    Keys: ``pre_rates`` (N,), ``mu_a``/``mu_b`` (M,) drive at the window's start/end,
    ``T``, ``margin``, ``hold`` (drive constant outside W instead of extending the ramp),
    ``params`` (LIFParams; ``sigma`` = white noise for the pair rule), ``ou_sigma``/``ou_tau``
    (OU noise, voltage-derivative rule), ``coupling`` (V per pre spike for the extra
    *driven* post neurons, 0 = none), ``dt``.
    """


def default_setup(n_pre=20, n_post=20, T=0.25, margin=0.1, params=None, rate_lo=5.0, rate_hi=55.0,
                  pre_lo=10.0, pre_hi=80.0, coupling=0.5e-3, dt=0.1e-3):
    """Part B's default: pre rates spread over ``[pre_lo, pre_hi]`` Hz; post rates ramping
    between ``rate_lo`` and ``rate_hi`` Hz, up or down, at ``n_post`` different speeds
    (from the full swing in ``T`` down to a flat line)."""
    params = params or LIFParams(sigma=5e-3)
    pre_rates = np.linspace(pre_lo, pre_hi, n_pre)
    mid = 0.5 * (rate_lo + rate_hi)
    swing = np.linspace(-1, 1, n_post) * 0.5 * (rate_hi - rate_lo)
    r_a, r_b = mid - swing, mid + swing
    return MatchSetup(pre_rates=pre_rates, mu_a=drive_for_rate(r_a, params), mu_b=drive_for_rate(r_b, params),
                      T=float(T), margin=float(margin), hold=False, params=params, ou_sigma=5e-3, ou_tau=5e-3,
                      coupling=float(coupling), dt=float(dt))


def run_replicated(setup, rule, trials, seed=0, target="cython"):
    """Simulate ``trials`` replicas in one network and return per-trial, per-synapse sums.

    Parameters
    ----------
    setup : MatchSetup
    rule : PairSTDP or VoltageDerivativeRule
        Only the time constants of a PairSTDP are used (the sums have unit amplitudes).
    trials : int
    seed : int
    target : {'numpy', 'cython', 'cpp_standalone'}

    Returns
    -------
    dict
        For a pair rule: ``P``, ``D`` (pre-centred), ``Pb``, ``Db`` (box), shape
        (trials, groups, N, M) where ``groups`` is 1, or 2 when driven (coupled) post neurons
        are simulated too (index 1). For the voltage-derivative rule: ``dw`` (same shape,
        with ``eta`` applied) and ``U_a``/``U_b`` (free membrane at the window's edges).
        Always: ``post_spikes`` (list per group of (neuron j, time) arrays over replicas),
        ``pre_counts`` (trials, N) in W, ``wall_s``, ``n_synapses``.
    """
    import brian2 as b2

    from ..codegen import use_target

    pair = isinstance(rule, PairSTDP)
    if not pair and not isinstance(rule, VoltageDerivativeRule):
        raise ConfigError("rule must be a PairSTDP or a VoltageDerivativeRule")
    trials = int(trials)
    if trials < 1:
        raise ConfigError("trials must be >= 1")
    p = setup["params"]
    pre_rates = np.asarray(setup["pre_rates"], float)
    mu_a, mu_b = np.asarray(setup["mu_a"], float), np.asarray(setup["mu_b"], float)
    N, M = len(pre_rates), len(mu_a)
    T, margin, step = setup["T"], setup["margin"], setup["dt"]
    with_coupling = setup.get("coupling", 0.0) > 0 and pair
    groups = 2 if with_coupling else 1
    Mg = groups * M  # post neurons per replica
    a, b = margin, margin + T
    duration = T + 2 * margin
    n_pre, n_post = trials * N, trials * Mg
    # per post neuron: ramp parameters, coupled flag and a drive offset that removes the
    # mean input of the coupled synapses (so both groups have the same mean drive)
    j_local = np.tile(np.arange(Mg), trials)
    jm = j_local % M
    is_coupled = (j_local >= M).astype(float)
    ramp_slope = (mu_b - mu_a)[jm] / T
    offset = is_coupled * setup.get("coupling", 0.0) * p.tau_m * pre_rates.sum()
    mu_start = mu_a[jm] - offset
    lo_s, hi_s = (0.0, T) if setup.get("hold") else (-margin, T + margin)
    ns = p.namespace()
    ns.update(t_a=a * b2.second, t_lo=lo_s * b2.second, t_hi=hi_s * b2.second)
    gate_values = np.zeros(int(round(duration / step)) + 2)
    steps = np.arange(len(gate_values)) * step
    gate_values[(steps >= a - 1e-12) & (steps < b - 1e-12)] = 1.0
    drive = "(mu0 + k_mu*clip(t - t_a, t_lo, t_hi))"
    # synapse index arrays: pre r*N + i  ->  post r*Mg + j
    r_idx = np.repeat(np.arange(trials), N * Mg)
    i_loc = np.tile(np.repeat(np.arange(N), Mg), trials)
    j_loc = np.tile(np.tile(np.arange(Mg), N), trials)
    syn_i = r_idx * N + i_loc
    syn_j = r_idx * Mg + j_loc
    t0 = time.perf_counter()
    with use_target(target) as directory:
        b2.start_scope()
        b2.seed(seed)
        b2.defaultclock.dt = step * b2.second
        gate = b2.TimedArray(gate_values, dt=step * b2.second)
        ns["gate"] = gate
        if pair:
            eqs = b2.Equations(
                f"dv/dt = (-v + {drive} + I_syn*R)/tau_m + sigma*sqrt(2/tau_m)*xi : volt (unless refractory)\n"
                "I_syn : amp\nmu0 : volt (constant)\nk_mu : volt/second (constant)\n")
            method = "euler"
        else:
            eqs = derivative_lif_equations(p, input_current=f"({drive} + n_ou)/R", free_membrane=True)
            eqs += b2.Equations("dn_ou/dt = -n_ou/tau_ou + sigma_ou*sqrt(2/tau_ou)*xi : volt\n"
                                "mu0 : volt (constant)\nk_mu : volt/second (constant)\n")
            ns.update(tau_ou=setup["ou_tau"] * b2.second, sigma_ou=setup["ou_sigma"] * b2.volt)
            method = "euler"
        post = b2.NeuronGroup(n_post, eqs, threshold="v > v_threshold", reset="v = v_reset",
                              refractory="t_ref", method=method, namespace=ns)
        post.mu0 = mu_start * b2.volt
        post.k_mu = ramp_slope * b2.volt / b2.second
        # start on the stationary trajectory: v at a random point below threshold, U at the drive
        rng = np.random.default_rng(seed)
        start = mu_start + ramp_slope * lo_s - (0 if setup.get("hold") else ramp_slope * p.tau_m)
        post.v = np.minimum(start, p.v_threshold * rng.uniform(0, 1, n_post)) * b2.volt
        if not pair:
            post.U = start * b2.volt
            post.n_ou = setup["ou_sigma"] * rng.standard_normal(n_post) * b2.volt
        pre = b2.PoissonGroup(n_pre, rates=np.tile(pre_rates, trials) * b2.Hz)
        if pair:
            model = ("P : 1\nD : 1\nPb : 1\nDb : 1\ncoupled : 1 (constant)\n"
                     "dxpre/dt = -xpre/tau_plus_stdp : 1 (event-driven)\n"
                     "dypost/dt = -ypost/tau_minus_stdp : 1 (event-driven)\n"
                     "dypost_g/dt = -ypost_g/tau_minus_stdp : 1 (event-driven)\n")
            on_pre = ("g_now = gate(t)\n"
                      + ("v_post += coupled*J_syn\n" if with_coupling else "")
                      + "xpre += g_now\nD += g_now*ypost\nDb += g_now*ypost_g\n")
            on_post = "g_now = gate(t)\nypost += 1\nypost_g += g_now\nP += xpre\nPb += g_now*xpre\n"
            sns = {"tau_plus_stdp": rule.tau_plus * b2.second, "tau_minus_stdp": rule.tau_minus * b2.second,
                   "gate": gate, "J_syn": setup.get("coupling", 0.0) * b2.volt}
            syn = b2.Synapses(pre, post, model=model, on_pre=on_pre, on_post=on_post, namespace=sns)
        else:
            code = rule.synapse_code(pre_gate="gate(t)", post_namespace=ns)
            syn = b2.Synapses(pre, post, **code.kwargs())
        syn.connect(i=syn_i, j=syn_j)
        if pair and with_coupling:
            syn.coupled = (syn_j % Mg >= M).astype(float)
        smon = b2.SpikeMonitor(post)
        pmon = b2.SpikeMonitor(pre)
        objs = [post, pre, syn, smon, pmon]
        umon = None
        if not pair:
            # record U at the window's edges (a monitor clock whose period divides a and b)
            edge_dt = np.gcd(int(round(a / step)), int(round(b / step))) * step
            umon = b2.StateMonitor(post, "U", record=True, dt=edge_dt * b2.second)
            objs.append(umon)
        net = b2.Network(*objs)
        net.run(duration * b2.second)
        if target == "cpp_standalone":
            b2.device.build(directory=directory, run=True)
        si, sj = np.array(syn.i[:]), np.array(syn.j[:])
        out = {}
        names = ("P", "D", "Pb", "Db") if pair else ("w",)
        for name in names:
            vals = np.array(getattr(syn, name)[:], float)
            arr = np.zeros((trials, groups, N, M))
            r = si // N
            jl = sj % Mg
            arr[r, jl // M, si % N, jl % M] = vals
            out[name if pair else "dw"] = arr
        spike_i, spike_t = np.array(smon.i[:]), np.array(smon.t[:], float)
        pre_i, pre_t = np.array(pmon.i[:]), np.array(pmon.t[:], float)
        if umon is not None:
            ut = np.array(umon.t[:], float)
            U = np.array(umon.U[:], float)  # (n_post, n_t)
            ka = int(np.argmin(np.abs(ut - a)))
            kb = int(np.argmin(np.abs(ut - b)))
            out["U_a"] = U[:, ka].reshape(trials, Mg)[:, :M]
            out["U_b"] = U[:, kb].reshape(trials, Mg)[:, :M]
    wall = time.perf_counter() - t0
    jl = spike_i % Mg
    out["post_spikes"] = [(jl[jl // M == g] % M, spike_t[jl // M == g], spike_i[jl // M == g] // Mg)
                          for g in range(groups)]
    in_w = (pre_t >= a) & (pre_t < b)
    counts = np.zeros((trials, N))
    np.add.at(counts, (pre_i[in_w] // N, pre_i[in_w] % N), 1)
    out.update(pre_counts=counts, wall_s=wall, n_synapses=len(syn_i), trials=trials, window=(a, b),
               duration=duration, groups=groups, N=N, M=M)
    return out


def kernel_rate_prediction(post_spikes, trials, pre_rates, M, window, rule_like, box=False, dt=0.0):
    """Prediction (1) for every synapse (N, M): ``rho_pre,i (1/R) sum_k G(t_k)`` over post spikes.

    ``rule_like`` is any object with ``A_plus``, ``A_minus``, ``tau_plus``, ``tau_minus``.
    """
    j, t = post_spikes[0], post_spikes[1]
    g = window_kernel_integral(t, window[0], window[1], rule_like.A_plus, rule_like.A_minus,
                               rule_like.tau_plus, rule_like.tau_minus, box=box, dt=dt)
    per_post = np.bincount(j, weights=g, minlength=M) / trials
    return np.outer(np.asarray(pre_rates, float), per_post)


def analytic_prediction(pre_rates, mu_a, mu_b, T, params, rule, n_grid=201, dt=0.0, rate_fn=None):
    """Prediction (2): ``rho_pre [eta_eff (rho(b) - rho(a)) + (int K) int_W rho dt]`` with
    ``rho = siegert_rate`` of the linear drive trajectory (quasi-static). ``dt`` adds the
    time-grid term ``(A_plus + A_minus) dt/2`` to ``int K`` (see :func:`window_kernel_integral`).

    ``rate_fn(mu)`` (mean free-membrane drive in V -> Hz) replaces the Siegert rate, e.g. to
    check that :func:`analytic_check` rejects a wrong transfer function. Returns the
    prediction (N, M) and the rate trajectory (n_grid, M)."""
    grid = np.linspace(0, 1, n_grid)
    mu = mu_a[None, :] + grid[:, None] * (mu_b - mu_a)[None, :]
    rho = siegert_rate(mu / params.R, params) if rate_fn is None else np.asarray(rate_fn(mu), float)
    drho = rho[-1] - rho[0]
    int_rho = np.trapezoid(rho, dx=T / (n_grid - 1), axis=0)
    int_k = rule.integral_K() + (rule.A_plus + rule.A_minus) * dt / 2
    return np.outer(pre_rates, rule.integral_sK() * drho + int_k * int_rho), rho


def analytic_check(dw_trials, predicted, z=4.0, n_boot=1000, seed=0):
    """Does the measurement follow a fixed prediction? Slope CI and a trial-count bound on r.

    Two criteria, both needed: the bootstrap 95 % CI of the slope (measured mean on predicted,
    resampling trials) contains 1, and the Pearson r of the trial means is at least the bound
    ``r_min`` that pairing noise alone allows with ``R`` trials.

    Derivation of ``r_min``. Under the hypothesis that the prediction ``p`` (n synapses) is the
    expectation, the trial mean is ``m = p + e`` with ``e`` of covariance ``Sigma/R``
    (``Sigma``: per-trial covariance across synapses, estimated from the trials; synapses sharing
    a neuron are correlated, so the full matrix is used). With ``V = var_n(p)``, the sample
    moments over synapses are ``cov_n(p, m) = V + c`` and ``var_n(m) = V + 2c + E`` with
    ``c = cov_n(p, e)`` and ``E = var_n(e)``, so ``r = (V + c) / sqrt(V (V + 2c + E))``. For
    Gaussian ``e`` and the centring matrix ``C``: ``E[E] = tr(C Sigma)/(nR)``,
    ``SD[E] = sqrt(2 tr((C Sigma C)^2))/(nR)``, ``E[c] = 0``, ``SD[c] = sqrt(p_c' Sigma p_c / R)/n``.
    ``r`` grows with ``c`` and falls with ``E``, so ``r_min`` is ``r`` at
    ``c = -z SD[c]`` and ``E = E[E] + z SD[E]``: below it, the scatter about the prediction is
    larger than ``z`` standard errors of the noise allow (``z = 4``: a false alarm well under
    1e-4 per term). A biased estimate of ``tr(Sigma^2)`` from few trials errs upward, making
    the bound lower (conservative).

    Parameters
    ----------
    dw_trials : ndarray, (R, ...)
        Per-trial updates.
    predicted : ndarray, (...)
        A fixed prediction (nothing estimated from these trials).
    z : float
    n_boot, seed : int
        Bootstrap of the slope (see :func:`regression_bootstrap`).

    Returns
    -------
    dict
        ``pearson_r``, ``r_bound``, ``slope``, ``slope_ci95``, ``slope_ok``, ``r_ok``, ``passes``,
        ``n_trials``, ``n_synapses``, ``z``.
    """
    meas = np.asarray(dw_trials, float)
    R = meas.shape[0]
    X = meas.reshape(R, -1)
    p = np.ravel(predicted).astype(float)
    n = p.size
    reg = regression_bootstrap(meas, predicted, n_boot=n_boot, seed=seed)
    Xc = X - X.mean(0)
    Xcc = Xc - Xc.mean(1, keepdims=True)  # rows centred over synapses: C Sigma C from Xcc' Xcc/(R-1)
    S = Xcc.T @ Xcc / (R - 1)
    pc = p - p.mean()
    V = float(pc @ pc / n)
    mean_E = float(np.trace(S) / (n * R))
    sd_E = float(np.sqrt(2.0 * np.sum(S * S)) / (n * R))
    sd_c = float(np.sqrt(max(pc @ S @ pc, 0.0) / R) / n)
    c, E = -z * sd_c, mean_E + z * sd_E
    r_min = (V + c) / np.sqrt(V * max(V + 2 * c + E, 1e-300)) if V + c > 0 else 0.0
    lo, hi = reg["slope_ci95"]
    out = {"pearson_r": reg["pearson_r"], "r_bound": float(r_min), "slope": reg["slope"], "slope_ci95": [lo, hi],
           "slope_ok": bool(lo <= 1.0 <= hi), "r_ok": bool(reg["pearson_r"] >= r_min), "n_trials": int(R),
           "n_synapses": int(n), "z": float(z),
           "expected_r": float(np.sqrt(V / (V + mean_E)))}
    out["passes"] = bool(out["slope_ok"] and out["r_ok"])
    return out


def edge_terms(pre_rates, rho_a, rho_b, rule, drho_a=0.0, drho_b=0.0):
    """What the *box* window (both spikes in W) adds to the pre-centred expectation.

    Pre spikes near ``a`` lose their depressing partners before ``a``; pre spikes near ``b``
    lose their potentiating partners after ``b``. For rates that are linear over a few
    ``tau`` around the edges (slopes ``drho_a``, ``drho_b`` in Hz/s) the exact result is::

        rho_pre [ A_minus tau_minus^2 (rho(a) - tau_minus rho'(a))
                - A_plus  tau_plus^2  (rho(b) + tau_plus  rho'(b)) ]

    For a symmetric balanced window (``A_plus tau_plus^2 = A_minus tau_minus^2 = eta_eff/2``)
    and constant slopes this is ``-rho_pre eta_eff/2 (rho(b) - rho(a)) (1 + 2 tau rho'/ (drho/T))``:
    the box window sees about HALF the derivative term (less, by the ``tau rho'`` terms).
    """
    lost_dep = rule.A_minus * rule.tau_minus**2 * (np.asarray(rho_a) - rule.tau_minus * np.asarray(drho_a))
    lost_pot = rule.A_plus * rule.tau_plus**2 * (np.asarray(rho_b) + rule.tau_plus * np.asarray(drho_b))
    return np.outer(pre_rates, lost_dep - lost_pot)


def regression(measured, predicted):
    """Pearson r, least-squares slope of measured on predicted (through the intercept fit),
    its 95% CI, and the intercept."""
    from scipy import stats

    x, y = np.asarray(predicted, float).ravel(), np.asarray(measured, float).ravel()
    res = stats.linregress(x, y)
    tcrit = stats.t.ppf(0.975, len(x) - 2)
    return {"pearson_r": float(res.rvalue), "slope": float(res.slope),
            "slope_ci95": [float(res.slope - tcrit * res.stderr), float(res.slope + tcrit * res.stderr)],
            "intercept": float(res.intercept), "n": int(len(x))}


def regression_bootstrap(measured_trials, predicted_trials, n_boot=1000, seed=0):
    """:func:`regression` of the trial means, with the slope's 95% CI from a bootstrap over
    trials (replicas are independent; synapses sharing a post neuron are not, so the
    ordinary least-squares CI is too narrow and is kept as ``slope_ci95_ols``).

    ``predicted_trials`` is (trials, ...) when the prediction is itself estimated from the
    trials (kernel-rate: it is resampled together with the measurement), or a fixed array.
    """
    meas = np.asarray(measured_trials, float)
    pred = np.asarray(predicted_trials, float)
    per_trial_pred = pred.ndim == meas.ndim
    out = regression(meas.mean(0), pred.mean(0) if per_trial_pred else pred)
    rng = np.random.default_rng(seed)
    R = meas.shape[0]
    slopes = np.empty(n_boot)
    for k in range(n_boot):
        idx = rng.integers(0, R, R)
        y = meas[idx].mean(0).ravel()
        x = (pred[idx].mean(0) if per_trial_pred else pred).ravel()
        xc = x - x.mean()
        slopes[k] = np.dot(xc, y - y.mean()) / np.dot(xc, xc)
    out["slope_ci95_ols"] = out["slope_ci95"]
    out["slope_ci95"] = [float(np.percentile(slopes, 2.5)), float(np.percentile(slopes, 97.5))]
    out["slope_se_bootstrap"] = float(slopes.std(ddof=1))
    return out


def per_trial_kernel_rate(post_spikes, trials, pre_rates, M, window, rule_like, box=False, dt=0.0):
    """Prediction (1) from each trial's own post spikes: (trials, N, M); its mean over trials
    is :func:`kernel_rate_prediction`."""
    j, t, r = post_spikes[0], post_spikes[1], post_spikes[2]
    g = window_kernel_integral(t, window[0], window[1], rule_like.A_plus, rule_like.A_minus,
                               rule_like.tau_plus, rule_like.tau_minus, box=box, dt=dt)
    per = np.zeros((trials, M))
    np.add.at(per, (r, j), g)
    return np.asarray(pre_rates, float)[None, :, None] * per[:, None, :]


def convergence(per_trial, predict_fn, counts=None):
    """Pearson r of the mean over the first ``k`` trials against ``predict_fn(k)`` for several ``k``."""
    R = per_trial.shape[0]
    if counts is None:
        counts = sorted({int(c) for c in np.unique(np.geomspace(5, R, 8).astype(int)) if c >= 2} | {R})
    rs = []
    for k in counts:
        rs.append(regression(per_trial[:k].mean(0), predict_fn(k))["pearson_r"])
    return np.array(counts), np.array(rs)


def _per_trial_pair(sim, rule, group=0, box=False):
    P = sim["Pb" if box else "P"][:, group]
    D = sim["Db" if box else "D"][:, group]
    return rule.A_plus * P - rule.A_minus * D


def match_experiment(trials=400, rule="pair", setup=None, pair_rule=None, vd_rule=None, seed=0,
                     target="cython", unbalanced_factor=1.5):
    """Part B: measure mean STDP updates per synapse and compare with predictions (1) and (2).

    Returns a dict with the JSON-ready summary (``kernel_rate``, ``analytic``,
    ``correlation_term``, ``n_trials``, ``n_synapses``, ``unbalanced``, ``edges``,
    ``convergence``, ``throughput``) and ``arrays`` (NPZ-ready).
    """
    setup = setup or default_setup()
    p = setup["params"]
    pre_rates = np.asarray(setup["pre_rates"], float)
    M = len(setup["mu_a"])
    if rule == "pair":
        pair_rule = pair_rule or PairSTDP.balanced(A_plus=1.0, tau_plus=20e-3, tau_minus=20e-3, w_max=1e9)
        sim = run_replicated(setup, pair_rule, trials, seed=seed, target=target)
        a, b = sim["window"]
        dw_trials = _per_trial_pair(sim, pair_rule)
        mean = dw_trials.mean(0)
        sem = dw_trials.std(0, ddof=1) / np.sqrt(trials)
        post0 = sim["post_spikes"][0]

        def pred_k(k, rl=pair_rule, box=False, group=0):
            ps = sim["post_spikes"][group]
            sel = ps[2] < k
            return kernel_rate_prediction((ps[0][sel], ps[1][sel]), k, pre_rates, M, (a, b), rl, box=box,
                                          dt=setup["dt"])

        pred1 = pred_k(trials)
        pred2, rho_traj = analytic_prediction(pre_rates, setup["mu_a"], setup["mu_b"], setup["T"], p, pair_rule,
                                              dt=setup["dt"])
        pt1 = per_trial_kernel_rate(post0, trials, pre_rates, M, (a, b), pair_rule, dt=setup["dt"])
        kr = regression_bootstrap(dw_trials, pt1, seed=seed)
        an = regression_bootstrap(dw_trials, pred2, seed=seed)
        an["check"] = analytic_check(dw_trials, pred2, seed=seed)
        # unbalanced window from the same spikes: scale the depression amplitude
        unb = pair_rule.replace(A_minus=pair_rule.A_minus * unbalanced_factor)
        dw_unb = _per_trial_pair(sim, unb).mean(0)
        extra_measured = dw_unb - mean
        extra_pred = pred_k(trials, rl=unb) - pred1
        # its rate form: (int K_unb - int K_bal) rho_pre int rho_post  (+ the small derivative part)
        baseline_rate = np.outer(pre_rates, (unb.integral_K() - pair_rule.integral_K())
                                 * np.trapezoid(rho_traj, dx=setup["T"] / (len(rho_traj) - 1), axis=0))
        unbalanced = {"A_minus_factor": unbalanced_factor, "integral_K": unb.integral_K(),
                      "vs_kernel_rate": regression(extra_measured, extra_pred),
                      "vs_rate_baseline": regression(extra_measured, baseline_rate),
                      "mean_extra_measured": float(extra_measured.mean()),
                      "mean_extra_predicted": float(extra_pred.mean()),
                      "mean_rate_baseline": float(baseline_rate.mean())}
        # box window: edges
        dw_box = _per_trial_pair(sim, pair_rule, box=True).mean(0)
        pred1_box = pred_k(trials, box=True)
        h = setup["T"] / (len(rho_traj) - 1)
        edge = edge_terms(pre_rates, rho_traj[0], rho_traj[-1], pair_rule,
                          drho_a=(rho_traj[1] - rho_traj[0]) / h, drho_b=(rho_traj[-1] - rho_traj[-2]) / h)
        box_trials = _per_trial_pair(sim, pair_rule, box=True)
        pt1_box = per_trial_kernel_rate(post0, trials, pre_rates, M, (a, b), pair_rule, box=True, dt=setup["dt"])
        edges = {"box_vs_kernel_rate": regression_bootstrap(box_trials, pt1_box, seed=seed),
                 "box_vs_analytic": regression_bootstrap(box_trials, pred2, seed=seed),
                 "box_vs_analytic_plus_edges": regression_bootstrap(box_trials, pred2 + edge, seed=seed),
                 "explanation": ("box window (both spikes in W) loses the depressing partners of early pre spikes "
                                 "and the potentiating partners of late ones: rho_pre[A- tau-^2 (rho(a) - tau- rho'(a))"
                                 " - A+ tau+^2 (rho(b) + tau+ rho'(b))]; for a symmetric balanced window the "
                                 "derivative term is roughly halved")}
        # correlation term: driven (coupled) post neurons
        corr = None
        if sim["groups"] == 2:
            dw_c = _per_trial_pair(sim, pair_rule, group=1)
            mean_c = dw_c.mean(0)
            pred1_c = pred_k(trials, group=1)
            resid = dw_c - pred1_c[None]
            resid0 = dw_trials - pred1[None]
            per_trial_mean = resid.mean(axis=(1, 2))
            per_trial_mean0 = resid0.mean(axis=(1, 2))
            # linear-response estimate: an EPSP J e^{-s/tau_m} raises the post rate by ~ rho'(mu) J e^{-s/tau_m}
            # (quasi-static), which the potentiation side of K weighs: A+ J rho' tau+ tau_m/(tau+ + tau_m)
            # per pre spike in W
            J = setup["coupling"]
            mu_grid = np.asarray(setup["mu_a"])[None, :] + np.linspace(0, 1, 51)[:, None] * (
                np.asarray(setup["mu_b"]) - np.asarray(setup["mu_a"]))[None, :]
            h = 1e-4
            drho = (siegert_rate((mu_grid + h) / p.R, p) - siegert_rate((mu_grid - h) / p.R, p)) / (2 * h)
            lr = (np.outer(pre_rates * setup["T"], drho.mean(0)) * pair_rule.A_plus * J
                  * pair_rule.tau_plus * p.tau_m / (pair_rule.tau_plus + p.tau_m))
            corr = {
                "linear_response_estimate": float(lr.mean()),
                "coupling_mV": setup["coupling"] * 1e3,
                "mean_excess_dw": float(per_trial_mean.mean()),
                "sem": float(per_trial_mean.std(ddof=1) / np.sqrt(trials)),
                "mean_excess_dw_uncoupled": float(per_trial_mean0.mean()),
                "sem_uncoupled": float(per_trial_mean0.std(ddof=1) / np.sqrt(trials)),
                "excess_per_pre_rate": regression(mean_c - pred1_c, np.outer(pre_rates, np.ones(M))),
                "signal_rms": float(np.sqrt(np.mean(pred1**2))),
                "vs_kernel_rate": regression(mean_c, pred1_c),
                "description": "post neurons driven by the pre-synaptic spikes (EPSP of coupling_mV, mean input "
                               "compensated): measured minus kernel-rate prediction, averaged over synapses",
            }
        counts, rs = convergence(dw_trials, lambda k: pred_k(k))
        _, rs2 = convergence(dw_trials, lambda k: pred2)
        arrays = {"measured": mean, "sem": sem, "kernel_rate": pred1, "analytic": pred2,
                  "pre_rates": pre_rates, "rho_a": rho_traj[0], "rho_b": rho_traj[-1],
                  "measured_box": dw_box, "kernel_rate_box": pred1_box, "edge_terms": edge,
                  "unbalanced_extra": extra_measured, "unbalanced_extra_pred": extra_pred,
                  "conv_trials": counts, "conv_r_kernel": rs, "conv_r_analytic": rs2}
        if corr is not None:
            arrays.update(measured_coupled=mean_c, kernel_rate_coupled=pred1_c)
        rule_info = pair_rule.to_dict()
        extra = {"unbalanced": unbalanced, "edges": edges}
        comparisons = COMPARISONS
    elif rule == "voltage-derivative":
        vd_rule = vd_rule or VoltageDerivativeRule(eta=1.0, variable="dUdt")
        setup = MatchSetup(setup, coupling=0.0)
        sim = run_replicated(setup, vd_rule, trials, seed=seed, target=target)
        dw_trials = sim["dw"][:, 0]
        mean = dw_trials.mean(0)
        sem = dw_trials.std(0, ddof=1) / np.sqrt(trials)
        T = setup["T"]
        # (1): rho_pre * eta * trial-averaged (U(b) - U(a))  (the measured membrane trajectory)
        # Time grid: the synapse reads U after the step's update (t + dt) but the drive at the step's
        # start (t), so each reading is short by (d mu/dt) dt / tau_m: a factor (1 - dt/tau_m) on the ramp.
        grid = (np.asarray(setup["mu_b"]) - np.asarray(setup["mu_a"])) * setup["dt"] / p.tau_m
        dU = sim["U_b"] - sim["U_a"] - grid[None, :]

        def pred_k(k):
            return vd_rule.eta * np.outer(pre_rates, dU[:k].mean(0))

        pred1 = pred_k(trials)
        # (2): rho_pre * eta * int_W dU/dt = rho_pre * eta * (mu(b) - mu(a)) for the free membrane
        pred2 = vd_rule.eta * np.outer(pre_rates, (np.asarray(setup["mu_b"]) - np.asarray(setup["mu_a"])) * (1 - setup["dt"] / p.tau_m))
        pt1 = vd_rule.eta * pre_rates[None, :, None] * dU[:, None, :]
        kr = regression_bootstrap(dw_trials, pt1, seed=seed)
        an = regression_bootstrap(dw_trials, pred2, seed=seed)
        an["check"] = analytic_check(dw_trials, pred2, seed=seed)
        counts, rs = convergence(dw_trials, pred_k)
        _, rs2 = convergence(dw_trials, lambda k: pred2)
        arrays = {"measured": mean, "sem": sem, "kernel_rate": pred1, "analytic": pred2, "pre_rates": pre_rates,
                  "conv_trials": counts, "conv_r_kernel": rs, "conv_r_analytic": rs2}
        corr = None
        rule_info = {"eta": vd_rule.eta, "variable": vd_rule.variable}
        comparisons = {
            "kernel_rate": ("bookkeeping: eta rho_pre <U(b) - U(a)> over trials, from the measured free membrane; "
                            "checks the synapse's reading of dU/dt, not a theory of the neuron"),
            "analytic": ("theory: eta rho_pre (mu(b) - mu(a)) from the imposed drive, nothing measured"),
        }
        extra = {"note": "voltage-derivative rule: kernel_rate = eta rho_pre <U(b)-U(a)>_trials (measured free "
                         "membrane), analytic = eta rho_pre (mu(b)-mu(a)) (drive trajectory)"}
    else:
        raise ConfigError(f"unknown rule {rule!r}; choose pair or voltage-derivative")
    syn_trials = sim["n_synapses"]
    summary = {
        "rule": rule, "rule_params": rule_info, "comparisons": comparisons, "kernel_rate": kr, "analytic": an,
        "correlation_term": corr, "n_trials": trials, "n_synapses": int(len(pre_rates) * M),
        "n_synapses_simulated": int(syn_trials),
        "convergence": {"trials": counts, "pearson_r_kernel_rate": rs, "pearson_r_analytic": rs2},
        "sim_wall_s": sim["wall_s"],
        "throughput_synapse_trials_per_s": syn_trials / sim["wall_s"],
        "setup": {"N_pre": len(pre_rates), "M_post": M, "T_s": setup["T"], "margin_s": setup["margin"],
                  "pre_rates_hz": [float(pre_rates.min()), float(pre_rates.max())],
                  "window": "pre-centred: pre spikes in W = [margin, margin+T], post spikes anywhere",
                  "sigma_mV": p.sigma * 1e3, "tau_m_ms": p.tau_m * 1e3, "dt_ms": setup["dt"] * 1e3},
        **extra,
    }
    return {"summary": summary, "arrays": arrays}
