"""VPF against CD-1 and PCD on binarised MNIST / Fashion-MNIST: training, evaluation, plots.

Protocol (the same for every method; decisions where the issue is silent are marked in
docs/vpf.md):

* Data: pixels binarised at 0.5. The last ``n_val`` training images are the validation
  set; the test set is the official 10k test split.
* Training: minibatch SGD with momentum, identical initialisation. The learning rate is
  chosen from the same grid for every method, and the stopping point from the same
  validation criterion (mean of the two validation reconstruction MSEs, measured
  ``curve_points_per_epoch`` times per epoch). The best (learning rate, checkpoint) wins.
* Reconstruction: the known pixels are clamped, the unknown ones start at 0; the
  reconstruction is the unknown pixels' firing probability averaged over Gibbs sweeps.
  MSE is over the unknown pixels against the clean binarised image (``*_all`` keys: over all
  784 pixels, i.e. half of it for both corruptions here). Corruptions: 50% of the pixels unknown, chosen at random per image
  (fixed seed, identical for every method), and the bottom 14 rows unknown.
* Likelihood: AIS log Z (RBM only) and the mean test ``log p(v)``; Parzen-window
  log-likelihood (:mod:`spiking_bpdl.metrics`) of the binarised test set under the
  visible probabilities of free-running Gibbs chains, sigma chosen on validation. The
  Parzen "ceiling" (real training images as samples) is reported next to it.
"""

import math
import numbers
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..data import load_dataset
from ..errors import ConfigError, DataError
from ..metrics import parzen_log_likelihood, parzen_select_sigma
from ..models.ais import ais_log_partition, rbm_log_likelihood
from ..models.boltzmann import PCDState, cd1_update, init_model, reconstruct, sample_model, zero_update
from ..models.vpf import vpf_gradient

__all__ = [
    "METHODS",
    "DATASETS",
    "DEFAULT_LEARNING_RATES",
    "DEFAULT_DEFINITION",
    "DEFINITION_SECTIONS",
    "VPFConfig",
    "vpf_config_from_definition",
    "BinarisedData",
    "load_binarised",
    "dropout_mask",
    "occlusion_mask",
    "reconstruction_scores",
    "train_model",
    "tune_and_train",
    "evaluate_model",
    "run_one",
    "run_comparison",
    "paired_reconstruction_comparison",
    "results_table_markdown",
    "plot_filters",
    "plot_samples",
    "plot_learning_curves",
    "plot_reconstructions",
]

METHODS = ("vpf", "cd", "pcd")
DATASETS = ("mnist", "fashion-mnist")
#: Learning-rate grid shared by all methods (half-decades).
DEFAULT_LEARNING_RATES = (3e-4, 1e-3, 3e-3, 1e-2)
N_PIXELS = 784


#: The shipped definition whose values are the command's defaults (``networks/vpf_mnist.toml``).
DEFAULT_DEFINITION = "vpf_mnist"
#: Tables of a VPF definition and the :class:`VPFConfig` fields each holds.
DEFINITION_SECTIONS = {
    "data": ("dataset", "source", "data_dir", "n_train", "n_val", "n_test"),
    "model": ("hidden", "lateral"),
    "training": ("method", "epochs", "batch_size", "momentum", "learning_rates", "n_select", "select_sweeps",
                 "curve_points_per_epoch", "mf_iter", "pcd_chains", "seed"),
    "evaluation": ("recon_sweeps", "ais_chains", "ais_betas", "parzen_samples", "sample_sweeps", "parzen_val"),
}
_SECTION_OF = {name: section for section, names in DEFINITION_SECTIONS.items() for name in names}
_POSITIVE_INTS = ("epochs", "batch_size", "n_train", "n_val", "n_test", "n_select", "select_sweeps",
                  "curve_points_per_epoch", "recon_sweeps", "mf_iter", "pcd_chains", "ais_chains", "ais_betas",
                  "parzen_samples", "sample_sweeps", "parzen_val")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class VPFConfig:
    """Everything that defines one training + evaluation run.

    Every field is checked when the configuration is built (``__post_init__``), so neither
    the constructor nor ``dataclasses.replace`` can make an invalid one. Errors are one-line
    :class:`~spiking_bpdl.errors.ConfigError` (:class:`~spiking_bpdl.errors.DataError` for an
    unknown dataset) naming the key: ``<definition>: training.epochs: ...`` for a
    configuration read by :func:`vpf_config_from_definition`, the field name otherwise.

    Attributes
    ----------
    dataset : {'mnist', 'fashion-mnist'}
    method : {'vpf', 'cd', 'pcd'}
        ``cd`` is CD-1 (RBM only); ``pcd`` is PCD, with a mean-field positive phase for a
        DBM or a model with laterals.
    hidden : tuple of int
        Hidden layer sizes: ``(500,)`` is an RBM, ``(500, 200)`` a two-hidden-layer DBM.
    lateral : bool
        Intra-layer connections in the hidden layers.
    epochs : int
    batch_size : int
    momentum : float
    learning_rates : tuple of float
        Grid searched on validation (one value: no search).
    n_train, n_val, n_test : int
        Training images (at most), validation images (held out of the training split), test images.
    n_select : int
        Validation images used for model selection and learning curves.
    select_sweeps : int
        Gibbs sweeps averaged in the validation reconstructions.
    curve_points_per_epoch : int
    recon_sweeps : int
        Gibbs sweeps averaged in the test reconstructions.
    mf_iter : int
        Mean-field sweeps (DBM/laterals).
    pcd_chains : int
    ais_chains, ais_betas : int
    parzen_samples, sample_sweeps, parzen_val : int
    seed : int
        Non-negative.
    source : {'auto', 'full', 'embedded'}
    data_dir : str or None
    definition : str or None
        The definition file the configuration was read from (None: built in Python).
    """

    dataset: str = "mnist"
    method: str = "vpf"
    hidden: tuple = (500,)
    lateral: bool = False
    epochs: int = 4
    batch_size: int = 100
    momentum: float = 0.9
    learning_rates: tuple = DEFAULT_LEARNING_RATES
    n_train: int = 50000
    n_val: int = 10000
    n_test: int = 10000
    n_select: int = 1000
    select_sweeps: int = 10
    curve_points_per_epoch: int = 2
    recon_sweeps: int = 50
    mf_iter: int = 10
    pcd_chains: int = 100
    ais_chains: int = 100
    ais_betas: int = 3000
    parzen_samples: int = 10000
    sample_sweeps: int = 100
    parzen_val: int = 1000
    seed: int = 0
    source: str = "full"
    data_dir: str = None
    definition: str = None

    def __post_init__(self):
        key = self._key

        def bad(name, msg, error=ConfigError):
            raise error(f"{key(name)}: {msg}")

        def set_(name, value):  # normalised values (tuples, plain ints and floats) on a frozen instance
            object.__setattr__(self, name, value)

        def real(name, value):
            if not _is_real(value):
                bad(name, f"expected a number, got {value!r}")
            if not math.isfinite(value):
                bad(name, f"must be finite, got {value!r}")
            return float(value)

        if self.definition is not None:
            set_("definition", str(self.definition))
        for name in ("dataset", "method", "source"):
            if not isinstance(getattr(self, name), str):
                bad(name, f"expected a string, got {getattr(self, name)!r}")
        if self.dataset not in DATASETS:
            bad("dataset", f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}", DataError)
        if self.method not in METHODS:
            bad("method", f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.source not in ("auto", "full", "embedded"):
            bad("source", f"unknown data source {self.source!r}; choose one of auto, full, embedded")
        if self.data_dir is not None:
            if not isinstance(self.data_dir, (str, os.PathLike)):
                bad("data_dir", f"expected a path string, got {self.data_dir!r}")
            set_("data_dir", str(self.data_dir))
        if not isinstance(self.hidden, (list, tuple)) or not 1 <= len(self.hidden) <= 2 \
                or not all(_is_int(h) and h > 0 for h in self.hidden):
            bad("hidden", f"expected one or two positive layer sizes, like [500] or [500, 200], got {self.hidden!r}")
        set_("hidden", tuple(int(h) for h in self.hidden))
        if not isinstance(self.lateral, bool):
            bad("lateral", f"expected true or false, got {self.lateral!r}")
        if self.method == "cd" and not self.is_rbm:
            bad("method", "CD-1 is run on the RBM only (one hidden layer, no laterals); use pcd")
        for name in _POSITIVE_INTS:
            value = getattr(self, name)
            if not _is_int(value) or value <= 0:
                bad(name, f"must be a positive integer, got {value!r}")
            set_(name, int(value))
        if not _is_int(self.seed) or self.seed < 0:
            bad("seed", f"must be a non-negative integer, got {self.seed!r}")
        set_("seed", int(self.seed))
        momentum = real("momentum", self.momentum)
        if not 0 <= momentum < 1:
            bad("momentum", f"must be in [0, 1), got {self.momentum!r}")
        set_("momentum", momentum)
        if not isinstance(self.learning_rates, (list, tuple)) or not self.learning_rates:
            bad("learning_rates", f"expected a non-empty list of numbers, got {self.learning_rates!r}")
        rates = tuple(real("learning_rates", lr) for lr in self.learning_rates)
        if any(not lr > 0 for lr in rates):
            bad("learning_rates", f"must all be positive, got {list(self.learning_rates)}")
        set_("learning_rates", rates)

    def _key(self, name):
        """How an error names field ``name``: ``<definition>: <table>.<key>``, or the bare field name."""
        return f"{self.definition}: {_SECTION_OF[name]}.{name}" if self.definition else name

    def validate(self):
        """Return ``self``: a VPFConfig is validated when it is built (kept for existing callers)."""
        return self

    def to_dict(self):
        """Plain, JSON-able dict of every field (lists for the tuples); what results record as ``config``."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @property
    def sizes(self):
        return (N_PIXELS,) + tuple(self.hidden)

    @property
    def is_rbm(self):
        return len(self.hidden) == 1 and not self.lateral


def vpf_config_from_definition(path=DEFAULT_DEFINITION, overrides=(), changes=None):
    """Read a VPF definition (``networks/vpf_mnist.toml``) into a validated :class:`VPFConfig`.

    Parameters
    ----------
    path : str or Path
        A file, or the name of a shipped definition (``vpf_mnist``), resolved by
        :func:`spiking_bpdl.spec.read_definition`.
    overrides : iterable of str
        ``table.key=value`` items applied to the document before validation, e.g.
        ``"training.epochs=2"`` (the syntax and errors of every definition's ``--set``).
    changes : dict, optional
        Field values that replace the document's after the overrides (the command's
        explicitly given flags), e.g. ``{"epochs": 2}``.

    Returns
    -------
    VPFConfig
        Its ``definition`` is the file as given, or ``networks/<name>.toml`` for a shipped
        definition found by name (the same on every machine, so results stay comparable). A key
        the document lacks keeps the :class:`VPFConfig` default.

    Raises
    ------
    ConfigError
        One line naming the file and the key: an unknown table or key, a value of the wrong
        type, a non-finite or out-of-range number (see :class:`VPFConfig`).
    """
    from ..spec import definition_dirs, read_definition, table_values

    path, data = read_definition(path, overrides)
    if path.is_absolute() and path.parent in definition_dirs():
        path = Path("networks", path.name)
    values = table_values(data, DEFINITION_SECTIONS, str(path))
    values.update(changes or {})
    return VPFConfig(**values, definition=str(path))


@dataclass
class BinarisedData:
    """Binarised train / validation / test images (float32 0/1 rows) and their source."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    source: str
    name: str = ""
    extra: dict = field(default_factory=dict)


def _check_images(images, what):
    if images.ndim != 2 or images.shape[1] != N_PIXELS:
        raise DataError(f"{what}: expected images of shape (n, {N_PIXELS}), got {images.shape}")


def load_binarised(dataset, n_train=50000, n_val=10000, n_test=10000, source="full", data_dir=None):
    """Load a dataset, binarise it at 0.5 and split off the validation set.

    Parameters
    ----------
    dataset : {'mnist', 'fashion-mnist'}
    n_train, n_val, n_test : int
        The validation images are the last ``n_val`` of the training split (at most a fifth
        of it); training uses at most ``n_train`` of the others.
    source : {'auto', 'full', 'embedded'}
        ``full`` needs the IDX files and never downloads (a missing file is a DataError).
    data_dir : str or Path, optional

    Returns
    -------
    BinarisedData
    """
    train = load_dataset(dataset, "train", data_dir, source=source, download=False)
    test = load_dataset(dataset, "test", data_dir, source=source, download=False)
    _check_images(train.images, f"{dataset} train")
    _check_images(test.images, f"{dataset} test")
    n_val = min(n_val, len(train) // 5)
    x = (train.images >= 0.5).astype(np.float32)
    tr, va = x[: len(x) - n_val][:n_train], x[len(x) - n_val:]
    te = (test.images[:n_test] >= 0.5).astype(np.float32)
    return BinarisedData(tr, va, te, train.source, dataset)


def dropout_mask(n, rng, fraction=0.5):
    """Known-pixel mask with exactly ``fraction`` of each image's pixels unknown, at random."""
    k = int(round(fraction * N_PIXELS))
    order = np.argsort(rng.random((n, N_PIXELS)), axis=1)
    mask = np.ones((n, N_PIXELS), dtype=bool)
    np.put_along_axis(mask, order[:, :k], False, axis=1)
    return mask


def occlusion_mask(n):
    """Known-pixel mask with the bottom 14 of 28 rows unknown."""
    mask = np.ones((n, N_PIXELS), dtype=bool)
    mask[:, N_PIXELS // 2:] = False
    return mask


def reconstruction_scores(model, images, masks, n_sweeps, rng, fill=None):
    """MSE of the clamped-Gibbs reconstruction for each corruption.

    Parameters
    ----------
    model : BoltzmannMachine or None
        None: fill the unknown pixels with ``fill`` (e.g. the training mean) instead.
    images : ndarray, shape (n, 784)
    masks : dict of str to ndarray of bool
        Known-pixel masks, e.g. ``{'dropout50': ..., 'occlusion': ...}``.
    n_sweeps : int
    rng : numpy.random.Generator
    fill : ndarray, optional

    Returns
    -------
    scores : dict
        ``{name: MSE over the unknown pixels, name + '_all': MSE over all 784 pixels}``.
    recons : dict of str to ndarray
    """
    scores, recons = {}, {}
    for name, mask in masks.items():
        if model is None:
            rec = np.where(mask, images, np.broadcast_to(fill, images.shape))
        else:
            rec = reconstruct(model, images, mask, n_sweeps=n_sweeps, rng=rng)
        err = (rec.astype(np.float64) - images) ** 2
        scores[name] = float(err[~mask].mean())
        scores[name + "_all"] = float(err.mean())
        recons[name] = rec
    return scores, recons


def paired_reconstruction_comparison(models, images, n_sweeps=50, seed=0):
    """Per-image reconstruction errors of several models on identical corruptions, and paired differences.

    Parameters
    ----------
    models : dict of str to BoltzmannMachine
    images : ndarray, shape (n, 784)
    n_sweeps : int
    seed : int

    Returns
    -------
    dict
        For each corruption: ``{method: {'mean', 'sem'}}`` of the per-image MSE over the unknown
        pixels, and ``'a - b'`` entries with the mean and standard error of the paired per-image
        difference (negative: ``a`` reconstructs better).
    """
    n = len(images)
    masks = {"dropout50": dropout_mask(n, np.random.default_rng(12345)), "occlusion": occlusion_mask(n)}
    out = {}
    for name, mask in masks.items():
        per_image = {}
        for method, model in models.items():
            rec = reconstruct(model, images, mask, n_sweeps=n_sweeps, rng=np.random.default_rng(seed))
            err = np.where(mask, 0.0, (rec.astype(np.float64) - images) ** 2)
            per_image[method] = err.sum(1) / (~mask).sum(1)
        res = {m: {"mean": float(e.mean()), "sem": float(e.std(ddof=1) / np.sqrt(n))} for m, e in per_image.items()}
        names = list(per_image)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                d = per_image[a] - per_image[b]
                res[f"{a} - {b}"] = {"mean": float(d.mean()), "sem": float(d.std(ddof=1) / np.sqrt(n))}
        out[name] = res
    return out


def _method_step(cfg, model, batch, rng, chains):
    if cfg.method == "vpf":
        return vpf_gradient(model, batch, rng, mf_iter=cfg.mf_iter)[0]
    if cfg.method == "cd":
        return cd1_update(model, batch, rng)
    from ..models.boltzmann import pcd_update

    return pcd_update(model, batch, chains, rng, mf_iter=cfg.mf_iter)


def train_model(cfg, data, learning_rate, progress=None):
    """Train one model at one learning rate, keeping the best validation checkpoint.

    Parameters
    ----------
    cfg : VPFConfig
    data : BinarisedData
    learning_rate : float
    progress : callable, optional
        Called as ``progress(n_images, **metrics)`` after each minibatch.

    Returns
    -------
    dict
        ``model`` (best by validation score), ``curve`` (list of dicts: ``epoch``,
        ``images_seen``, ``train_wall_s`` (training time only), ``val_dropout50``,
        ``val_occlusion``, ``val_score``), ``best`` (the selected curve point),
        ``tuning_wall_s`` (training + validation time), ``diverged`` (bool).
    """
    rng = np.random.default_rng(cfg.seed)
    model = init_model(cfg.sizes, lateral=cfg.lateral, rng=rng, visible_mean=data.train.mean(0))
    vel = zero_update(model)
    chains = PCDState(model, cfg.pcd_chains, rng) if cfg.method == "pcd" else None
    sel_rng = np.random.default_rng(cfg.seed + 1)
    val = data.val[: cfg.n_select]
    masks = {"dropout50": dropout_mask(len(val), sel_rng), "occlusion": occlusion_mask(len(val))}
    n = len(data.train)
    n_batches = max(1, n // cfg.batch_size)
    eval_every = max(1, n_batches // cfg.curve_points_per_epoch)
    curve, best, best_model = [], None, model.copy()
    train_time, t_start, seen, diverged = 0.0, time.perf_counter(), 0, False

    def evaluate_point(epoch):
        nonlocal best, best_model
        scores, _ = reconstruction_scores(model, val, masks, cfg.select_sweeps, np.random.default_rng(cfg.seed + 2))
        point = {"epoch": epoch, "images_seen": seen, "train_wall_s": train_time,
                 "val_dropout50": scores["dropout50"], "val_occlusion": scores["occlusion"],
                 "val_score": 0.5 * (scores["dropout50"] + scores["occlusion"])}
        curve.append(point)
        if best is None or point["val_score"] < best["val_score"]:
            best, best_model = point, model.copy()

    evaluate_point(0.0)
    for epoch in range(cfg.epochs):
        order = rng.permutation(n)
        for i in range(n_batches):
            t0 = time.perf_counter()
            batch = data.train[order[i * cfg.batch_size:(i + 1) * cfg.batch_size]]
            upd = _method_step(cfg, model, batch, rng, chains)
            for key in ("weights", "biases", "laterals"):
                for l, g in enumerate(upd[key]):
                    if g is None:
                        continue
                    vel[key][l] *= cfg.momentum
                    vel[key][l] += learning_rate * g
            model.apply(vel)
            seen += len(batch)
            train_time += time.perf_counter() - t0
            if progress is not None:
                progress(len(batch))
            if (i + 1) % eval_every == 0 or i + 1 == n_batches:
                if not all(np.isfinite(w).all() for w in model.weights):
                    diverged = True
                    break
                if (i + 1) % eval_every == 0 and (i + 1) // eval_every <= cfg.curve_points_per_epoch:
                    evaluate_point(epoch + (i + 1) / n_batches)
        if diverged:
            break
    return {"model": best_model, "curve": curve, "best": best, "learning_rate": learning_rate,
            "tuning_wall_s": time.perf_counter() - t_start, "diverged": diverged}


def tune_and_train(cfg, data, progress=None, log=None):
    """Train at every learning rate of the grid; keep the best validation point overall.

    Returns
    -------
    dict
        The winning :func:`train_model` result plus ``grid`` (per learning rate: best
        validation score, its epoch, diverged) and ``total_tuning_wall_s``.
    """
    runs, t0 = [], time.perf_counter()
    for lr in cfg.learning_rates:
        run = train_model(cfg, data, lr, progress=progress)
        runs.append(run)
        if log:
            log(f"{cfg.dataset} {cfg.method} lr={lr:g}: best val score {run['best']['val_score']:.4f} "
                f"at epoch {run['best']['epoch']:.2f}{' (diverged)' if run['diverged'] else ''}")
    win = min(runs, key=lambda r: r["best"]["val_score"])
    win = dict(win)
    win["grid"] = [{"learning_rate": r["learning_rate"], "best_val_score": r["best"]["val_score"],
                    "best_epoch": r["best"]["epoch"], "diverged": r["diverged"],
                    "curve": r["curve"]} for r in runs]
    win["total_tuning_wall_s"] = time.perf_counter() - t0
    return win


_CEILING_CACHE = {}


def evaluate_model(cfg, model, data, log=None):
    """Test-set metrics of a trained model.

    Returns
    -------
    metrics : dict
        ``recon_mse_dropout50``, ``recon_mse_occlusion`` (+ ``_all`` variants and the
        pixel-mean fill baseline), ``ais_ll`` (None unless an RBM), ``ais_log_z`` and its
        standard error, ``parzen_ll`` / ``parzen_ll_sem`` / ``parzen_sigma``, the Parzen
        ceiling, and evaluation times.
    arrays : dict of str to ndarray
        ``filters`` (first-layer weights of the first 64 hidden units), ``samples`` (64 sample means),
        ``recon_<corruption>`` for the first 10 test images and their masks.
    """
    rng = np.random.default_rng(cfg.seed + 100)
    test = data.test
    mask_rng = np.random.default_rng(12345)  # identical corruption for every method and run
    masks = {"dropout50": dropout_mask(len(test), mask_rng), "occlusion": occlusion_mask(len(test))}
    metrics, timings = {}, {}
    t = time.perf_counter()
    scores, recons = reconstruction_scores(model, test, masks, cfg.recon_sweeps, rng)
    timings["recon_s"] = time.perf_counter() - t
    fill_scores, _ = reconstruction_scores(None, test, masks, 0, rng, fill=data.train.mean(0))
    for k, v in scores.items():
        metrics[f"recon_mse_{k}"] = v
    for k, v in fill_scores.items():
        metrics[f"meanfill_mse_{k}"] = v
    if log:
        log(f"{cfg.dataset} {cfg.method}: recon MSE dropout50 {scores['dropout50']:.4f} occlusion {scores['occlusion']:.4f}")
    metrics["ais_ll"] = metrics["ais_log_z"] = metrics["ais_log_z_sem"] = metrics["ais_ll_sem"] = None
    if model.is_rbm:
        t = time.perf_counter()
        p = np.clip(data.train.mean(0), 1e-3, 1 - 1e-3)
        ais = ais_log_partition(model, n_chains=cfg.ais_chains, n_betas=cfg.ais_betas,
                                base_visible_bias=np.log(p / (1 - p)), rng=rng)
        ll = rbm_log_likelihood(model, test, ais["log_z"])
        metrics.update(ais_ll=float(ll.mean()), ais_ll_sem=float(ll.std(ddof=1) / np.sqrt(len(ll))),
                       ais_log_z=ais["log_z"], ais_log_z_sem=ais["log_z_sem"],
                       ais_chains=cfg.ais_chains, ais_betas=cfg.ais_betas)
        timings["ais_s"] = time.perf_counter() - t
        if log:
            log(f"{cfg.dataset} {cfg.method}: AIS log Z {ais['log_z']:.2f} ± {ais['log_z_sem']:.3f}, test LL {ll.mean():.2f}")
    t = time.perf_counter()
    samples, _ = sample_model(model, cfg.parzen_samples, n_sweeps=cfg.sample_sweeps, rng=rng)
    timings["sampling_s"] = time.perf_counter() - t
    t = time.perf_counter()
    sigmas = np.logspace(np.log10(0.05), np.log10(0.5), 10)
    pval = data.val[-cfg.parzen_val:]
    sigma, _ = parzen_select_sigma(samples, pval, sigmas)
    pll = parzen_log_likelihood(samples, test, sigma)
    key = (id(data), cfg.parzen_samples, cfg.parzen_val)
    if key not in _CEILING_CACHE:  # the real-data ceiling depends on the data only
        real = data.train[: cfg.parzen_samples]
        sigma_real, _ = parzen_select_sigma(real, pval, sigmas)
        _CEILING_CACHE.clear()
        _CEILING_CACHE[key] = (sigma_real, parzen_log_likelihood(real, test, sigma_real))
    sigma_real, pll_real = _CEILING_CACHE[key]
    timings["parzen_s"] = time.perf_counter() - t
    metrics.update(parzen_ll=float(pll.mean()), parzen_ll_sem=float(pll.std(ddof=1) / np.sqrt(len(pll))),
                   parzen_sigma=float(sigma), parzen_ceiling_ll=float(pll_real.mean()),
                   parzen_ceiling_sigma=float(sigma_real), parzen_samples=cfg.parzen_samples,
                   sample_sweeps=cfg.sample_sweeps)
    if log:
        log(f"{cfg.dataset} {cfg.method}: Parzen LL {pll.mean():.1f} (sigma {sigma:.3f}; real-data ceiling {pll_real.mean():.1f})")
    metrics["eval_timings_s"] = timings
    arrays = {"filters": model.weights[0][:, :64].T.copy(), "samples": samples[:64],
              "examples": test[:10]}
    for k in masks:
        arrays[f"recon_{k}"] = recons[k][:10]
        arrays[f"mask_{k}"] = masks[k][:10]
    return metrics, arrays


def run_one(cfg, data=None, progress=None, log=None):
    """Tune, train and evaluate one (dataset, method).

    Returns
    -------
    result : dict
        JSON-able: ``dataset``, ``method``, ``recon_mse_dropout50``, ``recon_mse_occlusion``,
        ``ais_ll``, ``parzen_ll``, ``train_wall_s`` and more (learning rate, grid,
        learning curve, configuration).
    model : BoltzmannMachine
    arrays : dict
    """
    if data is None:
        data = load_binarised(cfg.dataset, cfg.n_train, cfg.n_val, cfg.n_test, cfg.source, cfg.data_dir)
    fit = tune_and_train(cfg, data, progress=progress, log=log)
    result = training_summary(cfg, fit, data)
    metrics, arrays = evaluate_model(cfg, fit["model"], data, log=log)
    result.update(metrics)
    return result, fit["model"], arrays


def training_summary(cfg, fit, data):
    """The JSON-able training part of a result (used by run_one and the checkpoint)."""
    return {
        "dataset": cfg.dataset,
        "method": cfg.method,
        "architecture": list(cfg.sizes),
        "lateral": cfg.lateral,
        "train_wall_s": fit["best"]["train_wall_s"],
        "selected_learning_rate": fit["learning_rate"],
        "selected_epoch": fit["best"]["epoch"],
        "val_score": fit["best"]["val_score"],
        "tuning_wall_s": fit.get("total_tuning_wall_s", fit["tuning_wall_s"]),
        "learning_curve": fit["curve"],
        "grid": [{k: v for k, v in g.items() if k != "curve"} for g in fit.get("grid", [])],
        "n_train": int(len(data.train)),
        "n_val": int(len(data.val)),
        "n_test": int(len(data.test)),
        "data_source": data.source,
        "config": cfg.to_dict(),
    }


def run_comparison(base_cfg, datasets=DATASETS, methods=METHODS, progress=None, log=None, on_result=None):
    """Run :func:`run_one` for every (dataset, method).

    Parameters
    ----------
    base_cfg : VPFConfig
        ``dataset`` and ``method`` are overridden.
    datasets, methods : sequences of str
    on_result : callable, optional
        ``on_result(result, model, arrays)`` after each run (e.g. to save it).

    Returns
    -------
    list of dict
    """
    results = []
    for ds in datasets:
        data = None
        for method in methods:
            cfg = replace(base_cfg, dataset=ds, method=method)
            if data is None:
                data = load_binarised(ds, cfg.n_train, cfg.n_val, cfg.n_test, cfg.source, cfg.data_dir)
            result, model, arrays = run_one(cfg, data, progress=progress, log=log)
            results.append(result)
            if on_result is not None:
                on_result(result, model, arrays)
    return results


def _fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def results_table_markdown(results):
    """Markdown table of the comparison (best value per dataset and column in bold)."""
    cols = [("recon_mse_dropout50", "MSE, 50% pixels unknown", ".4f", min),
            ("recon_mse_occlusion", "MSE, bottom half occluded", ".4f", min),
            ("ais_ll", "AIS test LL (nats)", ".1f", max),
            ("parzen_ll", "Parzen test LL (nats)", ".1f", max),
            ("train_wall_s", "train wall (s)", ".1f", None),
            ("selected_learning_rate", "lr", "g", None),
            ("selected_epoch", "epoch", ".1f", None)]
    names = {"vpf": "VPF", "cd": "CD-1", "pcd": "PCD"}
    lines = ["| dataset | method | " + " | ".join(c[1] for c in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    by_ds = {}
    for r in results:
        by_ds.setdefault(r["dataset"], []).append(r)
    for ds, rows in by_ds.items():
        best = {}
        for key, _, _, pick in cols:
            vals = [r.get(key) for r in rows if r.get(key) is not None]
            if pick and vals:
                best[key] = pick(vals)
        for r in rows:
            cells = []
            for key, _, spec, pick in cols:
                s = _fmt(r.get(key), spec)
                cells.append(f"**{s}**" if pick and r.get(key) is not None and r.get(key) == best.get(key) else s)
            lines.append(f"| {ds} | {names.get(r['method'], r['method'])} | " + " | ".join(cells) + " |")
        r0 = rows[0]
        lines.append(f"| {ds} | pixel-mean fill | {_fmt(r0.get('meanfill_mse_dropout50'), '.4f')} | "
                     f"{_fmt(r0.get('meanfill_mse_occlusion'), '.4f')} | | "
                     f"{_fmt(r0.get('parzen_ceiling_ll'), '.1f')} (real train images) | | | |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------
# Plots (they only draw results; they never train or sample)
# ----------------------------------------------------------------------------------------

def _tile(images, ncols=8):
    images = np.asarray(images).reshape(-1, 28, 28)
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    canvas = np.full((nrows * 29 + 1, ncols * 29 + 1), np.nan)
    for i, im in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[1 + r * 29:1 + r * 29 + 28, 1 + c * 29:1 + c * 29 + 28] = im
    return canvas


def plot_filters(filters, title="", ax=None):
    """Show first-layer weight vectors (rows of ``filters``) as 28×28 images."""
    import matplotlib.pyplot as plt

    f = np.asarray(filters, dtype=float)
    f = f / (np.abs(f).max(axis=1, keepdims=True) + 1e-12)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(_tile(f), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_title(title)
    ax.axis("off")
    return ax.figure


def plot_samples(samples, title="", ax=None):
    """Show sample images (visible probabilities)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(_tile(samples), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title)
    ax.axis("off")
    return ax.figure


def plot_learning_curves(results, key="val_score", axes=None):
    """Validation reconstruction MSE of the selected runs against training wall time, one panel per dataset."""
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r["dataset"] for r in results))
    if axes is None:
        _, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4), squeeze=False)
        axes = axes[0]
    for ax, ds in zip(axes, datasets):
        for r in results:
            if r["dataset"] != ds:
                continue
            c = r["learning_curve"]
            ax.plot([p["train_wall_s"] for p in c], [p[key] for p in c], marker="o", ms=3,
                    label=f"{r['method']} (lr {r['selected_learning_rate']:g})")
        ax.set_title(ds)
        ax.set_xlabel("training wall time (s)")
        ax.set_ylabel({"val_score": "validation MSE, unknown pixels\n(mean of both corruptions)"}.get(key, key))
        ax.legend(fontsize=8)
    return axes[0].figure


def plot_reconstructions(examples, masks, recons, title=""):
    """Rows: clean, corrupted, then one reconstruction row per method.

    Parameters
    ----------
    examples : ndarray, shape (k, 784)
    masks : ndarray of bool, shape (k, 784)
    recons : dict of str to ndarray (k, 784)
    """
    import matplotlib.pyplot as plt

    rows = [("clean", examples), ("corrupted", np.where(masks, examples, 0.5))] + list(recons.items())
    fig, axes = plt.subplots(len(rows), 1, figsize=(8, 1.0 * len(rows) + 0.4))
    for ax, (name, ims) in zip(np.atleast_1d(axes), rows):
        ax.imshow(_tile(ims, ncols=len(ims)), cmap="gray", vmin=0, vmax=1)
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    return fig
