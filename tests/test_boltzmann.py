"""Binary RBM/DBM: energy, inference, Gibbs sampling (checked against exact enumeration), baselines."""

import itertools

import numpy as np
import pytest

from spiking_bpdl.errors import ConfigError
from spiking_bpdl.models.ais import exact_log_partition
from spiking_bpdl.models.boltzmann import (
    BoltzmannMachine,
    PCDState,
    cd1_update,
    energy,
    free_energy,
    gibbs_sweep,
    init_model,
    layer_input,
    mean_field,
    pcd_update,
    reconstruct,
    sigmoid,
)


def random_model(sizes, lateral=False, scale=0.8, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    m = init_model(sizes, lateral=lateral, rng=rng, scale=scale, dtype=dtype)
    for b in m.biases:
        b[:] = rng.normal(0, 0.5, b.size)
    for u in m.laterals:
        if u is not None:
            a = rng.normal(0, scale, u.shape)
            u[:] = (a + a.T) / 2
            np.fill_diagonal(u, 0.0)
    return m


def all_joint_states(sizes):
    allx = np.array(list(itertools.product([0.0, 1.0], repeat=sum(sizes))))
    out, start = [], 0
    for n in sizes:
        out.append(allx[:, start:start + n])
        start += n
    return out


def exact_joint_probabilities(model):
    states = all_joint_states(model.sizes)
    logp = -energy(model, states)
    p = np.exp(logp - logp.max())
    return states, p / p.sum()


def test_flipping_a_bit_changes_energy_by_its_input():
    model = random_model((5, 4, 3), lateral=True)
    rng = np.random.default_rng(1)
    states = [(rng.random((7, n)) < 0.5).astype(float) for n in model.sizes]
    e0 = energy(model, states)
    for l in range(model.n_layers):
        a = layer_input(model, states, l)
        for n in range(model.sizes[l]):
            flipped = [s.copy() for s in states]
            flipped[l][:, n] = 1 - flipped[l][:, n]
            s_n = 2 * states[l][:, n] - 1
            np.testing.assert_allclose(energy(model, flipped) - e0, s_n * a[:, n], rtol=1e-12, atol=1e-12)


def test_free_energy_matches_sum_over_hidden_states():
    model = random_model((6, 4))
    v = (np.random.default_rng(2).random((5, 6)) < 0.5).astype(float)
    h_all = np.array(list(itertools.product([0.0, 1.0], repeat=4)))
    for row in v:
        e = energy(model, [np.tile(row, (16, 1)), h_all])
        np.testing.assert_allclose(free_energy(model, row[None])[0], -np.logaddexp.reduce(-e), rtol=1e-12)


def test_exact_log_partition_rbm_shortcut_equals_full_enumeration():
    model = random_model((7, 5))
    states, _ = exact_joint_probabilities(model)
    full = np.logaddexp.reduce(-energy(model, states))
    assert exact_log_partition(model) == pytest.approx(full, abs=1e-10)


def test_mean_field_rbm_is_exact_and_dbm_is_a_fixed_point():
    rbm = random_model((6, 4))
    v = (np.random.default_rng(3).random((5, 6)) < 0.5).astype(float)
    np.testing.assert_allclose(mean_field(rbm, v)[1], sigmoid(v @ rbm.weights[0] + rbm.biases[1]))
    dbm = random_model((6, 5, 4), lateral=True, scale=0.3)
    mu = mean_field(dbm, v, n_iter=300)
    for l in range(1, 3):
        np.testing.assert_allclose(mu[l], sigmoid(layer_input(dbm, mu, l)), atol=1e-8)


@pytest.mark.parametrize("lateral", [False, True])
def test_gibbs_marginals_match_exact_enumeration(lateral):
    model = random_model((4, 3, 2), lateral=lateral, scale=0.8, seed=5)
    states, p = exact_joint_probabilities(model)
    exact = [(p[:, None] * s).sum(0) for s in states]
    rng = np.random.default_rng(6)
    chains = 4000
    x = [(rng.random((chains, n)) < 0.5).astype(float) for n in model.sizes]
    for _ in range(60):
        gibbs_sweep(model, x, rng)
    for l in range(model.n_layers):
        emp = x[l].mean(0)
        se = np.sqrt(exact[l] * (1 - exact[l]) / chains)
        # 4.5 standard errors: a family of 9 marginals, chains independent
        assert np.all(np.abs(emp - exact[l]) < 4.5 * se), (l, emp, exact[l])


def test_reconstruct_keeps_known_pixels_and_fills_the_rest():
    model = random_model((8, 5), seed=7, dtype=np.float32)
    rng = np.random.default_rng(8)
    v = (rng.random((20, 8)) < 0.5).astype(np.float32)
    mask = rng.random((20, 8)) < 0.5
    rec = reconstruct(model, v, mask, n_sweeps=5, rng=rng)
    np.testing.assert_array_equal(rec[mask], v[mask])
    assert np.all((rec >= 0) & (rec <= 1))
    assert np.all(rec[~mask] > 0) and np.all(rec[~mask] < 1)


def test_reconstruct_fill_is_the_exact_conditional_probability():
    """After burn-in, the fill of an unknown pixel is P(v_u = 1 | known pixels) of the model: check it
    against enumeration, P(v | v_known) proportional to exp(-F(v)) over the 2^4 completions."""
    model = random_model((8, 5), seed=7)
    rng = np.random.default_rng(8)
    images = (rng.random((3, 8)) < 0.5).astype(float)
    mask = np.array([True, False, True, True, False, False, True, False])  # 4 unknown pixels
    chains = 1500
    rec = reconstruct(model, np.repeat(images, chains, axis=0), mask, n_sweeps=1, burn_in=40, rng=rng)
    unknown = np.flatnonzero(~mask)
    fills = np.array(list(itertools.product([0.0, 1.0], repeat=unknown.size)))
    for k, image in enumerate(images):
        v = np.tile(image, (len(fills), 1))
        v[:, unknown] = fills
        logp = -free_energy(model, v)
        p = np.exp(logp - np.logaddexp.reduce(logp))
        exact = p @ fills
        # each chain contributes one firing probability in [0, 1] with variance <= exact (1 - exact);
        # chains independent: 4.5 standard errors for a family of 12 pixels
        emp = rec[k * chains:(k + 1) * chains][:, unknown].mean(0)
        se = np.sqrt(exact * (1 - exact) / chains)
        assert np.all(np.abs(emp - exact) < 4.5 * se), (k, emp, exact)


def test_arrays_round_trip_and_bad_shapes():
    model = random_model((6, 4, 3), lateral=True)
    again = BoltzmannMachine.from_arrays(model.to_arrays())
    assert again.sizes == model.sizes and again.has_laterals
    np.testing.assert_array_equal(again.weights[1], model.weights[1])
    with pytest.raises(ConfigError):
        BoltzmannMachine([np.zeros((3, 2))], [np.zeros(3), np.zeros(4)])
    with pytest.raises(ConfigError):
        cd1_update(model, np.zeros((2, 6)), np.random.default_rng(0))


def _exact_rbm_ll(model, data):
    return float((-free_energy(model, data) - exact_log_partition(model)).mean())


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_baselines_raise_exact_likelihood_of_a_tiny_rbm(method):
    rng = np.random.default_rng(9)
    protos = np.array([[1, 1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0, 1, 0]], float)
    data = np.abs(protos[rng.integers(0, 3, 600)] - (rng.random((600, 8)) < 0.05))
    model = init_model((8, 6), rng=rng, visible_mean=data.mean(0), dtype=np.float64)
    before = _exact_rbm_ll(model, data)
    chains = PCDState(model, 50, rng)
    for epoch in range(30):
        for i in range(0, 600, 50):
            batch = data[i:i + 50]
            upd = cd1_update(model, batch, rng) if method == "cd" else pcd_update(model, batch, chains, rng)
            model.apply(upd, 0.1)
    after = _exact_rbm_ll(model, data)
    # independent-pixel model (the start) is ~ -4.9 nats here; a learned mixture is much better
    assert after > before + 1.0, (before, after)


def test_pcd_dbm_update_has_the_right_structure():
    model = random_model((6, 4, 3), lateral=True, dtype=np.float32)
    rng = np.random.default_rng(10)
    v = (rng.random((10, 6)) < 0.5).astype(np.float32)
    upd = pcd_update(model, v, PCDState(model, 10, rng), rng)
    assert [u.shape for u in upd["weights"]] == [(6, 4), (4, 3)]
    assert upd["laterals"][0] is None
    for u in upd["laterals"][1:]:
        np.testing.assert_allclose(u, u.T)
        assert np.all(np.diag(u) == 0)




@pytest.mark.parametrize("method,lateral", [("vpf", False), ("pcd", False), ("vpf", True), ("pcd", True)])
def test_dbm_rules_raise_exact_likelihood_of_a_tiny_dbm(method, lateral):
    from spiking_bpdl.models.vpf import vpf_gradient

    rng = np.random.default_rng(13)
    protos = np.array([[1, 1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0, 1, 0]], float)
    data = np.abs(protos[rng.integers(0, 3, 300)] - (rng.random((300, 8)) < 0.05))
    model = init_model((8, 4, 3), lateral=lateral, rng=rng, visible_mean=data.mean(0), scale=0.1, dtype=np.float64)
    uniq = np.unique(data, axis=0)
    weights = np.array([np.all(data == u, axis=1).sum() for u in uniq]) / len(data)

    def ll():
        hidden = all_joint_states(model.sizes[1:])
        logz = exact_log_partition(model)
        vals = [np.logaddexp.reduce(-energy(model, [np.tile(u, (len(hidden[0]), 1))] + hidden)) - logz for u in uniq]
        return float(np.dot(weights, vals))

    before = ll()
    chains = PCDState(model, 50, rng)
    for epoch in range(30):
        for i in range(0, 300, 30):
            batch = data[i:i + 30]
            upd = vpf_gradient(model, batch, rng)[0] if method == "vpf" else pcd_update(model, batch, chains, rng)
            model.apply(upd, 0.1)
    assert ll() > before + 1.0, (before, ll())
