"""Training engine for layer pairs: blocks of samples, atomic checkpoints, resume, progress.

One block of ``cfg.block`` samples is ONE Brian2 ``run()`` (spiking backend; stimuli and
phases are TimedArrays) or one pass of minibatches (rate and backprop backends). After
every block the weights, the learning curve and the position in the data stream are
written atomically to ``OUT/checkpoint_<backend>.npz`` (SHA-256 verified). A killed run
restarts from its last checkpoint with ``resume=True`` and, on every target, continues bit
for bit as if it had not been interrupted: data order, corruption, the regular encoder's
initial phases and Brian2's random numbers are all derived from ``(seed, block index)``.

On ``cpp_standalone`` the project is compiled once; every block (training and read-out)
is a ``device.run(run_args=...)`` with new stimuli, weights and the block's random seed,
without recompiling, so the same seed gives the same weights bit for bit there too, and a
resumed run ends as an uninterrupted one.

Data: validation digits are carved from the end of the training split
(:func:`~spiking_bpdl.rate.lif_layer_pair.load_splits`; MNIST: the last 10,000 of 60,000)
and training samples are drawn only from the rest. Every ``curve`` entry is the validation
MSE (``val_mse``); the test digits are scored once, when training is complete
(``test_mse`` and, for the spiking backend, the network's own read-out).
"""

import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError

__all__ = ["BACKENDS", "train_layer_pair", "checkpoint_path", "stream_indices"]

BACKENDS = ("spiking", "rate", "backprop")


def checkpoint_path(out, name):
    """Path of the checkpoint of the run ``name`` (:func:`~spiking_bpdl.checkpoint.run_name`: the
    backend, plus ``_frozen-W`` for an ablation) in the output folder ``out``."""
    return Path(out) / f"checkpoint_{name}.npz"


def stream_indices(seed, start, count, pool):
    """Indices of training samples ``start .. start+count-1`` of the data stream.

    The stream visits the pool in a new random order every epoch; the order of epoch
    ``e`` depends only on ``(seed, e)``, so any block can be regenerated on resume.
    """
    out = np.empty(count, dtype=np.int64)
    for k in range(count):
        s = start + k
        epoch, pos = divmod(s, pool)
        if k == 0 or pos == 0:
            order = np.random.default_rng([seed, epoch]).permutation(pool)
        out[k] = order[pos]
    return out


def _block_rng(seed, block_index):
    return np.random.default_rng([seed, 7919, block_index])


def _brian_seed(seed, block_index):
    return int((seed * 1_000_003 + block_index * 7_919 + 12_345) % (2**31 - 1))


def train_layer_pair(cfg, backend, samples=None, out=None, seed=0, target=None, resume=False,
                     data_dir=None, progress=True, max_blocks=None, standalone_dir=None, on_block=None,
                     score_test=True):
    """Train a layer pair with one backend and return plain results.

    Parameters
    ----------
    cfg : LayerPairConfig
    backend : {'spiking', 'rate', 'backprop'}
    samples : int, optional
        Training samples (default ``cfg.samples``), rounded up to whole blocks.
    out : str or Path, optional
        Folder for checkpoints (none written when None).
    seed : int
        Fixes the initial weights, the data order, the corruption and every random number of
        the spiking network, block by block, on every Brian2 target.
    target : {'numpy', 'cython', 'cpp_standalone'}, optional
        Brian2 target of the spiking backend (default ``cfg.target``).
    resume : bool
        Continue from ``OUT/checkpoint_<run>.npz`` (``<run>``: the backend, plus ``_frozen-W`` when
        ``cfg.frozen`` keeps W at its initial weights). Without it an existing checkpoint
        is an error (it is never overwritten by a fresh run).
    data_dir : str or Path, optional
    progress : bool
        Show a progress bar (samples/s and the current loss) on stderr.
    max_blocks : int, optional
        Stop after this many blocks in this call (to test interruption and resume).
    standalone_dir : str or Path, optional
        Where the ``cpp_standalone`` project is built (default ``OUT/standalone``).
    on_block : callable, optional
        ``on_block(samples_done, W, V, lr_scale)`` after every training block, before the
        evaluation and the checkpoint; it may return ``(W, V)`` to replace the weights
        (diagnostics: weight snapshots, decay or averaging experiments). ``lr_scale`` is the
        block's learning-rate factor.
    score_test : bool
        Score the test digits when training is complete. False (screens, selection): the test
        digits are not even loaded; ``test_mse`` and the test read-out are None.

    Returns
    -------
    dict
        ``backend, samples, val_mse, test_mse, curve [{samples, val_mse}], samples_per_s,
        wall_s, ...``; the spiking backend adds its own read-out, ``val_mse_spiking_readout`` and
        ``test_mse_spiking_readout``. ``W`` and ``V`` as arrays under ``'weights'`` (and as
        initialised under ``'initial_weights'``);
        ``complete`` is False after ``max_blocks`` (then ``test_mse`` is None).
    """
    from ..checkpoint import open_checkpoint, run_name, save_checkpoint
    from ..codegen import check_target
    from ..progress import Progress
    from ..rate.lif_layer_pair import RateTrainer, corrupt, forward, init_weights, load_splits, with_mean_bias

    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    target = check_target(target or cfg.target)
    fallback = None
    if backend == "spiking" and target != "numpy":
        from ..codegen import compiler_available

        if not compiler_available():
            fallback = f"no C++ compiler found for {target}; ran on numpy"
            target = "numpy"
    samples = int(samples or cfg.samples)
    if samples <= 0:
        raise ConfigError(f"samples must be positive, got {samples}")
    n_blocks = -(-samples // cfg.block)
    samples = n_blocks * cfg.block
    x_train, x_val, x_test = load_splits(cfg, data_dir, test=score_test)
    pool = x_train.shape[0]
    cfg = with_mean_bias(cfg, x_train)
    meta_key = {"config": cfg.to_dict(), "backend": backend, "seed": int(seed)}

    def mse(x, W, V):
        return float(np.mean((forward(x, W, V, cfg) - x) ** 2))

    name = run_name(backend, cfg.frozen)
    ckpt = checkpoint_path(out, name) if out is not None else None
    opened = open_checkpoint(ckpt, resume, expect_meta=meta_key)
    W0, V0 = init_weights(cfg, np.random.default_rng([seed, 1]))  # from the seed: the same after a resume
    if opened:
        arrays, meta = opened
        W, V = arrays["W"], arrays["V"]
        curve = [dict(samples=int(s), val_mse=float(m)) for s, m in zip(arrays["curve_samples"], arrays["curve_mse"])]
        done = int(meta["samples_done"])
        prior_wall, prior_train = float(meta["wall_s"]), float(meta["train_s"])
        events = int(meta.get("synaptic_events", 0))
        last_loss = meta.get("loss")
    else:
        W, V = W0.copy(), V0.copy()
        curve = [dict(samples=0, val_mse=mse(x_val, W, V))]
        done, prior_wall, prior_train, events, last_loss = 0, 0.0, 0.0, 0, None

    t_start = time.perf_counter()
    train_s = 0.0
    bar = Progress(samples, desc=f"train {backend}", enabled=progress)
    bar.done = done
    result = {}

    def run_blocks(run_block):
        nonlocal W, V, done, train_s, events, last_loss
        blocks_this_call = 0
        while done < samples:
            if max_blocks is not None and blocks_this_call >= max_blocks:
                break
            k = done // cfg.block
            idx = stream_indices(seed, done, cfg.block, pool)
            x_clean = x_train[idx]
            x_in = corrupt(x_clean, cfg, _block_rng(seed, k))
            t0 = time.perf_counter()
            lr_scale = cfg.lr_scale(done)
            W, V, loss, ev = run_block(x_in, x_clean, W, V, k, lr_scale)
            train_s += time.perf_counter() - t0
            events += ev
            if on_block is not None:
                replaced = on_block(done + cfg.block, W, V, lr_scale)
                if replaced is not None:
                    W, V = replaced
            done += cfg.block
            last_loss = float(loss)
            if done % cfg.eval_every < cfg.block or done >= samples:
                curve.append(dict(samples=done, val_mse=mse(x_val, W, V)))
            if ckpt is not None:
                save_checkpoint(ckpt, {
                    "W": W, "V": V,
                    "curve_samples": np.array([c["samples"] for c in curve]),
                    "curve_mse": np.array([c["val_mse"] for c in curve]),
                }, dict(meta_key, samples_done=done, wall_s=prior_wall + time.perf_counter() - t_start,
                        train_s=prior_train + train_s, synaptic_events=events, loss=last_loss))
            bar.update(cfg.block, loss=last_loss, val_mse=curve[-1]["val_mse"])
            blocks_this_call += 1

    if backend == "spiking":
        from ..codegen import use_target
        from .layer_pair import SpikingLayerPair

        sa_dir = standalone_dir or (Path(out) / "standalone" if out is not None else None)
        if target == "cpp_standalone":
            import gc

            # Brian2 objects of an earlier run in this process keep their names until collected; new ones
            # would get suffixed names, so the project's sources would change and make would recompile all
            # of them (measured: 40 s instead of 1 s for a second run into the same folder).
            gc.collect()
        with use_target(target, directory=sa_dir if target == "cpp_standalone" else None) as directory:
            sim = SpikingLayerPair(cfg, cfg.block, target, directory)
            window = cfg.free_phase - cfg.plasticity_onset

            def spiking_block(x_in, x_clean, W, V, k, lr_scale):
                res = sim.run_block(x_in, x_clean, W, V, learn=True, seed=_brian_seed(seed, k), lr_scale=lr_scale,
                                    rng=np.random.default_rng([seed, 11, k]))
                x_hat = res.recon_free / (window * cfg.max_rate)
                # a frozen projection's gates are 0 (no change); keeping the caller's array also keeps its
                # double precision (the network stores weights in single precision)
                W_new = W if "W" in cfg.frozen else res.W
                V_new = V if "V" in cfg.frozen else res.V
                return W_new, V_new, float(np.mean((x_hat - x_clean) ** 2)), res.synaptic_events

            def readout(x, offset):
                """The spiking network's own reconstruction (no target, no plasticity): MSE per digit."""
                n_read = -(-min(cfg.readout_samples, x.shape[0]) // cfg.block) * cfg.block
                xr = np.resize(x, (n_read, cfg.n_in)) if n_read > x.shape[0] else x[:n_read]
                errs, first = [], None
                for b in range(0, n_read, cfg.block):
                    xb = xr[b:b + cfg.block]
                    res = sim.run_block(xb, xb, W, V, learn=False, seed=_brian_seed(seed, offset + b),
                                        rng=np.random.default_rng([seed, 11, offset + b]))
                    x_hat = res.recon_all / ((cfg.presentation - cfg.plasticity_onset) * cfg.max_rate)
                    errs.append(np.mean((x_hat - xb) ** 2, axis=1))
                    first = x_hat[:8] if first is None else first
                return float(np.mean(np.concatenate(errs))), n_read, first

            run_blocks(spiking_block)
            if done >= samples:
                result["val_mse_spiking_readout"], result["readout_samples"], _ = readout(x_val, 2 * 10**6)
                if score_test:
                    result["test_mse_spiking_readout"], _, result["readout_example"] = readout(x_test, 10**6)
                else:
                    result["test_mse_spiking_readout"] = None
    else:
        trainer = RateTrainer(cfg, backend)

        def rate_block(x_in, x_clean, W, V, k, lr_scale):
            W, V, loss = trainer.train_block(x_in, x_clean, W, V, lr_scale)
            return W, V, loss, 0

        run_blocks(rate_block)
    bar.close()
    wall = prior_wall + time.perf_counter() - t_start
    total_train = prior_train + train_s
    complete = done >= samples
    scored = score_test and complete  # the test digits are scored once, at the end
    mean_image = x_train.mean(axis=0)
    result.update(
        backend=backend,
        run=name,
        frozen=list(cfg.frozen),
        network=cfg.name,
        target=target if backend == "spiking" else None,
        target_fallback=fallback,
        seed=int(seed),
        samples=done,
        complete=complete,
        val_mse=curve[-1]["val_mse"],
        test_mse=mse(x_test, W, V) if scored else None,
        validation_samples=int(x_val.shape[0]),
        train_pool=int(pool),
        test_samples=int(x_test.shape[0]) if x_test is not None else None,
        baseline_mean_image_val_mse=float(np.mean((x_val - mean_image) ** 2)),
        baseline_mean_image_mse=float(np.mean((x_test - mean_image) ** 2)) if x_test is not None else None,
        curve=curve,
        samples_per_s=done / total_train if total_train > 0 else None,
        wall_s=wall,
        last_block_loss=last_loss,
        weights={"W": W, "V": V, "bias_recon": cfg.b_r},
        initial_weights={"W": W0, "V": V0},
        config=cfg,
    )
    if backend == "spiking":
        result["synaptic_events_per_s"] = events / total_train if total_train > 0 else None
    return result
