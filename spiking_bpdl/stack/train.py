"""Minibatch training of a stack's rate twin (target propagation) or of its backprop reference.

Both methods see the same digits in the same order (one permutation of the training pool per
pass, drawn from the seed), start from the same initial weights, use updates summed over a
minibatch (the sum of per-sample changes, as plasticity would add them) and the same
learning-rate schedule ``1 / (1 + samples / lr_decay_samples)``. Validation digits score
every curve point; test digits are never touched here (:func:`evaluate` is for the caller).
"""

import time

import numpy as np

from ..errors import ConfigError
from ..metrics import cosine_similarity
from . import backprop, twin

__all__ = ["METHODS", "load_splits", "load_weights", "evaluate", "alignment", "train"]

#: Training methods: the twin's local rule, or SGD on the exact gradient.
METHODS = ("target_prop", "backprop")


def load_splits(cfg, data_dir=None, test=False):
    """Training, validation (and test) digits and labels of a stack definition, float32 in [0, 1].

    The validation digits are the *last* ``validation_samples`` of the training split (MNIST: the
    last 10,000 of 60,000); the training digits are the first ``train_pool`` of the rest; the
    test digits the first ``test_samples`` of the test split, loaded only when ``test`` is True.

    Returns
    -------
    dict
        ``x_train``, ``l_train``, ``x_val``, ``l_val`` and, with ``test``, ``x_test``, ``l_test``.
    """
    from ..data import load_dataset

    def pooled(images):
        k = cfg.downsample
        x = np.asarray(images, dtype=np.float32)
        if k > 1:
            side = 28 // k
            x = x.reshape(-1, side, k, side, k).mean(axis=(2, 4)).reshape(-1, side * side)
        return x

    ds = load_dataset(cfg.dataset, "train", data_dir_=data_dir, source=cfg.source, download=False)
    n, n_val = ds.images.shape[0], cfg.validation_samples
    if n_val >= n:
        raise ConfigError(f"{cfg.path}: training.validation_samples = {n_val} leaves no training digits "
                          f"({n} in the {ds.source} {cfg.dataset} training split)")
    pool = min(cfg.train_pool, n - n_val)
    out = {"x_train": pooled(ds.images[:pool]), "l_train": ds.labels[:pool],
           "x_val": pooled(ds.images[n - n_val:]), "l_val": ds.labels[n - n_val:]}
    if test:
        t = load_dataset(cfg.dataset, "test", data_dir_=data_dir, source=cfg.source, download=False,
                         limit=cfg.test_samples)
        out["x_test"], out["l_test"] = pooled(t.images), t.labels
    return out


def load_weights(cfg, path):
    """Every projection's weights from a run's ``weights_<run>.npz`` (projection names as keys) or from an
    engine checkpoint (``w_<name>`` keys), checked against the definition's shapes.

    Parameters
    ----------
    cfg : StackConfig
    path : str or Path

    Returns
    -------
    dict of str to ndarray (float64)
    """
    with np.load(path, allow_pickle=False) as f:
        stored = {k[2:] if k.startswith("w_") else k: np.asarray(f[k], dtype=np.float64)
                  for k in f.files if not k.startswith("__")}
    init = twin.init_weights(cfg, np.random.default_rng(cfg.seed), np.float64)
    for name, w in init.items():
        if name not in stored or stored[name].shape != w.shape:
            got = stored[name].shape if name in stored else "missing"
            raise ConfigError(f"{path}: projection {name} of {cfg.name} needs shape {w.shape}, got {got}")
    return {name: stored[name] for name in init}


def evaluate(cfg, weights, x, labels=None, settled=None):
    """Accuracy of a classifier (``target = 'label'``) or per-pixel MSE of an auto-encoder.

    ``settled``: read a classifier from its settled free phase (default ``cfg.twin_loop == 'settled'``;
    backprop's network has no loop and passes False).
    """
    if cfg.target == "label":
        return float(np.mean(twin.predict(cfg, weights, x, settled=settled) == labels))
    return float(np.mean((twin.forward(cfg, weights, x) - x) ** 2))


def alignment(cfg, weights, x, y, rng):
    """Cosines between the twin's update of every forward projection and the negative backprop gradient.

    ``shuffled`` is the control: the twin's update computed with the targets of the minibatch
    permuted (labels that do not belong to the digits), against the true gradient.

    Returns
    -------
    dict of str to dict
        ``{name: {"cos": c, "cos_shuffled": c0}}`` for each forward projection that learns.
    """
    grads, _, _ = backprop.gradients(cfg, weights, x, y)
    upd, _ = twin.target_prop_updates(cfg, weights, x, y, rng)
    shuffled, _ = twin.target_prop_updates(cfg, weights, x, y[rng.permutation(len(y))], rng)
    return {k: {"cos": cosine_similarity(upd[k], -grads[k]),
                "cos_shuffled": cosine_similarity(shuffled[k], -grads[k])}
            for k in grads if k in upd}


def train(cfg, method, data, weights=None, seed=None, eval_every=None, measure_alignment=False, dtype=np.float32,
          log=None, update_rule=None):
    """Train a stack for ``cfg.passes`` passes over ``cfg.samples`` training digits.

    Parameters
    ----------
    cfg : StackConfig
        Frozen projections (:func:`~spiking_bpdl.stack.config.freeze`) keep their initial weights.
    method : {'target_prop', 'backprop'}
    data : dict
        From :func:`load_splits` (training and validation digits).
    weights : dict, optional
        Initial weights (default: :func:`~spiking_bpdl.stack.twin.init_weights` from the seed).
    seed : int, optional
        Default ``cfg.seed``: initial weights, digit order and the feedback's noise.
    eval_every : int, optional
        Samples between validation points (default ``cfg.eval_every``).
    measure_alignment : bool
        At every validation point, also record :func:`alignment` on the next minibatch.
    dtype : numpy dtype
    log : callable, optional
        Called with one line of text per validation point.
    update_rule : callable, optional
        ``target_prop`` only: the minibatch update ``(cfg, weights, x, y, rng) -> (updates, info)``
        (default :func:`~spiking_bpdl.stack.twin.target_prop_updates`); diagnostics pass a variant.

    Returns
    -------
    dict
        ``weights``, ``curve`` (list of ``{"samples", "val"}`` plus ``alignment`` when measured),
        ``val`` (the last point), ``wall_s``, ``samples``.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    seed = cfg.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    weights = twin.init_weights(cfg, rng, dtype) if weights is None else {k: v.astype(dtype) for k, v in
                                                                           weights.items()}
    order_rng, noise_rng = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])
    x_all, l_all = data["x_train"][:cfg.samples], data["l_train"][:cfg.samples]
    y_all = twin.targets_of(cfg, x_all, l_all, dtype)
    every = eval_every or cfg.eval_every
    curve, done, t0 = [], 0, time.time()
    mb = cfg.minibatch
    plastic = {p.name for p in cfg.projections if p.plastic}
    rule = twin.target_prop_updates if update_rule is None else update_rule

    def point():
        row = {"samples": done, "val": evaluate(cfg, weights, data["x_val"], data["l_val"],
                                                settled=None if method == "target_prop" else False)}
        curve.append(row)
        if log:
            log(f"{method} {done}: val {row['val']:.4f} ({time.time() - t0:.0f} s)")

    point()
    for _ in range(cfg.passes):
        order = order_rng.permutation(len(x_all))
        for s in range(0, len(order), mb):
            idx = order[s:s + mb]
            xb, yb = x_all[idx], y_all[idx]
            if measure_alignment and "alignment" not in curve[-1]:
                # Measured on the minibatch that follows the validation point, before it is learnt.
                curve[-1]["alignment"] = alignment(cfg, weights, xb, yb, np.random.default_rng([seed, 3, done]))
            scale = cfg.lr_scale(done)
            if method == "target_prop":
                upd, _ = rule(cfg, weights, xb, yb, noise_rng)
                twin.apply_updates(weights, upd, scale)
            else:
                grads, _, _ = backprop.gradients(cfg, weights, xb, yb)
                twin.apply_updates(weights, {k: -cfg.backprop_step(k) * g for k, g in grads.items() if k in plastic},
                                   scale)
            before = done
            done += len(idx)
            if done // every != before // every:
                point()
    if curve[-1]["samples"] != done:
        point()
    return {"weights": weights, "curve": curve, "val": curve[-1]["val"], "wall_s": time.time() - t0,
            "samples": done}
