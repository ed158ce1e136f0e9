"""Test configuration: real data from ../shared/data when present, a project Cython cache."""

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

if "SPIKING_BPDL_DATA" not in os.environ and SHARED_DATA.exists():
    os.environ["SPIKING_BPDL_DATA"] = str(SHARED_DATA)
os.environ.setdefault("SPIKING_BPDL_CACHE", str(REPO / ".cache"))


def full_data_available(name="mnist"):
    """True when the full IDX files of ``name`` are in the configured data dir."""
    from spiking_bpdl.data import data_dir

    return (data_dir() / name / "train-images-idx3-ubyte.gz").exists()


@pytest.fixture
def repo():
    return REPO
