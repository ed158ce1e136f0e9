"""Variational probability flow (VPF): minimum probability flow on (visible, sampled hidden).

Derivation (our reading of Liu, Quek & Lin 2018; their equations were not available)
------------------------------------------------------------------------------------
Minimum probability flow (Sohl-Dickstein et al. 2011) with single-bit-flip neighbours fits
an energy model by minimising the initial probability flow out of the data,

    K(theta) = sum_{x in D} sum_n exp( 1/2 [E(x) - E(x^(n))] ),

where ``x^(n)`` is ``x`` with bit ``n`` flipped. For a binary Boltzmann machine,
``E(x^(n)) - E(x) = s_n a_n`` with ``s_n = 2 x_n - 1`` and ``a_n`` the input of unit ``n``,
so ``K = sum_x sum_n exp(-s_n a_n / 2)``: one term per unit, depending on its own state and
input only.

A Boltzmann machine with hidden units has no data for the hidden layers. **Our choice**
(marked as such in docs/vpf.md): complete each training vector ``v`` with hidden states
*sampled* from the variational mean-field posterior ``q(h|v)`` (exact for an RBM), and apply
MPF to the joint state ``x = (v, h)``, holding ``q`` fixed when differentiating. Plugging the
real-valued mean ``mu`` into ``K`` instead of a sample was worse in our calibration (``docs/vpf.md``).

Gradient. With ``rho_n = sigmoid(a_n)`` (the unit's firing probability),
``s_n exp(-s_n a_n / 2) = (x_n - rho_n) / sqrt(rho_n (1 - rho_n)) =: delta_n`` and

    -dK/dW_nm = 1/2 (delta_n x_m + x_n delta_m),      -dK/db_n = 1/2 delta_n

for every synapse ``(n, m)``: between layers and, when present, lateral (intra-layer). Each
synapse's update uses only the states and firing probabilities of the two units it joins:
the rule is *local*. :func:`local_synapse_update` is that per-synapse formula;
:func:`vpf_update` is the same thing for all synapses at once with matrix products.
"""

import numpy as np

from .boltzmann import all_inputs, mean_field, sigmoid

__all__ = [
    "vpf_states",
    "vpf_objective",
    "vpf_deltas",
    "delta_from_rate",
    "local_synapse_update",
    "vpf_update",
    "vpf_gradient",
    "rates",
]

_CLIP = 60.0


def vpf_states(model, v, rng, mf_iter=10):
    """Joint states ``[v, h_1, ..., h_L]`` with ``h ~ q(h|v)`` (mean-field posterior).

    Parameters
    ----------
    model : BoltzmannMachine
    v : ndarray, shape (batch, n_visible)
    rng : numpy.random.Generator
    mf_iter : int
        Mean-field sweeps (DBM or laterals; an RBM's posterior is exact).

    Returns
    -------
    list of ndarray
    """
    mu = mean_field(model, v, n_iter=mf_iter)
    return [mu[0]] + [(rng.random(m.shape, dtype=m.dtype) < m).astype(m.dtype) for m in mu[1:]]


def _flow_terms(states, inputs):
    """Per-unit ``exp(-s a / 2)`` and ``delta = s exp(-s a / 2)``."""
    terms, deltas = [], []
    for x, a in zip(states, inputs):
        s = 2 * x - 1
        e = np.exp(-0.5 * s * np.clip(a, -_CLIP, _CLIP))
        terms.append(e)
        deltas.append(s * e)
    return terms, deltas


def vpf_objective(model, states):
    """The probability-flow objective ``K``, averaged over the batch.

    Parameters
    ----------
    model : BoltzmannMachine
    states : list of ndarray
        Joint binary states, one ``(batch, n_l)`` array per layer.

    Returns
    -------
    float
    """
    terms, _ = _flow_terms(states, all_inputs(model, states))
    return float(sum(t.sum() for t in terms) / states[0].shape[0])


def vpf_deltas(model, states):
    """Each unit's ``delta_n = s_n exp(-s_n a_n / 2)``, one array per layer."""
    return _flow_terms(states, all_inputs(model, states))[1]


def delta_from_rate(x, rho):
    """``delta = (x - rho) / sqrt(rho (1 - rho))``: the same quantity from the firing probability."""
    x = np.asarray(x, dtype=np.float64)
    rho = np.asarray(rho, dtype=np.float64)
    return (x - rho) / np.sqrt(rho * (1 - rho))


def local_synapse_update(x_n, rho_n, x_m, rho_m):
    """VPF update of one synapse from the two units it joins.

    Parameters
    ----------
    x_n, x_m : float or ndarray
        Binary states of the two units (batch allowed).
    rho_n, rho_m : float or ndarray
        Their firing probabilities ``sigmoid(a)``.

    Returns
    -------
    float or ndarray
        ``1/2 (delta_n x_m + x_n delta_m)`` (the descent direction on ``K``).
    """
    return 0.5 * (delta_from_rate(x_n, rho_n) * np.asarray(x_m) + np.asarray(x_n) * delta_from_rate(x_m, rho_m))


def vpf_update(model, states):
    """VPF update (``-dK/dtheta``, batch mean) of every parameter, and ``K``.

    Parameters
    ----------
    model : BoltzmannMachine
    states : list of ndarray
        Joint binary states (see :func:`vpf_states`).

    Returns
    -------
    update : dict
        ``weights``, ``biases``, ``laterals`` (ascent direction on ``-K``).
    objective : float
        ``K`` averaged over the batch.
    """
    n = states[0].shape[0]
    terms, deltas = _flow_terms(states, all_inputs(model, states))
    upd = {"weights": [], "biases": [], "laterals": []}
    for l in range(model.n_layers - 1):
        upd["weights"].append(0.5 * (states[l].T @ deltas[l + 1] + deltas[l].T @ states[l + 1]) / n)
    for l in range(model.n_layers):
        upd["biases"].append(0.5 * deltas[l].mean(axis=0))
        if model.laterals[l] is None:
            upd["laterals"].append(None)
        else:
            du = 0.5 * (states[l].T @ deltas[l] + deltas[l].T @ states[l]) / n
            np.fill_diagonal(du, 0.0)
            upd["laterals"].append(du)
    return upd, float(sum(t.sum() for t in terms) / n)


def vpf_gradient(model, v, rng, mf_iter=10):
    """Sample ``h ~ q(h|v)`` and return :func:`vpf_update` of the joint state.

    Parameters
    ----------
    model : BoltzmannMachine
    v : ndarray, shape (batch, n_visible)
    rng : numpy.random.Generator
    mf_iter : int

    Returns
    -------
    update : dict
    objective : float
    """
    return vpf_update(model, vpf_states(model, v, rng, mf_iter=mf_iter))


def rates(model, states):
    """Firing probabilities ``sigmoid(a_n)`` of every unit given the joint state."""
    return [sigmoid(a) for a in all_inputs(model, states)]

