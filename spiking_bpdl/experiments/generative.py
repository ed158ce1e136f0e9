"""The generative-model experiment of Bengio et al. (2015): train, sample, in-paint, evaluate.

Functions here drive :class:`~spiking_bpdl.models.targetprop.TargetPropModel` on MNIST and
return plain results (numbers and arrays); the ``spiking-bpdl generative`` command and the
notebook call them, and the ``plot_*`` functions draw results without computing anything.

Protocol (``docs/generative.md``):

* data: the first 50,000 MNIST training digits train, the last 10,000 are the validation
  set (Parzen width and epoch selection), the 10,000 test digits are only used at the end;
* evaluation: Parzen-window log-likelihood (Breuleux et al. 2011): a Gaussian kernel on
  each of 10,000 generated samples, width chosen from a grid on the validation set, mean
  log-likelihood of the test digits +- standard error. The same number for 10,000 *real*
  training digits used as the samples is the estimator's ceiling and is always reported.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..checkpoint import load_checkpoint, save_checkpoint
from ..data import load_dataset
from ..errors import CheckpointError, ConfigError
from ..metrics import parzen_log_likelihood, parzen_select_sigma
from ..models.targetprop import TargetPropConfig, TargetPropModel
from ..progress import Progress

__all__ = [
    "PAPER_TABLE",
    "SIGMA_GRID",
    "Splits",
    "load_splits",
    "train",
    "load_model",
    "validation_score",
    "parzen_evaluation",
    "evaluate",
    "inference_curve",
    "GENERATION_VARIANTS",
    "screen_generation_variants",
    "inpainting",
    "half_mask",
    "plot_samples",
    "plot_inpainting",
    "plot_inference_curve",
    "plot_training_history",
]

#: Parzen log-likelihoods on the MNIST test set reported by Bengio et al. (2015), Table 1.
PAPER_TABLE = {
    "DBN": 138.0,
    "Stacked CAE": 121.0,
    "Deep GSN": 214.0,
    "GAN": 225.0,
    "paper, directed sampling only": 126.0,
    "paper, GENERATE with inference": 236.0,
}

#: Parzen widths tried on the validation set.
SIGMA_GRID = (0.125, 0.15, 0.175, 0.20, 0.225, 0.25)

CHECKPOINT_NAME = "generative_checkpoint.npz"
BEST_NAME = "generative_best.npz"
MODEL_NAME = "generative_model.npz"


@dataclass(frozen=True)
class Splits:
    """Training, validation and test images (float32 rows in [0, 1])."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    source: str


def load_splits(config, data_dir=None, source="auto"):
    """MNIST split into train / validation (the last ``n_validation`` training digits) / test.

    Parameters
    ----------
    config : TargetPropConfig
        ``n_validation`` and ``n_train`` (0: all the rest) are used.
    data_dir : path, optional
    source : {'auto', 'full', 'embedded'}
        See :func:`spiking_bpdl.data.load_dataset` (the embedded subset has 2000/500).
    """
    train = load_dataset("mnist", "train", data_dir, source=source, download=False)
    test = load_dataset("mnist", "test", data_dir, source=source, download=False)
    n = len(train.images)
    if config.n_validation >= n:
        raise ConfigError(f"n_validation={config.n_validation} leaves no training data ({n} images)")
    tr = train.images[: n - config.n_validation]
    if config.n_train:
        tr = tr[: config.n_train]
    return Splits(tr, train.images[n - config.n_validation:], test.images, train.source)


def _epoch_rng(seed, epoch):
    return np.random.default_rng([int(seed), int(epoch), 7])


def validation_score(model, splits, n, sigma, seed=0):
    """Cheap Parzen score of GENERATE on the validation set, used to select the epoch.

    Fits the prior on ``n`` training digits, generates ``n`` samples and returns the mean
    Parzen log-likelihood (width ``sigma``) of the first ``n`` validation digits. Biased
    low compared with the 10,000-sample protocol, but comparable across epochs.
    """
    rng = np.random.default_rng([int(seed), 99])
    model.fit_prior(splits.train[:n])
    samples = model.generate(n, rng)
    return float(parzen_log_likelihood(samples, splits.validation[:n], sigma).mean())


def train(config, splits, out_dir, resume=False, progress=True, log=print, select="validation"):
    """TRAIN of Algorithm 2 with a checkpoint after every epoch; fits the prior at the end.

    Parameters
    ----------
    config : TargetPropConfig
    splits : Splits
    out_dir : path
        Receives ``generative_checkpoint.npz`` (latest epoch, for ``resume``),
        ``generative_best.npz`` (epoch with the best validation score) and
        ``generative_model.npz`` (the selected epoch with its fitted prior).
    resume : bool
        Continue from ``generative_checkpoint.npz`` (its configuration must match).
    progress : bool
        Show a progress bar per epoch.
    select : {'validation', 'last'}
        Keep the epoch with the best cheap validation Parzen score (GENERATE with the
        paper's prior), or the last epoch.

    Returns
    -------
    model : TargetPropModel
        The selected model, prior fitted.
    history : dict
        Per-epoch mean local losses, validation scores, seconds; ``selected_epoch``.
    """
    if select not in ("validation", "last"):
        raise ConfigError(f"select must be 'validation' or 'last', got {select!r}")
    out_dir = Path(out_dir)
    ckpt = out_dir / CHECKPOINT_NAME
    model = TargetPropModel(config)
    history = {"epoch": [], "rec_x": [], "enc_h1": [], "rec_h1": [], "enc_h2": [], "h2_spread": [],
               "validation_parzen": [], "seconds": []}
    best = {"epoch": 0, "score": -np.inf}
    start = 0
    if resume:
        if not ckpt.exists():
            raise CheckpointError(f"--resume: no checkpoint {ckpt}")
        arrays, meta = load_checkpoint(ckpt)
        stored = {k: v for k, v in meta.get("config", {}).items() if k != "epochs"}
        wanted = {k: v for k, v in config.to_dict().items() if k != "epochs"}
        if stored != wanted:
            diff = sorted(k for k in wanted if stored.get(k) != wanted[k])
            raise CheckpointError(f"checkpoint {ckpt} was written with another configuration "
                                  f"(differs in {', '.join(diff)}); use another --out or drop --resume")
        if int(meta["epoch"]) > config.epochs:
            raise CheckpointError(f"checkpoint {ckpt} is at epoch {meta['epoch']}, beyond --epochs {config.epochs}")
        model.load_state(arrays, meta)
        history, best, start = meta["history"], meta["best"], int(meta["epoch"])
        log(f"resuming after epoch {start}")
    n = len(splits.train)
    bs = config.batch_size
    for epoch in range(start + 1, config.epochs + 1):
        t0 = time.perf_counter()
        rng = _epoch_rng(config.seed, epoch)
        model.set_epoch(epoch)
        order = rng.permutation(n)
        bar = Progress(n, desc=f"epoch {epoch}/{config.epochs}", unit="img", enabled=progress)
        sums, count = {}, 0
        for s in range(0, n - bs + 1, bs):
            losses = model.train_batch(splits.train[order[s:s + bs]], rng)
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            count += 1
            bar.update(bs, rec_x=losses["rec_x"], enc_h2=losses["enc_h2"])
        bar.close()
        _, h2 = model.feedforward(splits.validation[:1000])
        score = (validation_score(model, splits, config.select_samples, config.select_sigma, config.seed)
                 if config.select_samples else float("nan"))
        history["epoch"].append(epoch)
        for k in ("rec_x", "enc_h1", "rec_h1", "enc_h2"):
            history[k].append(sums[k] / max(count, 1))
        history["h2_spread"].append(float(h2.std(axis=0).mean()))
        history["validation_parzen"].append(score)
        history["seconds"].append(time.perf_counter() - t0)
        if config.select_samples == 0 or score > best["score"]:
            best = {"epoch": epoch, "score": score}
            save_checkpoint(out_dir / BEST_NAME, model.state_arrays(), {**model.state_meta(), "epoch": epoch})
        save_checkpoint(ckpt, model.state_arrays(),
                        {**model.state_meta(), "epoch": epoch, "history": history, "best": best})
        log(f"epoch {epoch}: rec_x={history['rec_x'][-1]:.3f} enc_h2={history['enc_h2'][-1]:.4f} "
            f"h2 spread={history['h2_spread'][-1]:.3f} validation Parzen={score:.1f} "
            f"({history['seconds'][-1]:.0f} s)")
    if select == "last" or not config.select_samples:
        best = {"epoch": history["epoch"][-1] if history["epoch"] else 0,
                "score": history["validation_parzen"][-1] if history["epoch"] else float("nan")}
    else:
        arrays, meta = load_checkpoint(out_dir / BEST_NAME)
        model = TargetPropModel.from_state(arrays, meta)
    t0 = time.perf_counter()
    model.fit_prior(splits.train[: config.prior_samples])
    history["prior_seconds"] = time.perf_counter() - t0
    history["selected_epoch"] = int(best["epoch"])
    save_checkpoint(out_dir / MODEL_NAME, model.state_arrays(),
                    {**model.state_meta(), "epoch": int(best["epoch"]), "history": history})
    return model, history


def load_model(path):
    """Load a trained model (``generative_model.npz``) with its prior; returns ``(model, meta)``."""
    arrays, meta = load_checkpoint(path)
    if "config" not in meta:
        raise CheckpointError(f"{path} is not a generative-model checkpoint")
    model = TargetPropModel.from_state(arrays, meta)
    if model.prior_mean is None:
        raise CheckpointError(f"{path} has no fitted prior (training did not finish)")
    return model, meta


def parzen_evaluation(samples, validation, test, sigmas=SIGMA_GRID):
    """Parzen protocol: choose the width on ``validation``, score ``test``.

    Returns
    -------
    dict
        ``ll`` (mean test log-likelihood), ``sem``, ``sigma`` and ``validation_scores``.
    """
    sigma, scores = parzen_select_sigma(samples, validation, sigmas=sigmas)
    ll = parzen_log_likelihood(samples, test, sigma)
    return {"ll": float(ll.mean()), "sem": float(ll.std(ddof=1) / np.sqrt(len(ll))), "sigma": sigma,
            "validation_scores": scores}


def evaluate(model, splits, n_samples=10000, seed=0, sigmas=SIGMA_GRID, ceiling=True, screen_priors=False,
             screen_samples=2000, screen_prior_samples=20000, log=print):
    """Parzen log-likelihood of GENERATE and of directed sampling (same prior draws).

    Parameters
    ----------
    model : TargetPropModel
        Trained, prior fitted.
    splits : Splits
    n_samples : int
        Generated samples (10,000 in the protocol).
    ceiling : bool
        Also score ``n_samples`` real training digits used as the samples.
    screen_priors : bool
        Also screen the priors of :data:`GENERATION_VARIANTS` on the validation set
        (``screen_samples`` samples each, codes of ``screen_prior_samples`` training
        digits) and evaluate the best one with the full protocol (``*_best_prior`` keys;
        its samples are returned under ``result['_best_prior_samples']``, to be popped).

    Returns
    -------
    result : dict
        The JSON keys of ``spiking-bpdl generative evaluate`` (``parzen_ll``,
        ``parzen_sem``, ``sigma``, ``parzen_ll_directed``, ...).
    samples : ndarray
        The GENERATE samples (for figures).
    """
    rng = np.random.default_rng([int(seed), 2015])
    t0 = time.perf_counter()
    samples, directed = model.generate(n_samples, rng, return_directed=True)
    t_gen = time.perf_counter() - t0
    log(f"generated {n_samples} samples in {t_gen:.0f} s")
    t0 = time.perf_counter()
    gen = parzen_evaluation(samples, splits.validation, splits.test, sigmas)
    log(f"GENERATE: {gen['ll']:.1f} +- {gen['sem']:.1f} (sigma {gen['sigma']})")
    dirc = parzen_evaluation(directed, splits.validation, splits.test, sigmas)
    log(f"directed: {dirc['ll']:.1f} +- {dirc['sem']:.1f} (sigma {dirc['sigma']})")
    result = {
        "parzen_ll": gen["ll"], "parzen_sem": gen["sem"], "sigma": gen["sigma"],
        "parzen_ll_directed": dirc["ll"], "parzen_sem_directed": dirc["sem"], "sigma_directed": dirc["sigma"],
        "validation_scores": {str(k): v for k, v in gen["validation_scores"].items()},
        "validation_scores_directed": {str(k): v for k, v in dirc["validation_scores"].items()},
        "n_samples": int(n_samples), "n_test": int(len(splits.test)), "n_validation": int(len(splits.validation)),
        "sigma_grid": list(sigmas), "paper_table": dict(PAPER_TABLE),
        "sample_mean_pixel": float(samples.mean()), "sample_min": float(samples.min()),
        "sample_max": float(samples.max()), "generate_seconds": t_gen,
    }
    if screen_priors:
        t1 = time.perf_counter()
        screening = screen_generation_variants(model, splits, n_samples=screen_samples,
                                               prior_samples=screen_prior_samples, seed=seed, log=log)
        best = max(screening, key=lambda v: v["validation_ll"])
        saved = (model.prior_mean, model.prior_var, model.prior_weights)
        try:
            _, codes = model.infer_batched(splits.train[:screen_prior_samples])
            model.fit_prior_to_codes(codes, best["variance_scale"], best["full_covariance"], best["n_components"],
                                     seed)
            best_samples = model.generate(n_samples, np.random.default_rng([int(seed), 2016]))
        finally:
            model.prior_mean, model.prior_var, model.prior_weights = saved
        bst = parzen_evaluation(best_samples, splits.validation, splits.test, sigmas)
        log(f"best prior on validation ({best['name']}): {bst['ll']:.1f} +- {bst['sem']:.1f} (sigma {bst['sigma']})")
        result.update({"prior_screening": screening, "best_prior": best["name"],
                       "parzen_ll_best_prior": bst["ll"], "parzen_sem_best_prior": bst["sem"],
                       "sigma_best_prior": bst["sigma"], "screen_seconds": time.perf_counter() - t1})
        result["_best_prior_samples"] = best_samples
    if ceiling:
        real = parzen_evaluation(splits.train[:n_samples], splits.validation, splits.test, sigmas)
        log(f"real-data ceiling: {real['ll']:.1f} +- {real['sem']:.1f} (sigma {real['sigma']})")
        result.update({"ceiling_real_data_ll": real["ll"], "ceiling_real_data_sem": real["sem"],
                       "ceiling_real_data_sigma": real["sigma"]})
    result["parzen_seconds"] = time.perf_counter() - t0
    return result, samples


#: Generation settings screened on the validation set (the paper's is the first).
GENERATION_VARIANTS = (
    {"name": "paper: diagonal prior x4", "variance_scale": 4.0, "full_covariance": False, "n_components": 1},
    {"name": "diagonal prior x2", "variance_scale": 2.0, "full_covariance": False, "n_components": 1},
    {"name": "full-covariance prior x1", "variance_scale": 1.0, "full_covariance": True, "n_components": 1},
    {"name": "full-covariance prior x2", "variance_scale": 2.0, "full_covariance": True, "n_components": 1},
    {"name": "full-covariance prior x4", "variance_scale": 4.0, "full_covariance": True, "n_components": 1},
    {"name": "mixture of 10 full Gaussians x1", "variance_scale": 1.0, "full_covariance": True, "n_components": 10},
    {"name": "mixture of 10 full Gaussians x2", "variance_scale": 2.0, "full_covariance": True, "n_components": 10},
    {"name": "mixture of 30 full Gaussians x1", "variance_scale": 1.0, "full_covariance": True, "n_components": 30},
    {"name": "mixture of 30 full Gaussians x2", "variance_scale": 2.0, "full_covariance": True, "n_components": 30},
    {"name": "mixture of 60 full Gaussians x1", "variance_scale": 1.0, "full_covariance": True, "n_components": 60},
    {"name": "mixture of 60 full Gaussians x2", "variance_scale": 2.0, "full_covariance": True, "n_components": 60},
)


def screen_generation_variants(model, splits, variants=GENERATION_VARIANTS, n_samples=2000, n_validation=2000,
                               prior_samples=10000, sigmas=(0.15, 0.2, 0.25), seed=0, log=print):
    """Score priors p(h2) (shape, scale, mixtures) for GENERATE on the validation set only.

    Each variant refits ``p(h2)`` to the same inferred training codes, generates
    ``n_samples`` and scores the first ``n_validation`` validation digits with the best
    width of ``sigmas``. The test set is not touched, so the best variant can then be
    evaluated on it without selection bias. The model's prior is restored afterwards.

    Returns
    -------
    list of dict
        The variant settings plus ``validation_ll`` and ``sigma``.
    """
    saved = (model.prior_mean, model.prior_var, model.prior_weights)
    _, codes = model.infer_batched(splits.train[:prior_samples])
    out = []
    try:
        for v in variants:
            model.fit_prior_to_codes(codes, v["variance_scale"], v["full_covariance"], v["n_components"], seed)
            samples = model.generate(n_samples, np.random.default_rng([int(seed), 5]))
            sigma, scores = parzen_select_sigma(samples, splits.validation[:n_validation], sigmas=sigmas)
            out.append({**v, "validation_ll": scores[sigma], "sigma": sigma})
            log(f"{v['name']}: validation {scores[sigma]:.1f} (sigma {sigma})")
    finally:
        model.prior_mean, model.prior_var, model.prior_weights = saved
    return out


def inference_curve(model, x, n_steps=20, batch_size=500):
    """``log p(x, h)`` during ``n_steps`` INFERENCE iterations (the paper's Fig. 4).

    Returns
    -------
    dict
        ``step`` (0..n_steps), ``mean`` and ``sem`` over the rows of ``x`` (nats), the
        per-step means of the three terms ``log_px_h1``, ``log_ph1_h2``, ``log_ph2`` (over all
        rows; they sum to ``mean``), and ``fraction_increased`` (rows whose log p(x, h) is
        higher after the last step than at the feedforward start).
    """
    names = ("log_px_h1", "log_ph1_h2", "log_ph2")
    per_term = {name: [] for name in names}  # name -> list over batches of (n_steps+1, b)
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        h1, h2 = model.feedforward(xb)
        model._clip(h1, h2)
        rows = {name: [] for name in names}
        for k in range(n_steps + 1):
            if k:
                h1, h2 = model.infer(xb, n_steps=1, h_init=(h1, h2))
            for name, t in zip(names, model.log_joint(xb, h1, h2, terms=True)):
                rows[name].append(t)
        for name in names:
            per_term[name].append(np.array(rows[name]))
    terms = {name: np.concatenate(per_term[name], axis=1) for name in names}
    trace = sum(terms.values())
    n = trace.shape[1]
    return {"step": list(range(n_steps + 1)), "mean": trace.mean(axis=1).tolist(),
            "sem": (trace.std(axis=1, ddof=1) / np.sqrt(n)).tolist(), "n": int(n),
            "fraction_increased": float(np.mean(trace[-1] > trace[0])),
            **{name: terms[name].mean(axis=1).tolist() for name in names}}


def half_mask(n_visible=784, side="bottom"):
    """Boolean mask of observed pixels with one half of a 28x28 image missing."""
    size = int(round(np.sqrt(n_visible)))
    m = np.ones((size, size), dtype=bool)
    half = size // 2
    if side == "bottom":
        m[half:] = False
    elif side == "top":
        m[:half] = False
    elif side == "left":
        m[:, :half] = False
    elif side == "right":
        m[:, half:] = False
    else:
        raise ConfigError(f"unknown side {side!r}; choose bottom, top, left or right")
    return m.ravel()


def inpainting(model, x, n_steps=20, side="bottom", seed=0):
    """In-paint half of each image of ``x`` (the paper's Fig. 5).

    Returns
    -------
    dict
        ``original``, ``corrupted`` (missing half as uniform noise), ``filled`` (after
        ``n_steps``), ``history`` (every step), ``mask``, and the mean squared error on the
        missing pixels at the start and at the end (``mse_start``, ``mse_end``).
    """
    mask = half_mask(x.shape[1], side)
    filled, history = model.inpaint(x, mask, n_steps=n_steps, rng=seed, record=True)
    missing = ~mask
    err = [float(np.mean((h[:, missing] - x[:, missing]) ** 2)) for h in history]
    return {"original": x, "corrupted": history[0], "filled": filled, "history": history, "mask": mask,
            "mse_per_step": err, "mse_start": err[0], "mse_end": err[-1]}


# -- plotting (no computation) -----------------------------------------------------------

def plot_samples(images, ax=None, n_cols=10, title=None):
    """Grid of 28x28 images (rows of ``images``); returns the figure."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    n = len(images)
    n_rows = int(np.ceil(n / n_cols))
    size = int(round(np.sqrt(images.shape[1])))
    grid = np.ones((n_rows * (size + 1), n_cols * (size + 1)))
    for i, im in enumerate(images):
        r, c = divmod(i, n_cols)
        grid[r * (size + 1):r * (size + 1) + size, c * (size + 1):c * (size + 1) + size] = im.reshape(size, size)
    if ax is None:
        fig, ax = plt.subplots(figsize=(n_cols * 0.6, n_rows * 0.6))
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax.figure


def plot_inpainting(result, n_show=8, steps=(0, 1, 2, 5, 10, 20)):
    """Rows: original, then the in-painting at the given steps (the paper's Fig. 5)."""
    import matplotlib.pyplot as plt

    hist = result["history"]
    steps = [s for s in steps if s < len(hist)]
    rows = [result["original"][:n_show]] + [hist[s][:n_show] for s in steps]
    labels = ["original"] + [f"step {s}" for s in steps]
    fig, axes = plt.subplots(len(rows), 1, figsize=(n_show * 0.7, len(rows) * 0.8))
    for ax, row, label in zip(axes, rows, labels):
        plot_samples(row, ax=ax, n_cols=n_show)
        ax.set_title(label, fontsize=8, loc="left")
    fig.tight_layout()
    return fig


def plot_inference_curve(curve, ax=None):
    """``log p(x, h)`` over INFERENCE iterations, mean +- s.e.m. (the paper's Fig. 4)."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
    mean, sem = np.array(curve["mean"]), np.array(curve["sem"])
    ax.errorbar(curve["step"], mean, yerr=sem, marker="o", ms=3, capsize=2)
    ax.set_xlabel("INFERENCE iteration")
    ax.set_ylabel("log p(x, h) (nats)")
    ax.set_title(f"test set, n = {curve['n']}")
    ax.figure.tight_layout()
    return ax.figure


def plot_training_history(history, ax=None):
    """Validation Parzen score and reconstruction error per epoch."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.plot(history["epoch"], history["validation_parzen"], "o-", label="validation Parzen (cheap)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats")
    ax2 = ax.twinx()
    ax2.plot(history["epoch"], history["rec_x"], "s--", color="C1", label="rec. error x")
    ax2.set_ylabel("reconstruction error")
    ax.legend(loc="lower right", fontsize=7)
    ax.figure.tight_layout()
    return ax.figure
