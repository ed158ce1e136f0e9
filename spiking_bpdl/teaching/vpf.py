"""Checks for the exercises of ``notebooks/05_vpf.ipynb``.

Each ``check_<name>(func)`` runs the student's ``func`` and the library's own implementation on
fresh inputs (small random Boltzmann machines in float64, not the notebook's) and reports through
:func:`spiking_bpdl.teaching.report`: a wrong answer raises ``AssertionError`` with a hint, an
unfinished exercise's ``NotImplementedError`` propagates.
"""

import numpy as np

from ..models.boltzmann import all_inputs, cd1_update, energy, init_model
from ..models.vpf import vpf_objective
from ._compare import check_close

__all__ = ["check_flip_energy_difference", "check_flow_objective", "check_cd1_weight_update"]


def _random_machine(sizes, lateral, seed):
    """A float64 machine with random weights and biases, symmetric zero-diagonal laterals, and binary states."""
    rng = np.random.default_rng(seed)
    model = init_model(sizes, lateral=lateral, rng=rng, scale=0.7, dtype=np.float64)
    for b in model.biases:
        b[:] = rng.normal(0, 0.5, b.shape)
    for u in model.laterals:
        if u is not None:
            a = rng.normal(0, 0.5, u.shape)
            u[:] = (a + a.T) / 2
            np.fill_diagonal(u, 0)
    states = [(rng.random((7, n)) < 0.5).astype(np.float64) for n in sizes]
    return model, states


def check_flip_energy_difference(flip_energy_difference):
    """Exercise 1: ``E(x with bit n flipped) - E(x)`` for every unit, from its state and input.

    Compared with the energies of the flipped configurations computed by
    :func:`spiking_bpdl.models.boltzmann.energy`, on every unit of a small DBM with lateral
    connections.

    Parameters
    ----------
    flip_energy_difference : callable
        ``(x, a) -> ndarray`` of the shape of ``x`` (states and inputs of one layer).
    """
    model, states = _random_machine((6, 5, 4), True, 2018)
    e0 = energy(model, states)
    want = []
    for l, x in enumerate(states):
        d = np.empty_like(x)
        for n in range(x.shape[1]):
            flipped = [s.copy() for s in states]
            flipped[l][:, n] = 1 - flipped[l][:, n]
            d[:, n] = energy(model, flipped) - e0
        want.append(d)
    got = [flip_energy_difference(x.copy(), a) for x, a in zip(states, all_inputs(model, states))]
    check_close("Exercise 1 (flip_energy_difference)", got, want, rtol=1e-9, atol=1e-9,
                what="energy change of every single-bit flip in a 6-5-4 DBM with laterals",
                hint="Unit n enters the energy as -x_n a_n (all other terms do not contain x_n). Flipping it "
                     "turns x_n into 1 - x_n, so the energy changes by (2 x_n - 1) a_n: switching OFF an "
                     "active unit with positive input costs energy.")


def check_flow_objective(flow_objective):
    """Exercise 2: the probability-flow objective ``K``, averaged over the batch.

    Compared with :func:`spiking_bpdl.models.vpf.vpf_objective` on an RBM and on a DBM with
    lateral connections.

    Parameters
    ----------
    flow_objective : callable
        ``(model, states) -> float``.
    """
    got, want = [], []
    for sizes, lateral, seed in (((8, 5), False, 11), ((6, 5, 4), True, 2011)):
        model, states = _random_machine(sizes, lateral, seed)
        got.append(flow_objective(model, [s.copy() for s in states]))
        want.append(vpf_objective(model, states))
    check_close("Exercise 2 (flow_objective)", got, want, rtol=1e-9, atol=1e-12,
                what="K of an RBM and of a DBM with laterals",
                hint="K = sum over units of exp(-1/2 * (E(x^(n)) - E(x))) = exp(-1/2 * flip_energy_difference), "
                     "summed over the units of every layer and divided by the batch size (len(states[0])); "
                     "the inputs of every layer are all_inputs(model, states).")


def check_cd1_weight_update(cd1_weight_update):
    """Exercise 3: the CD-1 ascent direction of an RBM's weights.

    Compared with the ``weights`` of :func:`spiking_bpdl.models.boltzmann.cd1_update`, both
    drawing the hidden sample from generators with the same seed.

    Parameters
    ----------
    cd1_weight_update : callable
        ``(W, b, c, v, rng) -> ndarray`` of the shape of ``W``.
    """
    model, states = _random_machine((12, 7), False, 2002)
    v = states[0]
    got, want = [], []
    for seed in (0, 1):
        W, b, c = (p.copy() for p in (model.weights[0], model.biases[0], model.biases[1]))
        got.append(cd1_weight_update(W, b, c, v.copy(), np.random.default_rng(seed)))
        want.append(cd1_update(model, v, np.random.default_rng(seed))["weights"][0])
    check_close("Exercise 3 (cd1_weight_update)", got, want, rtol=1e-9, atol=1e-12,
                what="CD-1 weight update of a 12-7 RBM, two seeds",
                hint="Positive phase: v.T @ P(h|v), with probabilities sigmoid(v @ W + c). Negative phase: "
                     "reconstruct pv = sigmoid(h @ W.T + b) from the SAMPLED h, then pv.T @ sigmoid(pv @ W + c). "
                     "Return (positive - negative) / batch size.")
