"""The rate layer pair: activations, local losses and their analytic gradients, corruption."""

import numpy as np
import pytest

from finite_diff import numeric_grad
from spiking_bpdl.rate.layer_pair import (
    ACTIVATIONS,
    Adam,
    LayerPair,
    activation,
    activation_derivative,
    bernoulli_mean_corruption,
    gaussian_corruption,
)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative_matches_finite_differences(name):
    a = np.linspace(-4, 4, 41) + 0.013  # avoid relu's kink at exactly 0
    num = (activation(name, a + 1e-6) - activation(name, a - 1e-6)) / 2e-6
    np.testing.assert_allclose(activation_derivative(name, a), num, rtol=1e-6, atol=1e-8)


def test_activations_stable_and_float32():
    a = np.array([-1e4, -50, 0, 50, 1e4], dtype=np.float32)
    for name in ACTIVATIONS:
        out = activation(name, a)
        assert out.dtype == np.float32
        assert np.all(np.isfinite(out))
    np.testing.assert_allclose(activation("sigmoid", a), [0, 0, 0.5, 1, 1], atol=1e-7)
    np.testing.assert_allclose(activation("softplus", a), [0, 0, np.log(2), 50, 1e4], rtol=1e-6, atol=1e-7)


def test_unknown_activation_rejected():
    with pytest.raises(ValueError, match="unknown activation"):
        LayerPair(3, 2, "tanhh", "sigmoid")


@pytest.mark.parametrize("f_act,g_act", [("softplus", "sigmoid"), ("sigmoid", "softplus"),
                                         ("relu", "linear"), ("linear", "relu")])
def test_local_gradients_equal_finite_differences(f_act, g_act):
    """The local-target update is exactly the gradient of the local squared-error loss."""
    rng = np.random.default_rng(0)
    pair = LayerPair(7, 5, f_act, g_act, rng=rng, dtype=np.float64)
    pair.V[...] = rng.normal(size=pair.V.shape) * 0.5
    pair.b[...] = rng.normal(size=5) * 0.3
    pair.c[...] = rng.normal(size=7) * 0.3
    lower, upper = rng.random((4, 7)), rng.random((4, 5))
    lower_t, upper_t = rng.random((4, 7)), rng.random((4, 5))

    grads, loss = pair.decoder_gradients(upper, lower_t)
    assert loss == pytest.approx(pair.decoder_loss(upper, lower_t))
    for name in ("V", "c"):
        num = numeric_grad(lambda: pair.decoder_loss(upper, lower_t), getattr(pair, name))
        np.testing.assert_allclose(grads[name], num, rtol=1e-5, atol=1e-8)

    grads, loss = pair.encoder_gradients(lower, upper_t)
    assert loss == pytest.approx(pair.encoder_loss(lower, upper_t))
    for name in ("W", "b"):
        num = numeric_grad(lambda: pair.encoder_loss(lower, upper_t), getattr(pair, name))
        np.testing.assert_allclose(grads[name], num, rtol=1e-5, atol=1e-8)


def test_shapes_dtype_and_decoder_bias_initialisation():
    rng = np.random.default_rng(1)
    pair = LayerPair(784, 30, "softplus", "sigmoid", rng=rng)
    x = rng.random((10, 784), dtype=np.float32)
    h = pair.encode(x)
    assert h.shape == (10, 30) and h.dtype == np.float32 and np.all(h >= 0)
    assert not pair.V.any()  # decoders start at zero weights
    mean = np.clip(x.mean(axis=0), 0.01, 0.99)
    pair.init_decoder_bias(mean)
    r = pair.decode(h)
    assert r.shape == (10, 784) and r.dtype == np.float32
    np.testing.assert_array_equal(pair.reconstruct(x), r)
    np.testing.assert_allclose(r, np.broadcast_to(mean, r.shape), rtol=1e-4)
    up = LayerPair(30, 5, "sigmoid", "softplus", rng=rng)
    up.init_decoder_bias(np.full(30, 0.7))
    np.testing.assert_allclose(up.decode(np.zeros((2, 5))), 0.7, rtol=1e-5)


def test_parameters_round_trip_in_place():
    rng = np.random.default_rng(2)
    a, b = LayerPair(6, 4, rng=rng), LayerPair(6, 4, rng=rng)
    w_ref = a.W
    a.set_parameters(b.parameters())
    assert a.W is w_ref  # updated in place: optimisers keep their references
    for k in LayerPair.PARAMS:
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    with pytest.raises(ValueError, match="shape"):
        a.set_parameters({**b.parameters(), "W": np.zeros((4, 6))})


def test_adam_first_step_is_learning_rate_times_sign():
    p = {"w": np.array([1.0, -2.0, 3.0], dtype=np.float32)}
    opt = Adam(p, lr={"w": 0.01})
    opt.step({"w": np.array([0.5, -3.0, 1e-3], dtype=np.float32)})
    np.testing.assert_allclose(p["w"], [0.99, -1.99, 2.99], rtol=0, atol=1e-5)


def test_descending_local_loss_reduces_it():
    # the target is produced by a decoder of the same form, so the loss can reach ~0
    rng = np.random.default_rng(3)
    pair = LayerPair(20, 8, "softplus", "sigmoid", rng=rng)
    teacher = LayerPair(20, 8, "softplus", "sigmoid", rng=rng)
    teacher.V[...] = rng.normal(size=teacher.V.shape).astype(np.float32)
    h = rng.random((50, 8), dtype=np.float32)
    x = teacher.decode(h)
    before = pair.decoder_loss(h, x)
    for _ in range(300):
        g, _ = pair.decoder_gradients(h, x)
        pair.V -= 2.0 * g["V"]
        pair.c -= 2.0 * g["c"]
    assert pair.decoder_loss(h, x) < 0.2 * before


def test_gaussian_corruption_statistics():
    rng = np.random.default_rng(4)
    h = np.zeros((200, 500), dtype=np.float32)
    noisy = gaussian_corruption(h, 0.3, rng)
    assert noisy.dtype == np.float32
    # 1e5 draws: the sample std has a relative s.e. of 1/sqrt(2n) ~ 0.0022
    assert abs(noisy.std() - 0.3) < 4 * 0.3 * 0.0022
    assert gaussian_corruption(h, 0.0, rng) is h
    with pytest.raises(ValueError):
        gaussian_corruption(h, -1.0, rng)


def test_bernoulli_mean_corruption_values_and_mean():
    rng = np.random.default_rng(5)
    p = np.full((400, 250), 0.3, dtype=np.float32)
    c = bernoulli_mean_corruption(p, 3, rng)
    assert c.dtype == np.float32
    assert set(np.unique(np.round(c * 3)).tolist()) <= {0.0, 1.0, 2.0, 3.0}
    # mean of 1e5 values, each with variance p(1-p)/3: s.e. ~ 0.00084
    se = np.sqrt(0.3 * 0.7 / 3 / p.size)
    assert abs(c.mean() - 0.3) < 4 * se
    # p = 0 and 1 are deterministic
    np.testing.assert_array_equal(bernoulli_mean_corruption(np.array([0.0, 1.0]), 3, rng), [0.0, 1.0])
