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
# pytest-xdist (the README's test command runs ``-n auto``): Brian2's Cython cache is one per project
# and per process that compiles in parallel, so every worker gets its own below the project's; the
# cpp_standalone projects are temporary directories already. Subprocesses and notebook kernels inherit it.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["SPIKING_BPDL_CACHE"] = os.path.join(os.environ["SPIKING_BPDL_CACHE"],
                                                    "xdist-" + os.environ["PYTEST_XDIST_WORKER"])


def full_data_available(name="mnist"):
    """True when the full IDX files of ``name`` are in the configured data dir."""
    from spiking_bpdl.data import data_dir

    return (data_dir() / name / "train-images-idx3-ubyte.gz").exists()


@pytest.fixture
def repo():
    return REPO
