"""scripts/twin_centring_variants.py: the twin's hidden update with the spiking scheme's centring."""

import json
from pathlib import Path

import numpy as np
import pytest

from script_loader import load_script
from spiking_bpdl.errors import ConfigError
from spiking_bpdl.stack import twin
from spiking_bpdl.stack.config import load_stack

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "twin_centring_variants.py"


@pytest.fixture(scope="module")
def module():
    return load_script(SCRIPT)


@pytest.mark.parametrize("name", ["classifier_small", "classifier_mnist"])
def test_the_input_centred_variant_is_the_twin_and_a_common_shift_leaks_only_through_the_layer_mean(module, name):
    """centre = input, no shift, no post: the twin's own updates (random and reciprocal feedback). A common rise
    of the hidden targets leaves the input-centred update unchanged (each input's deviations sum to 0 over the
    minibatch) and adds exactly eta (mean_i - m) * batch * shift to every weight of the layer-centred one;
    post-centring removes it from both."""
    cfg = load_stack(name)
    rng = np.random.default_rng(3)
    weights = twin.init_weights(cfg, rng, np.float64)
    x = rng.random((24, cfg.layers[0].size)) * (rng.random(cfg.layers[0].size) < 0.7)  # some inputs always off
    y = twin.targets_of(cfg, x, rng.integers(0, 10, 24), np.float64)
    want = twin.target_prop_updates(cfg, weights, x, y)[0]
    got = module.variant_updates(cfg, weights, x, y)[0]
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=0)
    shifted = module.variant_updates(cfg, weights, x, y, shift=1.0)[0]
    np.testing.assert_allclose(shifted["W1"], want["W1"], rtol=0, atol=1e-9 * np.abs(want["W1"]).max())
    layer0 = module.variant_updates(cfg, weights, x, y, centre="layer")[0]["W1"]
    layer1 = module.variant_updates(cfg, weights, x, y, centre="layer", shift=1.0)[0]["W1"]
    rates = cfg.layers[0].max_rate * x
    leak = cfg.forward(1).eta * len(x) * (rates.mean(axis=0) - rates.mean())[:, None] * np.ones((1, layer0.shape[1]))
    np.testing.assert_allclose(layer1 - layer0, leak, rtol=1e-9, atol=1e-12 * np.abs(leak).max())
    post0 = module.variant_updates(cfg, weights, x, y, centre="layer", post=True)[0]["W1"]
    post1 = module.variant_updates(cfg, weights, x, y, centre="layer", shift=1.0, post=True)[0]["W1"]
    np.testing.assert_allclose(post1, post0, rtol=0, atol=1e-9 * np.abs(post0).max())


def test_the_script_trains_the_variant_and_records_its_command(module, tmp_path):
    """A short run of the layer-centred variant on the embedded digits: the curve, the variant and the command in
    the JSON, and the twin's own update left in place (the variant reaches train() as its update_rule); one-line errors for a non-finite shift or a deep stack."""
    out = tmp_path / "v.json"
    argv = ["classifier_small", "--centre", "layer", "--shift", "1", "--set", "training.samples=400",
            "--set", "training.eval_every=200", "--set", "training.passes=1", "--out", str(out)]
    saved = twin.target_prop_updates
    assert module.main(argv) == 0
    assert twin.target_prop_updates is saved
    d = json.loads(out.read_text())
    assert d["centre"] == "layer" and d["shift_hz"] == 1.0 and d["post"] is False
    assert [c["samples"] for c in d["curve"]] == [0, 200, 400]
    assert all(0 <= c["val_accuracy"] <= 1 for c in d["curve"]) and d["val_accuracy"] == d["curve"][-1]["val_accuracy"]
    assert d["config"]["name"] == "classifier_small" and d["provenance"]["seed"] == 0
    assert d["provenance"]["command"].startswith("python scripts/twin_centring_variants.py classifier_small")
    with pytest.raises(ConfigError, match="--shift must be finite"):
        module.main(["classifier_small", "--shift", "nan", "--out", str(tmp_path / "bad.json")])
    with pytest.raises(ConfigError, match="one-hidden-layer"):
        module.main(["classifier_mnist_deep", "--out", str(tmp_path / "deep.json")])
    assert not (tmp_path / "bad.json").exists() and not (tmp_path / "deep.json").exists()
