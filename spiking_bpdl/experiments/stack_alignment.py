"""Per-layer alignment of a spiking stack's STDP changes with the rate twin's target-propagation update.

One block of digits is run through the Brian2 network (:class:`~spiking_bpdl.stack.network.SpikingStack`)
with plasticity on, ``repetitions`` times: the same weights and digits, a different seed each time
(Poisson and membrane noise, encoder phases). Each forward projection's STDP change of a repetition
is one noisy sample of what the spiking scheme does on these digits. Their mean over the first
``k`` repetitions is compared, by the cosine, with the rate twin's update
(:func:`spiking_bpdl.stack.twin.target_prop_updates`) for the same weights and digits; as ``k``
grows the noise averages out and the cosine rises toward the alignment of the scheme itself.

The control is the same cosine with the twin's update for *shuffled* labels: the part of an STDP
change that does not depend on the label (the common drift of all digits, the pre-centred rule's
offset, the free-phase rates) aligns with the control as well as with the true update. A hidden
layer whose change only random-walks, or only follows the label-blind part, sits at the control;
one that receives the label through the feedback sits above it.

The twin that stands for the spiking scheme (:func:`twin_for_spiking`) is the configuration's own
twin (its centring, nudge, feedback gain and phases, and rates) with ``hidden_target = 'current'``
(the feedback synapses end on the hidden neurons and push their membrane, so the rate follows
through the neuron's own transfer function) and fixed feedback weights equal to the spiking
feedback synapses' weights (the fixed random ``G``, or the transposed forward weights above).
With ``[stack] feedback_phases = "target"`` the twin's hidden target is driven by the whole
target-phase rate above, as in the network. What the twin cannot represent: the free phase's
recurrent loop through the feedback (``feedback_phases = "both"``); and the spiking pre-centring
subtracts one mean rate ``m`` (the offset ``x_tar`` of :func:`spiking_bpdl.stack.engine.stdp_rules`)
where the twin subtracts each input's own minibatch mean.
"""

import dataclasses
import time

import numpy as np

from ..metrics import cosine_similarity as cosine

__all__ = ["control_margin", "plot_update_alignment", "twin_for_spiking", "update_alignment"]


def twin_for_spiking(cfg, weights):
    """The rate twin's configuration and weights that stand for the spiking scheme of ``cfg``.

    Parameters
    ----------
    cfg : StackConfig
        A stack definition with a ``[spiking]`` table.
    weights : dict of str to ndarray
        Every projection's weights (forward and feedback), as the spiking network receives them.

    Returns
    -------
    twin_cfg : StackConfig
        ``cfg`` with ``hidden_target = 'current'`` and ``feedback = 'random'`` (fixed feedback,
        :func:`spiking_bpdl.stack.config.fixed_feedback`); its
        ``feedback_gain`` ``gamma`` scales the feedback current, as it scales every feedback spike's
        jump in the network.
    twin_weights : dict of str to ndarray
        float64 copies; every feedback projection holds the weights the spiking network's feedback
        synapses get (:func:`spiking_bpdl.stack.engine.feedback_weights`: the projection's own, or
        the transposed forward weights above).
    """
    from ..stack import engine
    from ..stack.config import fixed_feedback

    twin_cfg = dataclasses.replace(fixed_feedback(cfg), hidden_target="current")
    fed = engine.feedback_weights(cfg, weights, weights)
    out = {k: np.array(v, dtype=np.float64) for k, v in weights.items()}
    out.update({g.name: np.array(fed[g.name], dtype=np.float64) for g in cfg.projections if g.role == "feedback"})
    return twin_cfg, out


def update_alignment(cfg, weights, x, labels, repetitions, target="cython", seed=0, shuffles=5, feedback_gain=None,
                     directory=None):
    """Cosines between a block's STDP changes and the rate twin's update, against the number of repetitions.

    Parameters
    ----------
    cfg : StackConfig
        A classifier stack whose plastic forward projections learn by pair STDP.
    weights : dict of str to ndarray
        Every projection's weights (feedback included), e.g. :func:`spiking_bpdl.stack.twin.init_weights`.
    x : ndarray (block, n_0)
        The block's digits in [0, 1]; the block is ``len(x)`` digits.
    labels : ndarray of int (block,)
    repetitions : int
        Runs of the same block with the same weights (at least 2: the standard errors need two).
    target : {'cython', 'numpy', 'cpp_standalone'}
        Brian2 target.
    seed : int
        Seeds repetition ``r`` (Brian2 seed and encoder phases from ``(seed, r)``) and the label shuffles.
    shuffles : int
        Label permutations of the control (its cosine is averaged over them).
    feedback_gain : float, optional
        ``gamma`` of the spiking network (default ``[stack] feedback_gain``). The twin keeps the
        configuration's: 0 cuts the label's only way into the hidden layer, an ablation whose hidden
        cosine should fall to the control.
    directory : str, optional
        ``cpp_standalone`` project folder (default: a temporary one).

    Returns
    -------
    dict
        ``k`` (1 .. repetitions); per plastic forward projection (keys in ``projections``):
        ``cos[name][k-1]``, the cosine of the mean change over the first ``k`` repetitions with the
        twin's update; ``cos_shuffled[name][k-1]``, the same with the twin's update for shuffled labels
        (mean over the shuffles); ``single[name]`` and ``single_shuffled[name]``, each repetition's own
        cosines (one sample per repetition: the standard errors of :func:`control_margin`);
        ``cos_limit[name]``, the cosine extrapolated to infinitely many repetitions (the mean
        change's squared norm with the noise's share removed, ``sum_(r != r') dW_r . dW_r'``; NaN when
        the noise dominates); ``changes[name]`` (repetitions, pre, post), ``mean_change[name]`` and
        ``twin_update[name]``. Per LIF layer (by population name): ``rates_free[layer]``, the measured
        rates (Hz) of every repetition and digit in the free phase's counting window ``[onset,
        free_phase)``, and ``rates_target[layer]``, those after the free phase (the target phase when
        ``cycles = 1``), each (repetitions, block, size). Also ``feedback_gain``,
        ``twin`` (the twin's settings, :func:`twin_for_spiking`), ``target``, ``block``, ``wall_s``.
    """
    from ..codegen import runnable_target, use_target
    from ..errors import ConfigError
    from ..stack import engine, twin
    from ..stack.network import SpikingStack

    repetitions = int(repetitions)
    if repetitions < 2:
        raise ConfigError(f"update_alignment needs at least 2 repetitions, got {repetitions}")
    if cfg.target != "label":
        raise ConfigError(f"{cfg.path}: update alignment needs a classifier (stack.target = 'label')")
    target = runnable_target(target)
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    block = len(x)
    gamma = cfg.feedback_gain if feedback_gain is None else float(feedback_gain)
    # the rules exactly as the training engine builds them; the mean input rate of the offset is this
    # block's, so the spiking pre-centring and the twin's minibatch centring share their mean
    rules, pre_offsets = engine.network_rules(cfg, weights, x)
    names = sorted(rules)
    fed = engine.feedback_weights(cfg, weights, weights)
    y = twin.targets_of(cfg, x, labels)

    twin_cfg, twin_w = twin_for_spiking(cfg, weights)
    want = twin.target_prop_updates(twin_cfg, twin_w, x, y)[0]
    rng = np.random.default_rng([int(seed), 17])
    perms = [rng.permutation(block) for _ in range(int(shuffles))]
    controls = [twin.target_prop_updates(twin_cfg, twin_w, x, twin.targets_of(cfg, x, labels[p]))[0] for p in perms]

    # the network starts from the weights rounded to its float32 synapses: the change is measured from there
    start = {n: np.asarray(weights[n], dtype=np.float32).astype(np.float64) for n in names}
    changes = {n: [] for n in names}
    layers = [layer.name for layer in cfg.layers[1:]]
    free_rates, later_rates = {n: [] for n in layers}, {n: [] for n in layers}
    t0 = time.perf_counter()
    with use_target(target, directory=directory) as project:
        sim = SpikingStack(cfg, rules, block, target=target, directory=project, feedback_gain=gamma,
                           pre_offsets=pre_offsets)
        for r in range(repetitions):
            out = sim.run_block(x, y, fed, learn=True, seed=engine._seed(seed, 23, r),
                                rng=np.random.default_rng([int(seed), 29, r]))
            for n in names:
                changes[n].append(out.weights[n] - start[n])
            for n, free, every in zip(layers, out.counts_free, out.counts_all):
                free_rates[n].append(free / sim.free_window)
                later_rates[n].append((every - free) / (sim.presentation - cfg.free_phase))
    wall = time.perf_counter() - t0

    res = {"k": np.arange(1, repetitions + 1), "projections": names, "cos": {}, "cos_shuffled": {}, "single": {},
           "single_shuffled": {}, "cos_limit": {}, "mean_change": {}, "twin_update": {}, "feedback_gain": gamma,
           "twin": {"hidden_target": "current", "feedback": "fixed, the spiking feedback weights",
                    "centering": cfg.centering, "feedback_gain": cfg.feedback_gain,
                    "feedback_phases": cfg.feedback_phases},
           "target": target, "block": block,
           "changes": {}, "rates_free": {n: np.stack(v) for n, v in free_rates.items()},
           "rates_target": {n: np.stack(v) for n, v in later_rates.items()},
           "repetitions": repetitions, "shuffles": int(shuffles), "wall_s": wall}
    for n in names:
        d = np.stack(changes[n])
        running = np.cumsum(d, axis=0) / res["k"][:, None, None]
        res["cos"][n] = np.array([cosine(m, want[n]) for m in running])
        res["cos_shuffled"][n] = np.array([np.mean([cosine(m, c[n]) for c in controls]) for m in running])
        res["single"][n] = np.array([cosine(dr, want[n]) for dr in d])
        res["single_shuffled"][n] = np.array([np.mean([cosine(dr, c[n]) for c in controls]) for dr in d])
        flat = d.reshape(repetitions, -1)
        total = flat.sum(axis=0)
        # E[dW_r . dW_r'] = |s|^2 for r != r' (independent noise), so the off-diagonal pairs estimate the
        # squared norm of the noise-free change
        signal2 = (total @ total - np.sum(flat * flat)) / (repetitions * (repetitions - 1))
        w = np.ravel(want[n])
        res["cos_limit"][n] = float(total @ w / repetitions / (np.sqrt(signal2) * np.linalg.norm(w))) \
            if signal2 > 0 and np.linalg.norm(w) > 0 else float("nan")
        res["changes"][n] = d
        res["mean_change"][n] = running[-1]
        res["twin_update"][n] = np.asarray(want[n])
    return res


def control_margin(result, name):
    """How far one projection's cosine with the twin lies above the shuffled-label control.

    Parameters
    ----------
    result : dict
        From :func:`update_alignment`.
    name : str
        A projection.

    Returns
    -------
    margin : float
        Mean over the repetitions of ``single - single_shuffled`` (each repetition's cosine with the
        twin minus its cosine with the control: a paired difference, so the repetition's own noise
        largely cancels).
    se : float
        Its standard error, ``sd / sqrt(repetitions)`` (``ddof = 1``).
    """
    d = np.asarray(result["single"][name]) - np.asarray(result["single_shuffled"][name])
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def plot_update_alignment(result, ax=None, title=None):
    """Cosine with the twin's update against the number of repetitions averaged, per projection.

    Solid: the mean STDP change over the first ``k`` repetitions against the twin's update; dashed:
    against the twin's update for shuffled labels (the control); a dotted line marks the cosine
    extrapolated to infinitely many repetitions, where the noise allows.

    Parameters
    ----------
    result : dict
        From :func:`update_alignment`.
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.6, 4.8), layout="constrained")
    else:
        fig = ax.figure
    k = result["k"]
    for i, n in enumerate(result["projections"]):
        color = f"C{i}"
        margin, se = control_margin(result, n)
        ax.plot(k, result["cos"][n], "-o", ms=3, color=color,
                label=f"{n} (one repetition: {margin:+.3f} ± {se:.3f} over the control)")
        ax.plot(k, result["cos_shuffled"][n], "--", color=color, label=f"{n}, shuffled labels (control)")
        limit = result["cos_limit"][n]
        if np.isfinite(limit):
            ax.axhline(limit, color=color, ls=":", lw=1)
    ax.axhline(0, color="k", lw=0.5)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("repetitions averaged (same block, new seeds)")
    ax.set_ylabel("cosine with the rate twin's update")
    ax.set_title(title or f"STDP change vs twin update, block of {result['block']} digits, "
                 f"$\\gamma$ = {result['feedback_gain']:g}", fontsize=9)
    ax.grid(alpha=0.3)
    # below the axes: the curves span the whole range of cosines, and a legend inside would cover one
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    return fig
