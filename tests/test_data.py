import gzip
import struct

import numpy as np
import pytest

from spiking_bpdl import data
from spiking_bpdl.errors import DataError
from conftest import full_data_available


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_read_idx_roundtrip(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "x.gz", arr)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "x.gz"), arr)


def test_read_idx_truncated(tmp_path):
    p = tmp_path / "bad.gz"
    with gzip.open(p, "wb") as f:
        f.write(struct.pack(">HBB", 0, 8, 1) + struct.pack(">I", 10) + b"\x00" * 3)
    with pytest.raises(DataError, match="truncated"):
        data.read_idx(p)


def test_embedded_subset_is_real_mnist_prefix():
    emb = data.load_embedded("mnist", "train")
    assert emb.images.shape == (2000, 784) and emb.images.dtype == np.float32
    assert 0.0 <= emb.images.min() and emb.images.max() <= 1.0
    # the first MNIST training labels are the well-known 5 0 4 1 9 2 1 3 1 4
    np.testing.assert_array_equal(emb.labels[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    assert len(data.load_embedded("fashion-mnist", "test")) == 500
    assert data.EMBEDDED_PATH.stat().st_size < 2_000_000


@pytest.mark.slow
@pytest.mark.skipif(not full_data_available(), reason="full MNIST IDX files not present in the data dir")
def test_full_mnist_checksums_and_counts():
    train = data.load_dataset("mnist", "train", source="full", download=False)
    test = data.load_dataset("mnist", "test", source="full", download=False)
    assert train.images.shape == (60000, 784) and test.images.shape == (10000, 784)
    assert np.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    emb = data.load_embedded("mnist", "test")
    np.testing.assert_array_equal(emb.images, test.images[:500])


def test_missing_files_give_clear_error(tmp_path):
    with pytest.raises(DataError, match="not found in .*put the canonical IDX"):
        data.load_dataset("mnist", "train", data_dir_=tmp_path, source="full", download=False)


def test_checksum_mismatch_detected(tmp_path):
    (tmp_path / "mnist").mkdir()
    _write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.zeros(3))
    _write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 28)))
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        data.load_dataset("mnist", "test", data_dir_=tmp_path, source="full", download=False)


def test_auto_falls_back_to_embedded(tmp_path):
    ds = data.load_dataset("mnist", "test", data_dir_=tmp_path, source="auto")
    assert ds.source == "embedded" and len(ds) == 500


def test_env_var_sets_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SPIKING_BPDL_DATA", str(tmp_path))
    assert data.data_dir() == tmp_path


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown dataset"):
        data.load_dataset("cifar")
