"""scripts/readout_variants.py: the spiking read-out of given weights, again under changed settings."""

import json
from pathlib import Path

import numpy as np
import pytest

from script_loader import load_script
from spiking_bpdl.errors import ConfigError
from spiking_bpdl.stack import twin
from spiking_bpdl.stack.config import load_stack
from spiking_bpdl.stack.train import load_splits

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "readout_variants.py"


@pytest.fixture(scope="module")
def module():
    return load_script(SCRIPT)


def test_the_reference_is_the_engines_read_out_and_a_variant_is_compared_digit_by_digit(module, tmp_path):
    cfg = load_stack("classifier_small")
    weights = twin.init_weights(cfg, np.random.default_rng(5), np.float64)
    weights["W2"] *= 20  # an output that fires, so the read-out is not all ties
    path = tmp_path / "weights_spiking.npz"
    np.savez(path, **weights)
    out = tmp_path / "r.json"
    assert module.main(["classifier_small", str(path), "--samples", "100", "--variant", "stack.feedback_gain=0",
                        "--out", str(out)]) == 0
    d = json.loads(out.read_text())
    ref, cut = d["readouts"]
    assert ref["variant"] == [] and cut["variant"] == ["stack.feedback_gain=0"]
    assert ref["minus_reference"] == 0 and ref["minus_reference_se"] == 0
    assert cut["minus_reference"] == pytest.approx(cut["accuracy"] - ref["accuracy"], abs=1e-12)
    data = load_splits(cfg, test=False)
    x, labels = data["x_val"][:100], data["l_val"][:100]
    rate = np.mean(twin.predict(cfg, weights, x) == labels)
    assert d["rate_pass_accuracy"] == rate
    assert ref["rate_pass_minus_this"] == pytest.approx(rate - ref["accuracy"], abs=1e-12)
    assert 0 <= ref["tied_share"] <= 1 and ref["mean_top_count"] > 0
    assert ref["readout_window_s"] == pytest.approx(cfg.free_phase + cfg.target_phase - cfg.plasticity_onset)
    assert d["provenance"]["command"].startswith("python scripts/readout_variants.py classifier_small")


def test_bad_arguments_are_one_line_errors_and_write_nothing(module, tmp_path):
    cfg = load_stack("classifier_small")
    path = tmp_path / "w.npz"
    np.savez(path, **twin.init_weights(cfg, np.random.default_rng(0), np.float64))
    out = tmp_path / "r.json"
    with pytest.raises(ConfigError, match="multiple of the block"):
        module.main(["classifier_small", str(path), "--samples", "150", "--out", str(out)])
    with pytest.raises(ConfigError, match="no such weights file"):
        module.main(["classifier_small", str(tmp_path / "none.npz"), "--out", str(out)])
    with pytest.raises(ConfigError, match="feedback_gain"):
        module.main(["classifier_small", str(path), "--variant", "stack.feedback_gain=-1", "--out", str(out)])
    assert not out.exists()
