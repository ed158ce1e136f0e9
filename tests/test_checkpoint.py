import numpy as np
import pytest

from spiking_bpdl.checkpoint import load_checkpoint, save_checkpoint
from spiking_bpdl.errors import CheckpointError


def test_roundtrip(tmp_path):
    p = tmp_path / "c.npz"
    save_checkpoint(p, {"w": np.arange(6.0).reshape(2, 3)}, {"epoch": 3, "config": {"lr": 0.1}})
    arrays, meta = load_checkpoint(p, expect_meta={"config": {"lr": 0.1}})
    np.testing.assert_array_equal(arrays["w"], np.arange(6.0).reshape(2, 3))
    assert meta["epoch"] == 3


def test_truncated_checkpoint_detected_and_not_overwritten(tmp_path):
    p = tmp_path / "c.npz"
    save_checkpoint(p, {"w": np.ones(1000)}, {"epoch": 1})
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(p)
    assert p.read_bytes() == raw[: len(raw) // 2]


def test_tampered_values_detected(tmp_path):
    p = tmp_path / "c.npz"
    save_checkpoint(p, {"w": np.ones(4)}, {"epoch": 1})
    with np.load(p) as z:
        d = {k: z[k] for k in z.files}
    d["w"] = d["w"] * 2
    np.savez(p, **d)
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(p)


def test_config_mismatch(tmp_path):
    p = tmp_path / "c.npz"
    save_checkpoint(p, {"w": np.ones(2)}, {"config": {"lr": 0.1}})
    with pytest.raises(CheckpointError, match="lr"):
        load_checkpoint(p, expect_meta={"config": {"lr": 0.2}})


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.npz")
