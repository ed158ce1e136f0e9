"""Layer pair: definition validation, rate rule = gradient, backprop exactness, learning."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from finite_diff import numeric_grad
from spiking_bpdl.errors import ConfigError
from spiking_bpdl.rate.lif_layer_pair import (
    LayerPairConfig,
    backprop_gradients,
    forward,
    free_phase,
    load_layer_pair,
    rate_rule_updates,
    target_phase,
    transfer,
    transfer_derivative,
)

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "networks" / "layer_pair_small.toml"


def _tiny(**kw):
    base = dict(name="tiny", n_in=12, n_hidden=5, nudge=1e-4, feedback_gain=0.0, A_plus_W=1e-3, A_plus_V=1e-3)
    base.update(kw)
    return LayerPairConfig(**base)


def _problem(cfg, seed=0, batch=3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (batch, cfg.n_in))
    W = rng.normal(0, 0.08, (cfg.n_in, cfg.n_hidden))
    V = rng.normal(0, 0.08, (cfg.n_hidden, cfg.n_in))
    return x, W, V


def _J(x_in, x, W, V, cfg):
    return 0.5 * np.sum((forward(x_in, W, V, cfg) - x) ** 2)




def test_small_definition_loads():
    cfg = load_layer_pair(SMALL)
    assert (cfg.n_in, cfg.n_hidden) == (196, 64)
    assert cfg.eta_V == pytest.approx(cfg.A_plus_V * cfg.tau_plus * (cfg.tau_plus + cfg.tau_minus))
    rule = cfg.stdp_rule("V")
    assert rule.is_balanced and rule.integral_sK() == pytest.approx(cfg.eta_V)


def test_transfer_is_the_lif_rate_and_its_slope():
    cfg = _tiny()
    u = np.linspace(0.3, 4.0, 50) + 0.0037  # off the table knots
    r = transfer(u, cfg)
    assert np.all(np.diff(r) > 0) and r[0] < 5 and 100 < r[-1] < 200
    h = 1e-7
    np.testing.assert_allclose(transfer_derivative(u, cfg), (transfer(u + h, cfg) - transfer(u - h, cfg)) / (2 * h),
                               rtol=1e-5, atol=1e-6)


def test_rate_rule_on_V_equals_the_gradient():
    """For a small nudge, dV / (eta_V beta r_max / tau_m) = -dJ/dV (finite differences)."""
    cfg = _tiny()
    x, W, V = _problem(cfg)
    dW, dV, _ = rate_rule_updates(x, x, W, V, cfg)
    grad = numeric_grad(lambda: _J(x, x, W, V, cfg), V)
    scaled = -dV / (cfg.eta_V * cfg.nudge * cfg.max_rate / cfg.tau_m)
    # the nudge is finite: relative error O(beta * phi'/r_max) ~ 1e-4
    np.testing.assert_allclose(scaled, grad, rtol=0, atol=2e-3 * np.abs(grad).max())
    assert np.abs(dW).max() == 0.0  # gamma = 0: no hidden target, no encoder change


def test_rate_rule_on_W_is_target_propagation_through_f():
    """With feedback gain gamma, dW = eta_W rho_in (x) phi'(u_h) gamma tau_m (W . d rho_r) to first order."""
    cfg = _tiny(feedback_gain=0.1, nudge=1e-3)
    x, W, V = _problem(cfg, seed=1)
    dW, dV, info = rate_rule_updates(x, x, W, V, cfg)
    rho_in = cfg.max_rate * x
    u_h = cfg.bias_hidden + cfg.tau_m * (((1 - cfg.feedback_gain) * rho_in + cfg.feedback_gain * info["rho_r"]) @ W)
    d_r = info["rho_r_t"] - info["rho_r"]
    d_h = transfer_derivative(u_h, cfg) * cfg.feedback_gain * cfg.tau_m * (d_r @ W)
    expected = cfg.eta_W * rho_in.T @ d_h
    np.testing.assert_allclose(dW, expected, rtol=0, atol=0.02 * np.abs(expected).max())
    # and the hidden change agrees with the fixed-point solution
    np.testing.assert_allclose(info["rho_h_t"] - info["rho_h"], d_h, atol=0.02 * np.abs(d_h).max())


def test_backprop_is_the_exact_gradient():
    cfg = _tiny()
    x, W, V = _problem(cfg, seed=2)
    x_in = np.clip(x + 0.1, 0, 1)
    gW, gV, loss = backprop_gradients(x_in, x, W, V, cfg)
    assert loss == pytest.approx(_J(x_in, x, W, V, cfg))
    np.testing.assert_allclose(gV, numeric_grad(lambda: _J(x_in, x, W, V, cfg), V), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(gW, numeric_grad(lambda: _J(x_in, x, W, V, cfg), W), rtol=1e-4, atol=1e-9)


def test_nudge_moves_reconstruction_toward_the_target():
    cfg = _tiny(nudge=2.0, feedback_gain=0.2)
    x, W, V = _problem(cfg, seed=3)
    rho_h, rho_r = free_phase(x, W, V, cfg)
    _, rho_r_t = target_phase(x, x, rho_h, W, V, cfg)
    before = np.abs(rho_r / cfg.max_rate - x)
    after = np.abs(rho_r_t / cfg.max_rate - x)
    assert np.all(after <= before + 1e-9) and after.mean() < 0.9 * before.mean()


@pytest.mark.parametrize("backend", ["rate", "backprop"])
def test_loss_decreases_rate_backends(backend):
    from spiking_bpdl.spiking.engine import train_layer_pair

    cfg = dataclasses.replace(load_layer_pair(SMALL), source="embedded", test_samples=200)
    res = train_layer_pair(cfg, backend, samples=1000, progress=False)
    mse = [c["val_mse"] for c in res["curve"]]
    # the decoder starts at the mean image, so the curve starts at the baseline and must fall
    assert all(b < a for a, b in zip(mse, mse[1:])), mse
    assert mse[-1] < 0.9 * res["baseline_mean_image_val_mse"]
    assert res["test_mse"] < 0.9 * res["baseline_mean_image_mse"]


def _write(tmp_path, text_changes):
    text = SMALL.read_text()
    for old, new in text_changes:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "net.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("changes, message", [
    ([("size = 64", "size = 64"), ("[populations.recon]\nkind = \"lif\"\nsize = 196",
                                   "[populations.recon]\nkind = \"lif\"\nsize = 100")], "sizes must match"),
    ([("rule = \"pair\"                # all", "rule = \"hebbian\"             # all")], "unknown rule"),
    ([("tau_plus = \"20 ms\"\ntau_minus = \"20 ms\"\n\n[plasticity.stdp_V]",
       "tau_plus = \"-20 ms\"\ntau_minus = \"20 ms\"\n\n[plasticity.stdp_V]")], "positive"),
    ([("downsample = 2 ", "downsample = 4 ")], "does not match"),
    ([("rule = \"pair\"\nA_plus = 1.5e-3", "rule = \"pair_nearest\"\nA_plus = 1.5e-3")], "must be 'pair'"),
    ([("[layer_pair]\n", "[layer_pair]\ncycles = 0\n")], "cycles must be positive"),
    ([("[layer_pair]\n", "[layer_pair]\nrate_eta = \"fast\"\n")], "rate_eta must be 'window' or 'gated'"),
    ([("[layer_pair]\n", "[layer_pair]\nweight_updates = \"batch\"\n")], "weight_updates must be 'online' or 'per_sample'"),
    ([("[layer_pair]\n", "[layer_pair]\ntrace_reset = \"block\"\n")], "trace_reset must be 'none' or 'sample'"),
    ([("[layer_pair]\n", "[layer_pair]\ncycles = 2\nrate_eta = \"gated\"\n")], "derived for one switch per sample"),
    ([("[training]\n", "[training]\nlr_decay_samples = -5\n")], "lr_decay_samples must be >= 0"),
    ([("[layer_pair]\n", "[layer_pair]\nnudgee = 3\n")], "layer_pair.nudgee: unknown key"),
    ([("[training]\n", "[training]\ntest_sample = 5\n")], "training.test_sample: unknown key"),
    ([("t_ref = \"2 ms\"\nsigma = \"4 mV\"\nbias = \"mean\"",
       "t_ref = \"2 ms\"\ntau_syn = \"5 ms\"\nsigma = \"4 mV\"\nbias = \"mean\"")], "must share neuron parameters"),
    ([("t_ref = \"2 ms\"\nsigma", "t_ref = \"2 ms\"\ntau_syn = \"-5 ms\"\nsigma")], "tau_syn must be positive"),
    ([("rule = \"pair\"\nA_plus = 1.5e-3", "rule = \"pair\"\nA_plus = 1.5e-3\nA_minus = -1e-3")], "A_minus must be >= 0"),
    ([("validation_samples = 333", "validation_samples = 0")], "validation_samples must be positive"),
    ([("validation_samples = 333", "validation_samples = 0.2")], "validation_samples: expected an integer"),
])
def test_bad_definitions_raise_one_line_config_errors(tmp_path, changes, message):
    with pytest.raises(ConfigError, match=message) as exc:
        load_layer_pair(_write(tmp_path, changes))
    assert "\n" not in str(exc.value)


def test_validation_digits_are_the_end_of_the_training_split_and_never_trained_on(monkeypatch):
    """The validation set is the last ``validation_samples`` training digits, the training stream draws
    only from the digits before them, every curve point is the validation MSE, and the test digits are
    scored once, at the end (not at all with ``score_test=False``)."""
    from spiking_bpdl.data import load_dataset
    from spiking_bpdl.rate import lif_layer_pair as lp
    from spiking_bpdl.spiking import engine

    cfg = dataclasses.replace(load_layer_pair(SMALL), source="embedded", test_samples=100, eval_every=100)
    x_train, x_val, x_test = lp.load_splits(cfg)
    full = load_dataset("mnist", "train", source="embedded").images
    n = full.shape[0]
    assert (x_train.shape[0], x_val.shape[0], x_test.shape[0]) == (1667, 333, 100) and n == 2000
    np.testing.assert_array_equal(x_val, lp._pooled(full[n - 333:], cfg))
    np.testing.assert_array_equal(x_train, lp._pooled(full[:1667], cfg))
    scored = []
    forward = lp.forward

    def spy(x, W, V, c):
        scored.append(x.shape[0])
        return forward(x, W, V, c)

    monkeypatch.setattr(lp, "forward", spy)
    drawn = []
    stream = engine.stream_indices
    monkeypatch.setattr(engine, "stream_indices", lambda *a: drawn.append(stream(*a)) or drawn[-1])
    res = engine.train_layer_pair(cfg, "rate", samples=300, seed=1, progress=False)
    assert max(np.concatenate(drawn)) < 1667  # training samples come from the training digits only
    assert scored == [333, 333, 333, 333, 100]  # the curve (start + 3 blocks) on validation, the test set once
    assert [c["samples"] for c in res["curve"]] == [0, 100, 200, 300]
    W, V = res["weights"]["W"], res["weights"]["V"]
    assert res["val_mse"] == res["curve"][-1]["val_mse"] == pytest.approx(
        np.mean((forward(x_val, W, V, res["config"]) - x_val) ** 2), rel=1e-12)
    assert res["test_mse"] == pytest.approx(np.mean((forward(x_test, W, V, res["config"]) - x_test) ** 2), rel=1e-12)
    scored.clear()
    blind = engine.train_layer_pair(cfg, "rate", samples=300, seed=1, progress=False, score_test=False)
    assert scored == [333] * 4 and blind["test_mse"] is None and blind["baseline_mean_image_mse"] is None
    assert blind["curve"] == res["curve"]


def test_validation_larger_than_the_training_split_is_a_config_error():
    from spiking_bpdl.spiking.engine import train_layer_pair

    cfg = dataclasses.replace(load_layer_pair(SMALL), source="embedded", validation_samples=2000)
    with pytest.raises(ConfigError, match="validation_samples = 2000 leaves no training digits") as exc:
        train_layer_pair(cfg, "rate", samples=100, progress=False)
    assert "\n" not in str(exc.value)


def test_synaptic_time_constant_is_read_from_the_populations(tmp_path):
    assert load_layer_pair(SMALL).tau_syn == 0.0  # delta synapses unless asked for
    cfg = load_layer_pair(_write(tmp_path, [('t_ref = "2 ms"\nsigma', 't_ref = "2 ms"\ntau_syn = "5 ms"\nsigma')]))
    assert cfg.tau_syn == pytest.approx(5e-3) and cfg.lif_params().tau_syn == pytest.approx(5e-3)


def test_unbalanced_window_and_schedule_keys_are_read(tmp_path):
    cfg = load_layer_pair(_write(tmp_path, [
        ("rule = \"pair\"\nA_plus = 1.5e-3", "rule = \"pair\"\nA_plus = 1.5e-3\nA_minus = 5e-4"),
        ("[training]\n", "[training]\nlr_decay_samples = 400\n"),
        ("[layer_pair]\n", "[layer_pair]\ncycles = 1\nrate_eta = \"gated\"\nweight_updates = \"per_sample\"\n")]))
    assert cfg.A_minus("V") == pytest.approx(5e-4)
    rule = cfg.stdp_rule("V")  # the unbalanced window itself, and eta_V is its int s K
    assert not rule.is_balanced and rule.A_minus == pytest.approx(5e-4)
    assert rule.integral_sK() == pytest.approx(dataclasses.replace(cfg, rate_eta="window").eta_V)
    L, tp, tm = cfg.plasticity_window, cfg.tau_plus, cfg.tau_minus  # "gated": what the gates realize
    assert cfg.eta_V == pytest.approx(L * (1.5e-3 * tp - 5e-4 * tm) + 5e-4 * tm**2 * (1 - np.exp(-L / tm)))
    assert cfg.A_minus("W") == pytest.approx(cfg.A_plus_W * cfg.tau_plus / cfg.tau_minus)  # derived: balanced
    assert cfg.cycles == 1 and cfg.rate_eta == "gated" and cfg.weight_updates == "per_sample"
    assert [cfg.lr_scale(s) for s in (0, 400, 1200)] == pytest.approx([1.0, 0.5, 0.25])
    assert load_layer_pair(SMALL).lr_scale(10**6) == 1.0  # no decay unless asked for


@pytest.mark.parametrize("trace_reset", ["none", "sample"])
@pytest.mark.parametrize("A_minus", [None, 5e-4])
def test_gated_eta_is_the_expected_gated_pairing_of_a_rate_step(trace_reset, A_minus):
    """``rate_eta = "gated"`` is the expected gated pair sum, per unit pre rate and post-rate step,
    when the post rate steps at the switch (integrated numerically here, 0.1 ms grid): the sample's
    free rate extends back without end, or, with ``trace_reset = "sample"``, pairs start at the sample."""
    cfg = _tiny(A_plus_V=1.5e-3, A_minus_V=A_minus, tau_plus=60e-3, tau_minus=40e-3, free_phase=140e-3,
                target_phase=80e-3, plasticity_onset=60e-3, rate_eta="gated", trace_reset=trace_reset)
    h, L, T = 1e-4, cfg.plasticity_window, cfg.free_phase
    start = 0.0 if trace_reset == "sample" else -2.0  # -2 s: 33 tau, the exponentials are gone
    t = np.arange(start, cfg.presentation, h) + h / 2
    post = (t >= T).astype(float)  # post rate 0 -> 1 at the switch, pre rate 1
    gate = np.where((t >= T - L) & (t < T), -1.0, 0.0) + np.where((t >= T) & (t < T + L), 1.0, 0.0)
    Ap, Am = cfg.A_plus_V, cfg.A_minus("V")
    total = 0.0
    for k in np.flatnonzero(gate):
        lag = t[k] - t[:k]  # earlier partners of a later spike at t[k]
        total += gate[k] * (post[k] * Ap * np.exp(-lag / cfg.tau_plus).sum()  # post later, pre earlier
                            - Am * (post[:k] * np.exp(-lag / cfg.tau_minus)).sum()) * h * h  # pre later
    assert cfg.eta_V == pytest.approx(total, rel=2e-3)
    if A_minus is None:  # balanced: the gates realize less than the window's int s K
        assert 0 < cfg.eta_V < dataclasses.replace(cfg, rate_eta="window").eta_V / 2


@pytest.mark.parametrize("cycles", [1, 3])
def test_phase_gates_are_balanced_and_follow_the_cycles(cycles):
    """The gates the pair's Brian2 network (a stack) runs with: its contrastive windows for W, and V's
    ``v_window``: the same, or only the target phases' ``+1`` windows."""
    from spiking_bpdl.spiking.layer_pair import SpikingLayerPair

    cfg = _tiny(n_in=16, downsample=7, bias_recon=0.5, dt=1e-3, free_phase=30e-3, target_phase=10e-3,
                plasticity_onset=10e-3, cycles=cycles)
    assert cfg.presentation == pytest.approx(30e-3 + 10e-3 + (cycles - 1) * 20e-3)
    phases = cfg.phases()
    assert [p[2] for p in phases] == [False, True] * cycles
    assert phases[-1][1] == pytest.approx(cfg.presentation)
    for v_window in ("contrastive", "target"):
        sim = SpikingLayerPair(dataclasses.replace(cfg, v_window=v_window), block=2)
        assert sim.stack.presentation == pytest.approx(cfg.presentation)
        gates = sim.stack._tiled(learn=True, lr_scale=0.5)
        on, gate_W = gates["target_on"], gates["plastic"]
        gate_V = gates.get("plastic_top", gate_W)
        per = len(on) // 2
        slot = cfg.presentation / per
        t = np.arange(per) * slot
        # +0.5 for the first L of every target phase, -0.5 for the last L of every free phase
        assert np.sum(gate_W[:per] > 0) == np.sum(gate_W[:per] < 0) == cycles * round(cfg.plasticity_window / slot)
        assert set(np.unique(gate_W)) == {-0.5, 0.0, 0.5}
        np.testing.assert_array_equal(on[:per] > 0, gate_W[:per] > 0)
        assert np.all(gate_W[:per][t < cfg.plasticity_onset] == 0)
        if v_window == "contrastive":
            np.testing.assert_array_equal(gate_V, gate_W)
        else:
            np.testing.assert_array_equal(gate_V, np.maximum(gate_W, 0))
        off = sim.stack._tiled(learn=False, lr_scale=1.0)
        assert not any(np.any(off[k]) for k in ("target_on", "plastic", "plastic_top") if k in off)


def test_learning_rate_schedule_scales_every_rate_step():
    from spiking_bpdl.rate.lif_layer_pair import RateTrainer

    cfg = _tiny(feedback_gain=0.2, nudge=0.5, minibatch=4)
    rng = np.random.default_rng(0)
    x = rng.random((4, cfg.n_in))
    W, V = rng.normal(0, 0.05, (cfg.n_in, cfg.n_hidden)), rng.normal(0, 0.05, (cfg.n_hidden, cfg.n_in))
    for backend in ("rate", "backprop"):
        trainer = RateTrainer(dataclasses.replace(cfg, backprop_lr_W=1e-3, backprop_lr_V=1e-2), backend)
        W1, V1, _ = trainer.train_block(x, x, W, V)
        Wq, Vq, _ = trainer.train_block(x, x, W, V, lr_scale=0.25)
        np.testing.assert_allclose(Wq - W, 0.25 * (W1 - W), rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(Vq - V, 0.25 * (V1 - V), rtol=1e-9, atol=1e-15)
