"""The spiking stack's STDP changes point where the rate twin's target-propagation update points.

``classifier_small`` at its initial weights, one block of training digits run several times with new
seeds (cython). Each repetition gives one cosine of each projection's STDP change with the twin's
update and one with the twin's update for shuffled labels; their paired difference, averaged over the
repetitions, must exceed three of its standard errors for the hidden projection W1 (the label reaches
the hidden layer only through the feedback) and for the output projection W2 (the delta rule). With
the feedback cut (gamma = 0) the hidden change no longer carries the label: it falls to the control,
which is the failure this test exists to catch (a hidden layer that only random-walks, or only
follows the label-blind part of its update).
"""

import numpy as np
import pytest

from spiking_bpdl.experiments.stack_alignment import control_margin, twin_for_spiking, update_alignment
from spiking_bpdl.stack import twin
from spiking_bpdl.stack.config import load_stack
from spiking_bpdl.stack.train import load_splits

BLOCK, REPETITIONS = 40, 6


@pytest.fixture(scope="module")
def setup():
    cfg = load_stack("classifier_small")
    data = load_splits(cfg)
    weights = twin.init_weights(cfg, np.random.default_rng(cfg.seed))
    return cfg, weights, data["x_train"][:BLOCK], data["l_train"][:BLOCK]


@pytest.fixture(scope="module")
def aligned(setup):
    cfg, weights, x, labels = setup
    return update_alignment(cfg, weights, x, labels, REPETITIONS, target="cython", seed=1)


@pytest.fixture(scope="module")
def cut(setup):
    cfg, weights, x, labels = setup
    return update_alignment(cfg, weights, x, labels, REPETITIONS, target="cython", seed=1, feedback_gain=0.0)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["W1", "W2"])
def test_stdp_change_is_above_the_shuffled_label_control(aligned, name):
    margin, se = control_margin(aligned, name)
    assert margin > 3 * se, f"{name}: {margin:.3f} ± {se:.3f} above the shuffled-label control"
    # averaging repetitions removes noise, so the cosine of the mean change does not fall below a single one's
    assert aligned["cos"][name][-1] >= aligned["cos"][name][0]


@pytest.mark.slow
def test_without_feedback_the_hidden_change_falls_to_the_control(aligned, cut):
    margin, se = control_margin(cut, "W1")
    assert abs(margin) < 3 * se, f"gamma = 0: W1 {margin:.3f} ± {se:.3f} away from the control"
    with_feedback, se_with = control_margin(aligned, "W1")
    assert with_feedback - margin > 3 * np.hypot(se, se_with)
    # the output layer is taught by its own teacher current and keeps its alignment
    margin2, se2 = control_margin(cut, "W2")
    assert margin2 > 3 * se2


def test_the_twin_for_spiking_uses_the_feedback_synapses_weights_gain_and_phases(setup):
    cfg, weights, _, _ = setup
    twin_cfg, w = twin_for_spiking(cfg, weights)
    assert twin_cfg.hidden_target == "current" and twin_cfg.feedback == "random"
    assert twin_cfg.centering == cfg.centering and twin_cfg.nudge == cfg.nudge
    assert (twin_cfg.feedback_gain, twin_cfg.feedback_phases) == (cfg.feedback_gain, cfg.feedback_phases)
    np.testing.assert_array_equal(w["G2"], weights["G2"])
    np.testing.assert_array_equal(w["W1"], weights["W1"])
    transposed = load_stack("classifier_small", ["spiking.feedback=transposed"])
    np.testing.assert_array_equal(twin_for_spiking(transposed, weights)[1]["G2"], weights["W2"].T)


@pytest.mark.slow
def test_the_layer_alignment_script_records_every_layer_with_its_command(tmp_path):
    """scripts/stack_layer_alignment.py (the full-size measurement of docs/stacks.md): one entry per plastic
    projection with the cosine per repetition count, the control and the paired margin; the feedback-cut
    ablation records gamma 0; the JSON carries the configuration and the script's command."""
    import json
    from pathlib import Path

    from script_loader import load_script

    script = Path(__file__).resolve().parents[1] / "scripts" / "stack_layer_alignment.py"
    module = load_script(script)
    for gain, name in ((None, "on.json"), (0.0, "cut.json")):
        argv = ["classifier_small", "--block", "20", "--repetitions", "2", "--out", str(tmp_path / name)]
        argv += [] if gain is None else ["--feedback-gain", str(gain)]
        assert module.main(argv) == 0
        d = json.loads((tmp_path / name).read_text())
        assert set(d["layers"]) == {"W1", "W2"} and d["block"] == 20 and d["repetitions"] == 2
        for layer in d["layers"].values():
            assert len(layer["cos"]) == len(layer["cos_shuffled"]) == 2 and np.isfinite(layer["margin_over_control"])
        assert d["feedback_gain"] == (3.0 if gain is None else 0.0)  # classifier_small's gamma, or the cut
        assert d["config"]["name"] == "classifier_small"
        assert d["provenance"]["command"].startswith("python scripts/stack_layer_alignment.py classifier_small")
        assert set(d["twin_rates"]) == set(d["rates"])  # the twin's phase rates next to the network's, per LIF layer
        assert all(v["free_hz"] > 0 and v["target_hz"] > 0 for v in d["twin_rates"].values())
        for layer in d["layers"].values():  # the twin's update against backprop's gradient, same weights and digits
            assert -1 <= layer["twin_cos_backprop"] <= 1 and -1 <= layer["twin_cos_backprop_shuffled"] <= 1
    # after training: the weights of a run's file are the ones measured (here: the initial ones, scaled)
    cfg = module.load_stack("classifier_small")
    init = module.twin.init_weights(cfg, np.random.default_rng(cfg.seed), np.float64)
    np.savez(tmp_path / "weights_spiking.npz", **{k: 2 * v for k, v in init.items()})
    loaded = module.load_weights(cfg, tmp_path / "weights_spiking.npz")
    assert all(np.array_equal(loaded[k], 2 * init[k]) for k in init)
    argv = ["classifier_small", "--block", "20", "--repetitions", "2", "--weights", str(tmp_path / "weights_spiking.npz"),
            "--out", str(tmp_path / "trained.json")]
    assert module.main(argv) == 0
    trained, initial = (json.loads((tmp_path / n).read_text()) for n in ("trained.json", "on.json"))
    assert trained["weights"].endswith("weights_spiking.npz") and initial["weights"] == "initial"
    assert len(trained["weights_sha256"]) == 64 and initial["weights_sha256"] is None
    assert trained["layers"]["W2"]["twin_cos_backprop"] != initial["layers"]["W2"]["twin_cos_backprop"]
    np.savez(tmp_path / "bad.npz", W1=init["W1"][:5])
    from spiking_bpdl.errors import ConfigError

    with pytest.raises(ConfigError, match="projection W1 of classifier_small needs shape"):
        module.load_weights(cfg, tmp_path / "bad.npz")
