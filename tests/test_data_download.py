"""The downloader: mirrors tried in turn, SHA-256 checked, atomic, a user's file never overwritten.

Mirrors are ``file://`` folders, so the tests need no network.
"""

import gzip
import hashlib
import struct

import numpy as np
import pytest

from spiking_bpdl import data
from spiking_bpdl.errors import DataError

N = 3


def _idx(array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A mirror folder holding a tiny 'mnist' and a registry entry pointing at a dead mirror first."""
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte.gz": _idx(rng.integers(0, 256, (N, 28, 28))),
        "train-labels-idx1-ubyte.gz": _idx(np.arange(N)),
        "t10k-images-idx3-ubyte.gz": _idx(rng.integers(0, 256, (N, 28, 28))),
        "t10k-labels-idx1-ubyte.gz": _idx(np.arange(N)),
    }
    folder = tmp_path / "mirror"
    folder.mkdir()
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    entry = {"sha256": {name: hashlib.sha256(blob).hexdigest() for name, blob in files.items()},
             "mirrors": [(tmp_path / "dead").as_uri() + "/", folder.as_uri() + "/"]}
    monkeypatch.setitem(data.DATASETS, "mnist", entry)
    return folder


def test_download_falls_back_to_the_next_mirror_and_verifies(tmp_path, mirror):
    root = tmp_path / "data"
    ds = data.load_dataset("mnist", "train", data_dir_=root, source="full")
    assert ds.source == "full" and ds.images.shape == (N, 784) and list(ds.labels) == [0, 1, 2]
    assert sorted(p.name for p in (root / "mnist").iterdir()) == ["train-images-idx3-ubyte.gz",
                                                                   "train-labels-idx1-ubyte.gz"]
    assert (root / "mnist" / "train-images-idx3-ubyte.gz").read_bytes() == \
        (mirror / "train-images-idx3-ubyte.gz").read_bytes()


def test_a_download_with_the_wrong_checksum_leaves_nothing(tmp_path, mirror):
    (mirror / "train-images-idx3-ubyte.gz").write_bytes(b"not the canonical file")
    root = tmp_path / "data"
    with pytest.raises(DataError, match="could not be downloaded"):
        data.load_dataset("mnist", "train", data_dir_=root, source="full")
    assert not (root / "mnist").exists()  # no partial file, no empty folder


def test_a_local_file_with_the_wrong_checksum_is_named_and_kept(tmp_path, mirror):
    own = tmp_path / "data" / "mnist" / "train-images-idx3-ubyte.gz"
    own.parent.mkdir(parents=True)
    own.write_bytes(b"my own copy")
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        data.load_dataset("mnist", "train", data_dir_=tmp_path / "data", source="full")
    assert own.read_bytes() == b"my own copy"


def test_no_download_when_not_allowed(tmp_path, mirror):
    with pytest.raises(DataError, match="not found in"):
        data.load_dataset("mnist", "test", data_dir_=tmp_path / "data", source="full", download=False)
    assert not (tmp_path / "data").exists()
