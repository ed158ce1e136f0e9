"""The STDP commands: JSON keys, figures, and bad input (one line on stderr, exit 2, nothing written)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from spiking_bpdl import cli


@pytest.mark.slow
def test_stdp_window_pair_json(tmp_path, capsys):
    out = tmp_path / "out"
    js = tmp_path / "w.json"
    rc = cli.main(["stdp-window", "--rule", "pair", "--json", str(js), "--out", str(out),
                   "--target", "numpy", "--dt-step", "5", "--tau-plus", "20", "--a-minus", "0.012"])
    assert rc == 0
    data = json.loads(js.read_text())
    for key in ("rule", "A_plus", "A_minus", "tau_plus_ms", "tau_minus_ms", "points"):
        assert key in data
    assert data["rule"] == "pair" and data["A_minus"] == 0.012 and data["tau_plus_ms"] == 20
    dt = np.array([p["dt_ms"] for p in data["points"]])
    dw = np.array([p["dw"] for p in data["points"]])
    assert np.all(np.diff(dt) > 0) and dt[0] == -100 and dt[-1] == 100 and len(dt) == 41
    expected = np.where(dt >= 0, 0.01 * np.exp(-dt / 20), -0.012 * np.exp(dt / 33.7))
    np.testing.assert_allclose(dw, expected, rtol=1e-6)
    assert (out / "stdp_window_pair.png").stat().st_size > 1000


@pytest.mark.parametrize("argv", [
    ["--tau-plus", "-5"],
    ["--tau-minus", "0"],
    ["--rule", "hebbian"],
    ["--target", "gpu"],
    ["--a-plus", "nan-ish"],
    ["--rule", "voltage-derivative", "--slope-min", "0.1", "--slope-max", "0.05"],
])
def test_stdp_window_bad_input(tmp_path, capsys, argv):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc_info:
        rc = cli.main(["stdp-window", "--out", str(out), "--json", str(tmp_path / "x.json")] + argv)
        raise SystemExit(rc)
    assert exc_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err
    assert "Traceback" not in err
    assert not out.exists() and not (tmp_path / "x.json").exists()


def test_stdp_window_bad_input_subprocess(tmp_path):
    """The real console path: exit status 2, one line, nothing written."""
    proc = subprocess.run([sys.executable, "-m", "spiking_bpdl.cli", "stdp-window", "--tau-plus", "-5",
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "--tau-plus" in proc.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv", [
    ["stdp-match", "--trials", "0"],
    ["stdp-match", "--gradient-trials", "1"],
    ["stdp-match", "--rule", "triplet"],
    ["stdp-match", "--window", "-250"],
    ["song-abbott", "--network", "no_such_network"],
    ["song-abbott", "--duration", "-1"],
])
def test_match_and_song_bad_input(tmp_path, capsys, argv):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc_info:
        raise SystemExit(cli.main(argv + ["--out", str(out)]))
    assert exc_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err
    assert not out.exists()


def test_song_abbott_malformed_network(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[network]\nname = "x"\n[populations.inputs]\nkind = "poisson"\nsize = 10\nrate = "10 ms"\n')
    out = tmp_path / "out"
    assert cli.main(["song-abbott", "--network", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "rate" in err
    assert not out.exists()


@pytest.mark.slow
def test_stdp_match_small_run_writes_keys(tmp_path):
    js = tmp_path / "m.json"
    rc = cli.main(["stdp-match", "--trials", "6", "--gradient-trials", "6", "--n-pre", "4", "--n-post", "4",
                   "--window", "150", "--target", "numpy", "--json", str(js), "--out", str(tmp_path)])
    assert rc == 0
    data = json.loads(js.read_text())
    for key in ("kernel_rate", "analytic", "correlation_term", "n_trials", "n_synapses", "cosine_gradient",
                "wall_s", "target"):
        assert key in data
    for key in ("pearson_r", "slope", "slope_ci95"):
        assert key in data["kernel_rate"] and key in data["analytic"]
    assert data["n_trials"] == 6 and data["n_synapses"] == 16 and data["target"] == "numpy"
    assert len(data["kernel_rate"]["slope_ci95"]) == 2
    assert (tmp_path / "stdp_match.npz").exists() and (tmp_path / "stdp_match_kernel_rate.png").exists()
    # part C is the wired layer, with its interval and both controls
    assert data["gradient_wired"] is True and data["gradient_trials"] == 6
    lo, hi = data["cosine_gradient_ci95"]
    assert -1 <= lo <= hi <= 1 and -1 <= data["cosine_gradient"] <= 1
    assert set(data["cosine_gradient_control"]) == {"shuffled_targets", "no_nudge"}
    assert set(data["comparisons"]) == {"kernel_rate", "analytic"}
    assert {"r_bound", "passes", "slope_ci95"} <= set(data["analytic"]["check"])
