"""The rate twin of a layer stack and its local learning rule (difference target propagation).

Every LIF layer is replaced by its transfer function ``phi_l``
(:func:`spiking_bpdl.rate.lif_layer_pair.transfer`, the Siegert rate of the noisy LIF neuron
with the layer's own parameters). Rates are in Hz, drives in units of the threshold, weights
dimensionless (a weight ``w`` makes the membrane jump by ``w * v_threshold``)::

    free phase     rho_0 = r_max x                          (input encoder)
                   a_l   = b_l + tau_m,l rho_(l-1) f_l      rho_l = phi_l(a_l)        l = 1 .. n
    target phase   rho_n^ = phi_n(a_n + beta (y - rho_n^ / R))        top nudged toward y
                   rho_l^ = rho_l + g_(l+1)(rho_(l+1)^) - g_(l+1)(rho_(l+1))          l = n-1 .. 1
                   g_(l+1)(h) = phi_l(c_l + tau_m,l h G_(l+1))                        feedback
      or, hidden_target = 'current' (gamma = feedback_gain):
                   rho_l^ = phi_l(a_l + gamma tau_m,l (rho_(l+1)^ - rho_(l+1)) G_(l+1))
      or, with feedback_phases = 'target' (no feedback in the free phase):
                   rho_l^ = phi_l(a_l + gamma tau_m,l rho_(l+1)^ G_(l+1))
      or, with twin_loop = 'settled' (the feedback's whole drive in both phases, as in spikes):
                   rho_l  = phi_l(a_l + gamma tau_m,l rho_(l+1)  G_(l+1))    free, solved with rho_n = phi_n(a_n)
                   rho_l^ = phi_l(a_l^ + gamma tau_m,l rho_(l+1)^ G_(l+1))   target, with rho_n^ nudged
    learning       d f_l = eta_l rho_(l-1) (rho_l^ - rho_l)          forward, every layer
                   d G_(l+1) = eta_g h~_(l+1) (h~_l - g_(l+1)(h~_(l+1)))             feedback
                   h~_l = max(rho_l + noise, 0),  h~_(l+1) = phi_(l+1)(b + tau_m h~_l f_(l+1))
    regulator      d f_l[:, j] += eta_h T (r_h - rho_l,j)     hidden layers, with [stack] homeostasis = eta_h

``y`` is the clean input (``target = 'input'``, an auto-encoder; ``R = r_max``) or the one-hot
class repeated over each class's population (``target = 'label'``; ``R = target_rate``).
The hidden targets are those of difference target propagation (Lee et al. 2015): the
difference term ``- g(rho_(l+1))`` cancels the reconstruction error of an imperfect ``g``,
so a layer whose layer above is not nudged keeps its free rate as target. The feedback ``g``
is trained as a denoising layer pair that reconstructs ``h_l`` from ``f(h_l + noise)``;
with ``feedback = 'random'`` it stays at its random initial weights (the forward weights
then have to come into line with it, as in feedback alignment); ``feedback = 'transposed'``
uses ``f_(l+1)^T`` instead of ``G`` (weight transport, not plausible: a control that separates the
quality of the learnt feedback from the rest of the scheme). ``feedback = 'mirror'`` trains ``G``
without weight transport toward ``f^T`` (up to a positive scale): noise ``eps`` in layer ``l``
changes the layer above by ``dh``, and ``dG = eta_g (dh^T eps - lambda G)`` with the minibatch
means removed from ``dh`` and ``eps`` (a covariance rule; the weight mirror of Akrout et al. 2019),
since ``Cov[eps, dh] ~ sigma^2 tau_m f diag(phi')``. ``feedback = 'reciprocal'`` gives ``G_(l+1)`` the
forward update of ``f_(l+1)`` transposed, ``dG_(l+1) = df_(l+1)^T`` (Kolen & Pollack 1994; Akrout et al.
2019): the product ``rho_l * delta rho_(l+1)`` is local to the feedback synapse too (its pre-synaptic
rate change and its post-synaptic rate), so ``G - f^T`` keeps its initial value while the learnt part of
``f`` -- soon the larger part -- is carried into ``G``, which then aligns with ``f^T`` (the Brian2
network does it with the forward's STDP window mirrored in time). A feedback projection's
``mirror_scale`` ``kappa`` scales the copy, ``dG_(l+1) = kappa df_(l+1)^T`` (``G - kappa f^T`` is kept):
the feedback keeps its own scale where the forward weights are far larger.

``hidden_target = 'current'`` is the form a spiking network realizes directly: in the target
phase the feedback synapses ``G`` carry the *change* of the layer above into layer ``l`` as a
current, and the layer's rate moves by its own transfer function. Lee et al.'s difference is
taken after the feedback units' nonlinearity (``phi_l`` at the feedback units' operating point
``c_l``); here it is taken before it and passed through ``phi_l`` at the layer's own drive
``a_l``, so a silent neuron stays silent under a small push, as under backprop (whose factor
is ``phi_l'(a_l)``). With ``G_(l+1) = f_(l+1)^T`` the update is then the scaled backprop gradient to
first order in ``beta`` (tested); a trained ``G`` approximates the inverse of ``f`` instead.

Deviations from Lee et al. (2015), and why:

* the updates are the *rate rule* ``eta rho_pre (rho^target - rho)`` (what balanced pair
  STDP does across the free -> target switch, ``docs/stdp.md``) instead of the gradient of
  ``||f(h) - h^||^2``, which would carry the factor ``phi'(a)``; the rate difference
  already carries ``phi'`` of the top layer, and a spiking synapse cannot see ``phi'`` of
  its post-synaptic neuron;
* the top target is the nudged rate (a teacher current of strength ``beta``), not
  ``rho_n - eta^ dL/drho_n``; for a small ``beta`` they agree to first order (tested);
* the pre-synaptic rate of every update is the free-phase rate;
* noise is added to rates (Hz) and the noisy rates are clipped at 0, since rates cannot be negative;
* optionally (``centering = 'pre'`` or ``'post'``) the hidden updates are covariance rules: the
  pre-synaptic rates, or the rate changes, relative to their minibatch mean (standing for a slow
  running average). Without it, the part of a hidden update that is common to all inputs is not
  corrected by an imperfect feedback, and at the hidden steps backprop uses the hidden rates run
  away and silence the output (measured in ``docs/stacks.md``).
"""

import numpy as np

from ..errors import ConfigError
from ..rate.lif_layer_pair import transfer, transfer_derivative

__all__ = [
    "init_weights",
    "bias",
    "free_phase",
    "settle",
    "forward",
    "output",
    "predict",
    "targets_of",
    "nudged",
    "feedback",
    "feedback_weights",
    "hidden_targets",
    "target_prop_updates",
    "homeostatic_updates",
    "apply_updates",
]


def init_weights(cfg, rng, dtype=np.float64):
    """Initial weights of every projection, ``(pre size, post size)`` each.

    Parameters
    ----------
    cfg : StackConfig
    rng : numpy.random.Generator
    dtype : numpy dtype
        ``float32`` for fast training, ``float64`` for the tests.

    Returns
    -------
    dict of str to ndarray
    """
    sizes = {layer.name: layer.size for layer in cfg.layers}
    out = {}
    for p in cfg.projections:
        shape = (sizes[p.pre], sizes[p.post])
        if p.init == "normal" and p.std > 0:
            w = rng.normal(0.0, p.std, shape)
        elif p.init == "uniform":
            w = rng.uniform(p.low, p.high, shape)
        else:
            w = np.zeros(shape)
        out[p.name] = w.astype(dtype)
    return out


def bias(cfg, l):
    """The constant drive of layer ``l`` (a float or one value per neuron)."""
    b = cfg.layers[l].bias
    if isinstance(b, str):
        raise ConfigError(f"{cfg.path}: populations.{cfg.layers[l].name}.bias = 'mean' must be resolved first "
                          "(a number or one value per neuron)")
    return np.asarray(b, dtype=np.float64) if isinstance(b, tuple) else b


def _phi(u, layer, dtype):
    return transfer(u, layer).astype(dtype, copy=False)


def free_phase(cfg, weights, x):
    """Free-phase drives and rates of every layer.

    Parameters
    ----------
    cfg : StackConfig
    weights : dict of str to ndarray
    x : ndarray (batch, n_0)
        Input in [0, 1] (pixel intensities); the encoder's rate is ``r_max x``.

    Returns
    -------
    drives : list of ndarray
        ``[None, a_1, ..., a_n]``.
    rates : list of ndarray
        ``[rho_0, ..., rho_n]`` (Hz).
    """
    dtype = weights[cfg.projections[0].name].dtype
    r_max = cfg.layers[0].max_rate
    drives, rates = [None], [r_max * x]
    for l in range(1, len(cfg.layers)):
        layer, W = cfg.layers[l], weights[cfg.forward(l).name]
        if l == 1:
            # The same association as the layer pair's forward pass, so the two agree to rounding.
            a = bias(cfg, l) + layer.tau_m * r_max * (x @ W)
        else:
            a = bias(cfg, l) + layer.tau_m * (rates[-1] @ W)
        drives.append(a)
        rates.append(_phi(a, layer, dtype))
    return drives, rates


#: Damped fixed-point sweeps of :func:`settle` and their damping: each sweep moves every rate halfway
#: to its new value. At initial weights the loop settles at once (relative residual ~1e-7); at
#: trained weights of ``classifier_mnist``, whose loop gain comes close to 1, 30 sweeps leave a
#: relative residual of about 1e-2 (60 sweeps: 3e-3; measured on 2,000 validation digits), which
#: ``settle`` returns so that a caller can see it.
SETTLE_SWEEPS = 30
SETTLE_DAMPING = 0.5


def settle(cfg, weights, x, y=None, sweeps=SETTLE_SWEEPS, damping=SETTLE_DAMPING):
    """Rates of every layer with the feedback's whole drive: the loop through ``f`` and ``g`` solved.

    With feedback in both phases the Brian2 network runs a loop: layer ``l`` drives layer ``l+1``
    through ``f_(l+1)``, which drives layer ``l`` back through ``G_(l+1)``. Here every hidden layer's
    drive is ``a_l + gamma tau_m,l rho_(l+1) G_(l+1)`` (``a_l`` from the layer below) and the top
    layer's is ``a_n`` (free phase, ``y`` None) or nudged toward ``y`` (target phase). Starting from
    the feed-forward pass, every sweep updates the layers bottom-up and moves each rate by
    ``damping`` of the way to its new value.

    Parameters
    ----------
    cfg : StackConfig
        Needs ``hidden_target = 'current'`` (a feedback current).
    weights : dict of str to ndarray
    x : ndarray (batch, n_0)
    y : ndarray (batch, n_n), optional
        The top layer's target (:func:`targets_of`); None for the free phase.
    sweeps : int
    damping : float
        In ``(0, 1]``.

    Returns
    -------
    drives : list of ndarray
        ``[None, u_1, ..., u_n]``: each layer's total drive in the last sweep (feedback included).
    rates : list of ndarray
        ``[rho_0, ..., rho_n]`` (Hz) after the last sweep.
    residual : float
        The largest change of a rate in the last sweep, relative to the largest rate.
    """
    if cfg.hidden_target != "current":
        raise ConfigError(f"{cfg.path}: settling the loop needs stack.hidden_target = 'current'")
    if not 0 < damping <= 1:
        raise ValueError(f"damping must be in (0, 1], got {damping}")
    drives, rates = free_phase(cfg, weights, x)
    input_drive = drives[1]  # the first layer's drive from the input is the same in every sweep
    dtype = rates[-1].dtype
    n = len(cfg.layers) - 1
    residual = 0.0
    for _ in range(int(sweeps)):
        residual = 0.0
        for l in range(1, n + 1):
            layer = cfg.layers[l]
            if l == 1:
                u = input_drive
            else:
                u = bias(cfg, l) + layer.tau_m * (rates[l - 1] @ weights[cfg.forward(l).name])
            if l < n and cfg.feedback_into(l) is not None:
                u = u + cfg.feedback_gain * layer.tau_m * (rates[l + 1] @ feedback_weights(cfg, weights, l))
            new = nudged(cfg, u, y) if (l == n and y is not None) else _phi(u, layer, dtype)
            step = damping * (new - rates[l])
            rates[l] = (rates[l] + step).astype(dtype, copy=False)
            drives[l] = u
            scale = float(np.max(np.abs(rates[l]))) or 1.0
            residual = max(residual, float(np.max(np.abs(step))) / damping / scale)
    return drives, rates, residual


def output(cfg, rates):
    """The top layer's rates in target units, ``rho_n / R``."""
    return rates[-1] / cfg.target_rate


def forward(cfg, weights, x):
    """The deterministic rate forward pass (no nudge): the top layer's ``rho_n / R``.

    For ``networks/layer_pair_mnist.toml`` read as a stack this is
    :func:`spiking_bpdl.rate.lif_layer_pair.forward`.
    """
    return output(cfg, free_phase(cfg, weights, x)[1])


def predict(cfg, weights, x, batch=2000, settled=None):
    """Predicted classes (argmax of each class population's mean rate) of a classifier.

    ``settled`` (default: ``cfg.twin_loop == 'settled'``) reads the settled free phase
    (:func:`settle`) instead of the feed-forward pass; a rate pass of spiking weights passes False.
    """
    if cfg.target != "label":
        raise ConfigError(f"{cfg.path}: stack.target = {cfg.target!r} has no classes to predict")
    settled = cfg.twin_loop == "settled" if settled is None else settled
    out = []
    for s in range(0, x.shape[0], batch):
        xb = x[s:s + batch]
        r = (settle(cfg, weights, xb)[1] if settled else free_phase(cfg, weights, xb)[1])[-1]
        out.append(r.reshape(r.shape[0], cfg.n_classes, cfg.per_class).mean(axis=2).argmax(axis=1))
    return np.concatenate(out)


def targets_of(cfg, x, labels=None, dtype=np.float64):
    """The top layer's target ``y`` in [0, 1]: the clean input, or the one-hot class per class population."""
    if cfg.target == "input":
        return np.asarray(x, dtype=dtype)
    y = np.zeros((len(labels), cfg.n_classes), dtype=dtype)
    y[np.arange(len(labels)), labels] = 1
    return np.repeat(y, cfg.per_class, axis=1)


def nudged(cfg, a, y, iterations=40):
    """Target-phase rate of the top layer: the root of ``r = phi(a + beta (y - r / R))`` per unit.

    ``h(r) = r - phi(a + beta (y - r/R))`` is increasing (``h' = 1 + beta phi' / R >= 1``), so the
    root is unique and lies in ``[0, 1 / t_ref]``; bisection finds it to ``2**-iterations`` of that
    interval. (Newton's method does not: at a strong nudge ``phi`` saturates between the iterates,
    which then jump between 0 and the maximal rate.)
    """
    layer = cfg.layers[-1]
    k = cfg.nudge / cfg.target_rate
    dtype = y.dtype
    a, y = np.asarray(a, dtype=np.float64), np.asarray(y, dtype=np.float64)
    lo = np.zeros(np.broadcast_shapes(a.shape, y.shape))
    hi = np.full_like(lo, 1.0 / layer.t_ref if layer.t_ref > 0 else 1.0 / layer.dt)
    for _ in range(int(iterations)):
        mid = 0.5 * (lo + hi)
        above = mid - _phi(a + cfg.nudge * y - k * mid, layer, np.float64) > 0
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return (0.5 * (lo + hi)).astype(dtype, copy=False)


def feedback(cfg, weights, l, rho_above):
    """``g_(l+1)(rho_above)``: rates of layer ``l``'s units driven by layer ``l+1`` through the feedback weights."""
    g = cfg.feedback_into(l)
    if g is None:
        raise ConfigError(f"{cfg.path}: layer {cfg.layers[l].name} has no feedback projection")
    layer = cfg.layers[l]
    b = cfg.feedback_bias(l)
    b = np.asarray(b, dtype=np.float64) if isinstance(b, tuple) else b
    return _phi(b + layer.tau_m * (rho_above @ feedback_weights(cfg, weights, l)), layer, rho_above.dtype)


def feedback_weights(cfg, weights, l):
    """The weights ``G_(l+1)`` of the feedback into layer ``l``: its own, ``f_(l+1)^T`` when
    ``feedback = 'transposed'`` (the weight-transport control), or the encoder ``f_1`` when
    ``feedback = 'encoder'`` (an auto-encoder pair: the hidden target is the encoder's drive from the
    nudged reconstruction; the twin's free phase takes the hidden drive as ``f_1(input)``, which the
    Brian2 network's ``(1 - gamma) f_1(input) + gamma f_1(recon)`` equals when the reconstruction is
    the input)."""
    if cfg.feedback == "transposed":
        return weights[cfg.forward(l + 1).name].T
    if cfg.feedback == "encoder":
        return weights[cfg.forward(1).name]
    return weights[cfg.feedback_into(l).name]


def hidden_targets(cfg, weights, drives, rates, top_target):
    """Targets ``[None, rho_1^, ..., rho_n^]`` propagated down from ``top_target`` through the feedback.

    ``hidden_target = 'rate'``: ``rho_l^ = rho_l + g(rho_(l+1)^) - g(rho_(l+1))`` (difference target
    propagation). ``'current'``: ``rho_l^ = phi_l(a_l + gamma tau_m,l (rho_(l+1)^ - rho_(l+1)) G_(l+1))``, the
    difference of the feedback units' input currents injected into layer ``l``; with
    ``feedback_phases = 'target'`` the feedback reaches layer ``l`` in the target phase only, and
    ``rho_l^ = phi_l(a_l + gamma tau_m,l rho_(l+1)^ G_(l+1))`` (the Brian2 network's scheme with
    ``[stack] feedback_phases = "target"``). ``gamma`` is ``feedback_gain``. A layer whose
    feedback projection is missing keeps its free rates as target (and so do all layers below it).
    """
    n = len(cfg.layers) - 1
    targets = [None] * (n + 1)
    targets[n] = top_target
    for l in range(n - 1, 0, -1):
        g = cfg.feedback_into(l)
        if g is None:
            targets[l] = rates[l]
        elif cfg.hidden_target == "current":
            layer = cfg.layers[l]
            # 'both': feedback in both phases, the layer's rate moves by the feedback of the change above;
            # 'target': no feedback in the free phase, so the whole target-phase rate above drives it.
            above = targets[l + 1] - rates[l + 1] if cfg.feedback_phases == "both" else targets[l + 1]
            du = cfg.feedback_gain * layer.tau_m * (above @ feedback_weights(cfg, weights, l))
            targets[l] = _phi(drives[l] + du, layer, rates[l].dtype)
        else:
            targets[l] = (rates[l] + feedback(cfg, weights, l, targets[l + 1])
                          - feedback(cfg, weights, l, rates[l + 1]))
    return targets


def target_prop_updates(cfg, weights, x, y, rng=None):
    """Weight changes of one minibatch (summed over its rows) under the stack's local rule.

    Parameters
    ----------
    cfg : StackConfig
    weights : dict of str to ndarray
    x : ndarray (batch, n_0)
        The (possibly corrupted) input in [0, 1].
    y : ndarray (batch, n_n)
        The top layer's target (:func:`targets_of`).
    rng : numpy.random.Generator, optional
        Noise for the feedback's denoising training (needed when a feedback projection learns).

    Returns
    -------
    updates : dict of str to ndarray
        One entry per plastic projection (frozen ones are absent).
    info : dict
        ``drives``, ``rates`` (free phase) and ``targets``.
    """
    if cfg.twin_loop == "settled":
        # Both phases with the loop through f and g, as the spiking network runs them.
        drives, rates, _ = settle(cfg, weights, x)
        targets = settle(cfg, weights, x, y)[1]
        targets[0] = None
    else:
        drives, rates = free_phase(cfg, weights, x)
        top = nudged(cfg, drives[-1], y)
        targets = hidden_targets(cfg, weights, drives, rates, top)
    updates = {}
    n = len(cfg.layers) - 1
    for l in range(1, n + 1):
        f = cfg.forward(l)
        if f.plastic:
            pre, change = rates[l - 1], targets[l] - rates[l]
            # Hidden layers only: centring removes the common (mean) part of the hidden updates, which a
            # feedback that is not the transpose of f does not correct and which lets hidden rates run away.
            if l < n and cfg.centering == "pre":
                pre = pre - pre.mean(axis=0)
            elif l < n and cfg.centering == "post":
                change = change - change.mean(axis=0)
            updates[f.name] = f.eta * (pre.T @ change)
    if cfg.feedback == "reciprocal":
        for g_name, f_name in cfg.reciprocal_pairs().items():
            updates[g_name] = cfg.projection(g_name).mirror_scale * updates[f_name].T
    # after the reciprocal copy: the regulator is not a spike pairing, so the mirrored feedback lacks it
    for name, change in homeostatic_updates(cfg, rates).items():
        updates[name] = updates[name] + change
    if cfg.feedback in ("trained", "mirror"):
        for l in range(1, len(cfg.layers) - 1):
            g = cfg.feedback_into(l)
            if g is None or not g.plastic:
                continue
            if rng is None:
                raise ValueError("target_prop_updates needs an rng to train the feedback projections")
            noisy = rates[l] + rng.normal(0.0, cfg.feedback_noise, rates[l].shape).astype(rates[l].dtype)
            noisy = np.maximum(noisy, 0.0)
            above = cfg.layers[l + 1]
            a = bias(cfg, l + 1) + above.tau_m * (noisy @ weights[cfg.forward(l + 1).name])
            h_above = _phi(a, above, noisy.dtype)
            if cfg.feedback == "mirror":
                # Covariance pairing of the noise in layer l with the change it causes above, plus decay:
                # Cov[dh, eps] ~ sigma^2 tau_m f diag(phi'), so G tends to f^T (scaled) without weight
                # transport. Means are removed (over the minibatch) because clipping the noisy rates at 0
                # makes the noise of silent neurons positive on average, which would add a common push.
                eps = noisy - rates[l]
                eps = eps - eps.mean(axis=0)
                dh = h_above - rates[l + 1]
                dh = dh - dh.mean(axis=0)
                updates[g.name] = g.eta * (dh.T @ eps - cfg.feedback_decay * len(eps) * weights[g.name])
            else:
                recon = feedback(cfg, weights, l, h_above)
                updates[g.name] = g.eta * (h_above.T @ (noisy - recon))
    return updates, {"drives": drives, "rates": rates, "targets": targets}


def homeostatic_updates(cfg, rates):
    """The rate regulator's change of every plastic hidden forward projection, summed over a minibatch.

    Every incoming weight of hidden neuron ``j`` moves by ``eta_h T (r_h - rho_j)`` per sample
    (``eta_h`` = ``[stack] homeostasis``, ``r_h`` = ``homeostasis_rate``, ``T`` the free-phase window
    ``free_phase - plasticity_onset``, ``rho_j`` the neuron's free-phase rate): the mean of what the
    Brian2 network's synapses do with the neuron's spike count ``n_j`` in that window, ``eta_h (r_h T
    - n_j)``.

    Parameters
    ----------
    cfg : StackConfig
    rates : list of ndarray
        Free-phase rates ``[rho_0, ..., rho_n]`` of the minibatch (:func:`free_phase`).

    Returns
    -------
    dict of str to ndarray
        ``(pre size, post size)`` per plastic hidden projection (``f_1 .. f_(n-1)``); empty when
        ``homeostasis`` is 0.
    """
    out = {}
    if cfg.homeostasis <= 0:
        return out
    n = len(cfg.layers) - 1
    for l in range(1, n):
        f = cfg.forward(l)
        if f.plastic:
            per_post = cfg.homeostasis * cfg.free_window * np.sum(cfg.homeostasis_rate - rates[l], axis=0)
            out[f.name] = np.broadcast_to(per_post, (cfg.layers[l - 1].size, cfg.layers[l].size)).astype(
                rates[l].dtype)
    return out


def apply_updates(weights, updates, scale=1.0):
    """Add ``scale * updates`` to the weights in place (the learning-rate schedule's factor)."""
    for name, d in updates.items():
        weights[name] += (scale * d).astype(weights[name].dtype, copy=False)
    return weights
