"""MNIST and Fashion-MNIST from standard IDX gz files, checksum-verified.

Where the files are looked for, in order: the ``data_dir`` argument (``--data-dir``),
the environment variable ``SPIKING_BPDL_DATA``, then ``~/.cache/spiking_bpdl/data``.
Inside it each dataset has its own folder, as the canonical distributions ship them::

    <data_dir>/mnist/train-images-idx3-ubyte.gz
    <data_dir>/fashion-mnist/t10k-labels-idx1-ubyte.gz  ...

Missing files are downloaded from the canonical mirrors when the network allows it,
verified with SHA-256 and moved into place atomically. The package also embeds a small
real subset (the first 2,000 training and 500 test images of each dataset), so the main
job runs offline: ``load_dataset(..., source="embedded")``.
"""

import gzip
import hashlib
import os
import struct
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._io import atomic_path
from .errors import DataError

__all__ = [
    "DATASETS",
    "Dataset",
    "data_dir",
    "load_dataset",
    "load_embedded",
    "read_idx",
    "sha256_file",
    "EMBEDDED_PATH",
]

_FILES = {
    ("train", "images"): "train-images-idx3-ubyte.gz",
    ("train", "labels"): "train-labels-idx1-ubyte.gz",
    ("test", "images"): "t10k-images-idx3-ubyte.gz",
    ("test", "labels"): "t10k-labels-idx1-ubyte.gz",
}

#: SHA-256 of each canonical file, and the mirrors tried in order.
DATASETS = {
    "mnist": {
        "sha256": {
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
    },
    "fashion-mnist": {
        "sha256": {
            "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
            "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
            "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
            "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        },
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
    },
}

EMBEDDED_PATH = Path(__file__).parent / "_data" / "embedded_subset.npz"
_ALIASES = {"fashion": "fashion-mnist", "fashion_mnist": "fashion-mnist", "fmnist": "fashion-mnist"}


@dataclass(frozen=True)
class Dataset:
    """Images as float32 rows in [0, 1] (``(n, 784)``) and integer labels (``(n,)``)."""

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    source: str

    def __len__(self):
        return len(self.labels)


def _canonical(name):
    key = _ALIASES.get(name, name)
    if key not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return key


def _check_split(split):
    if split not in ("train", "test"):
        raise DataError(f"unknown split {split!r}; choose 'train' or 'test'")


def data_dir(path=None):
    """Resolve the data directory: argument, else ``$SPIKING_BPDL_DATA``, else the user cache."""
    if path is None:
        path = os.environ.get("SPIKING_BPDL_DATA") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "spiking_bpdl", "data"
        )
    return Path(path).expanduser()


def sha256_file(path):
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_idx(path):
    """Read a (gzip-compressed or plain) IDX file into a numpy array.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    numpy.ndarray
        uint8 array with the shape stored in the header.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
        zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype_code != 0x08:
            raise DataError(f"{path}: not an unsigned-byte IDX file")
        shape = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
        data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        if data.size != int(np.prod(shape)):
            raise DataError(f"{path}: truncated IDX file ({data.size} of {int(np.prod(shape))} values)")
        return data.reshape(shape)
    except (OSError, EOFError, struct.error) as exc:
        raise DataError(f"{path}: cannot read IDX file ({exc})") from None


def _download(url, dest, sha256):
    with atomic_path(dest, suffix=".part") as tmp:
        with urllib.request.urlopen(url, timeout=30) as resp, open(tmp, "wb") as out:
            while block := resp.read(1 << 20):
                out.write(block)
        if sha256_file(tmp) != sha256:
            raise DataError(f"{url}: downloaded file has the wrong SHA-256")


def _ensure_file(name, filename, root, download):
    path = root / name / filename
    expected = DATASETS[name]["sha256"][filename]
    if path.exists():
        if sha256_file(path) != expected:
            raise DataError(f"{path}: SHA-256 mismatch (corrupt or not the canonical file); delete it or replace it")
        return path
    if download:
        created = not path.parent.exists()
        for mirror in DATASETS[name]["mirrors"]:
            try:
                _download(mirror + filename, path, expected)
                return path
            except (OSError, DataError):
                continue
        if created and not any(path.parent.iterdir()):
            path.parent.rmdir()  # a failed download leaves nothing behind, not even the folder
    raise DataError(
        f"{name} file {filename} not found in {root / name} and it could not be downloaded; "
        f"put the canonical IDX .gz files there, or pass --data-dir / set SPIKING_BPDL_DATA"
    )


def load_embedded(name="mnist", split="train"):
    """Load the small real subset shipped inside the package (no file access beyond it).

    Parameters
    ----------
    name : {'mnist', 'fashion-mnist'}
    split : {'train', 'test'}

    Returns
    -------
    Dataset
    """
    name = _canonical(name)
    _check_split(split)
    if not EMBEDDED_PATH.exists():
        raise DataError(f"embedded subset missing at {EMBEDDED_PATH}; rebuild it with scripts/build_embedded_subset.py")
    key = name.replace("-", "_")
    with np.load(EMBEDDED_PATH) as z:
        images = z[f"{key}_{split}_images"]
        labels = z[f"{key}_{split}_labels"]
    return Dataset(name, split, (images.reshape(len(images), -1) / np.float32(255)).astype(np.float32),
                   labels.astype(np.int64), "embedded")


def load_dataset(name="mnist", split="train", data_dir_=None, source="auto", download=True, limit=None):
    """Load MNIST or Fashion-MNIST.

    Parameters
    ----------
    name : {'mnist', 'fashion-mnist'}
    split : {'train', 'test'}
    data_dir_ : str or Path, optional
        Folder holding ``<name>/*.gz``; see :func:`data_dir` for the default.
    source : {'auto', 'full', 'embedded'}
        ``full`` needs the IDX files (downloading them if allowed), ``embedded`` uses the
        packaged subset, ``auto`` uses the full files when present locally and the
        embedded subset otherwise (never downloads).
    download : bool
        Allow downloading missing files (``source='full'`` only).
    limit : int, optional
        Keep only the first ``limit`` images.

    Returns
    -------
    Dataset
    """
    name = _canonical(name)
    _check_split(split)
    if source not in ("auto", "full", "embedded"):
        raise DataError(f"unknown data source {source!r}; choose auto, full or embedded")
    root = data_dir(data_dir_)
    if source == "auto":
        present = all((root / name / _FILES[(split, kind)]).exists() for kind in ("images", "labels"))
        source = "full" if present else "embedded"
    if source == "embedded":
        ds = load_embedded(name, split)
    else:
        images = read_idx(_ensure_file(name, _FILES[(split, "images")], root, download))
        labels = read_idx(_ensure_file(name, _FILES[(split, "labels")], root, download))
        if images.shape[0] != labels.shape[0]:
            raise DataError(f"{name} {split}: {images.shape[0]} images but {labels.shape[0]} labels")
        ds = Dataset(name, split, (images.reshape(len(images), -1) / np.float32(255)).astype(np.float32),
                     labels.astype(np.int64), "full")
    if limit is not None:
        if limit <= 0:
            raise DataError(f"limit must be positive, got {limit}")
        ds = Dataset(ds.name, ds.split, ds.images[:limit], ds.labels[:limit], ds.source)
    return ds
