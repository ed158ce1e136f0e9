"""The paper's deep generative model: variational EM with target-propagation layer pairs.

Bengio, Lee, Bornschein, Mesnard & Lin (2015), *Towards biologically plausible deep
learning*, arXiv 1502.04156, Sec. 6 and Algorithm 2 (see ``docs/generative.md``). The model is a
stack of :class:`~spiking_bpdl.rate.layer_pair.LayerPair` objects ``x = h0 -> h1 -> h2``:

* pair 1: ``f1`` (784 -> 1000 softplus) and ``g1`` (1000 -> 784 sigmoid, the pixel means);
* pair 2: ``f2`` (1000 -> 100 sigmoid) and ``g2`` (100 -> 1000 softplus).

The generative model is ``p(x, h1, h2) = p(x | h1) p(h1 | h2) p(h2)`` with Gaussian
conditionals of unit variance centred on the decoders, ``p(x | h1) = N(g1(h1), 1)``,
``p(h1 | h2) = N(g2(h2), 1)``, and a diagonal Gaussian ``p(h2)`` fitted after training.

INFERENCE (the E-step) starts from the feedforward pass and moves the hidden states along
target-propagation estimates of the gradient of ``log p(x, h)``::

    h1 = f1(x); h2 = f2(h1)
    repeat N times:
        h2 += delta (f2(h1) - f2(g2(h2)))
        h1 += delta (f1(x) - f1(g1(h1))) + alpha (g2(h2) - h1)

TRAIN (the M-step) gives every layer pair local targets (the inferred states) and lets it
minimise its own decoder and encoder squared errors on corrupted inputs. GENERATE samples
``h2`` from the prior, decodes top-down, and then refines with three rounds of
INFERENCE (``alpha = 0.3``) followed by decoding.

The configuration lives in a small TOML file (``networks/generative_mnist.toml``), read and
validated by :func:`load_config`; a malformed file raises
:class:`~spiking_bpdl.errors.ConfigError`.
"""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..rate.layer_pair import Adam, LayerPair, bernoulli_mean_corruption, gaussian_corruption

__all__ = [
    "TargetPropConfig",
    "load_config",
    "config_from_dict",
    "TargetPropModel",
]

_LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class TargetPropConfig:
    """Every choice of the model and its training (defaults: the paper's MNIST run).

    Attributes
    ----------
    n_visible, n_h1, n_h2 : int
        Layer sizes (784, 1000, 100).
    h1_activation, h2_activation, visible_activation : str
        Activations of ``f1`` (softplus), ``f2`` (sigmoid) and ``g1`` (sigmoid). ``g2``
        uses ``h1_activation`` so that it lives on the same range as ``h1``.
    inference_steps, inference_delta, inference_alpha : int, float, float
        INFERENCE(N=15, delta=0.1, alpha=0.001).
    clip : bool
        Keep ``h1 >= 0`` (softplus range) and ``h2`` in ``[0, 1]`` during inference.
    epochs, batch_size : int
        20 epochs of minibatches of 100.
    lr_decoder, lr_encoder : float
        Adam learning rates (the encoder's is 10x smaller to avoid a collapse of ``h2``).
    lr_encoder_top : float
        Adam learning rate of the top encoder ``f2`` alone (0: use ``lr_encoder``).
    lr_decay, lr_decay_start : float, int
        Every learning rate is multiplied by ``lr_decay ** max(0, epoch - lr_decay_start)``
        in epoch ``epoch`` (1-based); ``lr_decay = 1`` keeps them constant.
    sigma_x, sigma_h1, sigma_h1_top : float
        Gaussian corruption of the pixels (encoder ``f1`` input), of ``h1`` as the input of
        ``g1``, and of ``h1`` as the input of the top encoder ``f2``.
    top_bernoulli_samples : int
        Corruption of ``h2``: mean of this many Bernoulli draws (3).
    n_validation : int
        Last training images held out as validation (10000 of 60000).
    prior_variance_scale : float
        Variance multiplier of the fitted Gaussian prior ``p(h2)`` (4).
    prior_samples : int
        Training images whose inferred ``h2`` define the prior's mean and variance.
    generate_rounds, generate_alpha : int, float
        GENERATE: rounds of INFERENCE after the directed pass (3) and its ``alpha`` (0.3).
    select_samples : int
        Samples and validation images of the cheap per-epoch validation Parzen score used
        to select the epoch (0 disables it; then the last epoch is used).
    select_sigma : float
        Parzen width of that per-epoch score.
    init_scale : float
        Encoder weights start as ``N(0, init_scale^2 / n_in)``.
    seed : int
    """

    n_visible: int = 784
    n_h1: int = 1000
    n_h2: int = 100
    h1_activation: str = "softplus"
    h2_activation: str = "sigmoid"
    visible_activation: str = "sigmoid"
    inference_steps: int = 15
    inference_delta: float = 0.1
    inference_alpha: float = 0.001
    clip: bool = True
    epochs: int = 20
    batch_size: int = 100
    lr_decoder: float = 1e-3
    lr_encoder: float = 1e-4
    lr_encoder_top: float = 3e-3
    lr_decay: float = 0.5
    lr_decay_start: int = 2
    sigma_x: float = 0.3
    sigma_h1: float = 0.3
    sigma_h1_top: float = 0.3
    top_bernoulli_samples: int = 3
    n_train: int = 0
    n_validation: int = 10000
    prior_variance_scale: float = 4.0
    prior_samples: int = 10000
    generate_rounds: int = 3
    generate_alpha: float = 0.3
    select_samples: int = 2000
    select_sigma: float = 0.2
    init_scale: float = 1.0
    seed: int = 0

    def __post_init__(self):
        from ..rate.layer_pair import ACTIVATIONS

        for name in ("h1_activation", "h2_activation", "visible_activation"):
            if getattr(self, name) not in ACTIVATIONS:
                raise ConfigError(f"{name} must be one of {sorted(ACTIVATIONS)}, got {getattr(self, name)!r}")
        for name in ("n_visible", "n_h1", "n_h2", "inference_steps", "epochs", "batch_size",
                     "top_bernoulli_samples", "prior_samples"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")
        for name in ("n_validation", "select_samples", "n_train", "generate_rounds", "lr_decay_start"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("inference_delta", "lr_decoder", "lr_encoder", "prior_variance_scale", "select_sigma",
                     "init_scale"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("inference_alpha", "sigma_x", "sigma_h1", "sigma_h1_top", "generate_alpha", "lr_encoder_top"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"lr_decay must be in (0, 1], got {self.lr_decay}")

    def to_dict(self):
        """Plain dict of every field (JSON-able; stored in checkpoints)."""
        return dataclasses.asdict(self)

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown configuration keys: {sorted(unknown)}")
        return dataclasses.replace(self, **changes)


# TOML section -> the fields it may hold
_SECTIONS = {
    "model": ("n_visible", "n_h1", "n_h2", "h1_activation", "h2_activation", "visible_activation", "init_scale"),
    "inference": ("inference_steps", "inference_delta", "inference_alpha", "clip"),
    "training": ("epochs", "batch_size", "lr_decoder", "lr_encoder", "lr_encoder_top", "lr_decay",
                 "lr_decay_start", "sigma_x", "sigma_h1", "sigma_h1_top",
                 "top_bernoulli_samples", "n_train", "n_validation", "select_samples", "select_sigma", "seed"),
    "generation": ("prior_variance_scale", "prior_samples", "generate_rounds", "generate_alpha"),
}


def config_from_dict(data, source="configuration"):
    """Build a :class:`TargetPropConfig` from a ``{section: {key: value}}`` dict.

    Sections are ``model``, ``inference``, ``training``, ``generation`` (see
    ``networks/generative_mnist.toml``). Unknown sections or keys, and values of the wrong
    type, raise :class:`~spiking_bpdl.errors.ConfigError`.
    """
    from ..spec import table_values

    defaults = TargetPropConfig()
    values = table_values(data, _SECTIONS, source)
    for key, value in values.items():
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            values[key] = value = float(value)
        if type(value) is not expected:
            table = next(t for t, keys in _SECTIONS.items() if key in keys)
            raise ConfigError(f"{source}: {table}.{key} must be {expected.__name__}, got {type(value).__name__} "
                              f"{value!r}")
    try:
        return TargetPropConfig(**values)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_config(path, overrides=()):
    """Read and validate a TOML configuration (see :func:`config_from_dict`).

    Parameters
    ----------
    path : str or Path
        A file, or the name of a shipped configuration (``generative_small``), resolved as every
        definition is (:func:`spiking_bpdl.spec.read_definition`).
    overrides : iterable of str
        ``section.key=value`` items applied before validation, e.g. ``"training.epochs=2"`` (the
        same syntax and errors as the network definitions' ``--set``).

    Returns
    -------
    TargetPropConfig
    """
    from ..spec import read_definition

    path, data = read_definition(path, overrides)
    return config_from_dict(data, source=str(path))


def _kmeans(x, k, seed, n_iter=20):
    """Lloyd's k-means (k-means++-like random init from the data); returns the labels."""
    rng = np.random.default_rng(seed)
    centres = x[rng.choice(len(x), size=k, replace=False)]
    x_sq = np.einsum("ij,ij->i", x, x)[:, None]
    for _ in range(n_iter):
        dist = x_sq - 2 * x @ centres.T + np.einsum("ij,ij->i", centres, centres)[None, :]
        labels = dist.argmin(axis=1)
        for j in range(k):
            if np.any(labels == j):
                centres[j] = x[labels == j].mean(axis=0)
    return labels


class TargetPropModel:
    """Two stacked layer pairs ``x -> h1 -> h2`` trained with Algorithm 2.

    Parameters
    ----------
    config : TargetPropConfig
    rng : numpy.random.Generator or int, optional
        Source of the initial weights (default: ``config.seed``).

    Attributes
    ----------
    pairs : list of LayerPair
        ``pairs[0]`` holds ``f1, g1``; ``pairs[1]`` holds ``f2, g2``.
    prior_mean, prior_var : ndarray or None
        The diagonal Gaussian prior ``p(h2)`` (``None`` before :meth:`fit_prior`); the
        variance already includes ``config.prior_variance_scale``.
    """

    def __init__(self, config=None, rng=None):
        self.config = config = config or TargetPropConfig()
        rng = np.random.default_rng(config.seed if rng is None else rng)
        self.pairs = [
            LayerPair(config.n_visible, config.n_h1, config.h1_activation, config.visible_activation, rng,
                      init_scale=config.init_scale),
            LayerPair(config.n_h1, config.n_h2, config.h2_activation, config.h1_activation, rng,
                      init_scale=config.init_scale),
        ]
        self.optimizers = [Adam(p.parameters(), lr=lrs) for p, lrs in zip(self.pairs, self.learning_rates())]
        self.prior_mean = None
        self.prior_var = None
        self.prior_weights = None
        self.initialised = False

    # -- helpers ------------------------------------------------------------------
    def learning_rates(self, epoch=1):
        """Adam learning rates ``[{W, b, V, c}]`` of the two pairs in (1-based) ``epoch``."""
        cfg = self.config
        scale = cfg.lr_decay ** max(0, int(epoch) - cfg.lr_decay_start)
        top = cfg.lr_encoder_top or cfg.lr_encoder
        return [{"W": enc * scale, "b": enc * scale, "V": cfg.lr_decoder * scale, "c": cfg.lr_decoder * scale}
                for enc in (cfg.lr_encoder, top)]

    def set_epoch(self, epoch):
        """Set the optimisers' learning rates for ``epoch`` (the decay schedule)."""
        for opt, lrs in zip(self.optimizers, self.learning_rates(epoch)):
            opt.lr = lrs

    def _clip(self, h1, h2):
        if self.config.clip:
            np.maximum(h1, 0, out=h1)
            np.clip(h2, 0, 1, out=h2)
        return h1, h2

    def feedforward(self, x):
        """The learned initialisation ``h1 = f1(x)``, ``h2 = f2(h1)``."""
        h1 = self.pairs[0].encode(x)
        return h1, self.pairs[1].encode(h1)

    def decode(self, h2):
        """Directed (top-down) pass: ``h1 = g2(h2)``, ``x = g1(h1)``; returns ``(x, h1)``."""
        h1 = self.pairs[1].decode(h2)
        return self.pairs[0].decode(h1), h1

    def initialise(self, x):
        """Data-dependent initialisation of the decoder biases (target means).

        ``g1`` starts by outputting the mean image and ``g2`` the mean of ``f1(x)``; the
        decoder weights are zero. Called automatically on the first training batch.
        """
        x = np.asarray(x, dtype=np.float32)
        self.pairs[0].init_decoder_bias(x.mean(axis=0))
        h1 = self.pairs[0].encode(x)
        self.pairs[1].init_decoder_bias(h1.mean(axis=0))
        self.initialised = True

    # -- E-step -------------------------------------------------------------------
    def infer(self, x, n_steps=None, delta=None, alpha=None, h_init=None, record=False):
        """INFERENCE(x, N, delta, alpha) of Algorithm 2, batched over the rows of ``x``.

        Parameters
        ----------
        x : ndarray, shape (B, n_visible)
        n_steps, delta, alpha : optional
            Default to the configuration's ``inference_*`` values.
        h_init : tuple of ndarray, optional
            Start from ``(h1, h2)`` instead of the feedforward pass.
        record : bool
            Also return ``log p(x, h)`` per example after each step (needs the prior).

        Returns
        -------
        h1, h2 : ndarray
        trace : ndarray, shape (n_steps + 1, B)
            Only when ``record``: log p(x, h) at step 0 (the feedforward pass) .. N.
        """
        cfg = self.config
        n_steps = cfg.inference_steps if n_steps is None else int(n_steps)
        delta = np.float32(cfg.inference_delta if delta is None else delta)
        alpha = np.float32(cfg.inference_alpha if alpha is None else alpha)
        f1, f2 = self.pairs
        x = np.asarray(x, dtype=np.float32)
        f1x = f1.encode(x)
        if h_init is None:
            h1 = f1x.copy()
            h2 = f2.encode(h1)
        else:
            h1 = np.array(h_init[0], dtype=np.float32)
            h2 = np.array(h_init[1], dtype=np.float32)
        self._clip(h1, h2)
        trace = [self.log_joint(x, h1, h2)] if record else None
        for _ in range(n_steps):
            h2 += delta * f2.target_prop_step(h2, h1)
            g2h2 = f2.decode(h2)
            h1 += delta * (f1x - f1.encode(f1.decode(h1))) + alpha * (g2h2 - h1)
            self._clip(h1, h2)
            if record:
                trace.append(self.log_joint(x, h1, h2))
        if record:
            return h1, h2, np.array(trace)
        return h1, h2

    def log_joint(self, x, h1, h2, terms=False):
        """``log p(x, h1, h2)`` per example, in nats (unit-variance Gaussian conditionals).

        The prior term ``log p(h2)`` is included once :meth:`fit_prior` has been called.

        Parameters
        ----------
        terms : bool
            Return the three terms ``(log p(x|h1), log p(h1|h2), log p(h2))`` instead.
        """
        x = np.asarray(x, dtype=np.float64)
        rx = self.pairs[0].decode(h1).astype(np.float64)
        rh = self.pairs[1].decode(h2).astype(np.float64)
        lx = -0.5 * np.sum((x - rx) ** 2, axis=1) - 0.5 * x.shape[1] * _LOG_2PI
        lh = -0.5 * np.sum((np.asarray(h1, np.float64) - rh) ** 2, axis=1) - 0.5 * rh.shape[1] * _LOG_2PI
        lp = np.zeros(len(x)) if self.prior_mean is None else self._prior_logpdf(h2)
        return (lx, lh, lp) if terms else lx + lh + lp

    # -- M-step -------------------------------------------------------------------
    def train_batch(self, x, rng):
        """One TRAIN step of Algorithm 2 on a minibatch; returns the local losses.

        INFERENCE gives targets ``h1, h2``; then, with corrupted copies ``~``:
        ``g1`` minimises ``||g1(h~1) - x||^2``, ``f1`` minimises ``||f1(x~) - h1||^2``,
        ``g2`` minimises ``||g2(h~2) - h1||^2`` (``h~2`` = mean of Bernoulli draws) and
        ``f2`` minimises ``||f2(h~1) - h2||^2``. Each pair's update uses only its own
        gradients (Adam).

        Returns
        -------
        dict
            ``rec_x, enc_h1, rec_h1, enc_h2``: the four local losses before the update.
        """
        cfg = self.config
        x = np.asarray(x, dtype=np.float32)
        if not self.initialised:
            self.initialise(x)
        h1, h2 = self.infer(x)
        x_c = gaussian_corruption(x, cfg.sigma_x, rng)
        h1_c = gaussian_corruption(h1, cfg.sigma_h1, rng)
        h2_c = bernoulli_mean_corruption(h2, cfg.top_bernoulli_samples, rng)
        h1_top = gaussian_corruption(h1, cfg.sigma_h1_top, rng)
        p1, p2 = self.pairs
        g_dec1, l_dec1 = p1.decoder_gradients(h1_c, x)
        g_enc1, l_enc1 = p1.encoder_gradients(x_c, h1)
        g_dec2, l_dec2 = p2.decoder_gradients(h2_c, h1)
        g_enc2, l_enc2 = p2.encoder_gradients(h1_top, h2)
        self.optimizers[0].step({**g_dec1, **g_enc1})
        self.optimizers[1].step({**g_dec2, **g_enc2})
        return {"rec_x": l_dec1, "enc_h1": l_enc1, "rec_h1": l_dec2, "enc_h2": l_enc2}

    def infer_batched(self, x, batch_size=500, **kwargs):
        """:meth:`infer` over a large array in batches; returns ``(h1, h2)``."""
        h1s, h2s = [], []
        for start in range(0, len(x), batch_size):
            h1, h2 = self.infer(x[start:start + batch_size], **kwargs)
            h1s.append(h1)
            h2s.append(h2)
        return np.concatenate(h1s), np.concatenate(h2s)

    # -- prior and sampling ---------------------------------------------------------
    def fit_prior(self, x, batch_size=500, variance_scale=None, full_covariance=False):
        """Fit ``p(h2)``: Gaussian with the mean and variance of the inferred ``h2`` on ``x``.

        Parameters
        ----------
        x : ndarray
            Training images; ``h2`` is inferred with INFERENCE.
        variance_scale : float, optional
            Multiplier of the (co)variance; default ``config.prior_variance_scale`` (4 in
            the paper).
        full_covariance : bool
            Fit a full covariance matrix instead of the paper's diagonal one.

        Returns
        -------
        mean, var : ndarray
            ``var`` is a vector (diagonal) or a matrix (full covariance).
        """
        _, h2 = self.infer_batched(np.asarray(x, dtype=np.float32), batch_size)
        return self.fit_prior_to_codes(h2, variance_scale, full_covariance)

    def fit_prior_to_codes(self, h2, variance_scale=None, full_covariance=False, n_components=1, seed=0):
        """Fit ``p(h2)`` to given top-layer codes (see :meth:`fit_prior`).

        Parameters
        ----------
        h2 : ndarray, shape (n, n_h2)
        variance_scale : float, optional
            Multiplier of the (co)variances (default ``config.prior_variance_scale``).
        full_covariance : bool
            Full covariance instead of the paper's diagonal.
        n_components : int
            More than 1 fits a mixture of full-covariance Gaussians: k-means clusters
            (20 Lloyd iterations, seeded), each with its own mean, covariance and weight.
        seed : int
            Seed of the k-means initialisation.
        """
        h2 = np.asarray(h2, dtype=np.float64)
        scale = self.config.prior_variance_scale if variance_scale is None else float(variance_scale)
        self.prior_weights = None
        if n_components > 1:
            labels = _kmeans(h2, int(n_components), seed)
            ks = [k for k in range(int(n_components)) if np.sum(labels == k) > h2.shape[1]]
            self.prior_mean = np.array([h2[labels == k].mean(axis=0) for k in ks])
            self.prior_var = np.array([(np.cov(h2[labels == k], rowvar=False) + 1e-6 * np.eye(h2.shape[1])) * scale
                                       for k in ks])
            w = np.array([np.sum(labels == k) for k in ks], dtype=np.float64)
            self.prior_weights = w / w.sum()
            return self.prior_mean, self.prior_var
        self.prior_mean = h2.mean(axis=0)
        if full_covariance:
            cov = np.cov(h2, rowvar=False) + 1e-6 * np.eye(h2.shape[1])
            self.prior_var = cov * scale
        else:
            self.prior_var = np.maximum(h2.var(axis=0), 1e-6) * scale
        return self.prior_mean, self.prior_var

    @staticmethod
    def _gauss_logpdf(d, cov):
        chol = np.linalg.cholesky(cov)
        z = np.linalg.solve(chol, d.T)
        return -0.5 * np.sum(z**2, axis=0) - np.sum(np.log(np.diag(chol))) - 0.5 * d.shape[1] * _LOG_2PI

    def _prior_logpdf(self, h2):
        h2 = np.asarray(h2, np.float64)
        if self.prior_mean.ndim == 2:  # mixture
            comps = np.array([np.log(w) + self._gauss_logpdf(h2 - m, c)
                              for w, m, c in zip(self.prior_weights, self.prior_mean, self.prior_var)])
            top = comps.max(axis=0)
            return top + np.log(np.exp(comps - top).sum(axis=0))
        d = h2 - self.prior_mean
        if self.prior_var.ndim == 1:
            return -0.5 * np.sum(d**2 / self.prior_var + np.log(2 * np.pi * self.prior_var), axis=1)
        return self._gauss_logpdf(d, self.prior_var)

    def sample_prior(self, n, rng):
        """``n`` draws of ``h2`` from the fitted prior, clipped to the sigmoid range [0, 1]."""
        if self.prior_mean is None:
            raise RuntimeError("fit_prior must be called before sampling")
        d = self.prior_mean.shape[-1]
        z = rng.standard_normal((int(n), d))
        if self.prior_mean.ndim == 2:
            comp = rng.choice(len(self.prior_weights), size=int(n), p=self.prior_weights)
            h2 = np.empty((int(n), d))
            for k in np.unique(comp):
                sel = comp == k
                h2[sel] = self.prior_mean[k] + z[sel] @ np.linalg.cholesky(self.prior_var[k]).T
        elif self.prior_var.ndim == 1:
            h2 = self.prior_mean + np.sqrt(self.prior_var) * z
        else:
            h2 = self.prior_mean + z @ np.linalg.cholesky(self.prior_var).T
        return np.clip(h2, 0, 1).astype(np.float32)

    def generate(self, n, rng, rounds=None, alpha=None, batch_size=500, return_directed=False):
        """GENERATE of Algorithm 2: prior sample, directed decoding, then INFERENCE rounds.

        Parameters
        ----------
        n : int
            Number of samples.
        rng : numpy.random.Generator
        rounds : int, optional
            Rounds of ``h = INFERENCE(x, alpha); x = g1(h1)`` (default ``generate_rounds``);
            0 gives directed sampling only.
        alpha : float, optional
            INFERENCE's ``alpha`` during generation (default ``generate_alpha``).
        return_directed : bool
            Also return the directed samples (before any inference round) of the same
            prior draws.

        Returns
        -------
        x : ndarray, shape (n, n_visible)
            Pixel means in [0, 1] (float32).
        x_directed : ndarray
            Only with ``return_directed``.
        """
        cfg = self.config
        rounds = cfg.generate_rounds if rounds is None else int(rounds)
        alpha = cfg.generate_alpha if alpha is None else alpha
        outs, directs = [], []
        for start in range(0, int(n), batch_size):
            m = min(batch_size, int(n) - start)
            x, _ = self.decode(self.sample_prior(m, rng))
            directs.append(x)
            for _ in range(rounds):
                h1, _ = self.infer(x, alpha=alpha)
                x = self.pairs[0].decode(h1)
            outs.append(x)
        x = np.concatenate(outs) if outs else np.zeros((0, cfg.n_visible), np.float32)
        if return_directed:
            return x, np.concatenate(directs) if directs else x.copy()
        return x

    def inpaint(self, x, mask, n_steps=20, delta=None, alpha=None, rng=None, record=False):
        """In-painting (the paper's Fig. 5): fill the pixels where ``mask`` is False.

        The missing pixels start as uniform noise. Each of ``n_steps`` steps is one
        INFERENCE iteration in which ``f1(x)`` is computed on the clamped visible pixels
        plus the current reconstruction ``g1(h1)`` of the missing ones.

        Parameters
        ----------
        x : ndarray, shape (B, n_visible)
        mask : ndarray of bool, shape (B, n_visible) or (n_visible,)
            True where the pixel is observed (clamped).
        record : bool
            Also return the filled images after every step, shape (n_steps + 1, B, n_visible).

        Returns
        -------
        ndarray
            The filled images (visible pixels unchanged).
        """
        cfg = self.config
        rng = np.random.default_rng(rng)
        delta = np.float32(cfg.inference_delta if delta is None else delta)
        alpha = np.float32(cfg.inference_alpha if alpha is None else alpha)
        x = np.asarray(x, dtype=np.float32)
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), x.shape)
        f1, f2 = self.pairs
        cur = np.where(mask, x, rng.random(x.shape, dtype=np.float32))
        h1, h2 = self.feedforward(cur)
        self._clip(h1, h2)
        history = [cur.copy()] if record else None
        for _ in range(int(n_steps)):
            f1x = f1.encode(cur)
            h2 += delta * f2.target_prop_step(h2, h1)
            h1 += delta * (f1x - f1.encode(f1.decode(h1))) + alpha * (f2.decode(h2) - h1)
            self._clip(h1, h2)
            cur = np.where(mask, x, f1.decode(h1))
            if record:
                history.append(cur.copy())
        return (cur, np.array(history)) if record else cur

    # -- persistence ----------------------------------------------------------------
    def state_arrays(self):
        """All parameters, optimiser moments and the prior as a flat dict of arrays."""
        out = {}
        for i, (pair, opt) in enumerate(zip(self.pairs, self.optimizers), start=1):
            out.update({f"pair{i}_{k}": v for k, v in pair.parameters().items()})
            out.update(opt.state(prefix=f"adam{i}_"))
        if self.prior_mean is not None:
            out["prior_mean"] = self.prior_mean
            out["prior_var"] = self.prior_var
            if self.prior_weights is not None:
                out["prior_weights"] = self.prior_weights
        return out

    def state_meta(self):
        """JSON-able metadata needed to restore the model (configuration, Adam steps)."""
        return {"config": self.config.to_dict(), "adam_t": [opt.t for opt in self.optimizers],
                "initialised": self.initialised}

    def load_state(self, arrays, meta):
        """Restore from :meth:`state_arrays` / :meth:`state_meta` output."""
        for i, (pair, opt) in enumerate(zip(self.pairs, self.optimizers), start=1):
            pair.set_parameters({k: arrays[f"pair{i}_{k}"] for k in LayerPair.PARAMS})
            opt.params = pair.parameters()
            opt.load_state(arrays, meta["adam_t"][i - 1], prefix=f"adam{i}_")
        if "prior_mean" in arrays:
            self.prior_mean = np.asarray(arrays["prior_mean"], np.float64)
            self.prior_var = np.asarray(arrays["prior_var"], np.float64)
            self.prior_weights = (np.asarray(arrays["prior_weights"], np.float64) if "prior_weights" in arrays
                                  else None)
        self.initialised = bool(meta.get("initialised", True))

    @classmethod
    def from_state(cls, arrays, meta):
        """Build a model from a checkpoint's arrays and metadata."""
        try:
            config = TargetPropConfig(**meta["config"])
        except TypeError as exc:
            raise ConfigError(f"checkpoint configuration is not valid: {exc}") from None
        model = cls(config)
        model.load_state(arrays, meta)
        return model
