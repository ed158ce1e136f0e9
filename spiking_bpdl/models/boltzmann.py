"""Binary Boltzmann machines: RBM and deep Boltzmann machine (DBM), optional lateral weights.

The model has layers ``x_0`` (visible), ``x_1`` ... ``x_L`` (hidden), all binary {0, 1}.
Adjacent layers are joined by weights ``W_l`` (shape ``(n_l, n_{l+1})``); a hidden layer may
also have symmetric *lateral* (intra-layer) weights ``U_l`` with zero diagonal. The energy is

    E(x) = - sum_l x_l^T W_l x_{l+1} - sum_l b_l^T x_l - 1/2 sum_{l>=1} x_l^T U_l x_l,

so the input of unit ``n`` (the change of ``-E`` when it switches on) is
``a_n = b_n + sum_m W_nm x_m`` over every unit ``m`` it is connected to, and its firing
probability given everything else is ``rho_n = sigmoid(a_n)``.

This module holds the model, its energy, mean-field inference, Gibbs sampling (clamped or
free), reconstruction of partly known images, and the two classical learning rules used as
baselines: CD-1 (RBM) and PCD (RBM, and DBM with a mean-field positive phase). The
variational probability flow rule is in :mod:`spiking_bpdl.models.vpf`; AIS and exact
partition functions are in :mod:`spiking_bpdl.models.ais`.

All updates are returned as *ascent directions* (what to add to the parameters, times a
learning rate) in a dict with keys ``weights``, ``biases`` and ``laterals`` that mirror the
model's lists.
"""

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError

__all__ = [
    "BoltzmannMachine",
    "init_model",
    "sigmoid",
    "energy",
    "layer_input",
    "all_inputs",
    "free_energy",
    "mean_field",
    "sample_layer",
    "gibbs_sweep",
    "sample_model",
    "reconstruct",
    "cd1_update",
    "PCDState",
    "pcd_update",
    "zero_update",
]


def sigmoid(a):
    """Logistic function, overflow-safe, in the dtype of ``a``."""
    a = np.asarray(a)
    return (0.5 * (1.0 + np.tanh(0.5 * a))).astype(a.dtype, copy=False)


@dataclass
class BoltzmannMachine:
    """Parameters of a binary RBM/DBM.

    Attributes
    ----------
    weights : list of ndarray
        ``weights[l]`` joins layer ``l`` and ``l+1``, shape ``(n_l, n_{l+1})``.
    biases : list of ndarray
        ``biases[l]``, shape ``(n_l,)``; layer 0 is the visible layer.
    laterals : list of ndarray or None
        ``laterals[l]`` is a symmetric ``(n_l, n_l)`` matrix with zero diagonal, or None
        when layer ``l`` has no intra-layer connections (always None for the visible layer).
    """

    weights: list
    biases: list
    laterals: list = field(default=None)

    def __post_init__(self):
        if self.laterals is None:
            self.laterals = [None] * len(self.biases)
        if len(self.weights) != len(self.biases) - 1 or len(self.laterals) != len(self.biases):
            raise ConfigError("a Boltzmann machine needs len(biases) == len(weights) + 1 == len(laterals)")
        for l, w in enumerate(self.weights):
            if w.shape != (self.biases[l].size, self.biases[l + 1].size):
                raise ConfigError(f"weights[{l}] has shape {w.shape}, expected "
                                  f"{(self.biases[l].size, self.biases[l + 1].size)}")
        if self.laterals[0] is not None:
            raise ConfigError("the visible layer has no lateral connections in this model")

    @property
    def sizes(self):
        """Layer sizes, visible first."""
        return tuple(int(b.size) for b in self.biases)

    @property
    def n_layers(self):
        """Number of layers including the visible one."""
        return len(self.biases)

    @property
    def is_rbm(self):
        """True for one hidden layer without lateral connections."""
        return self.n_layers == 2 and self.laterals[1] is None

    @property
    def has_laterals(self):
        """True when any hidden layer has intra-layer weights."""
        return any(u is not None for u in self.laterals)

    @property
    def dtype(self):
        return self.weights[0].dtype

    def copy(self):
        """A deep copy."""
        return BoltzmannMachine([w.copy() for w in self.weights], [b.copy() for b in self.biases],
                                [None if u is None else u.copy() for u in self.laterals])

    def apply(self, update, scale=1.0):
        """Add ``scale * update`` in place (lateral diagonals are kept at zero)."""
        for l, dw in enumerate(update["weights"]):
            self.weights[l] += scale * dw
        for l, db in enumerate(update["biases"]):
            self.biases[l] += scale * db
        for l, du in enumerate(update["laterals"]):
            if du is not None and self.laterals[l] is not None:
                self.laterals[l] += scale * du
                np.fill_diagonal(self.laterals[l], 0.0)

    def to_arrays(self):
        """Flat dict of named arrays (for checkpoints)."""
        arrays = {f"W{l}": w for l, w in enumerate(self.weights)}
        arrays.update({f"b{l}": b for l, b in enumerate(self.biases)})
        arrays.update({f"U{l}": u for l, u in enumerate(self.laterals) if u is not None})
        return arrays

    @classmethod
    def from_arrays(cls, arrays):
        """Inverse of :meth:`to_arrays`."""
        n = sum(1 for k in arrays if k.startswith("b") and k[1:].isdigit())
        if n < 2:
            raise ConfigError("arrays do not describe a Boltzmann machine (need b0, b1, W0 ...)")
        try:
            biases = [np.asarray(arrays[f"b{l}"]) for l in range(n)]
            weights = [np.asarray(arrays[f"W{l}"]) for l in range(n - 1)]
        except KeyError as exc:
            raise ConfigError(f"arrays do not describe a Boltzmann machine (missing {exc})") from None
        laterals = [np.asarray(arrays[f"U{l}"]) if f"U{l}" in arrays else None for l in range(n)]
        return cls(weights, biases, laterals)


def init_model(sizes, lateral=False, rng=None, visible_mean=None, scale=0.01, dtype=np.float32):
    """A new machine with small random weights.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes, visible first (``(784, 500)`` is an RBM, ``(784, 500, 200)`` a DBM).
    lateral : bool
        Give every hidden layer intra-layer weights (initialised to zero).
    rng : numpy.random.Generator, optional
    visible_mean : ndarray, optional
        Mean of the training data; visible biases start at its logit (Hinton's guide).
    scale : float
        Standard deviation of the initial weights.
    dtype : numpy dtype

    Returns
    -------
    BoltzmannMachine
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or any(s <= 0 for s in sizes):
        raise ConfigError(f"layer sizes must be >= 2 positive integers, got {sizes}")
    rng = np.random.default_rng(rng)
    weights = [(scale * rng.standard_normal((sizes[l], sizes[l + 1]))).astype(dtype) for l in range(len(sizes) - 1)]
    biases = [np.zeros(s, dtype=dtype) for s in sizes]
    if visible_mean is not None:
        p = np.clip(np.asarray(visible_mean, dtype=np.float64), 1e-3, 1 - 1e-3)
        biases[0] = np.log(p / (1 - p)).astype(dtype)
    laterals = [None] + [np.zeros((s, s), dtype=dtype) if lateral else None for s in sizes[1:]]
    return BoltzmannMachine(weights, biases, laterals)


def zero_update(model):
    """An update dict of zeros shaped like ``model``."""
    return {
        "weights": [np.zeros_like(w) for w in model.weights],
        "biases": [np.zeros_like(b) for b in model.biases],
        "laterals": [None if u is None else np.zeros_like(u) for u in model.laterals],
    }


def layer_input(model, states, l):
    """Total input ``a`` of every unit in layer ``l`` given the full state list.

    Parameters
    ----------
    model : BoltzmannMachine
    states : list of ndarray
        One ``(batch, n_l)`` array per layer (binary states or mean-field values).
    l : int

    Returns
    -------
    ndarray, shape (batch, n_l)
    """
    ref = states[l] if states[l] is not None else states[l - 1 if l > 0 else 1]
    a = np.tile(model.biases[l], (ref.shape[0], 1)).astype(np.result_type(ref, model.dtype), copy=False)
    if l > 0:
        a += states[l - 1] @ model.weights[l - 1]
    if l < model.n_layers - 1:
        a += states[l + 1] @ model.weights[l].T
    if model.laterals[l] is not None and states[l] is not None:
        a += states[l] @ model.laterals[l]
    return a


def all_inputs(model, states):
    """:func:`layer_input` for every layer."""
    return [layer_input(model, states, l) for l in range(model.n_layers)]


def energy(model, states):
    """Energy of each configuration in a batch.

    Parameters
    ----------
    model : BoltzmannMachine
    states : list of ndarray, ``(batch, n_l)`` each

    Returns
    -------
    ndarray, shape (batch,)
    """
    e = np.zeros(states[0].shape[0], dtype=np.result_type(states[0], model.dtype))
    for l in range(model.n_layers):
        e -= states[l] @ model.biases[l]
        if l < model.n_layers - 1:
            e -= np.einsum("bi,bi->b", states[l] @ model.weights[l], states[l + 1])
        if model.laterals[l] is not None:
            e -= 0.5 * np.einsum("bi,bi->b", states[l] @ model.laterals[l], states[l])
    return e


def _softplus(a):
    return np.logaddexp(0.0, a)


def free_energy(model, v):
    """RBM free energy ``F(v) = -b^T v - sum_j softplus(c_j + (v W)_j)``; ``p(v) = exp(-F)/Z``.

    Parameters
    ----------
    model : BoltzmannMachine
        Must be an RBM (one hidden layer, no laterals).
    v : ndarray, shape (batch, n_visible)

    Returns
    -------
    ndarray, shape (batch,)
    """
    if not model.is_rbm:
        raise ConfigError("the free energy in closed form needs an RBM (one hidden layer, no laterals)")
    v = np.asarray(v, dtype=np.float64)
    return -(v @ model.biases[0].astype(np.float64)) - _softplus(
        v @ model.weights[0].astype(np.float64) + model.biases[1].astype(np.float64)).sum(axis=1)


def mean_field(model, v, n_iter=10, damping=0.5, init=None):
    """Mean-field posterior ``q(h|v) = prod Bernoulli(mu)`` of every hidden layer.

    For an RBM this is exact (one step). For a DBM the layers are updated in turn
    (bottom-up initialisation with doubled upward input for intermediate layers, as in
    Salakhutdinov & Hinton 2009), then ``n_iter`` fixed-point sweeps; layers with lateral
    weights use damped updates ``mu <- (1-damping) mu + damping sigmoid(a)``.

    Parameters
    ----------
    model : BoltzmannMachine
    v : ndarray, shape (batch, n_visible)
    n_iter : int
        Fixed-point sweeps for a DBM or a model with laterals.
    damping : float
        Step size of the damped update on layers with laterals.
    init : list of ndarray, optional
        Starting values of the hidden layers (e.g. from a previous call).

    Returns
    -------
    list of ndarray
        ``[v, mu_1, ..., mu_L]``.
    """
    states = [np.asarray(v, dtype=model.dtype)] + [None] * (model.n_layers - 1)
    if init is not None:
        for l in range(1, model.n_layers):
            states[l] = np.array(init[l], dtype=model.dtype)
    elif model.is_rbm:
        states[1] = sigmoid(model.biases[1] + states[0] @ model.weights[0])
        return states
    else:
        for l in range(1, model.n_layers):
            up = states[l - 1] @ model.weights[l - 1]
            factor = 2.0 if l < model.n_layers - 1 else 1.0
            states[l] = sigmoid(model.biases[l] + factor * up)
    if model.is_rbm:
        states[1] = sigmoid(layer_input(model, states, 1))
        return states
    visible_input = states[0] @ model.weights[0]  # fixed while v is clamped: computed once
    last = model.n_layers - 1
    for _ in range(n_iter):
        for l in range(1, model.n_layers):
            a = model.biases[l] + (visible_input if l == 1 else states[l - 1] @ model.weights[l - 1])
            if l < last:
                a = a + states[l + 1] @ model.weights[l].T
            if model.laterals[l] is not None:
                a = a + states[l] @ model.laterals[l]
            new = sigmoid(a)
            states[l] = (1 - damping) * states[l] + damping * new if model.laterals[l] is not None else new
    return states


def sample_layer(model, states, l, rng, clamp_mask=None):
    """Gibbs-sample layer ``l`` in place given the others; returns its firing probabilities.

    Without lateral weights the units of a layer are conditionally independent and are
    sampled together. With laterals they are sampled one unit at a time (exact Gibbs),
    in a random order, each batch row in parallel.

    Parameters
    ----------
    model : BoltzmannMachine
    states : list of ndarray
        Modified in place.
    l : int
    rng : numpy.random.Generator
    clamp_mask : ndarray of bool, optional
        ``(batch, n_l)`` or ``(n_l,)``; True where the unit is clamped (left unchanged).

    Returns
    -------
    ndarray
        Firing probabilities ``sigmoid(a)`` used for the sample (for laterals: at the
        moment each unit was updated).
    """
    if model.laterals[l] is None:
        p = sigmoid(layer_input(model, states, l))
        new = (rng.random(p.shape, dtype=p.dtype) < p).astype(p.dtype)
        if clamp_mask is not None:
            new = np.where(clamp_mask, states[l], new)
        states[l] = new
        return p
    U = model.laterals[l]
    saved = model.laterals[l]
    model.laterals[l] = None
    try:
        base = layer_input(model, states, l)  # input without the lateral part
    finally:
        model.laterals[l] = saved
    x = states[l]
    p = np.empty_like(base)
    for j in rng.permutation(x.shape[1]):
        pj = sigmoid(base[:, j] + x @ U[:, j])
        p[:, j] = pj
        xj = (rng.random(pj.shape, dtype=pj.dtype) < pj).astype(x.dtype)
        if clamp_mask is not None:
            m = clamp_mask[..., j]
            xj = np.where(m, x[:, j], xj)
        x[:, j] = xj
    return p


def gibbs_sweep(model, states, rng, clamp_mask=None):
    """One block-Gibbs sweep: odd layers, then even layers (visible included).

    Parameters
    ----------
    model : BoltzmannMachine
    states : list of ndarray
        Modified in place.
    rng : numpy.random.Generator
    clamp_mask : ndarray of bool, optional
        Visible units that stay fixed (True = known/clamped).

    Returns
    -------
    ndarray
        Firing probabilities of the visible layer in this sweep.
    """
    for l in range(1, model.n_layers, 2):
        sample_layer(model, states, l, rng)
    pv = None
    for l in range(0, model.n_layers, 2):
        p = sample_layer(model, states, l, rng, clamp_mask=clamp_mask if l == 0 else None)
        if l == 0:
            pv = p
    return pv


def _random_states(model, batch, rng, dtype):
    return [(rng.random((batch, n)) < 0.5).astype(dtype) for n in model.sizes]


def sample_model(model, n_samples, n_sweeps=500, rng=None, chunk=2000, init=None):
    """Free-running samples: independent Gibbs chains from random states.

    Parameters
    ----------
    model : BoltzmannMachine
    n_samples : int
        Number of chains (one sample each).
    n_sweeps : int
        Gibbs sweeps per chain.
    rng : numpy.random.Generator, optional
    chunk : int
        Chains run together (memory bound).
    init : ndarray, optional
        Starting visible states, shape ``(n_samples, n_visible)``.

    Returns
    -------
    probabilities : ndarray, shape (n_samples, n_visible)
        Visible firing probabilities at the last sweep (the sample's mean image).
    states : ndarray, shape (n_samples, n_visible)
        Binary visible states at the last sweep.
    """
    rng = np.random.default_rng(rng)
    probs, binary = [], []
    for start in range(0, n_samples, chunk):
        b = min(chunk, n_samples - start)
        states = _random_states(model, b, rng, model.dtype)
        if init is not None:
            states[0] = np.asarray(init[start:start + b], dtype=model.dtype).copy()
            states[1:] = mean_field(model, states[0])[1:]
            states[1:] = [(rng.random(s.shape, dtype=s.dtype) < s).astype(s.dtype) for s in states[1:]]
        pv = None
        for _ in range(n_sweeps):
            pv = gibbs_sweep(model, states, rng)
        probs.append(pv)
        binary.append(states[0])
    return np.concatenate(probs), np.concatenate(binary)


def reconstruct(model, v, known_mask, n_sweeps=100, burn_in=0, rng=None, chunk=2000):
    """Fill in the unknown pixels by clamped Gibbs sampling.

    The known pixels are clamped; the unknown ones start at 0 and the hidden layers at a
    sample from the mean-field posterior. The reconstruction of an unknown pixel is its
    firing probability averaged over the sweeps after ``burn_in``; known pixels keep their
    value.

    Parameters
    ----------
    model : BoltzmannMachine
    v : ndarray, shape (batch, n_visible)
        Images (values of unknown pixels are ignored).
    known_mask : ndarray of bool, shape (batch, n_visible) or (n_visible,)
        True where the pixel is known.
    n_sweeps : int
        Sweeps averaged.
    burn_in : int
        Sweeps discarded first.
    rng : numpy.random.Generator, optional
    chunk : int

    Returns
    -------
    ndarray, shape (batch, n_visible)
    """
    if n_sweeps < 1:
        raise ConfigError("reconstruct needs n_sweeps >= 1")
    rng = np.random.default_rng(rng)
    v = np.asarray(v, dtype=model.dtype)
    known_mask = np.broadcast_to(np.asarray(known_mask, dtype=bool), v.shape)
    out = np.empty_like(v)
    for start in range(0, len(v), chunk):
        sl = slice(start, start + chunk)
        mask = known_mask[sl]
        v0 = np.where(mask, v[sl], 0.0).astype(model.dtype)
        mf = mean_field(model, v0)
        states = [v0] + [(rng.random(m.shape, dtype=m.dtype) < m).astype(m.dtype) for m in mf[1:]]
        acc = np.zeros_like(v0)
        for sweep in range(burn_in + n_sweeps):
            pv = gibbs_sweep(model, states, rng, clamp_mask=mask)
            if sweep >= burn_in:
                acc += pv
        out[sl] = np.where(mask, v[sl], acc / n_sweeps)
    return out


# ----------------------------------------------------------------------------------------
# Baseline learning rules
# ----------------------------------------------------------------------------------------

def _stats(model, pos, neg, n_pos, n_neg):
    """Ascent direction <x_l x_{l+1}>_pos - <.>_neg etc."""
    upd = {"weights": [], "biases": [], "laterals": []}
    for l in range(model.n_layers - 1):
        upd["weights"].append(pos[l].T @ pos[l + 1] / n_pos - neg[l].T @ neg[l + 1] / n_neg)
    for l in range(model.n_layers):
        upd["biases"].append(pos[l].mean(axis=0) - neg[l].mean(axis=0))
        if model.laterals[l] is None:
            upd["laterals"].append(None)
        else:
            du = pos[l].T @ pos[l] / n_pos - neg[l].T @ neg[l] / n_neg
            np.fill_diagonal(du, 0.0)
            upd["laterals"].append(du)
    return upd


def cd1_update(model, v, rng):
    """CD-1 ascent direction for an RBM (Hinton 2002).

    Positive phase uses ``P(h|v)``; the negative phase samples ``h ~ P(h|v)``, reconstructs
    ``v' = P(v|h)`` (probabilities, as in Hinton's practical guide) and uses ``P(h|v')``.

    Parameters
    ----------
    model : BoltzmannMachine (RBM)
    v : ndarray, shape (batch, n_visible)
    rng : numpy.random.Generator

    Returns
    -------
    dict
        Ascent direction (``weights``, ``biases``, ``laterals``).
    """
    if not model.is_rbm:
        raise ConfigError("CD-1 is defined here for an RBM only; use --method pcd for a DBM or laterals")
    W, b, c = model.weights[0], model.biases[0], model.biases[1]
    ph = sigmoid(v @ W + c)
    h = (rng.random(ph.shape, dtype=ph.dtype) < ph).astype(ph.dtype)
    pv = sigmoid(h @ W.T + b)
    ph2 = sigmoid(pv @ W + c)
    n = v.shape[0]
    return {"weights": [(v.T @ ph - pv.T @ ph2) / n],
            "biases": [v.mean(0) - pv.mean(0), ph.mean(0) - ph2.mean(0)],
            "laterals": [None, None]}


class PCDState:
    """Persistent fantasy particles for PCD (Tieleman 2008).

    Parameters
    ----------
    model : BoltzmannMachine
    n_chains : int
    rng : numpy.random.Generator
    """

    def __init__(self, model, n_chains, rng):
        self.states = _random_states(model, n_chains, rng, model.dtype)


def pcd_update(model, v, chains, rng, n_sweeps=1, mf_iter=10):
    """PCD ascent direction; for a DBM the positive phase is mean-field (Salakhutdinov & Hinton 2009).

    Parameters
    ----------
    model : BoltzmannMachine
    v : ndarray, shape (batch, n_visible)
    chains : PCDState
        Advanced by ``n_sweeps`` Gibbs sweeps (in place).
    rng : numpy.random.Generator
    n_sweeps : int
    mf_iter : int
        Mean-field sweeps of the positive phase (DBM / laterals).

    Returns
    -------
    dict
        Ascent direction.
    """
    pos = mean_field(model, v, n_iter=mf_iter)
    for _ in range(n_sweeps):
        gibbs_sweep(model, chains.states, rng)
    neg = chains.states
    if model.is_rbm:
        # Rao-Blackwellised negative statistics for the hidden layer.
        neg = [neg[0], sigmoid(layer_input(model, neg, 1))]
    return _stats(model, pos, neg, v.shape[0], neg[0].shape[0])
