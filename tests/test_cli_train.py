"""``spiking-bpdl train``: JSON keys, figures, and one-line errors with exit code 2."""

import json
from contextlib import nullcontext
from pathlib import Path

import pytest

from spiking_bpdl.cli import main

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "networks" / "layer_pair_small.toml"


@pytest.mark.slow
def test_train_rate_writes_json_and_figures(tmp_path):
    out = tmp_path / "out"
    rc = main(["train", str(SMALL), "--backend", "rate", "--samples", "200", "--out", str(out), "--no-progress"])
    assert rc == 0
    data = json.loads((out / "train_rate.json").read_text())
    for key in ("backend", "samples", "val_mse", "test_mse", "curve", "samples_per_s", "wall_s"):
        assert key in data
    assert data["backend"] == "rate" and data["samples"] == 200
    assert data["curve"][0]["samples"] == 0 and data["curve"][-1]["samples"] == 200
    # the curve is scored on validation digits (the end of the training split), the test set once
    assert all(set(c) == {"samples", "val_mse"} for c in data["curve"])
    assert data["val_mse"] == data["curve"][-1]["val_mse"] and data["test_mse"] != data["val_mse"]
    assert data["validation_samples"] == 333 and data["train_pool"] == 1667
    for name in ("learning_curves.png", "reconstructions_rate.png", "receptive_fields_rate.png",
                 "weights_rate.npz", "checkpoint_rate.npz"):
        assert (out / name).stat().st_size > 0
    # a second run into the same folder refuses to overwrite the checkpoint
    before = (out / "checkpoint_rate.npz").read_bytes()
    rc = main(["train", str(SMALL), "--backend", "rate", "--samples", "200", "--out", str(out), "--no-progress"])
    assert rc == 2
    assert (out / "checkpoint_rate.npz").read_bytes() == before


def _bad(tmp_path, old, new):
    text = SMALL.read_text()
    assert old in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("case", ["sizes", "rule", "tau", "dataset", "backend", "checkpoint", "freeze"])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, case):
    out = tmp_path / "out"
    args = ["--samples", "100", "--out", str(out), "--no-progress"]
    net = str(SMALL)
    if case == "sizes":
        net = str(_bad(tmp_path, "[populations.recon]\nkind = \"lif\"\nsize = 196", "[populations.recon]\nkind = \"lif\"\nsize = 100"))
    elif case == "rule":
        net = str(_bad(tmp_path, "rule = \"pair\"", "rule = \"oja\""))
    elif case == "tau":
        net = str(_bad(tmp_path, "tau_m = \"20 ms\"", "tau_m = \"-20 ms\""))
    elif case == "dataset":
        net = str(_bad(tmp_path, "source = \"embedded\"", "source = \"full\""))
        args += ["--data-dir", str(tmp_path / "nowhere")]
    elif case == "backend":
        args += ["--backend", "hebbian"]
    elif case == "freeze":
        args += ["--backend", "rate", "--freeze", "W1"]  # a layer pair has W and V
    elif case == "checkpoint":
        out.mkdir()
        (out / "checkpoint_rate.npz").write_bytes(b"not a checkpoint")
        args += ["--resume", "--backend", "rate"]
    with pytest.raises(SystemExit) if case == "backend" else nullcontext():
        rc = main(["train", net] + args)
        assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err
    written = sorted(p.name for p in out.rglob("*")) if out.exists() else []
    if case == "checkpoint":
        assert written == ["checkpoint_rate.npz"] and (out / "checkpoint_rate.npz").read_bytes() == b"not a checkpoint"
    else:
        assert written == []


@pytest.mark.slow
def test_no_test_screens_on_validation_and_never_loads_test_digits(tmp_path, monkeypatch):
    import spiking_bpdl.data as data

    real = data.load_dataset

    def guarded(name, split, *args, **kwargs):
        assert split != "test", "a screening run loaded the test digits"
        return real(name, split, *args, **kwargs)

    monkeypatch.setattr(data, "load_dataset", guarded)
    out = tmp_path / "out"
    assert main(["train", str(SMALL), "--backend", "rate", "--samples", "100", "--no-test", "--out", str(out),
                 "--no-progress"]) == 0
    result = json.loads((out / "train_rate.json").read_text())
    assert result["test_mse"] is None and result["val_mse"] == result["curve"][-1]["val_mse"]
    # the guard is live: without --no-test the same run touches the test split
    with pytest.raises(AssertionError, match="loaded the test digits"):
        main(["train", str(SMALL), "--backend", "rate", "--samples", "100", "--out", str(tmp_path / "o2"),
              "--no-progress"])


@pytest.mark.slow
def test_set_overrides_reach_the_resolved_config(tmp_path):
    out = tmp_path / "out"
    assert main(["train", str(SMALL), "--backend", "rate", "--samples", "100", "--no-test", "--out", str(out),
                 "--no-progress", "--set", "layer_pair.nudge=9.5", "--set", "populations.hidden.tau_syn=2 ms",
                 "--set", "populations.recon.tau_syn=2 ms"]) == 0
    cfg = json.loads((out / "train_rate.json").read_text())["config"]
    assert cfg["nudge"] == 9.5 and cfg["tau_syn"] == pytest.approx(2e-3)
    # an override goes through the same validation as the file: a lone hidden tau_syn is rejected
    assert main(["train", str(SMALL), "--backend", "rate", "--out", str(tmp_path / "o2"),
                 "--set", "populations.hidden.tau_syn=2 ms"]) == 2
    assert main(["train", str(SMALL), "--backend", "rate", "--out", str(tmp_path / "o3"),
                 "--set", "nosuchtable.x=1"]) == 2
    assert not (tmp_path / "o2").exists() and not (tmp_path / "o3").exists()
