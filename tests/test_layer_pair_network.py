"""The layer pair is a stack instance: its Brian2 network is the stack's, and it reproduces the layer pair's
former network (its own Brian2 build, removed after commit c4c99c1) bit for bit.

``tests/data/layer_pair_network_c4c99c1.npz`` holds what that former network returned for three seeded
blocks of three digits on the numpy target (regular input trains: the random numbers are then only the
initial membranes and the membrane noise, drawn in the same order by both builds): the weights after the
block and every spike count. The cases cover online and per-sample updates, both trace resets, the
contrastive and the target-only window of ``V``, two cycles, a frozen encoder and a learning-rate factor.
A change to the network's wiring, gates, teacher current, feedback or STDP code moves spikes and fails
here; so would a change to the order of the random numbers.
"""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from spiking_bpdl.rate.lif_layer_pair import init_weights, load_images, load_layer_pair, with_mean_bias

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "data" / "layer_pair_network_c4c99c1.npz"

CASES = {
    "online_contrastive": dict(),
    "per_sample_target_window": dict(weight_updates="per_sample", trace_reset="sample", v_window="target", cycles=2),
    "frozen_W_lr_half": dict(frozen=("W",), weight_updates="per_sample", trace_reset="sample"),
}


def _case(name):
    """The recorded case: 7x7 digits -> 12 hidden neurons, 1 ms steps, 30 + 30 ms phases."""
    cfg = dataclasses.replace(
        load_layer_pair(REPO / "networks" / "layer_pair_small.toml"), source="embedded", n_in=49, n_hidden=12,
        downsample=4, block=3, eval_every=5, test_samples=50, readout_samples=5, dt=1e-3, free_phase=30e-3,
        target_phase=30e-3, plasticity_onset=10e-3, A_plus_V=0.01, A_plus_W=0.01, encoder="regular",
        w_init_std=0.25, **CASES[name])
    x = load_images(cfg, "train", 3)
    cfg = with_mean_bias(cfg, x)
    W, V = init_weights(cfg, np.random.default_rng(1))
    V = np.random.default_rng(2).normal(0, 0.2, V.shape)
    x_in = np.clip(x + np.random.default_rng(4).normal(0, 0.1, x.shape), 0, 1)  # inputs differ from the targets
    return cfg, x_in, x, W, V


@pytest.mark.parametrize("name", list(CASES))
def test_the_stack_reproduces_the_former_layer_pair_network_bit_for_bit(name):
    from spiking_bpdl.codegen import use_target
    from spiking_bpdl.spiking.layer_pair import SpikingLayerPair
    from spiking_bpdl.stack.network import SpikingStack

    cfg, x_in, x, W, V = _case(name)
    with use_target("numpy"):
        sim = SpikingLayerPair(cfg, 3, "numpy")
        assert isinstance(sim.stack, SpikingStack) and sim.stack_cfg.spiking_feedback == "encoder"
        res = sim.run_block(x_in, x, W, V, learn=True, seed=7, lr_scale=0.5 if "lr_half" in name else 1.0,
                            rng=np.random.default_rng(9))
    old = np.load(FIXTURE)
    for key in ("W", "V", "recon_free", "recon_all", "hidden_free", "hidden_all"):
        np.testing.assert_array_equal(getattr(res, key), old[f"{name}/{key}"], err_msg=key)
    assert res.n_spikes == int(old[f"{name}/n_spikes"])
    # not a comparison of two silent networks: both layers fire, both learning projections moved
    assert res.hidden_all.sum() > 50 and res.recon_all.sum() > 200
    assert np.abs(res.V - V).max() > 0.01
    if "W" in cfg.frozen:
        np.testing.assert_allclose(res.W, W, rtol=0, atol=1e-7)  # float32 storage only
        # the former network ran the frozen encoder's STDP code with a zero gate; the stack has none, so its
        # count of synaptic events lacks those post-spike deliveries (hidden spikes x input neurons)
        lost = int(old[f"{name}/synaptic_events"]) - res.synaptic_events
        assert lost > 0 and lost % cfg.n_in == 0
    else:
        assert np.abs(res.W - W).max() > 0.01
        assert res.synaptic_events == int(old[f"{name}/synaptic_events"])


def test_a_layer_pair_maps_to_a_stack_with_every_spiking_setting():
    from spiking_bpdl.stack.config import stack_from_layer_pair

    cfg, *_ = _case("per_sample_target_window")
    stack = stack_from_layer_pair(cfg)
    assert [layer.name for layer in stack.layers] == ["input", "hidden", "recon"] and stack.target == "input"
    assert stack.feedback_into(1).name == "Wfb" and stack.spiking_feedback == "encoder" == stack.feedback
    assert (stack.weight_updates, stack.trace_reset, stack.top_window, stack.cycles) == ("per_sample", "sample",
                                                                                           "target", 2)
    assert stack.projection("W").stdp == (0.01, cfg.A_minus("W"), cfg.tau_plus, cfg.tau_minus)
    assert stack.projection("V").eta == pytest.approx(cfg.eta_V, rel=1e-12)
    assert stack.layers[2].bias == tuple(float(b) for b in cfg.b_r)
    frozen = stack_from_layer_pair(_case("frozen_W_lr_half")[0])
    assert not frozen.projection("W").plastic and frozen.projection("V").plastic


def test_encoder_feedback_is_the_encoder_and_needs_an_auto_encoder_pair():
    from spiking_bpdl.errors import ConfigError
    from spiking_bpdl.stack import twin
    from spiking_bpdl.stack.config import load_stack, stack_from_layer_pair
    from spiking_bpdl.stack.engine import feedback_weights

    stack = stack_from_layer_pair(_case("online_contrastive")[0])
    rng = np.random.default_rng(0)
    weights = {"W": rng.normal(size=(49, 12)), "V": rng.normal(size=(12, 49)), "Wfb": np.zeros((49, 12))}
    assert twin.feedback_weights(stack, weights, 1) is weights["W"]
    np.testing.assert_array_equal(feedback_weights(stack, weights, weights)["Wfb"], weights["W"])
    classifier = load_stack(REPO / "networks" / "classifier_small.toml")
    for key, field in (("spiking.feedback", "spiking_feedback"), ("stack.feedback", "feedback")):
        with pytest.raises(ConfigError, match=rf"{key}: 'encoder' feedback .* needs an auto-encoder pair"):
            dataclasses.replace(classifier, **{field: "encoder"})
    for key, field in (("weight_updates", "weight_updates"), ("top_window", "top_window"),
                       ("trace_reset", "trace_reset")):
        with pytest.raises(ConfigError, match=rf"spiking.{key}: unknown value 'sometimes'"):
            dataclasses.replace(classifier, **{field: "sometimes"})
