"""A seed repeats a spiking run bit for bit on every target, and a killed run resumes as if uninterrupted.

On cpp_standalone the project is compiled once and each block's seed goes in through ``run_args``
(``spiking_bpdl.codegen.seed_from_run_args``); before, every standalone block drew a fresh seed and two
runs with the same ``--seed`` ended with different decoder weights.
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spiking_bpdl.codegen import compiler_available
from spiking_bpdl.rate.lif_layer_pair import load_layer_pair
from spiking_bpdl.spiking.engine import checkpoint_path, train_layer_pair

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "networks" / "layer_pair_small.toml"
SAMPLES = 100  # five blocks of 20: a kill after the first leaves four to resume
SIZES = dict(block=20, readout_samples=20)

needs_compiler = pytest.mark.skipif(not compiler_available(), reason="needs a C++ compiler")


def _small(**kw):
    return dataclasses.replace(load_layer_pair(SMALL), source="embedded", **kw)


@pytest.fixture(scope="module")
def standalone_runs(tmp_path_factory):
    """The small definition on cpp_standalone, seeds 5, 5 and 6, in one project folder (compiled once,
    then only rewritten: the network is the same). ``folder`` is also the killed run's ``--out``, so its
    ``standalone`` project is this one."""
    folder = tmp_path_factory.mktemp("seeding")
    cfg = _small(**SIZES)
    runs = {name: train_layer_pair(cfg, "spiking", samples=SAMPLES, seed=seed, target="cpp_standalone",
                                   progress=False, standalone_dir=folder / "standalone")
            for name, seed in (("a", 5), ("b", 5), ("other", 6))}
    return dict(runs, folder=folder)


@pytest.mark.slow
@pytest.mark.standalone
@needs_compiler
def test_same_seed_same_weights_standalone(standalone_runs):
    a, b, other = standalone_runs["a"], standalone_runs["b"], standalone_runs["other"]
    assert a["target"] == "cpp_standalone" and a["complete"]
    for k in ("W", "V"):
        np.testing.assert_array_equal(a["weights"][k], b["weights"][k])
    assert a["curve"] == b["curve"] and a["test_mse"] == b["test_mse"]
    assert a["val_mse_spiking_readout"] == b["val_mse_spiking_readout"]
    assert a["test_mse_spiking_readout"] == b["test_mse_spiking_readout"]
    # control: the equality is the seed's doing (another seed moves the weights), and V did learn
    assert np.abs(a["weights"]["V"] - other["weights"]["V"]).max() > 1e-3
    assert a["test_mse_spiking_readout"] != other["test_mse_spiking_readout"]
    assert np.abs(a["weights"]["V"]).max() > 1e-2


def _definition(folder):
    """The small definition with the fixture's block and read-out sizes, as a file for the command line."""
    text = SMALL.read_text()
    for key, value in SIZES.items():
        old = next(line for line in text.splitlines() if line.startswith(f"{key} = "))
        text = text.replace(old, f"{key} = {value}")
    path = folder / "layer_pair_small_50.toml"
    path.write_text(text)
    cfg = load_layer_pair(path)
    assert (cfg.block, cfg.readout_samples) == (SIZES["block"], SIZES["readout_samples"])
    return path


def _train_cli(definition, out, *extra):
    code = "import sys; from spiking_bpdl.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", code, "train", str(definition), "--backend", "spiking", "--samples", str(SAMPLES),
            "--seed", "5", "--target", "cpp_standalone", "--out", str(out), "--no-progress", *extra]


@pytest.mark.slow
@pytest.mark.standalone
@needs_compiler
def test_sigkill_and_resume_equals_uninterrupted_standalone(tmp_path, standalone_runs):
    """``spiking-bpdl train`` killed with SIGKILL after its first checkpoint, then ``--resume``d, ends
    with the weights, curve and read-outs of the uninterrupted run (the fixture's seed-5 run)."""
    from spiking_bpdl.checkpoint import load_checkpoint

    out = standalone_runs["folder"]  # its standalone/ holds the fixture's compiled project
    definition = _definition(tmp_path)
    ckpt = checkpoint_path(out, "spiking")
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        proc = subprocess.Popen(_train_cli(definition, out), stdout=subprocess.DEVNULL, stderr=err,
                                env=dict(os.environ))
        try:
            for _ in range(12_000):  # a guard against a hung child (10 minutes), not a timing condition
                if proc.poll() is not None or ckpt.exists():  # the checkpoint is written atomically after a block
                    break
                try:
                    proc.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    pass
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL, log.read_text()[-2000:]
    _, meta = load_checkpoint(ckpt)
    assert 0 < meta["samples_done"] < SAMPLES  # killed mid-way, not after the end
    assert not (out / "train_spiking.json").exists()
    done = subprocess.run(_train_cli(definition, out, "--resume"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    res = json.loads((out / "train_spiking.json").read_text())
    with np.load(out / "weights_spiking.npz") as z:
        W, V = z["W"], z["V"]
    full = standalone_runs["a"]
    np.testing.assert_array_equal(W, full["weights"]["W"])
    np.testing.assert_array_equal(V, full["weights"]["V"])
    assert res["curve"] == full["curve"] and res["test_mse"] == full["test_mse"]
    assert res["test_mse_spiking_readout"] == full["test_mse_spiking_readout"]
@pytest.mark.slow
def test_regular_encoder_resumes_bit_for_bit_on_a_runtime_target(tmp_path):
    """The regular encoder's initial phases are drawn per block from the run's seed and the block
    index, so a resumed run presents the phases of the uninterrupted one (they used to come from a
    generator that restarted with the process)."""
    cfg = dataclasses.replace(_small(), encoder="regular", n_in=49, n_hidden=12, downsample=4, block=5,
                              eval_every=5, test_samples=50, readout_samples=5, w_init_std=0.1, dt=1e-3,
                              free_phase=30e-3, target_phase=30e-3, plasticity_onset=10e-3, validation_samples=50)
    kw = dict(samples=15, seed=3, target="numpy", progress=False)
    full = train_layer_pair(cfg, "spiking", out=tmp_path / "a", **kw)
    train_layer_pair(cfg, "spiking", out=tmp_path / "b", max_blocks=2, **kw)
    rest = train_layer_pair(cfg, "spiking", out=tmp_path / "b", resume=True, **kw)
    np.testing.assert_array_equal(rest["weights"]["W"], full["weights"]["W"])
    np.testing.assert_array_equal(rest["weights"]["V"], full["weights"]["V"])
    assert rest["test_mse_spiking_readout"] == full["test_mse_spiking_readout"]
    other = train_layer_pair(cfg, "spiking", **dict(kw, seed=4))
    assert not np.array_equal(other["weights"]["V"], full["weights"]["V"])
