"""Rate-model layer pair: feedforward encoder f and feedback decoder g with local targets.

A layer pair joins a lower layer (``n_in`` units, e.g. pixels or ``h_{l-1}``) and an upper
layer (``n_out`` units, ``h_l``) with two paths:

* feedforward ``f(h_{l-1}) = act_f(h_{l-1} W + b)``, with ``W`` of shape ``(n_in, n_out)``;
* feedback ``g(h_l) = act_g(h_l V + c)``, with ``V`` of shape ``(n_out, n_in)``.

Together they form a (denoising) auto-encoder. In target propagation (Bengio et al.
2015, arXiv 1502.04156, Sec. 3-6) each pair is trained with *local* losses against
targets ``h_{l-1}``, ``h_l`` supplied from outside (e.g. by iterative inference):

* decoder loss ``L_g = 1/(2B) sum_batch ||g(h~_l) - h_{l-1}||^2``,
* encoder loss ``L_f = 1/(2B) sum_batch ||f(h~_{l-1}) - h_l||^2``,

where ``h~`` is a corrupted copy of the layer's state (see :func:`gaussian_corruption`
and :func:`bernoulli_mean_corruption`) and ``B`` the minibatch size. Their analytic
gradients are returned by :meth:`LayerPair.decoder_gradients` and
:meth:`LayerPair.encoder_gradients`; no gradient ever crosses a layer, which is what makes
the rule local (and what a spiking implementation can reproduce with STDP).

Everything is float32 numpy with batched matrix products (rows are examples). The module
is backend-neutral on purpose: a spiking layer pair can reuse the same parameters
(``W, b, V, c``), activations and losses.

Activations (by name): ``sigmoid``, ``softplus``, ``linear``, ``relu``.
"""

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "activation",
    "activation_derivative",
    "LayerPair",
    "Adam",
    "gaussian_corruption",
    "bernoulli_mean_corruption",
]


def _sigmoid(a):
    # logistic via tanh: one transcendental, no overflow, keeps the dtype
    half = a.dtype.type(0.5) if isinstance(a, np.ndarray) else 0.5
    return half * (1 + np.tanh(half * a))


def _softplus(a):
    # log(1 + e^a) = max(a, 0) + log1p(e^-|a|), stable for large |a|
    return np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))


def _relu(a):
    return np.maximum(a, a.dtype.type(0))


def _linear(a):
    return a


#: Activation functions by name.
ACTIVATIONS = {"sigmoid": _sigmoid, "softplus": _softplus, "linear": _linear, "relu": _relu}


def _check_name(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")


def activation(name, a):
    """Apply the activation ``name`` to pre-activations ``a``.

    Parameters
    ----------
    name : {'sigmoid', 'softplus', 'linear', 'relu'}
    a : ndarray
        Pre-activations.

    Returns
    -------
    ndarray
        Same shape and dtype as ``a``.
    """
    _check_name(name)
    return ACTIVATIONS[name](a)


def activation_derivative(name, a, out=None):
    """Derivative of the activation ``name`` at pre-activation ``a``.

    Parameters
    ----------
    name : {'sigmoid', 'softplus', 'linear', 'relu'}
    a : ndarray
        Pre-activations.
    out : ndarray, optional
        The activation's value at ``a`` if already computed (saves work for sigmoid).

    Returns
    -------
    ndarray
        ``act'(a)``, same shape as ``a``.
    """
    _check_name(name)
    if name == "sigmoid":
        s = out if out is not None else _sigmoid(a)
        return s * (1 - s)
    if name == "softplus":
        return _sigmoid(a)
    if name == "relu":
        return (a > 0).astype(a.dtype)
    return np.ones_like(a)


def _inverse_activation(name, y, eps=1e-4):
    """Pre-activation giving output ``y`` (used to set a bias to a target mean)."""
    y = np.asarray(y, dtype=np.float64)
    if name == "sigmoid":
        y = np.clip(y, eps, 1 - eps)
        return np.log(y / (1 - y))
    if name == "softplus":
        y = np.maximum(y, eps)
        return y + np.log(-np.expm1(-y))
    if name == "relu":
        return np.maximum(y, eps)
    return y


class LayerPair:
    """A feedforward encoder f and a feedback decoder g between two layers.

    Parameters
    ----------
    n_in : int
        Size of the lower layer (``h_{l-1}``; pixels for the first pair).
    n_out : int
        Size of the upper layer (``h_l``).
    f_activation : str
        Activation of the encoder ``f`` (the upper layer's units).
    g_activation : str
        Activation of the decoder ``g`` (the lower layer's units).
    rng : numpy.random.Generator or int, optional
        Source of the initial encoder weights.
    init_scale : float
        Encoder weights start as ``N(0, init_scale^2 / n_in)``.
    dtype : numpy dtype
        float32 by default; float64 is useful for finite-difference checks.

    Attributes
    ----------
    W : ndarray, shape (n_in, n_out)
        Encoder weights. ``b`` (n_out,) is the encoder bias.
    V : ndarray, shape (n_out, n_in)
        Decoder weights, zero at the start. ``c`` (n_in,) is the decoder bias.

    Notes
    -----
    Decoders start at zero weights so that ``g`` initially outputs a constant; call
    :meth:`init_decoder_bias` with the lower layer's mean so that constant is the target
    mean. This avoids an early collapse of the upper layer (``docs/generative.md``).
    """

    def __init__(self, n_in, n_out, f_activation="sigmoid", g_activation="sigmoid", rng=None,
                 init_scale=1.0, dtype=np.float32):
        _check_name(f_activation)
        _check_name(g_activation)
        if int(n_in) <= 0 or int(n_out) <= 0:
            raise ValueError(f"layer sizes must be positive, got {n_in}, {n_out}")
        rng = np.random.default_rng(rng)
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.f_activation, self.g_activation = f_activation, g_activation
        self.dtype = np.dtype(dtype)
        self.W = (rng.standard_normal((self.n_in, self.n_out)) * (init_scale / np.sqrt(self.n_in))).astype(self.dtype)
        self.b = np.zeros(self.n_out, dtype=self.dtype)
        self.V = np.zeros((self.n_out, self.n_in), dtype=self.dtype)
        self.c = np.zeros(self.n_in, dtype=self.dtype)

    # -- parameters ---------------------------------------------------------------
    PARAMS = ("W", "b", "V", "c")

    def parameters(self):
        """The parameters as a dict ``{'W', 'b', 'V', 'c'}`` (views, not copies)."""
        return {k: getattr(self, k) for k in self.PARAMS}

    def set_parameters(self, params):
        """Replace the parameters from a dict with keys ``W, b, V, c`` (shapes checked)."""
        for k in self.PARAMS:
            value = np.asarray(params[k], dtype=self.dtype)
            if value.shape != getattr(self, k).shape:
                raise ValueError(f"{k} has shape {value.shape}, expected {getattr(self, k).shape}")
            getattr(self, k)[...] = value  # in place: optimisers hold references

    def init_decoder_bias(self, lower_mean):
        """Set the decoder bias so that ``g`` (with ``V = 0``) outputs ``lower_mean``."""
        # in place: optimisers hold references to the parameter arrays
        self.c[...] = _inverse_activation(self.g_activation, np.broadcast_to(lower_mean, (self.n_in,)))

    def init_encoder_bias(self, upper_mean):
        """Set the encoder bias so that, with zero weights, ``f`` outputs ``upper_mean``."""
        self.b[...] = _inverse_activation(self.f_activation, np.broadcast_to(upper_mean, (self.n_out,)))

    # -- paths --------------------------------------------------------------------
    def encode(self, lower):
        """Feedforward ``f(h_{l-1}) = act_f(h_{l-1} W + b)``; rows are examples."""
        return ACTIVATIONS[self.f_activation](np.asarray(lower, dtype=self.dtype) @ self.W + self.b)

    def decode(self, upper):
        """Feedback ``g(h_l) = act_g(h_l V + c)``; rows are examples."""
        return ACTIVATIONS[self.g_activation](np.asarray(upper, dtype=self.dtype) @ self.V + self.c)

    def reconstruct(self, lower):
        """Auto-encoder pass ``g(f(h_{l-1}))``."""
        return self.decode(self.encode(lower))

    # -- local losses -------------------------------------------------------------
    def decoder_loss(self, upper_corrupted, lower_target):
        """``1/(2B) sum ||g(h~_l) - h_{l-1}||^2`` (a float)."""
        err = self.decode(upper_corrupted) - lower_target
        return float(0.5 * np.sum(err.astype(np.float64) ** 2) / len(err))

    def encoder_loss(self, lower_corrupted, upper_target):
        """``1/(2B) sum ||f(h~_{l-1}) - h_l||^2`` (a float)."""
        err = self.encode(lower_corrupted) - upper_target
        return float(0.5 * np.sum(err.astype(np.float64) ** 2) / len(err))

    def decoder_gradients(self, upper_corrupted, lower_target):
        """Gradient of :meth:`decoder_loss` with respect to ``V`` and ``c``.

        Parameters
        ----------
        upper_corrupted : ndarray, shape (B, n_out)
            The (corrupted) upper-layer state ``h~_l``, a constant.
        lower_target : ndarray, shape (B, n_in)
            The target ``h_{l-1}``, a constant.

        Returns
        -------
        grads : dict
            ``{'V': ..., 'c': ...}``.
        loss : float
            The loss at the current parameters.
        """
        h = np.asarray(upper_corrupted, dtype=self.dtype)
        a = h @ self.V + self.c
        out = ACTIVATIONS[self.g_activation](a)
        err = out - lower_target
        delta = err * activation_derivative(self.g_activation, a, out)
        n = self.dtype.type(len(h))
        loss = float(0.5 * np.sum(err.astype(np.float64) ** 2) / len(h))
        return {"V": (h.T @ delta) / n, "c": delta.sum(axis=0) / n}, loss

    def encoder_gradients(self, lower_corrupted, upper_target):
        """Gradient of :meth:`encoder_loss` with respect to ``W`` and ``b``.

        Parameters
        ----------
        lower_corrupted : ndarray, shape (B, n_in)
            The (corrupted) lower-layer state ``h~_{l-1}``, a constant.
        upper_target : ndarray, shape (B, n_out)
            The target ``h_l``, a constant.

        Returns
        -------
        grads : dict
            ``{'W': ..., 'b': ...}``.
        loss : float
        """
        x = np.asarray(lower_corrupted, dtype=self.dtype)
        a = x @ self.W + self.b
        out = ACTIVATIONS[self.f_activation](a)
        err = out - upper_target
        delta = err * activation_derivative(self.f_activation, a, out)
        n = self.dtype.type(len(x))
        loss = float(0.5 * np.sum(err.astype(np.float64) ** 2) / len(x))
        return {"W": (x.T @ delta) / n, "b": delta.sum(axis=0) / n}, loss

    def target_prop_step(self, upper, lower):
        """Target-propagation estimate of ``d log p(h_{l-1} | h_l) / d h_l`` (up to sigma^2).

        ``f(h_{l-1}) - f(g(h_l))``: moves ``h_l`` so that its reconstruction, re-encoded,
        matches the encoding of the actual lower state (``docs/generative.md``).
        """
        return self.encode(lower) - self.encode(self.decode(upper))


class Adam:
    """Adam optimiser (Kingma & Ba 2015) over named float arrays, updated in place.

    Parameters
    ----------
    params : dict of str to ndarray
        The arrays to update (e.g. :meth:`LayerPair.parameters`); updated in place.
    lr : float or dict of str to float
        Learning rate, global or per parameter name.
    beta1, beta2, eps : float
        The usual Adam constants.
    """

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params = params
        self.lr = lr
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads):
        """Apply one update from ``grads`` (dict with a subset of the parameter names)."""
        self.t += 1
        c1 = 1 - self.beta1**self.t
        c2 = 1 - self.beta2**self.t
        for k, g in grads.items():
            lr = self.lr[k] if isinstance(self.lr, dict) else self.lr
            m, v = self.m[k], self.v[k]
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            self.params[k] -= (lr / c1) * m / (np.sqrt(v / c2) + self.eps)

    def state(self, prefix=""):
        """Moment estimates as a flat dict of arrays (for checkpoints)."""
        out = {f"{prefix}m_{k}": v for k, v in self.m.items()}
        out.update({f"{prefix}v_{k}": v for k, v in self.v.items()})
        return out

    def load_state(self, arrays, t, prefix=""):
        """Restore moment estimates written by :meth:`state` and the step count ``t``."""
        for k in self.m:
            self.m[k][...] = arrays[f"{prefix}m_{k}"]
            self.v[k][...] = arrays[f"{prefix}v_{k}"]
        self.t = int(t)


def gaussian_corruption(h, sigma, rng):
    """``h + N(0, sigma^2)`` in the dtype of ``h`` (``sigma = 0`` returns ``h``).

    Parameters
    ----------
    h : ndarray
    sigma : float
        Noise standard deviation (>= 0).
    rng : numpy.random.Generator
    """
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    h = np.asarray(h)
    if sigma == 0:
        return h
    return h + rng.standard_normal(h.shape, dtype=np.float32).astype(h.dtype, copy=False) * h.dtype.type(sigma)


def bernoulli_mean_corruption(p, n_samples, rng):
    """Mean of ``n_samples`` Bernoulli(p) draws per unit (values in {0, 1/n, ..., 1}).

    Parameters
    ----------
    p : ndarray
        Probabilities (clipped to [0, 1]).
    n_samples : int
        Number of Bernoulli draws averaged (3 in the paper's top layer).
    rng : numpy.random.Generator
    """
    if int(n_samples) <= 0:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    p = np.clip(np.asarray(p), 0, 1)
    return (rng.binomial(int(n_samples), p) / n_samples).astype(p.dtype)
