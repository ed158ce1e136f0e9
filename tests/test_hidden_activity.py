"""scripts/hidden_activity.py: how many hidden neurons a stack's weights leave firing."""

import json
from pathlib import Path

import numpy as np
import pytest

from script_loader import load_script
from spiking_bpdl.errors import ConfigError

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "hidden_activity.py"


@pytest.mark.slow
def test_the_activity_script_sees_a_silenced_hidden_layer(tmp_path):
    """classifier_small, 20 digits: the initial weights leave most hidden neurons firing in both measurements;
    a W1 made all-inhibitory (given as an engine checkpoint, w_<name> keys) silences every one of them in the
    Brian2 network and in the rate pass. The JSON records each file's SHA-256, the change ratio and the command;
    a missing file and a file of another shape are one-line errors."""
    module = load_script(SCRIPT)
    cfg = module.load_stack("classifier_small")
    init = module.twin.init_weights(cfg, np.random.default_rng(cfg.seed), np.float64)
    silenced = dict(init, W1=-5 * np.abs(init["W1"]))
    np.savez(tmp_path / "checkpoint_spiking.npz", **{f"w_{k}": v for k, v in silenced.items()})
    np.savez(tmp_path / "weights_rate.npz", **init)
    out = tmp_path / "a.json"
    argv = ["classifier_small", str(tmp_path / "checkpoint_spiking.npz"), str(tmp_path / "weights_rate.npz"),
            "--samples", "20", "--target", "numpy", "--out", str(out)]
    assert module.main(argv) == 0
    d = json.loads(out.read_text())
    first, quiet, same = d["runs"]
    assert first["weights"] == "initial" and first["sha256"] is None and first["change_ratio"] == 0
    for way in ("spiking", "rate_pass"):
        assert first[way]["silent_share"] < 0.5 and first[way]["mean_hz"] > 1
        assert quiet[way]["silent_share"] == 1.0 and quiet[way]["mean_hz"] < 1
    assert same["change_ratio"] == 0 and same["rate_pass"] == first["rate_pass"]
    assert quiet["change_ratio"] > 1 and len(quiet["sha256"]) == 64
    assert d["samples"] == 20 and d["config"]["name"] == "classifier_small"
    assert d["provenance"]["command"].startswith("python scripts/hidden_activity.py classifier_small")
    with pytest.raises(ConfigError, match="no such weights file"):
        module.main(["classifier_small", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "m.json")])
    np.savez(tmp_path / "bad.npz", **dict(init, W1=init["W1"][:5]))
    with pytest.raises(ConfigError, match="projection W1 of classifier_small needs shape"):
        module.main(["classifier_small", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "b.json")])
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "b.json").exists()
