"""The spiking training engine of layer stacks and ``spiking-bpdl train`` on stack definitions.

A tiny classifier (``classifier_small`` with 20 hidden neurons, blocks of 25 digits) on the cython
target: resume from a checkpoint continues exactly as an uninterrupted run (also from one written
before the definition gained keys, which ran at their defaults); frozen projections keep
their initial weights bit for bit while the others learn; the command writes the classifier keys
and rejects an unknown ``--freeze`` projection in one line, writing nothing.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from spiking_bpdl.checkpoint import load_checkpoint, save_checkpoint
from spiking_bpdl.errors import CheckpointError, ConfigError
from spiking_bpdl.stack import twin
from spiking_bpdl.stack.config import StackConfig, freeze, load_stack
from spiking_bpdl.stack.engine import checkpoint_path, stdp_rules, train_spiking
from spiking_bpdl.stack.train import load_splits

TINY = ["populations.hidden.size=20", "training.samples=50", "training.passes=2", "training.eval_every=50",
        "spiking.block=25", "spiking.readout_samples=25"]
# classifier_small's feedback learns (reciprocal); most tests here run the fixed-feedback scheme it grew
# out of, and RECIPROCAL below restores the shipped one
FIXED = ["stack.feedback=random", "spiking.feedback=random", "projections.G2.plasticity="]


@pytest.fixture(scope="module")
def tiny():
    cfg = load_stack("classifier_small", TINY + FIXED)
    return cfg, load_splits(cfg)


def _run(cfg, data, **kw):
    return train_spiking(cfg, data, target="cython", progress=False, **kw)


# keys the stack definition gained after its first checkpoints were written (their defaults keep the
# behaviour before them)
ADDED_KEYS = ("twin_loop", "homeostasis", "homeostasis_rate", "centring_scale", "weight_updates", "top_window")

RECIPROCAL = ["stack.feedback=reciprocal", "spiking.feedback=reciprocal", "projections.G2.plasticity=stdp_W2"]


@pytest.mark.slow
@pytest.mark.parametrize("feedback", ["random", "reciprocal"])
def test_resume_continues_exactly_as_an_uninterrupted_run(tiny, tmp_path, feedback):
    cfg, data = tiny
    if feedback == "reciprocal":  # the feedback's learnt weights travel in the checkpoint too
        cfg = load_stack("classifier_small", TINY + RECIPROCAL)
    whole = _run(cfg, data, out=tmp_path / "a")
    first = _run(cfg, data, out=tmp_path / "b", max_blocks=2)
    assert not first["complete"] and first["samples"] == 50
    with pytest.raises(CheckpointError, match="exists; pass --resume"):
        _run(cfg, data, out=tmp_path / "b")
    # the same checkpoint as an earlier version wrote it, before keys it runs at their defaults existed
    arrays, meta = load_checkpoint(checkpoint_path(tmp_path / "b"))
    for d in ("old", "wrong"):
        (tmp_path / d).mkdir()
        old = json.loads(json.dumps(meta))
        for key in ADDED_KEYS:
            assert old["config"].pop(key) == getattr(StackConfig, key)  # at the default: it ran as before
        for p in old["config"]["projections"]:
            assert p.pop("mirror_scale") == 1.0
        if d == "wrong":  # a key at a value other than its default cannot be taken for an added one
            assert old["config"].pop("feedback_phases") != StackConfig.feedback_phases
        save_checkpoint(checkpoint_path(tmp_path / d), arrays, old)
    rest = _run(cfg, data, out=tmp_path / "b", resume=True)
    from_old = _run(cfg, data, out=tmp_path / "old", resume=True)
    with pytest.raises(CheckpointError, match="feedback_phases|was written with config"):
        _run(cfg, data, out=tmp_path / "wrong", resume=True)
    assert whole["complete"] and rest["complete"] and rest["samples"] == whole["samples"] == 100
    for name in whole["weights"]:
        np.testing.assert_array_equal(rest["weights"][name], whole["weights"][name])
        np.testing.assert_array_equal(from_old["weights"][name], whole["weights"][name])
    assert rest["curve"] == whole["curve"] == from_old["curve"]
    assert rest["synaptic_events"] == whole["synaptic_events"] > 0
    # a checkpoint of another configuration is refused, not silently continued
    other = load_stack("classifier_small", TINY + ["stack.nudge=6"])
    with pytest.raises(CheckpointError):
        _run(other, data, out=tmp_path / "b", resume=True)
    assert checkpoint_path(tmp_path / "b").exists()


def test_frozen_projections_keep_their_initial_weights_and_the_others_learn(tiny):
    cfg, data = tiny
    r = _run(freeze(cfg, ["W1"]), data)
    initial = twin.init_weights(cfg, np.random.default_rng(cfg.seed), np.float64)
    np.testing.assert_array_equal(r["weights"]["W1"], initial["W1"])
    assert r["frozen"] == ["W1"]
    change = np.abs(r["weights"]["W2"] - initial["W2"])
    assert change.max() > 0 and np.count_nonzero(change) > change.size // 2
    # random feedback: the feedback synapses carry the fixed initial G2
    np.testing.assert_array_equal(r["weights"]["G2"], initial["G2"])


def test_reciprocal_feedback_is_carried_from_block_to_block(tiny):
    """With [spiking] feedback = "reciprocal" the engine carries G2 as its STDP left it: over four blocks
    (two passes) G2's change is W2's change transposed (each block's weights are single precision in
    Brian2: one rounding of each per block); frozen, G2 keeps its initial weights."""
    _, data = tiny
    cfg = load_stack("classifier_small", TINY + RECIPROCAL)
    r = _run(cfg, data)
    initial = twin.init_weights(cfg, np.random.default_rng(cfg.seed), np.float64)
    dW2, dG2 = r["weights"]["W2"] - initial["W2"], r["weights"]["G2"] - initial["G2"]
    assert np.abs(dW2).max() > 0.2 * np.abs(initial["W2"]).max()  # W2 learnt
    scale = np.abs(initial["W2"]).max() + np.abs(initial["G2"]).max() + np.abs(dW2).max()
    np.testing.assert_allclose(dG2, dW2.T, rtol=0, atol=4 * 4 * 2.0**-24 * scale)
    r = _run(freeze(cfg, ["G2"]), data)
    np.testing.assert_array_equal(r["weights"]["G2"], initial["G2"])


def test_the_spiking_backend_needs_pair_rules():
    cfg = load_stack("classifier_mnist_rate")  # its projections learn by rate rules (eta)
    with pytest.raises(ConfigError, match="W1 learns by rule 'rate'; the spiking backend needs rule = 'pair'"):
        stdp_rules(cfg)
    assert set(stdp_rules(load_stack("classifier_small"))) == {"W1", "W2"}


def _cli(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "spiking_bpdl.cli", *map(str, argv)], capture_output=True,
                          text=True, cwd=cwd)


@pytest.mark.slow
def test_train_writes_the_classifier_keys_and_figures(tmp_path):
    sets = sum((["--set", s] for s in TINY), [])
    r = _cli("train", "classifier_small", "--backend", "spiking", "--target", "cython", "--freeze", "W1",
             "--no-progress", *sets, "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path / "train_spiking_frozen-W1.json").read_text())
    for key in ("backend", "samples", "test_accuracy", "test_accuracy_spiking_readout", "val_accuracy", "frozen",
                "curve", "samples_per_s", "wall_s", "config", "provenance"):
        assert key in res, key
    assert res["backend"] == "spiking" and res["frozen"] == ["W1"] and res["samples"] == 100
    assert 0 <= res["test_accuracy_spiking_readout"] <= 1 and 0 <= res["test_accuracy"] <= 1
    assert [c["samples"] for c in res["curve"]] == [0, 50, 100]
    assert all({"val_accuracy", "val_accuracy_spiking_readout"} <= set(c) for c in res["curve"])
    assert res["config"]["layers"][1]["size"] == 20  # the resolved configuration, overrides applied
    assert "train_spiking_frozen-W1.json" in r.stdout and "own spikes" in r.stdout
    for png in ("accuracy_curves.png", "receptive_fields_spiking_frozen-W1.png", "confusion_spiking_frozen-W1.png"):
        assert (tmp_path / png).stat().st_size > 0


def test_a_settled_twin_records_its_feedforward_pass_too(tmp_path):
    sets = sum((["--set", s] for s in TINY + ["stack.feedback_phases=both", "stack.twin_loop=settled"]), [])
    r = _cli("train", "classifier_small", "--backend", "rate", "--no-progress", *sets, "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path / "train_rate.json").read_text())
    assert res["config"]["twin_loop"] == "settled"
    cfg = load_stack("classifier_small", TINY + ["stack.feedback_phases=both", "stack.twin_loop=settled"])
    data = load_splits(cfg, test=True)
    w = np.load(tmp_path / "weights_rate.npz")
    weights = {k: w[k] for k in w.files}
    # the twin's own figure is its settled free phase, the feed-forward pass of its weights is recorded next to it
    assert res["test_accuracy"] == np.mean(twin.predict(cfg, weights, data["x_test"]) == data["l_test"])
    assert res["test_accuracy_feedforward"] == np.mean(
        twin.predict(cfg, weights, data["x_test"], settled=False) == data["l_test"])


@pytest.mark.parametrize("argv, message", [
    (["--freeze", "W9"], "unknown projection 'W9' (projections: W1, W2, G2)"),
    (["--set", "stack.twin_loop=settled"], "stack.twin_loop: 'settled' needs"),
    (["--set", "stack.feedback_gain=-1"], "stack.feedback_gain: must be >= 0"),
    (["--set", "spiking.block=0"], "spiking.block: must be >= 1"),
    (["--set", "spiking.trace_reset=never"], "spiking.trace_reset"),
])
def test_bad_stack_options_are_one_line_errors_and_write_nothing(tmp_path, argv, message):
    out = tmp_path / "out"
    r = _cli("train", "classifier_small", "--backend", "spiking", *argv, "--out", out)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a_stack_projection_frozen_on_a_layer_pair_is_refused(tmp_path):
    r = _cli("train", "layer_pair_small", "--freeze", "W1", "--out", tmp_path / "o")
    assert r.returncode == 2 and "a layer pair has W and V" in r.stderr and not (tmp_path / "o").exists()


DEEP = """
[network]
name = "deep_tiny"
[stack]
layers = ["input", "h1", "h2", "output"]
target = "label"
nudge = 12.0
feedback = "random"
hidden_target = "current"
centering = "pre"
feedback_gain = 3.0
feedback_phases = "target"
free_phase = "100 ms"
target_phase = "60 ms"
plasticity_onset = "40 ms"
[populations.input]
kind = "poisson"
size = 196
max_rate = "100 Hz"
[populations.h1]
kind = "lif"
size = 30
tau_syn = "5 ms"
bias = 0.6
[populations.h2]
kind = "lif"
size = 20
tau_syn = "5 ms"
bias = 0.6
[populations.output]
kind = "lif"
size = 10
tau_syn = "5 ms"
bias = 0.6
[projections.W1]
pre = "input"
post = "h1"
weight = { init = "normal", std = 0.06 }
plasticity = "stdp"
[projections.W2]
pre = "h1"
post = "h2"
weight = { init = "normal", std = 0.06 }
plasticity = "stdp"
[projections.W3]
pre = "h2"
post = "output"
weight = { init = "normal", std = 0.03 }
plasticity = "stdp"
[projections.G2]
pre = "h2"
post = "h1"
weight = { init = "normal", std = 0.03 }
[projections.G3]
pre = "output"
post = "h2"
weight = { init = "normal", std = 0.03 }
[plasticity.stdp]
rule = "pair"
A_plus = 3e-4
tau_plus = "40 ms"
tau_minus = "40 ms"
[spiking]
block = 25
target = "cython"
readout_samples = 25
[data]
source = "embedded"
downsample = 2
[training]
samples = 50
train_pool = 1667
validation_samples = 333
test_samples = 50
eval_every = 50
"""


@pytest.mark.slow
def test_the_engine_trains_every_layer_of_a_deep_stack(tmp_path):
    """Two hidden layers: every forward projection changes by STDP and the feedback stays fixed (freezing
    is tested on the one-hidden-layer stack above: a frozen projection is built without plasticity)."""
    path = tmp_path / "deep.toml"
    path.write_text(DEEP)
    cfg = load_stack(path)
    data = load_splits(cfg)
    initial = twin.init_weights(cfg, np.random.default_rng(cfg.seed), np.float64)
    r = _run(cfg, data)
    for name in ("W1", "W2", "W3"):
        assert np.count_nonzero(r["weights"][name] != initial[name]) > initial[name].size // 2, name
    for name in ("G2", "G3"):
        np.testing.assert_array_equal(r["weights"][name], initial[name])


@pytest.mark.slow
def test_either_hidden_layer_of_a_deep_stack_freezes_alone(tmp_path):
    """The deep classifier's ablations (--freeze W1, --freeze W2): the frozen hidden projection keeps its
    initial weights bit for bit while the other hidden layer and the output still learn by STDP."""
    from spiking_bpdl.stack.config import freeze

    path = tmp_path / "deep.toml"
    path.write_text(DEEP)
    cfg = load_stack(path)
    data = load_splits(cfg)
    initial = twin.init_weights(cfg, np.random.default_rng(cfg.seed), np.float64)
    for frozen, learning in (("W1", ("W2", "W3")), ("W2", ("W1", "W3"))):
        r = _run(freeze(cfg, [frozen]), data)
        np.testing.assert_array_equal(r["weights"][frozen], initial[frozen])
        for name in learning:
            assert np.count_nonzero(r["weights"][name] != initial[name]) > initial[name].size // 2, (frozen, name)


def test_network_rules_centre_by_the_layer_mean_or_by_each_input_mean():
    """centring_mean = 'layer': one offset in the hidden rule; 'neuron': the rule keeps pre_offset 0 and every
    input gets the offset of its own mean rate (linear in it: the layer's offset at the layer's mean)."""
    from spiking_bpdl.stack.engine import centring_offset, mean_pre_rates, network_rules

    cfg = load_stack("classifier_small")
    data = load_splits(cfg)
    weights = twin.init_weights(cfg, np.random.default_rng(0))
    x = data["x_train"][:200]
    rules, offsets = network_rules(cfg, weights, x)
    m = mean_pre_rates(cfg, weights, x)["W1"]
    assert offsets == {} and rules["W1"].pre_offset == pytest.approx(centring_offset(rules["W1"], m, cfg))
    assert rules["W2"].pre_offset == 0  # the output projection is not centred (its target is the label)
    per = load_stack("classifier_small", ["spiking.centring_mean=neuron"])
    rules_n, offsets_n = network_rules(per, weights, x)
    assert rules_n["W1"].pre_offset == 0 and set(offsets_n) == {"W1"}
    m_i = np.mean(cfg.layers[0].max_rate * x, axis=0)  # the encoder rates, in the data's precision
    np.testing.assert_allclose(offsets_n["W1"], [centring_offset(rules_n["W1"], v, per) for v in m_i], rtol=1e-12)
    # the mean of the per-input means is the layer mean (to the float32 rounding of the two averages)
    assert offsets_n["W1"].mean() == pytest.approx(rules["W1"].pre_offset, rel=1e-6)
    assert offsets_n["W1"].min() == 0 and offsets_n["W1"].max() > 3 * offsets_n["W1"].mean()
    with pytest.raises(ConfigError, match="spiking.centring_mean"):
        load_stack("classifier_small", ["spiking.centring_mean=pixel"])
    # centring_scale multiplies every offset, by layer and by input; 0 removes them; it must be a finite number >= 0
    for mean in ("layer", "neuron"):
        base = load_stack("classifier_small", [f"spiking.centring_mean={mean}"])
        half = load_stack("classifier_small", [f"spiking.centring_mean={mean}", "spiking.centring_scale=0.5"])
        none = load_stack("classifier_small", [f"spiking.centring_mean={mean}", "spiking.centring_scale=0"])
        (r1, o1), (r2, o2), (r0, o0) = (network_rules(c, weights, x) for c in (base, half, none))
        assert r2["W1"].pre_offset == pytest.approx(0.5 * r1["W1"].pre_offset) and r0["W1"].pre_offset == 0
        if mean == "neuron":
            np.testing.assert_allclose(o2["W1"], 0.5 * o1["W1"], rtol=1e-12)
            assert not np.any(o0["W1"])
        else:
            assert r1["W1"].pre_offset > 0
    for bad in ("-0.5", "nan", "inf", "'half'"):
        with pytest.raises(ConfigError, match="spiking.centring_scale"):
            load_stack("classifier_small", [f"spiking.centring_scale={bad}"])
