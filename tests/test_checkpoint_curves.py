"""``scripts/checkpoint_curves.py``: the validation curves of unfinished runs, read from their checkpoints."""

import json
from pathlib import Path

import numpy as np
import pytest

from script_loader import load_script
from spiking_bpdl.checkpoint import save_checkpoint

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "checkpoint_curves.py"


@pytest.fixture(scope="module")
def script():
    return load_script(SCRIPT)


CONFIG = {"name": "tiny", "projections": [
    {"name": "W2", "pre": "hidden", "post": "output", "role": "forward"},
    {"name": "G2", "pre": "output", "post": "hidden", "role": "feedback"}]}


def _checkpoint(path, samples, curve):
    meta = {"backend": "spiking", "samples_done": samples, "seed": 3, "train_s": 1.5, "curve": curve,
            "config": CONFIG}
    w2 = np.arange(6.0).reshape(2, 3)
    save_checkpoint(path, {"w_W2": w2, "w_G2": -w2.T}, meta)


def test_curves_of_several_checkpoints_with_their_digests(script, tmp_path, capsys):
    a, b = tmp_path / "checkpoint_spiking.npz", tmp_path / "checkpoint_spiking_frozen-W1.npz"
    _checkpoint(a, 300, [{"samples": 0, "val_accuracy": 0.1, "val_accuracy_spiking_readout": 0.09},
                         {"samples": 200, "val_accuracy": 0.5, "val_accuracy_spiking_readout": 0.4}])
    _checkpoint(b, 200, [{"samples": 0, "val_accuracy": 0.1, "val_accuracy_spiking_readout": 0.09}])
    out = tmp_path / "curves.json"
    assert script.main([str(a), str(b), "--out", str(out)]) == 0
    d = json.loads(out.read_text())
    assert [r["run"] for r in d["runs"]] == ["spiking", "spiking_frozen-W1"]
    assert d["runs"][0]["samples_done"] == 300 and d["runs"][0]["curve"][-1]["val_accuracy"] == 0.5
    assert d["runs"][1]["seed"] == 3 and d["runs"][1]["config"] == CONFIG
    # the weights' scale, and the feedback's alignment with the forward projection it mirrors (here -W2^T)
    stats = d["runs"][0]["weights"]
    assert stats["W2"]["max_abs"] == 5.0 and stats["G2"]["std"] == pytest.approx(np.std(np.arange(6.0)))
    assert stats["G2"]["cos_with_W2_T"] == pytest.approx(-1.0) and "cos_with_G2_T" not in stats["W2"]
    assert all(len(r["sha256"]) == 64 for r in d["runs"])
    assert d["provenance"]["command"].startswith("python scripts/checkpoint_curves.py")
    assert "spiking: 300 samples done; validation at 200" in capsys.readouterr().out


def test_a_tampered_or_missing_checkpoint_is_one_line_and_writes_nothing(script, tmp_path, capsys):
    a = tmp_path / "checkpoint_spiking.npz"
    _checkpoint(a, 100, [{"samples": 0, "val_accuracy": 0.1}])
    raw = bytearray(a.read_bytes())
    raw[-40] ^= 0xFF  # flip a byte in the archive
    a.write_bytes(bytes(raw))
    out = tmp_path / "curves.json"
    assert script.main([str(a), "--out", str(out)]) == 2
    assert script.main([str(tmp_path / "none.npz"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: checkpoint") for line in err)
    assert not out.exists()
