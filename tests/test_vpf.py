"""VPF: analytic gradient vs finite differences, locality, zero flow at the model, learning, AIS."""

import numpy as np
import pytest

from spiking_bpdl.models.ais import ais_log_partition, exact_log_partition
from spiking_bpdl.models.boltzmann import free_energy, init_model
from spiking_bpdl.models.vpf import (
    delta_from_rate,
    local_synapse_update,
    rates,
    vpf_deltas,
    vpf_gradient,
    vpf_objective,
    vpf_states,
    vpf_update,
)
from test_boltzmann import exact_joint_probabilities, random_model


def random_states(model, batch, seed):
    rng = np.random.default_rng(seed)
    return [(rng.random((batch, n)) < 0.5).astype(float) for n in model.sizes]


@pytest.mark.parametrize("sizes,lateral", [((6, 4), False), ((5, 4, 3), False), ((5, 4, 3), True)])
def test_gradient_matches_finite_differences(sizes, lateral):
    model = random_model(sizes, lateral=lateral, scale=0.7)
    states = random_states(model, 9, seed=1)
    upd, k = vpf_update(model, states)
    assert k == pytest.approx(vpf_objective(model, states), rel=1e-12)
    eps = 1e-6
    groups = [("weights", model.weights), ("biases", model.biases), ("laterals", model.laterals)]
    checked = 0
    for name, params in groups:
        for l, p in enumerate(params):
            if p is None:
                continue
            for idx in np.ndindex(p.shape):
                if name == "laterals" and idx[0] >= idx[1]:
                    continue  # one symmetric parameter per pair, diagonal fixed at 0
                sym = (idx[1], idx[0]) if name == "laterals" else None
                old = p[idx]
                p[idx] = old + eps
                if sym:
                    p[sym] = old + eps
                kp = vpf_objective(model, states)
                p[idx] = old - eps
                if sym:
                    p[sym] = old - eps
                km = vpf_objective(model, states)
                p[idx] = old
                if sym:
                    p[sym] = old
                fd = -(kp - km) / (2 * eps)
                assert upd[name][l][idx] == pytest.approx(fd, rel=1e-6, abs=1e-8), (name, l, idx)
                checked += 1
    assert checked > 20


def test_delta_from_rate_equals_flow_form():
    model = random_model((6, 5, 4), lateral=True)
    states = random_states(model, 11, seed=2)
    for x, rho, d in zip(states, rates(model, states), vpf_deltas(model, states)):
        np.testing.assert_allclose(delta_from_rate(x, rho), d, rtol=1e-10)


@pytest.mark.parametrize("lateral", [False, True])
def test_per_synapse_loop_reproduces_matrix_update(lateral):
    model = random_model((5, 4, 3), lateral=lateral)
    states = random_states(model, 8, seed=3)
    rho = rates(model, states)
    upd, _ = vpf_update(model, states)
    for l in range(model.n_layers - 1):
        for n in range(model.sizes[l]):
            for m in range(model.sizes[l + 1]):
                dw = local_synapse_update(states[l][:, n], rho[l][:, n], states[l + 1][:, m], rho[l + 1][:, m]).mean()
                assert upd["weights"][l][n, m] == pytest.approx(dw, rel=1e-12, abs=1e-15)
    for l, u in enumerate(upd["laterals"]):
        if u is None:
            continue
        for j in range(model.sizes[l]):
            for k in range(model.sizes[l]):
                if j != k:
                    du = local_synapse_update(states[l][:, j], rho[l][:, j], states[l][:, k], rho[l][:, k]).mean()
                    assert u[j, k] == pytest.approx(du, rel=1e-12, abs=1e-15)


def test_locality_units_not_adjacent_to_a_synapse_do_not_change_its_update():
    # sparse DBM: visible unit 0 -- hidden unit 0 is the synapse under study; visible unit 5
    # and hidden-2 unit 2 are connected to neither endpoint.
    model = random_model((6, 4, 3), lateral=True, scale=0.9, seed=4)
    model.weights[0][5, 0] = 0.0
    model.weights[1][0, 2] = 0.0
    model.laterals[1][0, :] = model.laterals[1][:, 0] = 0.0
    model.weights[0][0, :] = 0.0
    model.weights[0][0, 0] = 0.7  # visible 0 touches hidden 0 only
    states = random_states(model, 1, seed=5)
    states[0][0, 0] = 1.0
    states[1][0, 0] = 1.0
    base = vpf_update(model, states)[0]["weights"][0][0, 0]
    for layer, unit in [(0, 5), (2, 2)]:
        flipped = [s.copy() for s in states]
        flipped[layer][0, unit] = 1 - flipped[layer][0, unit]
        assert vpf_update(model, flipped)[0]["weights"][0][0, 0] == base
    # changing weights of synapses that do not end on either unit does not change it either
    other = model.copy()
    other.weights[1][1:, :] += 0.5
    other.weights[0][1:, 1:] -= 0.3
    assert vpf_update(other, states)[0]["weights"][0][0, 0] == base
    # ...but a neighbour of hidden unit 0 (visible 1 has a weight to it) does change it
    flipped = [s.copy() for s in states]
    flipped[0][0, 1] = 1 - flipped[0][0, 1]
    assert vpf_update(model, flipped)[0]["weights"][0][0, 0] != base


@pytest.mark.parametrize("sizes,lateral", [((5, 3), False), ((4, 3, 2), True)])
def test_expected_update_vanishes_when_data_come_from_the_model(sizes, lateral):
    model = random_model(sizes, lateral=lateral, scale=0.8, seed=6)
    states, p = exact_joint_probabilities(model)
    assert len(p) == 2 ** sum(sizes)
    # the probability-weighted sum of the flow gradient over all joint states is exactly 0
    d = vpf_deltas(model, states)
    for l in range(model.n_layers - 1):
        g = 0.5 * (states[l].T @ (p[:, None] * d[l + 1]) + (p[:, None] * d[l]).T @ states[l + 1])
        np.testing.assert_allclose(g, 0.0, atol=1e-12)
    for l in range(model.n_layers):
        np.testing.assert_allclose((p[:, None] * d[l]).sum(0), 0.0, atol=1e-12)
    # ...while on a distribution other than the model's it is not
    q = np.roll(p, 1)
    g = 0.5 * (states[0].T @ (q[:, None] * d[1]) + (q[:, None] * d[0]).T @ states[1])
    assert np.abs(g).max() > 1e-3


def test_vpf_raises_exact_likelihood_of_a_tiny_rbm():
    rng = np.random.default_rng(9)
    protos = np.array([[1, 1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0, 1, 0]], float)
    data = np.abs(protos[rng.integers(0, 3, 600)] - (rng.random((600, 8)) < 0.05))
    model = init_model((8, 6), rng=rng, visible_mean=data.mean(0), dtype=np.float64)

    def ll():
        return float((-free_energy(model, data) - exact_log_partition(model)).mean())

    before = ll()
    k0 = vpf_objective(model, vpf_states(model, data, np.random.default_rng(0)))
    for epoch in range(30):
        for i in range(0, 600, 50):
            upd, _ = vpf_gradient(model, data[i:i + 50], rng)
            model.apply(upd, 0.1)
    assert vpf_objective(model, vpf_states(model, data, np.random.default_rng(0))) < k0
    assert ll() > before + 1.0


def test_ais_agrees_with_exact_log_partition():
    model = random_model((12, 10), scale=0.6, seed=11)
    exact = exact_log_partition(model)
    res = ais_log_partition(model, n_chains=200, n_betas=3000, rng=np.random.default_rng(12))
    assert res["log_z_sem"] < 0.05
    # log of an unbiased mean: deviation within 4 standard errors (plus the second-order bias)
    assert abs(res["log_z"] - exact) < 4 * res["log_z_sem"] + res["log_z_sem"] ** 2
    assert res["log_z_low"] <= exact <= res["log_z_high"]
