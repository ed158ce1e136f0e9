"""Training engine of a layer stack's spiking backend: blocks, atomic checkpoints, resume, progress.

The Brian2 network (:class:`~spiking_bpdl.stack.network.SpikingStack`) presents ``[spiking] block``
digits per ``run()`` (one ``device.run(run_args=...)`` of a once-compiled project on
``cpp_standalone``); its weights change only through the synapses' STDP code and the per-sample
flush. Between blocks the engine only carries the weights forward: it sets the feedback
synapses' weights (the fixed initial ``g``, the transposed forward weights above, or -- ``[spiking]
feedback = "reciprocal"`` -- the feedback's own weights as its STDP left them) and keeps frozen
projections at their initial values.

Everything random is drawn from ``(seed, samples done)``: the digit order of every pass, each
block's Brian2 seed and encoder phases, and the read-out blocks. A run resumed from its
checkpoint (``OUT/checkpoint_spiking.npz``, written atomically after every block, SHA-256
verified, refused when it belongs to another configuration) therefore continues exactly as an
uninterrupted run would have.
"""

import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from . import twin
from .config import with_added_defaults

__all__ = ["checkpoint_path", "stdp_rules", "network_rules", "centring_offset", "mean_pre_rates", "feedback_weights", "digit_order", "spiking_predict", "train_spiking"]


def checkpoint_path(out, name="spiking"):
    """The checkpoint of run ``name`` (``spiking``, ``spiking_frozen-W1`` ...) in the output folder ``out``."""
    return Path(out) / f"checkpoint_{name}.npz"


def stdp_rules(cfg, mean_pre_rates=None):
    """The pair-STDP window of every plastic forward projection of ``cfg``.

    Parameters
    ----------
    cfg : StackConfig
    mean_pre_rates : dict of str to float, optional
        Mean rate (Hz) of the pre-synaptic layer of each forward projection. With ``stack.centering =
        'pre'`` every hidden projection (``f_1 .. f_(n-1)``, as the rate twin centres them) gets the
        offset ``x_tar`` of :func:`centring_offset` (``PairSTDP.pre_offset``), which turns the rate rule
        ``rho_pre delta rho_post`` into ``(rho_pre - m) delta rho_post``. (Offsets per pre neuron,
        ``[spiking] centring_mean = "neuron"``, are per synapse: :func:`network_rules`.)

    Returns
    -------
    dict of str to PairSTDP

    Raises
    ------
    ConfigError
        A plastic forward projection whose ``[plasticity.*]`` table is not ``rule = "pair"``.
    """
    from ..plasticity import PairSTDP

    hidden = {cfg.forward(l).name for l in range(1, cfg.depth)}
    rules = {}
    for p in cfg.projections:
        if p.role != "forward" or not p.plastic:
            continue
        if p.stdp is None:
            raise ConfigError(f"{cfg.path}: plasticity.{p.plasticity}: projection {p.name} learns by rule "
                              f"{p.rule!r}; the spiking backend needs rule = 'pair' (A_plus, tau_plus, tau_minus)")
        a_plus, a_minus, tau_plus, tau_minus = p.stdp
        rule = PairSTDP(A_plus=a_plus, A_minus=a_minus, tau_plus=tau_plus, tau_minus=tau_minus, w_max=1e9)
        if cfg.centering == "pre" and p.name in hidden and mean_pre_rates and a_plus > 0:
            rule = rule.replace(pre_offset=centring_offset(rule, mean_pre_rates[p.name], cfg))
        rules[p.name] = rule
    return rules


def centring_offset(rule, m, cfg):
    """The offset ``x_tar`` (trace units) of pre-centred pair STDP for a mean pre-synaptic rate ``m`` (Hz).

    Over the two contrastive windows of length ``L = min(free_phase - onset, target_phase)`` (``-1``
    at the end of the free phase, ``+1`` at the start of the target phase) the pairings give
    ``A_minus tau_minus^2 (1 - exp(-L / tau_minus)) rho_pre delta rho_post``: the stationary pairs
    cancel between the windows and the post trace follows the rate step at the switch with its time
    constant, so only that part of the window counts. The offset takes ``A_plus x_tar`` per post
    spike, ``-A_plus x_tar L delta rho_post``, the same for every pre neuron; equating it with the
    pairings' term at ``rho_pre = m`` gives ``x_tar = A_minus tau_minus^2 (1 - exp(-L / tau_minus)) m
    / (A_plus L)`` and the covariance rule ``(rho_pre - m) delta rho_post`` of the rate twin. The result is
    multiplied by ``[spiking] centring_scale`` (default 1). The derivation takes the traces as stationary
    at the switch; after the ``'onset'`` trace reset they reach ``1 - exp(-L / tau_minus)`` of it, which
    makes the pairings' term that much smaller (``docs/stacks.md``).

    Parameters
    ----------
    rule : PairSTDP
    m : float
        Mean rate of the pre-synaptic layer (Hz).
    cfg : StackConfig
        Its phases give ``L``.

    Returns
    -------
    float
    """
    window = min(cfg.free_phase - cfg.plasticity_onset, cfg.target_phase)
    lag = rule.tau_minus**2 * (1.0 - np.exp(-window / rule.tau_minus))
    return float(cfg.centring_scale * rule.A_minus * lag * m / (rule.A_plus * window))


def mean_pre_rates(cfg, weights, x, per_neuron=False):
    """Mean rate (Hz) of every forward projection's pre-synaptic layer on digits ``x``: the input
    encoder's exactly, deeper layers' from the rate twin's free phase (the stand-in for a slow
    running average of the rate). One number per layer, or with ``per_neuron`` one per neuron."""
    rates = twin.free_phase(cfg, weights, np.asarray(x))[1]  # [rho_0 = r_max x, rho_1, ..., rho_n]
    if per_neuron:
        return {cfg.forward(l).name: np.mean(rates[l - 1], axis=0) for l in range(1, cfg.depth + 1)}
    return {cfg.forward(l).name: float(np.mean(rates[l - 1])) for l in range(1, cfg.depth + 1)}


def network_rules(cfg, weights, x):
    """The STDP rules and per-neuron centring offsets that the Brian2 network of ``cfg`` is built with.

    Parameters
    ----------
    cfg : StackConfig
    weights : dict of str to ndarray
        The initial weights (deeper layers' mean rates come from the rate twin's free phase).
    x : ndarray
        Digits whose mean rates centre the hidden projections (the engine uses the first 1,000
        training digits).

    Returns
    -------
    rules : dict of str to PairSTDP
        :func:`stdp_rules` with the layer means (``[spiking] centring_mean = "layer"``: one offset per
        projection in ``pre_offset``).
    pre_offsets : dict of str to ndarray
        With ``centring_mean = "neuron"`` and ``centering = 'pre'``: every hidden projection's offset per
        pre neuron, :func:`centring_offset` of that neuron's own mean rate (``SpikingStack(pre_offsets=)``);
        else empty.
    """
    if not (cfg.centring_mean == "neuron" and cfg.centering == "pre"):
        return stdp_rules(cfg, mean_pre_rates(cfg, weights, x)), {}
    means = mean_pre_rates(cfg, weights, x, per_neuron=True)
    rules = stdp_rules(cfg)  # no scalar offsets: every synapse gets its own pre neuron's
    hidden = {cfg.forward(l).name for l in range(1, cfg.depth)}
    offsets = {name: np.array([centring_offset(rule, m, cfg) for m in means[name]])
               for name, rule in rules.items() if name in hidden and rule.A_plus > 0}
    return rules, offsets


def feedback_weights(cfg, weights, initial):
    """Every projection's weights for the next block, the feedback synapses' included.

    Parameters
    ----------
    cfg : StackConfig
    weights : dict of str to ndarray
        The current weights.
    initial : dict of str to ndarray
        The initial weights (the fixed feedback of ``[spiking] feedback = "random"``).

    Returns
    -------
    dict of str to ndarray
        ``weights`` with each feedback projection ``g_(l+1)`` set to ``initial[g]`` (``random``, and a
        frozen ``g`` of ``reciprocal``), kept at its learnt ``weights[g]`` (a plastic ``g`` of
        ``reciprocal``), to the transpose of the forward projection ``f_(l+1)`` (``transposed``), or to the encoder ``f_1``
        (``encoder``, an auto-encoder pair: reconstruction neuron ``i`` reaches hidden neuron ``j``
        through ``f_1[i, j]``).
    """
    out = dict(weights)
    names = [layer.name for layer in cfg.layers]
    for g in cfg.projections:
        if g.role != "feedback":
            continue
        if cfg.spiking_feedback == "transposed":
            above = cfg.forward(names.index(g.pre))
            out[g.name] = np.asarray(weights[above.name]).T
        elif cfg.spiking_feedback == "encoder":
            out[g.name] = np.asarray(weights[cfg.forward(1).name])
        elif cfg.spiking_feedback == "reciprocal" and g.name in cfg.reciprocal_pairs():
            out[g.name] = weights[g.name]  # learnt by its own STDP, carried from block to block
        else:
            out[g.name] = initial[g.name]
    return out


def digit_order(seed, pass_index, n):
    """The permutation of the ``n`` training digits in pass ``pass_index`` (the same on every backend)."""
    return np.random.default_rng([int(seed), 1, int(pass_index)]).permutation(n)


def spiking_predict(sim, cfg, weights, x, seed):
    """Classes read from the spiking network's own output spike counts (no target, no plasticity).

    Parameters
    ----------
    sim : SpikingStack
    cfg : StackConfig
    weights : dict of str to ndarray
        Every projection's weights (feedback included: the free network is recurrent).
    x : ndarray (n, n_0)
        Digits in [0, 1]; ``n`` a multiple of the block.
    seed : int
        Seeds the blocks (``(seed, offset)``): the read-out is reproducible.

    Returns
    -------
    predictions : ndarray of int (n,)
        The class whose output population fired most in ``[onset, presentation)`` (ties: the lowest).
    counts : ndarray (n, 10)
        Spike counts per class population.
    """
    block, top = sim.block, cfg.layers[-1].size
    if len(x) % block:
        raise ConfigError(f"spiking read-out: {len(x)} digits are not a multiple of the block ({block})")
    counts = []
    for b in range(0, len(x), block):
        r = sim.run_block(x[b:b + block], np.zeros((block, top)), weights, learn=False,
                          seed=_seed(seed, 7, b), rng=np.random.default_rng([int(seed), 5, b]))
        counts.append(r.counts_all[-1].reshape(block, cfg.n_classes, cfg.per_class).sum(axis=2))
    counts = np.concatenate(counts)
    return counts.argmax(axis=1), counts


def _seed(*keys):
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0] % (2**31 - 1))


def train_spiking(cfg, data, seed=None, out=None, resume=False, progress=True, target=None, directory=None,
                  max_blocks=None, log=None, final_readout=None, name="spiking"):
    """Train a classifier stack's Brian2 network by STDP, block by block.

    Parameters
    ----------
    cfg : StackConfig
        ``target = 'label'``; frozen projections (:func:`~spiking_bpdl.stack.config.freeze`) keep
        their initial weights. ``passes`` passes over the first ``samples`` training digits, in
        blocks of ``[spiking] block``; validation points every ``eval_every`` samples.
    data : dict
        From :func:`spiking_bpdl.stack.train.load_splits` (training and validation digits).
    seed : int, optional
        Default ``cfg.seed``: initial weights (the rate twin's, from the same seed), digit order,
        Brian2 seeds.
    out : str or Path, optional
        Folder of the checkpoint (none written when None).
    resume : bool
        Continue from ``OUT/checkpoint_<name>.npz``; without it an existing checkpoint is an error.
    progress : bool or str
        Progress bar (``spiking_bpdl.progress.Progress``).
    target : str, optional
        Brian2 target (default ``[spiking] target``).
    directory : str, optional
        The ``cpp_standalone`` project folder (default: a temporary one).
    max_blocks : int, optional
        Stop after this many blocks in this call (the result has ``complete`` False): for tests of resume.
    log : callable, optional
        Called with one line per validation point.
    final_readout : dict of str to ndarray, optional
        Digits to classify by the trained network's own output spikes once training is complete
        (e.g. ``{"test": x_test}``; each truncated to a multiple of the block).

    Returns
    -------
    dict
        ``weights`` (forward and feedback), ``curve`` (``[{samples, val_accuracy,
        val_accuracy_spiking_readout}]``: the rate pass of the weights on all validation digits, the
        network's own output spikes on the first ``readout_samples`` of them), ``samples``, ``complete``, ``wall_s``, ``train_s``
        (time inside Brian2 runs), ``synaptic_events``, ``n_spikes``, ``target``, ``frozen``
        (forward projections kept at their initial weights), ``readout_samples`` and
        ``final_readout`` (``{name: (predictions, counts)}`` of :func:`spiking_predict`).
    name : str
        The run's name in ``out`` (its checkpoint file).
    """
    from ..checkpoint import open_checkpoint, save_checkpoint
    from ..codegen import runnable_target, use_target
    from ..progress import Progress
    from .network import SpikingStack

    if cfg.target != "label":
        raise ConfigError(f"{cfg.path}: the spiking backend trains classifiers (stack.target = 'label'), "
                          f"got {cfg.target!r}")
    seed = cfg.seed if seed is None else int(seed)
    target = runnable_target(target or cfg.brian_target)
    block = cfg.block
    x_train, l_train = data["x_train"][:cfg.samples], data["l_train"][:cfg.samples]
    n_read = min(cfg.readout_samples, (len(data["x_val"]) // block) * block)
    x_read, l_read = data["x_val"][:n_read], data["l_val"][:n_read]
    per_pass = (len(x_train) // block) * block
    if per_pass == 0:
        raise ConfigError(f"{cfg.path}: {len(x_train)} training digits are fewer than one block ({block})")
    total = per_pass * cfg.passes
    initial = twin.init_weights(cfg, np.random.default_rng(seed), np.float64)
    rules, pre_offsets = network_rules(cfg, initial, x_train[:1000])
    frozen = sorted(p.name for p in cfg.projections if p.role == "forward" and not p.plastic)
    meta_key = {"config": cfg.to_dict(), "backend": "spiking", "seed": seed}

    ckpt = checkpoint_path(out, name) if out is not None else None
    # a checkpoint of an earlier version lacks the keys added since; they ran at their defaults
    opened = open_checkpoint(ckpt, resume, expect_meta=meta_key,
                             upgrade_meta=lambda m: {**m, "config": with_added_defaults(m.get("config", {}))})
    if opened:
        arrays, meta = opened
        weights = {k[2:]: v for k, v in arrays.items() if k.startswith("w_")}
        curve = meta["curve"]
        done, prior_wall, prior_train = int(meta["samples_done"]), float(meta["wall_s"]), float(meta["train_s"])
        events, spikes = int(meta["synaptic_events"]), int(meta["n_spikes"])
    else:
        weights = {k: v.copy() for k, v in initial.items()}
        curve, done, prior_wall, prior_train, events, spikes = [], 0, 0.0, 0.0, 0, 0

    t_start, train_s = time.perf_counter(), 0.0
    bar = Progress(total, desc="train spiking", enabled=progress)
    bar.done = done
    with use_target(target, directory=directory) as project:
        sim = SpikingStack(cfg, rules, block, target=target, directory=project, pre_offsets=pre_offsets)

        def point():
            w = feedback_weights(cfg, weights, initial)
            pred, _ = spiking_predict(sim, cfg, w, x_read, _seed(seed, 11, done))
            rate_pass = twin.predict(cfg, weights, data["x_val"], settled=False)  # feed-forward, as every rate pass
            row = {"samples": done,
                   "val_accuracy": float(np.mean(rate_pass == data["l_val"])),
                   "val_accuracy_spiking_readout": float(np.mean(pred == l_read))}
            curve.append(row)
            if log:
                log(f"spiking {done}: val accuracy {row['val_accuracy_spiking_readout']:.4f} (spiking read-out, "
                    f"{n_read} digits), rate pass {row['val_accuracy']:.4f}")

        if not curve:
            point()
        blocks = 0
        while done < total and (max_blocks is None or blocks < max_blocks):
            p, k = divmod(done, per_pass)
            idx = digit_order(seed, p, len(x_train))[k:k + block]
            y = twin.targets_of(cfg, x_train[idx], l_train[idx])
            t0 = time.perf_counter()
            r = sim.run_block(x_train[idx], y, feedback_weights(cfg, weights, initial), learn=True,
                              seed=_seed(seed, 3, done), lr_scale=cfg.lr_scale(done),
                              rng=np.random.default_rng([seed, 4, done]))
            train_s += time.perf_counter() - t0
            for proj, w in r.weights.items():
                if proj not in frozen:
                    weights[proj] = w
            events, spikes = events + r.synaptic_events, spikes + r.n_spikes
            before, done, blocks = done, done + block, blocks + 1
            if done // cfg.eval_every != before // cfg.eval_every or done >= total:
                point()
            if ckpt is not None:
                save_checkpoint(ckpt, {f"w_{k}": v for k, v in weights.items()},
                                dict(meta_key, samples_done=done, curve=curve, n_spikes=spikes, synaptic_events=events,
                                     wall_s=prior_wall + time.perf_counter() - t_start, train_s=prior_train + train_s))
            bar.update(block, val=curve[-1]["val_accuracy_spiking_readout"])
        bar.close()
        final = feedback_weights(cfg, weights, initial)
        result = dict(weights=final, curve=curve, samples=done, complete=done >= total, target=target,
                      train_s=prior_train + train_s, synaptic_events=events, n_spikes=spikes, frozen=frozen,
                      readout_samples=n_read, final_readout={})
        if result["complete"]:
            # inside the target's context: a cpp_standalone project lives only as long as it
            for key, x in (final_readout or {}).items():
                n = (len(x) // block) * block
                result["final_readout"][key] = spiking_predict(sim, cfg, final, x[:n], _seed(seed, 13))
    result["wall_s"] = prior_wall + time.perf_counter() - t_start
    return result
