"""The frozen-encoder ablation of the layer pair, and the receptive-field structure measures.

``--freeze W`` keeps the encoder at its initial weights on every backend (the ablation against which
the encoder's learning is judged, docs/layer_pairs.md); the structure numbers of
``experiments/receptive_fields.py`` must separate features from noise and from a common drift.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from spiking_bpdl.cli import main
from spiking_bpdl.codegen import compiler_available
from spiking_bpdl.errors import ConfigError
from spiking_bpdl.experiments import receptive_fields as rf
from spiking_bpdl.rate.lif_layer_pair import load_layer_pair
from spiking_bpdl.spiking.engine import train_layer_pair

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "networks" / "layer_pair_small.toml"


def _small(**kw):
    return dataclasses.replace(load_layer_pair(SMALL), source="embedded", **kw)


def test_freezing_an_unknown_projection_is_a_config_error():
    with pytest.raises(ConfigError, match="W1"):
        _small(frozen=("W1",))
    assert _small(frozen=("W", "W")).frozen == ("W",)


@pytest.mark.parametrize("backend", ["rate", "backprop"])
def test_frozen_encoder_stays_at_its_initial_weights_rate_backends(backend):
    learn = train_layer_pair(_small(), backend, samples=200, seed=3, progress=False)
    frozen = train_layer_pair(_small(frozen=("W",)), backend, samples=200, seed=3, progress=False)
    np.testing.assert_array_equal(frozen["weights"]["W"], frozen["initial_weights"]["W"])
    np.testing.assert_array_equal(frozen["initial_weights"]["W"], learn["initial_weights"]["W"])
    # control: the same run with W learning moves W, and V learns in both
    assert np.abs(learn["weights"]["W"] - learn["initial_weights"]["W"]).max() > 1e-6
    assert np.abs(frozen["weights"]["V"] - frozen["initial_weights"]["V"]).max() > 1e-3
    assert (frozen["run"], frozen["frozen"], learn["run"]) == (f"{backend}_frozen-W", ["W"], backend)


@pytest.mark.slow
@pytest.mark.skipif(not compiler_available(), reason="needs a C++ compiler")
def test_frozen_encoder_stays_at_its_initial_weights_spiking():
    kw = dict(samples=40, seed=2, progress=False, target="cython", score_test=False)
    cfg = _small(block=20, readout_samples=20)
    learn = train_layer_pair(cfg, "spiking", **kw)
    frozen = train_layer_pair(dataclasses.replace(cfg, frozen=("W",)), "spiking", **kw)
    np.testing.assert_array_equal(frozen["weights"]["W"], frozen["initial_weights"]["W"])
    assert np.abs(learn["weights"]["W"] - learn["initial_weights"]["W"]).max() > 1e-7
    assert np.abs(frozen["weights"]["V"] - frozen["initial_weights"]["V"]).max() > 1e-4


def test_cli_freeze_writes_the_ablation_beside_the_run(tmp_path):
    out = tmp_path / "out"
    args = ["--backend", "rate", "--samples", "200", "--out", str(out), "--no-progress"]
    assert main(["train", str(SMALL)] + args) == 0
    assert main(["train", str(SMALL), "--freeze", "W"] + args) == 0
    learn = json.loads((out / "train_rate.json").read_text())
    frozen = json.loads((out / "train_rate_frozen-W.json").read_text())
    assert frozen["frozen"] == ["W"] and frozen["config"]["frozen"] == ["W"] and learn["frozen"] == []
    assert frozen["receptive_fields"]["change_norm_ratio"] == 0.0
    assert learn["receptive_fields"]["change_norm_ratio"] > 0
    for name in ("weights_rate_frozen-W.npz", "receptive_fields_rate_frozen-W.png", "checkpoint_rate_frozen-W.npz",
                 "learning_curves.png"):
        assert (out / name).exists(), name
    # a checkpoint of the ablation never resumes the learning run (its configuration differs)
    assert main(["train", str(SMALL), "--resume"] + args) == 0


# ---------------------------------------------------------------------- structure measures
SIDE, N = 28, 64
PAIRS = 2 * SIDE * (SIDE - 1) * N  # adjacent pixel pairs pooled by neighbour_correlation


def _blobs(rng, n=N):
    """Smooth fields: one Gaussian blob per neuron at a random place."""
    yy, xx = np.mgrid[:SIDE, :SIDE]
    c = rng.uniform(6, 22, (n, 2))
    return np.stack([np.exp(-((yy - a) ** 2 + (xx - b) ** 2) / 18.0).ravel() for a, b in c], axis=1)


def test_neighbour_correlation_separates_features_from_independent_noise():
    rng = np.random.default_rng(0)
    envelope = _blobs(rng, 1)[:, 0]  # noise whose spread follows a digit-like envelope, as pairing noise does
    noise = rng.normal(size=(SIDE * SIDE, N)) * envelope[:, None]
    # independent values: 0 within 4 standard errors, whatever their spatial envelope
    assert abs(rf.neighbour_correlation(noise)) < 4 / np.sqrt(PAIRS / 4)
    blobs = _blobs(rng)
    assert rf.neighbour_correlation(blobs) > 0.9
    assert abs(rf.shuffled_control(blobs)) < 4 / np.sqrt(PAIRS / 4)  # the chance level of the same values


def test_common_fraction_tells_a_common_drift_from_distinct_features():
    rng = np.random.default_rng(1)
    shape = _blobs(rng, 1)
    drift = shape @ rng.uniform(0.5, 1.5, (1, N))  # one field, every neuron
    assert rf.common_fraction(drift) > 0.9
    assert rf.common_fraction(rng.normal(size=drift.shape)) < 3 / N  # independent fields: about 1/N
    features = _blobs(rng) - _blobs(rng)  # distinct fields (overlapping blobs share a little)
    assert rf.common_fraction(features) < 0.3
    s = rf.structure_summary(drift + features, np.zeros_like(drift))
    assert s["specific_neighbour_correlation"] > 0.9  # what differs between neurons is structured
    s = rf.structure_summary(drift + 0.05 * rng.normal(size=drift.shape), np.zeros_like(drift))
    assert s["neighbour_correlation"] > 0.5 and abs(s["specific_neighbour_correlation"]) < 0.1  # drift + noise
