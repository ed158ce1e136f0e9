"""Part C: pair STDP in a wired spiking layer against the gradient of its rate twin.

Setting
-------
``N`` Poisson inputs at constant rates ``x_i`` (Hz) drive ``M`` noisy LIF outputs through
Brian2 ``Synapses`` with weights ``W`` (volts): every input spike moves the output membrane
by ``W_ji`` (coupling on). Each output also gets a constant bias ``b`` and white noise
(free-membrane std ``sigma``). The layer learns its targets ``y_j`` (Hz) as the layer
pairs do:

* **free phase** ``[0, t_s)``: bias, synaptic input and noise only;
* **target phase** ``[t_s, t_s + L)``: a teacher current adds ``beta (y_j - rhat_j)``
  (volts of drive per Hz of error) to the membrane equation, where ``rhat_j`` is the neuron's
  *own* spike train low-passed with ``tau_filter`` (``rhat += 1/tau_filter`` at each of its
  spikes). Nothing of the rate model enters the simulation: the error is the spiking
  output's own.

Plasticity (the layer pairs' contrastive gating, balanced window). All-to-all pair STDP with
``A_plus tau_plus = A_minus tau_minus``; a pairing counts with the sign of the gate at its
*later* spike: ``-1`` in the last ``L`` of the free phase ``[t_s - L, t_s)``, ``+1`` in the
target phase. The unit-amplitude sums ``P`` (potentiation) and ``D`` (depression) are
accumulated in synaptic variables of their own, so ``W`` stays fixed while we measure:
``dw = A_plus P - A_minus D``. For constant input rates, and leaving out the pairings that a
synapse causes itself, the expectation is ``x_i [A_plus tau_plus <g, rho_j> - A_minus tau_minus
<g, LP(rho_j)>]`` (``g`` the gate, ``rho_j(t)`` the output's rate, ``LP`` a unit-gain low-pass of
time constant ``tau_minus``). For the balanced window this is
``x_i A_minus tau_minus^2 [LP rho_j(t_s + L) - 2 LP rho_j(t_s) + LP rho_j(t_s - L)]`` which, once
the rates have settled in both phases and with ``tau_plus = tau_minus`` (the default), is
``(eta_eff/2) x_i (rho_j^target - rho_j^free)`` (``eta_eff = int s K``). The self-caused pairings
(a pre spike pushing its post neuron over threshold) add potentiation proportional to ``W_ji``
in both phases; the contrastive sign cancels it to the extent that the output's sensitivity is
the same in both.

Rate twin. ``rho_j = f(mu_j, s_j)`` with ``f`` the Siegert rate of :mod:`spiking_bpdl.neurons`
(with its time-grid correction), mean drive ``mu_j = b + tau_m sum_i W_ji x_i`` and noise
``s_j^2 = sigma^2 + (tau_m/2) sum_i W_ji^2 x_i`` (the diffusion approximation of the Poisson
input). ``J = 1/2 sum_j (y_j - rho_j)^2``; ``-dJ/dW_ji = (y_j - rho_j)(f_mu tau_m x_i +
f_s tau_m W_ji x_i / (2 s_j))`` with ``f_mu``, ``f_s`` by central differences. To first order
in ``beta`` the target phase settles at ``rho^target - rho^free = f_mu beta (y - rho)/(1 + beta f_mu)``,
so the expected update is ``-dJ/dW`` up to a positive factor per output neuron and the small
noise-derivative term: that is what the cosine measures.

Controls, simulated as further replicas in the same network and the same ``run()``:
``shuffled`` (the targets permuted among the outputs; the permutation is chosen, on the rate
twin only, so that its gradient is nearly orthogonal to the true one, making the expected
cosine ~0) and ``no_nudge`` (``beta = 0``: the update is pure pairing noise plus whatever
does not cancel between the phases).
"""

import time

import numpy as np

from ..errors import ConfigError
from ..metrics import cosine_similarity as cosine
from ..neurons import LIFParams, siegert_rate

__all__ = [
    "GradientLayer",
    "bootstrap_cosine",
    "cosine",
    "cosine_vs_trials",
    "gradient_experiment",
    "make_layer",
    "projection_z",
    "rate_twin",
    "run_gradient_layer",
]

CONDITIONS = ("nudged", "shuffled", "no_nudge")


class GradientLayer(dict):
    """One layer and its task (SI floats): ``x`` (N,) input rates in Hz, ``W`` (M, N) in volts,
    ``b`` bias drive (V), ``y`` (M,) targets in Hz, ``perm`` the control's permutation of ``y``,
    ``params`` (LIFParams; ``sigma`` the extra white noise), ``beta`` (V per Hz)."""


def rate_twin(layer, W=None, y=None, h=1e-5):
    """Rates, derivatives and ``-dJ/dW`` of the rate twin of ``layer``.

    Parameters
    ----------
    layer : GradientLayer
    W, y : ndarray, optional
        Replace the layer's weights or targets (e.g. the shuffled targets).
    h : float
        Step (V) of the central differences of the Siegert rate.

    Returns
    -------
    dict
        ``rho`` (M,), ``mu``, ``s`` (drive mean and noise, V), ``f_mu``, ``f_s`` (Hz/V),
        ``neg_grad`` (M, N): ``-dJ/dW``.
    """
    p = layer["params"]
    x = np.asarray(layer["x"], float)
    W = np.asarray(layer["W"] if W is None else W, float)
    y = np.asarray(layer["y"] if y is None else y, float)
    mu = layer["b"] + p.tau_m * W @ x
    s = np.sqrt(p.sigma**2 + 0.5 * p.tau_m * (W**2) @ x)
    dt = layer["dt"]

    def f(m, sd):
        return np.array([siegert_rate(mm / p.R, p.replace(sigma=float(ss)), dt=dt) for mm, ss in zip(m, sd)])

    rho = f(mu, s)
    f_mu = (f(mu + h, s) - f(mu - h, s)) / (2 * h)
    f_s = (f(mu, s + h) - f(mu, s - h)) / (2 * h)
    drho_dW = p.tau_m * (f_mu[:, None] * x[None, :] + f_s[:, None] * W * x[None, :] / (2 * s[:, None]))
    return {"rho": rho, "mu": mu, "s": s, "f_mu": f_mu, "f_s": f_s, "neg_grad": (y - rho)[:, None] * drho_dW}


def make_layer(n_in=20, n_out=10, seed=0, params=None, beta=0.4e-3, target_sd=15.0, w_spread=3e-3,
               drive=19e-3, dt=1e-4, n_perm=200):
    """A random layer and task.

    Input rates uniform in 10-80 Hz; ``W_ji ~ N(0, s^2)`` with ``s`` such that the synaptic
    part of the drive, ``tau_m (W x)_j``, spreads by ``w_spread`` (V, std) across outputs; a
    common bias ``b = drive - mean_j tau_m (W x)_j``; targets ``y = rho + N(0, target_sd^2)``
    clipped to 2-80 Hz. The shuffled control's permutation: of ``n_perm`` random
    derangements the one whose twin gradient has the smallest ``|cosine|`` with the true one.
    """
    p = params or LIFParams(sigma=4e-3)
    rng = np.random.default_rng(seed + 1000)
    x = rng.uniform(10.0, 80.0, n_in)
    scale = w_spread / (p.tau_m * np.sqrt(np.sum(x**2)))
    W = rng.normal(0.0, scale, (n_out, n_in))
    b = drive - p.tau_m * float(np.mean(W @ x))
    layer = GradientLayer(x=x, W=W, b=float(b), params=p, beta=float(beta), dt=float(dt))
    rho = rate_twin(layer, y=np.zeros(n_out))["rho"]
    layer["y"] = np.clip(rho + rng.normal(0.0, target_sd, n_out), 2.0, 80.0)
    g = rate_twin(layer)["neg_grad"]
    best, best_c = None, np.inf
    for _ in range(n_perm):
        perm = rng.permutation(n_out)
        if np.any(perm == np.arange(n_out)):
            continue
        c = abs(cosine(rate_twin(layer, y=layer["y"][perm])["neg_grad"], g))
        if c < best_c:
            best, best_c = perm, c
    layer["perm"] = best if best is not None else np.roll(np.arange(n_out), 1)
    return layer


def run_gradient_layer(layer, trials, rule, warmup=0.06, L=0.25, tau_filter=0.1, seed=0, target="cython",
                       conditions=CONDITIONS):
    """Simulate ``trials`` replicas of the layer per condition in ONE network and ONE ``run()``.

    Parameters
    ----------
    layer : GradientLayer
    trials : int
        Replicas per condition.
    rule : PairSTDP
        Only its time constants are used (the sums have unit amplitudes); it must be balanced.
    warmup : float
        Seconds of free phase before the gated window (the neurons settle from their initial state).
    L : float
        Length (s) of each gated window: ``[t_s - L, t_s)`` free (sign -1), ``[t_s, t_s + L)``
        target (+1), ``t_s = warmup + L``.
    tau_filter : float
        Time constant (s) of ``rhat``.
    seed : int
    target : {'numpy', 'cython', 'cpp_standalone'}
    conditions : tuple of str
        Any of ``CONDITIONS``.

    Returns
    -------
    dict
        ``P``, ``D``: (conditions, trials, M, N) unit-amplitude sums; ``counts_free``,
        ``counts_target``: (conditions, trials, M) output spikes in the two gated windows;
        ``wall_s``, ``n_synapses``, ``t_switch``, ``L``.
    """
    import brian2 as b2

    from ..codegen import use_target

    trials = int(trials)
    if trials < 2:
        raise ConfigError("trials must be >= 2")
    for c in conditions:
        if c not in CONDITIONS:
            raise ConfigError(f"unknown condition {c!r}; choose from {', '.join(CONDITIONS)}")
    if not rule.is_balanced:
        raise ConfigError("the gradient layer needs a balanced window (int K = 0)")
    if not (warmup >= 0 and L > 0 and tau_filter > 0):
        raise ConfigError("warmup must be >= 0, L and tau_filter > 0")
    p = layer["params"]
    x = np.asarray(layer["x"], float)
    W = np.asarray(layer["W"], float)
    M, N = W.shape
    C = len(conditions)
    G = C * trials  # replica groups: condition-major
    step = layer["dt"]
    t_s = warmup + L
    duration = t_s + L
    # per output neuron (group g = c*trials + r, local j): target, nudge gain
    y_c = {"nudged": layer["y"], "shuffled": np.asarray(layer["y"])[layer["perm"]], "no_nudge": layer["y"]}
    beta_c = {"nudged": layer["beta"], "shuffled": layer["beta"], "no_nudge": 0.0}
    y_post = np.concatenate([np.tile(y_c[c], trials) for c in conditions])
    beta_post = np.concatenate([np.full(trials * M, beta_c[c]) for c in conditions])
    n_steps = round(duration / step) + 2
    t_grid = np.arange(n_steps) * step + 1e-12
    sign = np.where((t_grid >= t_s - L) & (t_grid < t_s), -1.0, 0.0) + np.where(
        (t_grid >= t_s) & (t_grid < t_s + L), 1.0, 0.0)
    target_on = (t_grid >= t_s).astype(float)
    # synapse indices: input g*N + i -> output g*M + j
    gi = np.repeat(np.arange(G), M * N)
    jj = np.tile(np.repeat(np.arange(M), N), G)
    ii = np.tile(np.tile(np.arange(N), M), G)
    twin = rate_twin(layer)
    ns = p.namespace()
    t0 = time.perf_counter()
    with use_target(target) as directory:
        b2.start_scope()
        b2.seed(seed)
        b2.defaultclock.dt = step * b2.second
        ns.update(gate=b2.TimedArray(sign, dt=step * b2.second), teach_on=b2.TimedArray(target_on, dt=step * b2.second),
                  tau_rhat=tau_filter * b2.second, b_drive=layer["b"] * b2.volt)
        eqs = b2.Equations(
            "dv/dt = (-v + b_drive + teach_on(t)*beta_n*(y_t - rhat))/tau_m + sigma*sqrt(2/tau_m)*xi"
            " : volt (unless refractory)\n"
            "drhat/dt = -rhat/tau_rhat : Hz\n"
            "beta_n : volt/Hz (constant)\ny_t : Hz (constant)\n"
            "n_free : 1\nn_target : 1\n")
        out = b2.NeuronGroup(G * M, eqs, threshold="v > v_threshold",
                             reset="v = v_reset\nrhat += 1/tau_rhat\n"
                                   "n_free += int(gate(t) < 0)\nn_target += int(gate(t) > 0)",
                             refractory="t_ref", method="euler", namespace=ns)
        out.beta_n = beta_post * b2.volt / b2.Hz
        out.y_t = y_post * b2.Hz
        rng = np.random.default_rng(seed)
        out.v = rng.uniform(p.v_reset, p.v_threshold, G * M) * b2.volt
        # the filter starts at the twin's free rate, so the warm-up need not fill it
        out.rhat = np.tile(twin["rho"], G) * b2.Hz
        inp = b2.PoissonGroup(G * N, rates=np.tile(x, G) * b2.Hz)
        model = ("w : volt (constant)\nP : 1\nD : 1\n"
                 "dxpre/dt = -xpre/tau_plus_stdp : 1 (event-driven)\n"
                 "dypost/dt = -ypost/tau_minus_stdp : 1 (event-driven)\n")
        # a jump arriving while the output is refractory is lost (as in the diffusion twin,
        # whose membrane is clamped then); the pairing is gated by the sign at its later spike
        on_pre = "v_post += w*int(not_refractory_post)\nxpre += 1\nD += gate(t)*ypost\n"
        on_post = "ypost += 1\nP += gate(t)*xpre\n"
        syn = b2.Synapses(inp, out, model=model, on_pre=on_pre, on_post=on_post,
                          namespace={"gate": ns["gate"], "tau_plus_stdp": rule.tau_plus * b2.second,
                                     "tau_minus_stdp": rule.tau_minus * b2.second})
        syn.connect(i=gi * N + ii, j=gi * M + jj)
        syn.w = W[jj, ii] * b2.volt
        net = b2.Network(out, inp, syn)
        net.run(duration * b2.second)
        if target == "cpp_standalone":
            b2.device.build(directory=directory, run=True)
        si, sj = np.array(syn.i[:]), np.array(syn.j[:])
        Pv, Dv = np.array(syn.P[:], float), np.array(syn.D[:], float)
        nf, nt = np.array(out.n_free[:], float), np.array(out.n_target[:], float)
    wall = time.perf_counter() - t0
    g = si // N
    shape = (C, trials, M, N)
    P = np.zeros(shape)
    D = np.zeros(shape)
    P[g // trials, g % trials, sj % M, si % N] = Pv
    D[g // trials, g % trials, sj % M, si % N] = Dv
    return {"P": P, "D": D, "counts_free": nf.reshape(C, trials, M), "counts_target": nt.reshape(C, trials, M),
            "conditions": tuple(conditions), "wall_s": wall, "n_synapses": len(si), "t_switch": t_s, "L": L,
            "twin": twin}


def _cosines(means, ref, noise=None):
    """Cosine of each row of ``means`` with ``ref``; with ``noise`` (per row, the expected squared
    norm of the noise in that row) the squared norm of the row is debiased first. A row whose
    debiased norm is at or below the projection's size gives +-1 (clipped): at the noise floor
    the expected update's direction is not identified."""
    sq = np.sum(means**2, axis=1)
    proj = means @ ref / np.linalg.norm(ref)
    if noise is not None:
        sq = np.maximum(sq - noise, proj**2)
    return np.clip(proj / np.sqrt(np.maximum(sq, 1e-300)), -1.0, 1.0)


def bootstrap_cosine(per_trial, reference, n_boot=1000, seed=0):
    """Cosine of the trial mean with ``reference``, and of the *expected* update, with 95 % CIs
    from a bootstrap over trials (replicas are independent; entries sharing an output neuron are not).

    The cosine of a mean over ``R`` noisy trials is biased low: the noise adds ``tr(Sigma)/R``
    to the squared norm of the mean but nothing, on average, to its projection on the
    reference. A resampled mean carries about twice that noise, so the percentile interval of
    the raw cosine sits below the estimate (a conservative interval for the cosine at ``R``
    trials). The *expected-update* cosine divides the projection by the debiased norm
    ``sqrt(|mean|^2 - tr(Sigma)/R)`` (computed in each resample with its own ``Sigma``): an
    estimate of the cosine at infinitely many trials, which is what the rate theory predicts;
    its interval is the basic bootstrap interval (see the code).

    Parameters
    ----------
    per_trial : ndarray, (R, ...)
    reference : ndarray, (...)

    Returns
    -------
    dict
        ``cosine``, ``ci95`` (percentile), ``se`` (bootstrap std) of the raw cosine;
        ``expected``, ``expected_ci95`` of the noise-corrected one.
    """
    R = per_trial.shape[0]
    flat = per_trial.reshape(R, -1)
    ref = np.ravel(reference)
    rng = np.random.default_rng(seed)
    raw = np.empty(n_boot)
    corr = np.empty(n_boot)
    sq = np.sum(flat**2, axis=1)
    for k0 in range(0, n_boot, 100):
        k1 = min(n_boot, k0 + 100)
        counts = np.stack([np.bincount(rng.integers(0, R, R), minlength=R) for _ in range(k1 - k0)]).astype(float)
        means = counts @ flat / R
        # tr(Sigma) of each resample: mean squared norm minus squared norm of the mean, ddof 1
        tr = (counts @ sq / R - np.sum(means**2, axis=1)) * R / (R - 1)
        raw[k0:k1] = _cosines(means, ref)
        corr[k0:k1] = _cosines(means, ref, tr / R)
    mean = flat.mean(0)
    tr0 = float(np.sum(flat.var(0, ddof=1)))
    c_raw = cosine(mean, ref)
    c_exp = float(_cosines(mean[None], ref, np.array([tr0 / R]))[0])
    # In the bootstrap world the "true" update is the sample mean, whose cosine is the raw one; the
    # corrected estimator's resamples scatter around it, so its CI is the basic (pivotal) interval
    # c_exp - (quantile - c_raw), clipped to [-1, 1].
    lo, hi = np.percentile(corr, [2.5, 97.5])
    return {"cosine": c_raw, "ci95": [float(np.percentile(raw, 2.5)), float(np.percentile(raw, 97.5))],
            "se": float(raw.std(ddof=1)), "expected": c_exp,
            "expected_ci95": [float(np.clip(c_exp - (hi - c_raw), -1, 1)), float(np.clip(c_exp - (lo - c_raw), -1, 1))]}


def projection_z(per_trial, direction):
    """z-score of the mean projection of the per-trial updates on ``direction`` (unit-normalised):
    ``mean / (std / sqrt(R))`` over the independent trials."""
    d = np.ravel(direction) / np.linalg.norm(direction)
    proj = per_trial.reshape(per_trial.shape[0], -1) @ d
    return float(proj.mean() / (proj.std(ddof=1) / np.sqrt(len(proj))))


def cosine_vs_trials(per_trial, reference, counts=None, n_sub=20, seed=0):
    """Mean cosine of the mean over ``k`` trials drawn without replacement, for several ``k``.

    Averaging over ``n_sub`` subsets (instead of taking the first ``k`` trials) removes most of
    the luck of one particular prefix, so the curve can be read for the trial count a cosine needs.
    """
    R = per_trial.shape[0]
    flat = per_trial.reshape(R, -1)
    if counts is None:
        counts = sorted({int(c) for c in np.geomspace(min(5, R), R, 20).astype(int) if c <= R} | {R})
    rng = np.random.default_rng(seed)
    out = []
    for k in counts:
        subs = 1 if k == R else n_sub
        out.append(float(np.mean([cosine(flat[rng.choice(R, k, replace=False)].mean(0), reference)
                                  for _ in range(subs)])))
    return np.array(counts), np.array(out)


def gradient_experiment(trials=1000, n_in=20, n_out=10, beta_mV_per_Hz=0.4, seed=0, target="cython", L=0.25,
                        warmup=0.06, tau_filter=0.1, tau=40e-3, sigma=4e-3, target_sd=15.0, n_boot=1000):
    """Part C: wired spiking layer with a teacher current; mean STDP update vs ``-dJ/dW``.

    Parameters
    ----------
    trials : int
        Replicas per condition (nudged, shuffled, no nudge), all in one ``run()``.
    n_in, n_out : int
    beta_mV_per_Hz : float
        Teacher gain: mV of drive per Hz of error ``y - rhat``.
    seed : int
        Seeds the layer (``seed + 1000``), the simulation and the bootstrap.
    target : str
    L, warmup, tau_filter : float
        See :func:`run_gradient_layer`.
    tau : float
        ``tau_plus = tau_minus`` (s) of the balanced window, ``A_plus = A_minus = 1``.
    sigma : float
        White-noise std (V) of the free membrane, on top of the synaptic shot noise.
    target_sd : float
        Std (Hz) of the target errors ``y - rho``.

    Returns
    -------
    dict
        JSON-ready ``summary`` and NPZ-ready ``arrays`` (``update``, ``gradient``, ``W``, ``x``,
        ``y``, ``rho``, per-condition updates, the cosine-vs-trials curve).
    """
    from ..plasticity import PairSTDP

    if not beta_mV_per_Hz > 0:
        raise ConfigError("beta_mV_per_Hz must be > 0")
    p = LIFParams(sigma=sigma)
    layer = make_layer(n_in, n_out, seed=seed, params=p, beta=beta_mV_per_Hz * 1e-3, target_sd=target_sd)
    rule = PairSTDP.balanced(A_plus=1.0, tau_plus=tau, tau_minus=tau, w_max=1e9)
    sim = run_gradient_layer(layer, trials, rule, warmup=warmup, L=L, tau_filter=tau_filter, seed=seed,
                             target=target)
    twin = sim["twin"]
    grad = twin["neg_grad"]
    dw = rule.A_plus * sim["P"] - rule.A_minus * sim["D"]  # (C, R, M, N)
    k = {c: n for n, c in enumerate(sim["conditions"])}
    nud, shf, non = dw[k["nudged"]], dw[k["shuffled"]], dw[k["no_nudge"]]
    bc = bootstrap_cosine(nud, grad, n_boot=n_boot, seed=seed)
    bs = bootstrap_cosine(shf, grad, n_boot=n_boot, seed=seed + 1)
    grad_sh = rate_twin(layer, y=layer["y"][layer["perm"]])["neg_grad"]
    upd, upd_non = nud.mean(0), non.mean(0)
    # the no-nudge norm has a noise floor ~ sqrt(sum var / R): report it with the nudged
    # update's own noise floor so the two can be compared
    noise_floor = float(np.sqrt(np.sum(nud.var(0, ddof=1)) / trials))
    noise_floor_non = float(np.sqrt(np.sum(non.var(0, ddof=1)) / trials))
    counts, curve = cosine_vs_trials(nud, grad, seed=seed)
    reached = [int(n) for n, v in zip(counts, curve) if v >= 0.95]
    # noise model: the mean over R trials is E[u] plus noise of squared norm tr(Sigma)/R, nearly
    # orthogonal to the gradient, so cos(R) ~ cos_inf / sqrt(1 + kappa/R), kappa = tr(Sigma)/|E u|^2
    tr = float(np.sum(nud.reshape(trials, -1).var(0, ddof=1)))
    signal = float(np.sum(upd**2)) - tr / trials
    kappa = tr / signal if signal > 0 else float("inf")
    c_inf = bc["expected"]
    r95 = kappa / ((c_inf / 0.95) ** 2 - 1) if c_inf > 0.95 and np.isfinite(kappa) else None
    win = sim["L"]
    rate_free = sim["counts_free"] / win
    rate_target = sim["counts_target"] / win
    drho = (rate_target - rate_free)[k["nudged"]].mean(0)
    fm = twin["f_mu"]
    drho_twin = fm * layer["beta"] * (layer["y"] - twin["rho"]) / (1 + layer["beta"] * fm)
    summary = {
        "cosine": bc["cosine"], "cosine_ci95": bc["ci95"], "cosine_se_bootstrap": bc["se"],
        "cosine_expected_update": {"estimate": bc["expected"], "ci95": bc["expected_ci95"],
                                   "note": "noise-corrected: projection over the debiased norm of the mean "
                                           "update, i.e. the cosine at infinitely many trials"},
        "n_trials": int(trials), "projection_z_on_gradient": projection_z(nud, grad),
        "control": {
            "shuffled_targets": {"cosine": bs["cosine"], "cosine_ci95": bs["ci95"],
                                 "expected_cosine_rate_twin": cosine(grad_sh, grad),
                                 "projection_z_on_gradient": projection_z(shf, grad),
                                 "projection_z_on_own_gradient": projection_z(shf, grad_sh),
                                 "permutation": [int(v) for v in layer["perm"]]},
            "no_nudge": {"norm_ratio": float(np.linalg.norm(upd_non) / np.linalg.norm(upd)),
                         "cosine": cosine(upd_non, grad),
                         "projection_z_on_gradient": projection_z(non, grad),
                         "noise_floor_ratio": float(noise_floor_non / np.linalg.norm(upd)),
                         "norm_over_own_noise_floor": float(np.linalg.norm(upd_non) / noise_floor_non)},
        },
        "cosine_vs_trials": {"trials": counts, "mean_cosine": curve, "subsets_per_count": 20},
        "trials_needed_095": reached[0] if reached else None,
        "trials_needed_095_noise_model": None if r95 is None else float(r95),
        "noise_model": {"kappa": kappa, "cosine_infinite_trials": c_inf,
                        "formula": "cos(R) = cos_inf / sqrt(1 + kappa/R), kappa = tr(Sigma)/|E u|^2"},
        "free_rate_hz": {"measured": rate_free[k["nudged"]].mean(0), "twin": twin["rho"]},
        "rate_change_hz": {"measured": drho, "twin_first_order": drho_twin,
                           "cosine": cosine(drho, drho_twin)},
        # the update the pair bookkeeping gives for the measured rate changes, (eta_eff/2) x_i drho_j,
        # against the gradient: what the cosine tends to without pairing noise
        "cosine_rate_change_outer_x": cosine(np.outer(drho, layer["x"]), grad),
        "update_noise_floor_ratio": float(noise_floor / np.linalg.norm(upd)),
        "setup": {"n_in": int(n_in), "n_out": int(n_out), "beta_mV_per_Hz": beta_mV_per_Hz, "L_s": L,
                  "warmup_s": warmup, "tau_filter_s": tau_filter, "tau_pm_s": tau, "sigma_mV": sigma * 1e3,
                  "target_sd_hz": target_sd, "input_rates_hz": [10.0, 80.0],
                  "W_mV": [float(layer["W"].min() * 1e3), float(layer["W"].max() * 1e3)],
                  "bias_mV": layer["b"] * 1e3, "dt_ms": layer["dt"] * 1e3,
                  "gating": "contrastive: pairing sign of its later spike, -1 in the last L of the free phase, "
                            "+1 in the target phase",
                  "teacher": "beta*(y - rhat), rhat = the output's own spikes low-passed with tau_filter"},
        "wall_s": sim["wall_s"], "n_synapses_simulated": sim["n_synapses"],
    }
    arrays = {"update": upd, "gradient": grad, "W": layer["W"], "x": layer["x"], "y": layer["y"],
              "rho": twin["rho"], "update_shuffled": shf.mean(0), "update_no_nudge": upd_non,
              "gradient_shuffled": grad_sh, "conv_trials": counts, "conv_cosine": curve,
              "rate_free": rate_free[k["nudged"]].mean(0), "rate_change": drho}
    return {"summary": summary, "arrays": arrays}
