"""Layer stacks: definitions, the rate twin's target propagation, exact backprop."""

import copy
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from finite_diff import numeric_grad

from spiking_bpdl import metrics
from spiking_bpdl._io import to_jsonable
from spiking_bpdl.errors import ConfigError
from spiking_bpdl.rate import lif_layer_pair as lp
from spiking_bpdl.stack import (
    backprop,
    check_projection_names,
    fixed_feedback,
    freeze,
    load_stack,
    stack_from_data,
    stack_from_layer_pair,
    twin,
    with_added_defaults,
)
from spiking_bpdl.stack.train import alignment, load_splits, train

REPO = Path(__file__).resolve().parents[1]
CLASSIFIER = REPO / "networks" / "classifier_mnist_rate.toml"  # the rate twin's screen definition
SPIKING_CLASSIFIER = REPO / "networks" / "classifier_mnist.toml"
DEEP = REPO / "networks" / "classifier_mnist_deep_rate.toml"
SPIKING_DEEP = REPO / "networks" / "classifier_mnist_deep.toml"


def small_doc(hidden=(12,), source="embedded"):
    """A classifier on 7x7 digits (downsample 4): 49 -> hidden... -> 10, with feedback into every hidden layer."""
    names = ["input", *[f"h{i + 1}" for i in range(len(hidden))], "out"]
    sizes = [49, *hidden, 10]
    lif = {"kind": "lif", "tau_m": "20 ms", "v_threshold": "20 mV", "v_reset": "0 mV", "t_ref": "2 ms",
           "sigma": "2 mV", "tau_syn": "5 ms"}
    pops = {"input": {"kind": "poisson", "size": 49, "max_rate": "200 Hz", "encoder": "regular"}}
    for name, size in zip(names[1:], sizes[1:]):
        pops[name] = {**lif, "size": size, "bias": 1.0 if name == "out" else 0.3}
    projs, plast = {}, {}
    for i in range(1, len(names)):
        projs[f"W{i}"] = {"pre": names[i - 1], "post": names[i], "weight": {"init": "normal", "std": 0.1},
                          "plasticity": f"r{i}"}
        plast[f"r{i}"] = {"rule": "rate", "eta": 1e-6}
        if i < len(names) - 1:
            projs[f"G{i + 1}"] = {"pre": names[i + 1], "post": names[i], "weight": {"init": "normal", "std": 0.1},
                                  "plasticity": f"g{i + 1}", "bias": 1.0}
            plast[f"g{i + 1}"] = {"rule": "rate", "eta": 1e-6}
    return {"network": {"name": "small_stack"}, "populations": pops, "projections": projs, "plasticity": plast,
            "stack": {"layers": names, "target": "label", "target_rate": "100 Hz", "nudge": 1.0,
                      "feedback_noise": "5 Hz", "dt": "0.5 ms", "free_phase": "100 ms", "target_phase": "50 ms",
                      "plasticity_onset": "50 ms"},
            "data": {"dataset": "mnist", "source": source, "downsample": 4},
            "training": {"samples": 1000, "passes": 1, "minibatch": 20, "eval_every": 500, "train_pool": 1667,
                         "validation_samples": 333, "test_samples": 100, "backprop_lr": 1e-3}}


def small(hidden=(12,), **changes):
    return stack_from_data(small_doc(hidden), "small.toml") if not changes else dataclasses.replace(
        stack_from_data(small_doc(hidden), "small.toml"), **changes)


# ---------------------------------------------------------------------- definitions
def test_shipped_classifiers_load():
    one, deep, spiking = load_stack(CLASSIFIER), load_stack(DEEP), load_stack(SPIKING_CLASSIFIER)
    spiking_deep = load_stack(SPIKING_DEEP)
    assert [layer.size for layer in one.layers] == [784, 1000, 10]
    assert [layer.size for layer in spiking_deep.layers] == [784, 500, 500, 100] and spiking_deep.depth == 3
    # the deep spiking classifier: pair STDP on every forward projection, fixed feedback into both hidden layers
    # (reciprocal feedback through two layers diverged in spikes: docs/stacks.md, the deep classifier)
    assert all(p.rule == "pair" for p in spiking_deep.projections if p.role == "forward")
    assert sorted(p.name for p in spiking_deep.projections if p.role == "feedback") == ["G2", "G3"]
    assert all(p.plasticity is None for p in spiking_deep.projections if p.role == "feedback")
    # both spiking classifiers carry the rate regulator and per-input centring (chosen on validation for each)
    for cfg in (spiking, spiking_deep):
        regulation = (cfg.homeostasis, cfg.homeostasis_rate, cfg.centring_mean, cfg.centring_scale)
        assert regulation == (1e-5, 10.0, "neuron", 0.35)
    assert [layer.size for layer in spiking.layers] == [784, 1000, 100]  # 10 classes x 10 output neurons
    assert one.depth == spiking.depth == 1 + 1 and deep.depth == 3
    assert one.target == deep.target == spiking.target == "label"
    for cfg in (one, deep, spiking, spiking_deep):
        assert max(layer.size for layer in cfg.layers[1:-1]) <= 1000
        assert cfg.train_pool == 50000 and cfg.validation_samples == 10000 and cfg.passes <= 3
    assert [p.role for p in one.projections] == [p.role for p in spiking.projections] == ["forward", "forward",
                                                                                          "feedback"]
    # the spiking classifier learns by pair STDP on every forward projection; the twin's screen by rate rules
    assert all(p.rule == "pair" for p in spiking.projections if p.role == "forward")
    assert all(p.rule == "rate" for p in one.projections if p.role == "forward")
    # its feedback G2 learns by W2's rule, mirrored (reciprocal), in the twin and in Brian2
    assert spiking.feedback == spiking.spiking_feedback == "reciprocal"
    assert spiking.projection("G2").plasticity == spiking.projection("W2").plasticity


def test_an_unset_key_takes_the_config_fields_default():
    # stack_from_data passes only the keys a file sets: every default is the StackConfig field's
    doc = small_doc()
    doc["stack"] = {"layers": doc["stack"]["layers"]}
    doc["data"] = {"downsample": 4}  # 7x7 digits for the 49 inputs
    doc["training"].pop("backprop_lr"), doc["training"].pop("eval_every")
    cfg = stack_from_data(doc, "bare.toml")
    defaults = {f.name: f.default for f in dataclasses.fields(cfg) if f.default is not dataclasses.MISSING}
    for name in ("target", "nudge", "target_rate", "feedback", "feedback_noise", "hidden_target", "centering",
                 "feedback_gain", "feedback_phases", "dt", "free_phase", "target_phase", "plasticity_onset",
                 "cycles", "dataset", "source", "eval_every", "backprop_lr", "spiking_feedback",
                 "tau_filter", "block", "trace_reset"):
        assert getattr(cfg, name) == defaults[name], name
    assert all(layer.dt == defaults["dt"] for layer in cfg.layers)
    # an auto-encoder's top codes 1 at the input's white-pixel rate unless target_rate is set
    doc["stack"]["target"] = "input"
    doc["populations"]["out"]["size"] = 49
    assert stack_from_data(doc, "bare.toml").target_rate == 200.0


@pytest.mark.parametrize("override, key", [
    ("stack.bogus=1", "stack.bogus"),
    ("training.epochs=3", "training.epochs"),
    ("populations.hidden.tau_mem=1", "populations.hidden.tau_mem"),
    ("stack.nudge=nan", "stack.nudge"),
    ("stack.target_rate=inf", "stack.target_rate"),
    ("populations.hidden.bias=inf", "populations.hidden.bias"),
    ("stack.free_phase=140 mV", "stack.free_phase"),
    ("stack.target_rate=100", "stack.target_rate"),
    ("populations.hidden.tau_m=20 mV", "populations.hidden.tau_m"),
    ('projections.W2.pre="nowhere"', "projections.W2.pre"),
    ('stack.target="reward"', "stack.target"),
    ('stack.feedback="learned"', "stack.feedback"),
    ('stack.hidden_target="voltage"', "stack.hidden_target"),
    ("stack.feedback_decay=-1", "stack.feedback_decay"),
    ('stack.centering="both"', "stack.centering"),
    ("training.passes=4", "training.passes"),
    ("training.samples=60000", "training.samples"),
    ("stack.plasticity_onset=200 ms", "stack.plasticity_onset"),
    ("plasticity.rule_W1.eta=-1", "plasticity.rule_W1"),
    ("plasticity.rule_W1.eta=0", "plasticity.rule_W1"),
    ('projections.W2.weight.init="orthogonal"', "projections.W2.weight.init"),
    ("training.backprop_lr.G2=0.1", "training.backprop_lr"),
    ("populations.output.size=15", "populations.output.size"),
    ("stack.homeostasis=-1e-6", "stack.homeostasis"),
    ("stack.homeostasis=nan", "stack.homeostasis"),
    ("stack.homeostasis_rate=0 Hz", "stack.homeostasis_rate"),
    ("stack.homeostasis_rate=10", "stack.homeostasis_rate"),
])
def test_every_bad_value_is_one_line_naming_file_and_key(override, key):
    with pytest.raises(ConfigError) as err:
        load_stack(CLASSIFIER, [override])
    msg = str(err.value)
    assert "\n" not in msg
    assert str(CLASSIFIER) in msg
    assert key in msg


def test_structural_errors():
    doc = small_doc()
    doc["projections"]["W1"]["post"] = "out"  # input -> out skips a layer
    with pytest.raises(ConfigError, match=r"projections.W1.*neither forward"):
        stack_from_data(doc, "s.toml")
    doc = small_doc()
    del doc["projections"]["G2"]
    with pytest.raises(ConfigError, match=r"projections.W1: hidden layer h1 learns but has no feedback"):
        stack_from_data(doc, "s.toml")
    doc["projections"]["W1"].pop("plasticity")  # frozen hidden layer: no feedback needed
    assert not stack_from_data(doc, "s.toml").forward(1).plastic
    doc = small_doc()
    doc["stack"]["layers"] = ["input", "h1", "ghost", "out"]
    with pytest.raises(ConfigError, match=r"stack.layers: unknown population 'ghost'"):
        stack_from_data(doc, "s.toml")


def test_replace_cannot_bypass_validation():
    cfg = small()
    for change in ({"nudge": -1.0}, {"nudge": math.nan}, {"target": "reward"}, {"passes": 5}, {"cycles": 0},
                   {"layers": cfg.layers[:1]},
                   {"projections": cfg.projections[1:]}):
        with pytest.raises(ConfigError):
            dataclasses.replace(cfg, **change)
    layer = dataclasses.replace(cfg.layers[1], tau_m=-0.02)
    with pytest.raises(ConfigError, match=r"populations.h1.tau_m"):
        dataclasses.replace(cfg, layers=(cfg.layers[0], layer, cfg.layers[2]))


def test_projection_names_for_freeze():
    cfg = load_stack(CLASSIFIER)
    assert check_projection_names(cfg, ["W1", "G2"]) == ["W1", "G2"]
    with pytest.raises(ConfigError) as err:
        check_projection_names(cfg, ["W1", "W9"])
    assert str(err.value).endswith("unknown projection 'W9' (projections: W1, W2, G2)")
    frozen = freeze(cfg, ["W1"])
    assert not frozen.projection("W1").plastic and frozen.projection("W2").plastic


# ---------------------------------------------------------------------- the layer pair as a stack
def test_layer_pair_is_a_stack_with_the_same_forward_pass():
    pair = lp.load_layer_pair("networks/layer_pair_mnist.toml")
    stack = stack_from_layer_pair("networks/layer_pair_mnist.toml")
    assert [layer.size for layer in stack.layers] == [784, 256, 784] and stack.target == "input"
    rng = np.random.default_rng(3)
    images = rng.random((50, 784)) ** 3  # sparse-ish bright pixels, like digits
    pair = lp.with_mean_bias(pair, images)
    recon = dataclasses.replace(stack.layers[2], bias=pair.bias_recon)
    stack = dataclasses.replace(stack, layers=(*stack.layers[:2], recon))
    W, V = lp.init_weights(dataclasses.replace(pair, v_init_std=0.01), rng)
    x = images[:20]
    expected = lp.forward(x, W, V, pair)
    got = twin.forward(stack, {"W": W, "V": V}, x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert stack.projection("V").eta == pytest.approx(pair.eta_V, rel=1e-12)


# ---------------------------------------------------------------------- backprop and the local rule
@pytest.mark.parametrize("hidden", [(8,), (7, 6)])
def test_backprop_matches_finite_differences(hidden):
    cfg = small(hidden)
    rng = np.random.default_rng(0)
    weights = twin.init_weights(cfg, rng)
    x = rng.random((5, 49))
    y = twin.targets_of(cfg, x, rng.integers(0, 10, 5))
    grads, J, _ = backprop.gradients(cfg, weights, x, y)
    assert J == pytest.approx(backprop.loss(cfg, weights, x, y), rel=1e-14)
    for name, g in grads.items():
        num = numeric_grad(lambda: backprop.loss(cfg, weights, x, y), weights[name], eps=1e-7)
        # phi is piecewise linear (a table, 0.01 threshold units per segment): the central difference is
        # exact inside a segment, so the only error is rounding, ~1e-16 * J / eps per entry.
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-7 * J)


def test_output_delta_rule_is_scaled_gradient_for_small_nudge():
    rng = np.random.default_rng(1)
    cfg0 = small()
    weights = twin.init_weights(cfg0, rng)
    x = rng.random((30, 49))
    y = twin.targets_of(cfg0, x, rng.integers(0, 10, 30))
    rel = []
    for beta in (1e-3, 1e-4):
        cfg = dataclasses.replace(cfg0, nudge=beta)
        upd, info = twin.target_prop_updates(cfg, weights, x, y, np.random.default_rng(2))
        grads, _, _ = backprop.gradients(cfg, weights, x, y)
        top, eta, tau, R = cfg.layers[-1], cfg.forward(2).eta, cfg.layers[-1].tau_m, cfg.target_rate
        expected = -eta * beta * R / tau * grads["W2"]
        # phi is piecewise linear. The nudged drive a + beta e' lies between a and a + beta e (e = y - r/R is
        # the free error, e' = e - dr/R the target-phase one), an interval shorter than a segment (0.01),
        # so dr = s_bar beta e' with s_bar between the slopes s0 = phi'(a) and s1 = phi'(a + beta e). Hence
        # |dr - s0 beta e| <= |s1 - s0| beta |e| + s_max beta |dr| / R  per unit, and the update's entries
        # deviate from the scaled gradient by at most eta rho_pre^T (that bound).
        a = info["drives"][-1]
        e = y - info["rates"][-1] / R
        s0, s1 = lp.transfer_derivative(a, top), lp.transfer_derivative(a + beta * e, top)
        dr = info["targets"][-1] - info["rates"][-1]
        # Newton stops after a fixed number of steps: its residual r' - phi(a + beta e') adds to dr; and
        # dr = r' - r and s0 beta e are exact only to a few ulp of the rates and of themselves.
        residual = info["targets"][-1] - lp.transfer(a + beta * (y - info["targets"][-1] / R), top)
        ulp = 8 * np.finfo(float).eps * (info["targets"][-1] + info["rates"][-1] + np.abs(s0 * beta * e))
        unit = (np.abs(s1 - s0) * beta * np.abs(e) + np.maximum(s0, s1) * beta * np.abs(dr) / R
                + 2 * np.abs(residual) + ulp)
        bound = eta * (info["rates"][1].T @ unit)
        dev = np.abs(upd["W2"] - expected)
        assert np.all(dev <= bound)
        rel.append(np.linalg.norm(upd["W2"] - expected) / np.linalg.norm(expected))
    # and the rule is the scaled gradient up to a deviation that vanishes with beta
    assert rel[0] < 0.05 and rel[1] < rel[0]


def _small_trained(frozen=(), hidden_target="rate"):
    doc = small_doc((24,))
    doc["stack"]["hidden_target"] = hidden_target
    doc["projections"]["W1"]["weight"]["std"] = 0.1
    doc["populations"]["h1"]["bias"] = 0.5
    doc["plasticity"]["r1"]["eta"] = 1e-6
    doc["plasticity"]["r2"]["eta"] = 1e-5
    doc["plasticity"]["g2"]["eta"] = 1e-5
    doc["training"].update(samples=1667, passes=3, eval_every=1667)
    cfg = freeze(stack_from_data(doc, "small.toml"), frozen)
    data = load_splits(cfg)
    return cfg, data, train(cfg, "target_prop", data, seed=0, dtype=np.float64)


@pytest.fixture(scope="module")
def trained_small():
    """A 49-24-10 classifier on 7x7 embedded digits, trained by target propagation (3 passes of 1,667 digits)."""
    return _small_trained()


@pytest.mark.parametrize("hidden_target", ["rate", "current"])
def test_hidden_target_prop_update_follows_the_gradient(trained_small, hidden_target):
    cfg, data, res = trained_small if hidden_target == "rate" else _small_trained(hidden_target=hidden_target)
    rng = np.random.default_rng(5)
    cos, cos_shuffled = [], []
    y_all = twin.targets_of(cfg, data["x_val"], data["l_val"])
    for k in range(15):
        idx = rng.choice(len(y_all), 20, replace=False)
        al = alignment(cfg, res["weights"], data["x_val"][idx], y_all[idx], rng)["W1"]
        cos.append(al["cos"])
        cos_shuffled.append(al["cos_shuffled"])
    cos, cos_shuffled = np.array(cos), np.array(cos_shuffled)
    se = np.sqrt(cos.var(ddof=1) / cos.size + cos_shuffled.var(ddof=1) / cos_shuffled.size)
    # a random hidden update has cosine 0 with the gradient (and so has the shuffled control, on average):
    # demand a positive alignment and a gap to the control of 3 standard errors each
    assert cos.mean() > 3 * cos.std(ddof=1) / np.sqrt(cos.size)
    assert cos.mean() - cos_shuffled.mean() > 3 * se


def test_frozen_projections_do_not_change(trained_small):
    cfg, data, _ = trained_small
    frozen = freeze(cfg, ["W1", "G2"])
    w0 = twin.init_weights(frozen, np.random.default_rng(0))
    res = train(dataclasses.replace(frozen, samples=200), "target_prop", data, weights=w0, seed=0,
                dtype=np.float64)
    np.testing.assert_array_equal(res["weights"]["W1"], w0["W1"])
    np.testing.assert_array_equal(res["weights"]["G2"], w0["G2"])
    assert not np.array_equal(res["weights"]["W2"], w0["W2"])
    upd, _ = twin.target_prop_updates(frozen, w0, data["x_train"][:5],
                                      twin.targets_of(frozen, None, data["l_train"][:5]))
    assert set(upd) == {"W2"}
    # fixed random feedback: G2 keeps its weights; a rule named on it would be unused, so it is refused
    with pytest.raises(ConfigError, match="projections.G2.plasticity: names a rule, but no backend trains"):
        dataclasses.replace(cfg, feedback="random")
    upd, _ = twin.target_prop_updates(fixed_feedback(cfg), w0, data["x_train"][:5],
                                      twin.targets_of(cfg, None, data["l_train"][:5]), np.random.default_rng(0))
    assert set(upd) == {"W1", "W2"}
    res = train(dataclasses.replace(frozen, samples=200), "backprop", data, weights=w0, seed=0, dtype=np.float64)
    np.testing.assert_array_equal(res["weights"]["W1"], w0["W1"])


def test_training_learns_the_small_problem(trained_small):
    _, data, res = trained_small
    assert res["curve"][0]["val"] < 0.2  # chance level before learning (10 classes)
    # learning the hidden layer matters: the hidden-frozen ablation (output still learning) scores lower
    # by more than 3 standard errors of the difference of two accuracies on the same validation digits
    _, _, frozen = _small_trained(frozen=["W1", "G2"])
    n = len(data["l_val"])
    se = np.sqrt((res["val"] * (1 - res["val"]) + frozen["val"] * (1 - frozen["val"])) / n)
    assert res["val"] - frozen["val"] > 3 * se


def test_current_targets_with_transposed_feedback_are_the_scaled_gradient():
    """hidden_target = 'current' with G = f^T: every layer's update is -(eta beta R / tau_m) dJ/dW + O(beta^2)."""
    cfg0 = dataclasses.replace(small((8, 7)), hidden_target="current")
    rng = np.random.default_rng(4)
    weights = twin.init_weights(cfg0, rng)
    weights["G2"], weights["G3"] = weights["W2"].T.copy(), weights["W3"].T.copy()
    # feedback = 'transposed' reads f^T itself: the same targets as a copy of f^T in G
    transposed = fixed_feedback(cfg0, "transposed")
    x = rng.random((30, 49))
    y = twin.targets_of(cfg0, x, rng.integers(0, 10, 30))
    w_no_g = dict(weights, G2=np.zeros_like(weights["G2"]), G3=np.zeros_like(weights["G3"]))
    a, _ = twin.target_prop_updates(transposed, w_no_g, x, y)
    b, _ = twin.target_prop_updates(freeze(cfg0, ["G2", "G3"]), weights, x, y)
    for name in ("W1", "W2", "W3"):
        np.testing.assert_allclose(a[name], b[name], rtol=1e-12, atol=0)
    y = twin.targets_of(cfg0, x, rng.integers(0, 10, 30))
    grads, _, _ = backprop.gradients(cfg0, weights, x, y)
    rel = {}
    for beta in (1e-3, 1e-4):
        cfg = dataclasses.replace(freeze(cfg0, ["G2", "G3"]), nudge=beta)
        upd, _ = twin.target_prop_updates(cfg, weights, x, y)
        for name in ("W1", "W2", "W3"):
            p = cfg.projection(name)
            expected = -p.eta * beta * cfg.target_rate / cfg.layers[-1].tau_m * grads[name]
            rel[name, beta] = np.linalg.norm(upd[name] - expected) / np.linalg.norm(expected)
    s_max = lp.transfer_derivative(np.linspace(-3, 40, 20000), cfg0.layers[-1]).max()
    for name in ("W1", "W2", "W3"):
        # the deviation is of relative order beta s_max / R (the nudge's self-consistency, see the output
        # rule's test), compounded over at most three layers, plus the segments of phi that the pushes cross;
        # ten times less nudge must make it several times smaller
        assert rel[name, 1e-4] < 5 * 1e-4 * s_max / cfg0.target_rate
        assert rel[name, 1e-4] < rel[name, 1e-3] / 3


def test_feedback_gain_and_target_phase_feedback_in_the_twin():
    """feedback_gain scales the injected feedback current; with feedback_phases = 'target' the hidden layer's
    target is driven by the whole nudged rate above (no feedback in the free phase), as in the Brian2 network."""
    cfg = dataclasses.replace(fixed_feedback(small((12,))), hidden_target="current")
    rng = np.random.default_rng(5)
    weights = twin.init_weights(cfg, rng)
    x = rng.random((20, 49))
    y = twin.targets_of(cfg, x, rng.integers(0, 10, 20))
    drives, rates = twin.free_phase(cfg, weights, x)
    top = twin.nudged(cfg, drives[-1], y)
    tau_m, G = cfg.layers[1].tau_m, weights["G2"]
    for gamma in (1.0, 2.5):
        both = twin.hidden_targets(dataclasses.replace(cfg, feedback_gain=gamma), weights, drives, rates, top)[1]
        np.testing.assert_allclose(both, lp.transfer(drives[1] + gamma * tau_m * ((top - rates[2]) @ G), cfg.layers[1]),
                                   rtol=1e-12)
        only = dataclasses.replace(cfg, feedback_gain=gamma, feedback_phases="target")
        target = twin.hidden_targets(only, weights, drives, rates, top)[1]
        np.testing.assert_allclose(target, lp.transfer(drives[1] + gamma * tau_m * (top @ G), cfg.layers[1]),
                                   rtol=1e-12)
    # the free-phase rates carry no feedback in either scheme, and without feedback the target is the free rate
    off = dataclasses.replace(cfg, feedback_gain=0.0, feedback_phases="target")
    np.testing.assert_allclose(twin.hidden_targets(off, weights, drives, rates, top)[1], rates[1], rtol=1e-12)


@pytest.mark.parametrize("changes, key", [
    ({"feedback_phases": "target"}, "stack.feedback_phases"),          # the 'rate' form has no target-phase variant
    ({"feedback_gain": 2.0}, "stack.feedback_gain"),                   # the 'rate' form's scale is in G
    ({"hidden_target": "current", "feedback_gain": -1.0}, "stack.feedback_gain"),
    ({"hidden_target": "current", "feedback_phases": "free"}, "stack.feedback_phases"),
])
def test_feedback_gain_and_phases_are_validated(changes, key):
    with pytest.raises(ConfigError, match=key):
        small((12,), **changes)


@pytest.mark.parametrize("changes", [
    {"twin_loop": "settled"},                                                  # the 'rate' form has no loop current
    {"hidden_target": "current", "feedback_phases": "target", "twin_loop": "settled"},  # no free-phase feedback
    {"hidden_target": "current", "twin_loop": "closed"},
])
def test_the_twin_loop_is_validated(changes):
    with pytest.raises(ConfigError, match="stack.twin_loop"):
        small((12,), **changes)


def _loop_setup(gamma, hidden=(12,)):
    cfg = dataclasses.replace(fixed_feedback(small(hidden)), hidden_target="current", feedback_gain=gamma)
    rng = np.random.default_rng(9)
    weights = twin.init_weights(cfg, rng)
    for name in weights:  # a loop strong enough to move the rates: feedback weights as large as the forward ones
        if name.startswith("G"):
            weights[name] = weights[cfg.forward(int(name[1:])).name].T * 3.0
    x = rng.random((16, 49))
    y = twin.targets_of(cfg, x, rng.integers(0, 10, 16))
    return cfg, weights, x, y


@pytest.mark.parametrize("hidden", [(12,), (8, 7)])
def test_settle_solves_the_loop_through_f_and_g(hidden):
    """Free and target phase with the feedback's whole drive: the rates are the fixed point of every layer's
    transfer function, the top is nudged in the target phase, and without feedback it is the feed-forward pass."""
    cfg, weights, x, y = _loop_setup(1.0, hidden)
    n = len(cfg.layers) - 1
    off = twin.settle(dataclasses.replace(cfg, feedback_gain=0.0), weights, x)
    ff = twin.free_phase(cfg, weights, x)[1]
    for l in range(1, n + 1):
        np.testing.assert_allclose(off[1][l], ff[l], rtol=1e-12)
    for phase_y in (None, y):
        drives, rates, residual = twin.settle(cfg, weights, x, phase_y, sweeps=200)
        assert residual < 1e-8
        for l in range(1, n):
            u = twin.bias(cfg, l) + cfg.layers[l].tau_m * (rates[l - 1] @ weights[cfg.forward(l).name]
                                                           + rates[l + 1] @ weights[cfg.feedback_into(l).name])
            np.testing.assert_allclose(rates[l], lp.transfer(u, cfg.layers[l]), rtol=1e-6, atol=1e-6)
        u_top = twin.bias(cfg, n) + cfg.layers[n].tau_m * (rates[n - 1] @ weights[cfg.forward(n).name])
        top = lp.transfer(u_top, cfg.layers[n]) if phase_y is None else twin.nudged(cfg, u_top, y)
        np.testing.assert_allclose(rates[n], top, rtol=1e-6, atol=1e-6)
    # the loop moves the free rates: the settled free phase is not the feed-forward pass
    assert np.abs(twin.settle(cfg, weights, x, sweeps=200)[1][1] - ff[1]).max() > 1.0
    with pytest.raises(ValueError, match="damping"):
        twin.settle(cfg, weights, x, damping=0.0)


def test_a_settled_twin_learns_from_the_settled_phases():
    cfg, weights, x, y = _loop_setup(1.0)
    settled = dataclasses.replace(cfg, twin_loop="settled")
    upd, info = twin.target_prop_updates(settled, weights, x, y)
    free, target = twin.settle(cfg, weights, x)[1], twin.settle(cfg, weights, x, y)[1]
    for l, name in ((1, "W1"), (2, "W2")):
        np.testing.assert_allclose(upd[name], cfg.projection(name).eta * free[l - 1].T @ (target[l] - free[l]),
                                   rtol=1e-6)
    opened, _ = twin.target_prop_updates(cfg, weights, x, y)
    assert metrics.cosine_similarity(upd["W1"], opened["W1"]) < 0.999  # the loop changes the hidden update
    # a settled twin is read from its settled free phase; predict(settled=False) is the feed-forward pass
    cls = lambda r: r.reshape(len(r), cfg.n_classes, cfg.per_class).mean(axis=2).argmax(axis=1)
    np.testing.assert_array_equal(twin.predict(settled, weights, x), cls(free[-1]))
    np.testing.assert_array_equal(twin.predict(settled, weights, x, settled=False),
                                  cls(twin.free_phase(cfg, weights, x)[1][-1]))


def test_the_feedback_settings_live_in_the_stack_table():
    doc = small_doc((12,))
    doc["spiking"] = {"feedback_gain": 2.0}
    with pytest.raises(ConfigError, match="spiking.*feedback_gain"):
        stack_from_data(doc, "small.toml")


def test_mirror_feedback_learns_the_transpose_of_the_forward_weights():
    """feedback = 'mirror' from G = 0: noise-driven pairing makes G parallel to f^T (no weight transport)."""
    doc = small_doc((24,))
    doc["projections"]["W1"]["weight"]["std"] = 0.1
    doc["populations"]["h1"]["bias"] = 0.5
    doc["projections"]["G2"]["weight"]["std"] = 0.0
    doc["plasticity"]["r1"]["eta"] = 1e-6
    doc["plasticity"]["r2"]["eta"] = 1e-5
    doc["plasticity"]["g2"]["eta"] = 1e-5
    doc["stack"].update(feedback="mirror", hidden_target="current", feedback_decay=10.0, feedback_noise="20 Hz")
    doc["training"].update(samples=1667, passes=3, eval_every=1667)
    cfg = stack_from_data(doc, "small.toml")
    res = train(cfg, "target_prop", load_splits(cfg), seed=0, dtype=np.float64)
    G, W = res["weights"]["G2"], res["weights"]["W2"]
    cos = np.sum(G * W.T) / (np.linalg.norm(G) * np.linalg.norm(W))
    # unrelated 240-entry matrices have cosines of about +-1/sqrt(240) = 0.065; the mirror reaches ~0.9
    assert cos > 0.8
    assert res["val"] > 0.7


@pytest.mark.parametrize("centering", ["pre", "post"])
def test_centred_hidden_updates(centering):
    """Centring changes only the hidden layer's forward update, which becomes a covariance over the minibatch."""
    cfg0 = small()
    rng = np.random.default_rng(6)
    weights = twin.init_weights(cfg0, rng)
    x = rng.random((25, 49))
    y = twin.targets_of(cfg0, x, rng.integers(0, 10, 25))
    plain, info = twin.target_prop_updates(cfg0, weights, x, y, np.random.default_rng(1))
    centred, _ = twin.target_prop_updates(dataclasses.replace(cfg0, centering=centering), weights, x, y,
                                          np.random.default_rng(1))
    np.testing.assert_array_equal(centred["W2"], plain["W2"])
    np.testing.assert_array_equal(centred["G2"], plain["G2"])
    pre, change = info["rates"][0], info["targets"][1] - info["rates"][1]
    pre_c = pre - pre.mean(axis=0) if centering == "pre" else pre
    change_c = change - change.mean(axis=0) if centering == "post" else change
    np.testing.assert_allclose(centred["W1"], cfg0.projection("W1").eta * pre_c.T @ change_c, rtol=1e-12)
    assert not np.allclose(centred["W1"], plain["W1"])


def test_the_rate_regulator_moves_each_hidden_neurons_weights_by_its_rate_error():
    """[stack] homeostasis = eta_h adds eta_h T (r_h - rho_j) per sample to every incoming hidden weight of
    neuron j (T the free-phase count window, rho_j its free rate), on top of the unchanged learning rule;
    the output projection and the reciprocal feedback (a copy of W2's pairings) do not get it. Over the
    minibatch the regulator raises the neurons below the goal rate and lowers those above it."""
    doc = small_doc((24,))
    doc["projections"]["G2"]["plasticity"] = "r2"
    doc["stack"].update(feedback="reciprocal", hidden_target="current", centering="pre")
    cfg0 = stack_from_data(doc, "small.toml")
    cfg = dataclasses.replace(cfg0, homeostasis=2e-6, homeostasis_rate=12.0)
    rng = np.random.default_rng(4)
    weights = twin.init_weights(cfg, np.random.default_rng(0))
    x = rng.random((30, 49))
    y = twin.targets_of(cfg, x, rng.integers(0, 10, 30))
    plain, info = twin.target_prop_updates(cfg0, weights, x, y)
    regulated, _ = twin.target_prop_updates(cfg, weights, x, y)
    rho = info["rates"][1]
    window = cfg.free_phase - cfg.plasticity_onset  # the count window, written out
    per_neuron = 2e-6 * window * np.sum(12.0 - rho, axis=0)
    np.testing.assert_allclose(regulated["W1"] - plain["W1"], np.tile(per_neuron, (49, 1)), rtol=1e-9, atol=1e-18)
    np.testing.assert_array_equal(regulated["W2"], plain["W2"])
    np.testing.assert_array_equal(regulated["G2"], plain["G2"])
    below, above = rho.mean(axis=0) < 12.0, rho.mean(axis=0) > 12.0
    assert below.any() and above.any()
    assert np.all(per_neuron[below] > 0) and np.all(per_neuron[above] < 0)
    assert twin.homeostatic_updates(cfg0, info["rates"]) == {}


def test_accuracy_curves_tell_each_ablation_apart():
    """A deep stack's ablations (W1 frozen, W2 frozen) get different markers, so the figure shows which is which."""
    import matplotlib

    matplotlib.use("Agg")
    from spiking_bpdl.experiments.stack import plot_accuracy_curves

    curve = [{"samples": 0, "val_accuracy": 0.1, "val_accuracy_spiking_readout": 0.1},
             {"samples": 10, "val_accuracy": 0.5, "val_accuracy_spiking_readout": 0.4}]
    runs = {n: {"backend": "spiking", "frozen": f, "curve": curve}
            for n, f in (("spiking", []), ("spiking_frozen-W1", ["W1"]), ("spiking_frozen-W2", ["W2"]))}
    fig = plot_accuracy_curves(runs)
    own = {line.get_label(): line.get_marker() for line in fig.axes[0].lines if "own spikes" in line.get_label()}
    assert len(own) == 3 and len(set(own.values())) == 3


def test_reciprocal_feedback_carries_the_forward_change_transposed():
    """feedback = 'reciprocal': every minibatch gives G2 the forward W2's update transposed (the product
    of the feedback synapse's own pre-synaptic rate change and post-synaptic rate), so after training
    G2 - W2^T is still its initial value while G2, random at the start, has come into line with W2^T;
    a plastic feedback that names another rule is refused."""
    doc = small_doc((24,))
    doc["projections"]["G2"]["plasticity"] = "r2"  # the forward W2's rule
    doc["projections"]["G2"]["weight"]["std"] = 0.01  # small random weights, as the spiking classifiers'
    doc["projections"]["W2"]["weight"]["std"] = 0.01
    doc["stack"].update(feedback="reciprocal", hidden_target="current", centering="pre")
    cfg = stack_from_data(doc, "small.toml")
    rng = np.random.default_rng(3)
    w0 = twin.init_weights(cfg, np.random.default_rng(0))
    x = rng.random((20, 49))
    updates, _ = twin.target_prop_updates(cfg, w0, x, twin.targets_of(cfg, x, rng.integers(0, 10, 20)))
    np.testing.assert_array_equal(updates["G2"], updates["W2"].T)
    res = train(cfg, "target_prop", load_splits(cfg), seed=0, dtype=np.float64)
    G, W = res["weights"]["G2"], res["weights"]["W2"]
    np.testing.assert_allclose(G - W.T, w0["G2"] - w0["W2"].T, rtol=0, atol=1e-12)

    def cos(a, b):
        return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))

    # unrelated 240-entry matrices have cosines of about +-1/sqrt(240) = 0.065; with the learnt part D
    # carried into both, cos(G, W^T) ~ |D|^2 / (|D|^2 + |W0|^2) = 0.79 here (|D| = 1.9 |W0|)
    assert abs(cos(w0["G2"], w0["W2"].T)) < 0.25
    assert cos(G, W.T) > 0.7
    doc["projections"]["G2"]["plasticity"] = "g2"
    with pytest.raises(ConfigError, match="G2.plasticity: reciprocal feedback learns by the rule of W2"):
        stack_from_data(doc, "small.toml")


def test_a_scaled_mirror_carries_a_share_of_the_forward_change():
    """mirror_scale = kappa: G2's update is kappa times W2's transposed, so after training G2 - kappa W2^T
    keeps its initial value; G2 still aligns with W2^T, less closely than with the full copy (its learnt
    part is smaller next to its initial weights). The key is refused on a forward projection, without
    reciprocal feedback, and when not a finite number > 0."""
    doc = small_doc((24,))
    doc["projections"]["G2"]["plasticity"] = "r2"
    doc["projections"]["G2"]["weight"]["std"] = 0.01
    doc["projections"]["W2"]["weight"]["std"] = 0.01
    doc["stack"].update(feedback="reciprocal", hidden_target="current", centering="pre")
    doc["projections"]["G2"]["mirror_scale"] = 0.5
    cfg = stack_from_data(doc, "small.toml")
    rng = np.random.default_rng(3)
    w0 = twin.init_weights(cfg, np.random.default_rng(0))
    x = rng.random((20, 49))
    updates, _ = twin.target_prop_updates(cfg, w0, x, twin.targets_of(cfg, x, rng.integers(0, 10, 20)))
    np.testing.assert_array_equal(updates["G2"], 0.5 * updates["W2"].T)
    res = train(cfg, "target_prop", load_splits(cfg), seed=0, dtype=np.float64)
    G, W = res["weights"]["G2"], res["weights"]["W2"]
    np.testing.assert_allclose(G - 0.5 * W.T, w0["G2"] - 0.5 * w0["W2"].T, rtol=0, atol=1e-12)
    assert abs(metrics.cosine_similarity(G - w0["G2"], W.T - w0["W2"].T) - 1) < 1e-9
    assert metrics.cosine_similarity(G, W.T) > 0.5
    for key, value, message in (("G2", 0.0, "must be > 0"), ("G2", float("nan"), "must be finite"),
                                ("G2", "big", "expected a number"), ("W2", 0.5, "only feedback projections")):
        bad = copy.deepcopy(doc)
        bad["projections"]["G2"].pop("mirror_scale")
        bad["projections"][key]["mirror_scale"] = value
        with pytest.raises(ConfigError, match=rf"projections\.{key}\.mirror_scale: {message}"):
            stack_from_data(bad, "small.toml")
    doc["stack"]["feedback"] = "random"
    doc["projections"]["G2"].pop("plasticity", None)
    with pytest.raises(ConfigError, match=r"projections\.G2\.mirror_scale: scales reciprocal feedback only"):
        stack_from_data(doc, "small.toml")


def test_a_feedback_rule_that_no_backend_reads_is_refused_and_an_empty_override_removes_it():
    """Fixed feedback on both backends with a rule named on G2 is a definition error (it used to be
    silently unused); ``--set projections.G2.plasticity=`` removes the key, and a removed key that is
    not there is an error too. With a mode that trains the feedback, the same rule is accepted."""
    fixed = ["stack.feedback=random", "spiking.feedback=random"]
    with pytest.raises(ConfigError, match=r"projections\.G2\.plasticity: names a rule, but no backend trains "
                                          r"feedback here .*--set projections\.G2\.plasticity="):
        load_stack("classifier_small", fixed)
    cfg = load_stack("classifier_small", fixed + ["projections.G2.plasticity="])
    assert cfg.projection("G2").plasticity is None and not cfg.projection("G2").plastic
    assert cfg.projection("W2").plastic and cfg.reciprocal_pairs() == {}
    with pytest.raises(ConfigError, match=r"override 'projections\.G2\.plasticity'=: no key 'plasticity' to remove"):
        load_stack("classifier_small", fixed + ["projections.G2.plasticity=", "projections.G2.plasticity="])
    # the rule is read when either backend trains the feedback
    for mode in (["stack.feedback=random"], ["spiking.feedback=random"], ["stack.feedback=mirror"]):
        assert load_stack("classifier_small", mode).projection("G2").plastic
    with pytest.raises(ConfigError, match="no backend trains feedback"):  # replace() validates too
        dataclasses.replace(load_stack("classifier_small"), feedback="random", spiking_feedback="random")


_RECIPROCAL = ["stack.feedback=reciprocal", "spiking.feedback=reciprocal", "projections.G2.plasticity=stdp_hidden",
               "projections.G3.plasticity=stdp_output"]


def _comparable_config(config, frozen=()):
    """A configuration as the table tests compare it: the keys added since a run was recorded at the
    values that kept old runs, without its path, and without the learning rates of the projections the
    run froze (a frozen projection never uses them: the W1-frozen ablation ran with an earlier A_plus)."""
    config = with_added_defaults(copy.deepcopy(config))
    for p in config["projections"]:
        if p["name"] in frozen:
            p.pop("eta", None), p.pop("stdp", None)
    return {k: v for k, v in config.items() if k not in ("path", "frozen")}


# The spiking classifiers' settings before the rate regulator shipped (docs/stacks.md: $BEFORE)
_BEFORE_REGULATOR = ["stack.homeostasis=0", "spiking.centring_mean=layer", "spiking.centring_scale=1"]


@pytest.mark.parametrize("folder, overrides, results", [
    ("classifier_mnist_deep_reciprocal", _BEFORE_REGULATOR + _RECIPROCAL + ["plasticity.stdp_hidden.A_plus=1e-4"],
     ("train_rate.json", "train_backprop.json")),
    ("classifier_mnist_deep_scaled_mirror",
     _BEFORE_REGULATOR + _RECIPROCAL + ["projections.G2.mirror_scale=0.03", "projections.G3.mirror_scale=0.3"],
     ("train_spiking.json", "train_rate.json", "train_backprop.json")),
])
def test_the_deep_variants_overrides_give_their_recorded_configuration(folder, overrides, results):
    # docs/stacks.md reproduces the measured deep variants on the shipped (random-feedback) file with
    # $BEFORE and these --set overrides: the resolved configuration must be the one their results record
    got = json.loads(json.dumps(to_jsonable(load_stack(SPIKING_DEEP, overrides).to_dict())))
    folder = REPO / "docs" / "results" / "stacks" / folder
    for result in results:
        recorded = json.loads((folder / result).read_text())["config"]
        assert _comparable_config(recorded) == _comparable_config(got), result


@pytest.mark.parametrize("definition, folder, overrides", [
    (SPIKING_CLASSIFIER, "classifier_mnist_regulated", []),                  # the README table's rows: the shipped file
    (SPIKING_CLASSIFIER, "classifier_mnist_reciprocal", _BEFORE_REGULATOR),  # the rows before it, with $BEFORE
    ("classifier_small", "classifier_small", []),                            # the main job's rows
    (SPIKING_DEEP, "classifier_mnist_deep_regulated", []),                   # the deep rows: the shipped file
    (SPIKING_DEEP, "classifier_mnist_deep", _BEFORE_REGULATOR),              # the deep rows before it
])
def test_the_classifier_tables_ran_the_shipped_file_or_its_documented_overrides(definition, folder, overrides):
    shipped = json.loads(json.dumps(to_jsonable(load_stack(definition, overrides).to_dict())))
    results = sorted((REPO / "docs" / "results" / "stacks" / folder).glob("train_*.json"))
    assert len(results) >= 4  # spiking, the frozen ablation(s), the rate twin and backprop
    for path in results:
        result = json.loads(path.read_text())
        frozen = result["frozen"] or ()
        assert _comparable_config(result["config"], frozen) == _comparable_config(shipped, frozen), path.name
