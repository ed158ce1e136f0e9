"""The code-generation target is a setting: same deterministic network, same spikes."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spiking_bpdl.codegen import cache_dir, check_target, compiler_available, configure_target
from spiking_bpdl.errors import ConfigError

HERE = Path(__file__).parent


def _spikes(target, tmp_path):
    out = tmp_path / f"{target}.npz"
    args = [sys.executable, str(HERE / "codegen_net.py"), target, str(out)]
    if target == "cpp_standalone":
        args.append(str(tmp_path / "standalone"))
    subprocess.run(args, check=True, cwd=HERE, env=os.environ.copy(), capture_output=True)
    with np.load(out) as z:
        return z["i"], z["t"]


@pytest.mark.slow
def test_numpy_and_cython_give_identical_spike_trains(tmp_path):
    i_np, t_np = _spikes("numpy", tmp_path)
    i_cy, t_cy = _spikes("cython", tmp_path)
    assert len(i_np) > 20  # the network is active, so the comparison means something
    np.testing.assert_array_equal(i_np, i_cy)
    np.testing.assert_array_equal(t_np, t_cy)


@pytest.mark.standalone
@pytest.mark.slow
@pytest.mark.skipif(not compiler_available(), reason="cpp_standalone needs a C++ compiler")
def test_cpp_standalone_gives_identical_spike_trains(tmp_path):
    i_np, t_np = _spikes("numpy", tmp_path)
    i_sa, t_sa = _spikes("cpp_standalone", tmp_path)
    np.testing.assert_array_equal(i_np, i_sa)
    np.testing.assert_allclose(t_np, t_sa, atol=1e-9)


def test_cython_cache_is_the_project_cache(monkeypatch, tmp_path):
    import brian2 as b2

    monkeypatch.setenv("SPIKING_BPDL_CACHE", str(tmp_path))
    configure_target("cython")
    assert Path(b2.prefs.codegen.runtime.cython.cache_dir).parent == tmp_path
    assert cache_dir() == tmp_path
    configure_target("numpy")
    assert b2.prefs.codegen.target == "numpy"


def test_unknown_target():
    with pytest.raises(ConfigError, match="unknown target 'gpu'"):
        check_target("gpu")
