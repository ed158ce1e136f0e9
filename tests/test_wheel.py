"""Packaging: the wheel carries the network definitions, and commands find them by name.

The slow test builds the wheel, installs it into a fresh virtual environment outside the
repository (its dependencies come from this interpreter's site-packages through a ``.pth``
file, so nothing is downloaded for them) and runs the main job by name from another folder.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

from spiking_bpdl.cli import main
from spiking_bpdl.errors import ConfigError
from spiking_bpdl.spec import definition_names, resolve_definition

REPO = Path(__file__).resolve().parents[1]
NETWORKS = sorted(p.stem for p in (REPO / "networks").glob("*.toml"))
SWEEPS = sorted(p.stem for p in (REPO / "networks" / "sweeps").glob("*.toml"))


def test_explicit_package_list_names_every_package():
    # package-dir maps spiking_bpdl.networks onto networks/, which packages.find cannot do,
    # so pyproject lists the packages; a package added later must not go missing from the wheel
    from setuptools import find_packages

    listed = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = find_packages(str(REPO), include=["spiking_bpdl", "spiking_bpdl.*"])
    assert sorted(listed) == sorted([*found, "spiking_bpdl.networks"])


def test_names_resolve_to_the_shipped_definitions(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no networks/ folder here
    assert definition_names() == NETWORKS and definition_names("sweep") == SWEEPS
    for text in ("layer_pair_small", "layer_pair_small.toml", "networks/layer_pair_small.toml"):
        assert resolve_definition(text).read_bytes() == (REPO / "networks" / "layer_pair_small.toml").read_bytes()
    assert resolve_definition("networks/sweeps/stdp_match_seeds.toml", "sweep").name == "stdp_match_seeds.toml"
    own = tmp_path / "layer_pair_small.toml"  # an existing file always wins over a shipped name
    own.write_text("# mine\n")
    assert resolve_definition("layer_pair_small.toml") == Path("layer_pair_small.toml")


@pytest.mark.parametrize("text", ["layer_pair_smal", "elsewhere/layer_pair_small.toml", "stdp_match_seeds"])
def test_unknown_name_is_one_line_listing_the_shipped_names(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        resolve_definition(text)
    message = str(err.value)
    assert "\n" not in message and f"network definition {text} not found" in message
    assert all(name in message for name in NETWORKS)


def test_train_by_unknown_name_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["train", "layer_pair_smal", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "layer_pair_small" in err, err
    assert not out.exists()


def _site_packages():
    paths = sysconfig.get_paths()
    return sorted({paths["purelib"], paths["platlib"]})


def _build_wheel(tmp_path):
    # Build from a copy of exactly what the wheel is made of, so that the build writes no
    # build/ or egg-info folders into the working tree (other runs may be using it).
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.egg-info")
    for name in ("spiking_bpdl", "networks"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    command = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w", str(tmp_path / "dist"), "-q"]
    import setuptools

    # setuptools >= 77 understands the SPDX license string; an older one in this environment
    # means pip must fetch a newer one into an isolated build environment
    if int(setuptools.__version__.split(".")[0]) >= 77:
        command.append("--no-build-isolation")
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    (wheel,) = (tmp_path / "dist").glob("spiking_bpdl-*.whl")
    return wheel


@pytest.mark.slow
def test_wheel_installs_and_runs_the_main_job_by_name(tmp_path):
    t0 = time.perf_counter()
    wheel = _build_wheel(tmp_path)
    t_build = time.perf_counter() - t0
    with zipfile.ZipFile(wheel) as z:
        shipped = set(z.namelist())
    assert {f"spiking_bpdl/networks/{n}.toml" for n in NETWORKS} <= shipped
    assert {f"spiking_bpdl/networks/sweeps/{n}.toml" for n in SWEEPS} <= shipped
    assert "spiking_bpdl/_data/embedded_subset.npz" in shipped

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # The dependencies: this environment's site-packages, appended AFTER the venv's own. Its
    # .pth files run too (on 3.12+ brian2 imports distutils through setuptools' shim); that
    # includes the editable install's finder, but it comes after the path-based import, so
    # the wheel's copy wins, which the __file__ check below makes sure of.
    # (one line per folder: a .pth line runs in a function's scope, which on 3.11 a
    # comprehension could not see)
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in _site_packages())
    (site / "zz_test_dependencies.pth").write_text(lines)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, capture_output=True, text=True, timeout=300)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    where = subprocess.run([str(python), "-c", "import spiking_bpdl; print(spiking_bpdl.__file__)"],
                           cwd=elsewhere, env=env, check=True, capture_output=True, text=True).stdout.strip()
    assert Path(where).resolve().is_relative_to(venv.resolve()), where

    out = elsewhere / "out"
    t_run = time.perf_counter()
    run = subprocess.run([str(venv / "bin" / "spiking-bpdl"), "train", "layer_pair_small", "--backend", "spiking",
                          "--samples", "100", "--out", str(out)],
                         cwd=elsewhere, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    t_run = time.perf_counter() - t_run
    assert run.stderr.count("\r") == 0  # no progress bar: stderr is a pipe here
    data = json.loads((out / "train_spiking.json").read_text())
    assert data["backend"] == "spiking" and data["samples"] == 100
    assert 0 < data["val_mse"] < 1 and 0 < data["test_mse"] < 1
    assert data["config"]["name"] == "layer_pair_small"
    assert data["provenance"]["git_commit"] is None  # ran from the installed wheel, not the checkout
    assert data["provenance"]["command"].startswith("spiking-bpdl train layer_pair_small ")
    missing = subprocess.run([str(venv / "bin" / "spiking-bpdl"), "train", "layer_pair_smal", "--out", str(out)],
                             cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "shipped network definitions: " in missing.stderr
    assert "layer_pair_small" in missing.stderr.splitlines()[-1]
    print(f"wheel test: {time.perf_counter() - t0:.0f} s (build {t_build:.0f} s, main job {t_run:.0f} s)")


def test_generative_config_and_sweep_files_by_name(tmp_path, monkeypatch, capsys):
    from spiking_bpdl.cli import build_parser
    from spiking_bpdl.commands.generative import _config
    from spiking_bpdl.models.targetprop import load_config
    from spiking_bpdl.sweep import load_sweep

    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["generative", "train", "--config", "generative_small"])
    assert _config(args) == load_config(REPO / "networks" / "generative_small.toml").replace(seed=args.seed)
    assert load_sweep("stdp_window_tau").command == ("stdp-window",)
    assert main(["sweep", "stdp_window_taus", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "sweep file stdp_window_taus not found" in err
    assert all(name in err for name in SWEEPS) and not (tmp_path / "o").exists()
