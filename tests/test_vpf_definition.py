"""The VPF definition file (``networks/vpf_mnist.toml``): loading, ``--set``, flags, errors, recorded config."""

import dataclasses
import json
import tomllib
from pathlib import Path

import pytest

from spiking_bpdl import cli
from spiking_bpdl.commands import vpf as cmd
from spiking_bpdl.errors import ConfigError
from spiking_bpdl.experiments import vpf_compare as vc

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "networks" / "vpf_mnist.toml"

#: The defaults of the command's flags before the definition existed; the published results used them.
FLAG_DEFAULTS = {"dataset": "mnist", "method": "vpf", "hidden": (500,), "lateral": False, "epochs": 4,
                 "learning_rates": (3e-4, 1e-3, 3e-3, 1e-2), "batch_size": 100, "n_train": 50000, "n_test": 10000,
                 "source": "full", "recon_sweeps": 50, "ais_chains": 100, "ais_betas": 3000, "parzen_samples": 10000,
                 "sample_sweeps": 100, "seed": 0}

#: A tiny run on the embedded subset (the sizes of tests/test_vpf_experiment.py's CLI run).
TINY = """\
[data]
dataset = "fashion-mnist"
source = "embedded"
n_train = 600
n_test = 100

[model]
hidden = [20]

[training]
method = "cd"
epochs = 1
learning_rates = [0.01]
n_select = 100
select_sweeps = 3

[evaluation]
recon_sweeps = 3
ais_chains = 10
ais_betas = 100
parzen_samples = 100
sample_sweeps = 5
parzen_val = 100
"""


def _parse(*argv):
    return cli.build_parser().parse_args(["vpf", *map(str, argv)])


def _main(argv, monkeypatch):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["vpf"])
    return cli.main([str(a) for a in argv])


def test_shipped_definition_holds_every_option_at_the_flag_defaults():
    cfg = vc.vpf_config_from_definition(SHIPPED)
    assert cfg.definition == "networks/vpf_mnist.toml"  # not this machine's path: results stay comparable
    assert dataclasses.replace(cfg, definition=None) == vc.VPFConfig()
    for name, value in FLAG_DEFAULTS.items():
        assert getattr(cfg, name) == value, name
    # every field is written out in the file (data_dir is machine-specific and stays a comment)
    fields = {f.name for f in dataclasses.fields(vc.VPFConfig)} - {"definition"}
    assert {k for keys in vc.DEFINITION_SECTIONS.values() for k in keys} == fields
    written = {k for table in tomllib.loads(SHIPPED.read_text()).values() for k in table}
    assert written == fields - {"data_dir"}
    # a command without a definition reads the shipped one, by name (works from an installed wheel too)
    assert cmd._config(_parse("train")) == vc.vpf_config_from_definition("vpf_mnist") == cfg
    assert cmd._config(_parse("train", "--dataset", "mnist", "--method", "vpf")) == cfg


def test_set_and_flags_change_the_definition_flags_last():
    cfg = cmd._config(_parse("train", "vpf_mnist", "--set", "training.epochs=2", "--set", "model.hidden=[20, 10]",
                             "--set", "training.learning_rates=[0.01]", "--set", 'data.dataset="fashion-mnist"'))
    assert (cfg.epochs, cfg.hidden, cfg.learning_rates, cfg.dataset) == (2, (20, 10), (0.01,), "fashion-mnist")
    assert cfg.n_train == 50000  # keys not overridden keep the definition's values
    cfg = cmd._config(_parse("train", "--set", "training.epochs=2", "--epochs", "3", "--set", "training.seed=5",
                             "--lateral", "--hidden", "30"))
    assert (cfg.epochs, cfg.seed, cfg.lateral, cfg.hidden) == (3, 5, True, (30,))
    assert cmd._config(_parse("train", "--set", "training.seed=5", "--seed", "7")).seed == 7


def test_help_states_the_rule(capsys):
    for action in ("train", "evaluate", "compare"):
        with pytest.raises(SystemExit):
            _parse(action, "--help")
        text = " ".join(capsys.readouterr().out.split())
        assert "DEFINITION" in text and "--set" in text and "a flag that is given wins" in text, action


def test_validation_cannot_be_bypassed():
    cfg = vc.VPFConfig()
    with pytest.raises(ConfigError, match=r"^epochs: must be a positive integer, got 0$"):
        dataclasses.replace(cfg, epochs=0)
    with pytest.raises(ConfigError, match="^momentum: must be in"):
        dataclasses.replace(cfg, momentum=1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 0
    with pytest.raises(ConfigError, match=r"vpf_mnist.toml: training.learning_rates: must be finite"):
        vc.vpf_config_from_definition("vpf_mnist", ["training.learning_rates=[0.01, nan]"])


@pytest.mark.parametrize("item, key", [
    ("training.epochz=2", "training.epochz: unknown key"),
    ("training.epochs=0", "training.epochs: must be a positive integer"),
    ("training.epochs=2.5", "training.epochs: must be a positive integer"),
    ("training.epochs=true", "training.epochs: must be a positive integer"),
    ('training.batch_size="100"', "training.batch_size: must be a positive integer"),
    ("training.momentum=inf", "training.momentum: must be finite"),
    ("training.learning_rates=[-0.01]", "training.learning_rates: must all be positive"),
    ("training.learning_rates=0.01", "training.learning_rates: expected a non-empty list"),
    ("model.hidden=[500, 200, 100]", "model.hidden: expected one or two positive layer sizes"),
    ("model.lateral=1", "model.lateral: expected true or false"),
    ("training.seed=-1", "training.seed: must be a non-negative integer"),
    ("evaluation.ais_betas=0", "evaluation.ais_betas: must be a positive integer"),
    ('data.source="cloud"', "data.source: unknown data source"),
    ("nosuch.key=1", "no table [nosuch]"),
])
def test_bad_set_one_line_exit_2_nothing_written(item, key, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert _main(["vpf", "train", "--set", item, "--out", out], monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith("spiking-bpdl: error: ") and "networks/vpf_mnist.toml: " in err and key in err
    assert not out.exists()


@pytest.mark.parametrize("text, key", [
    ("[training]\nepochs = 2\n[extra]\nx = 1\n", "[extra]: unknown table"),
    ("[model]\nmethod = \"vpf\"\n", "model.method: unknown key; [model] takes hidden, lateral"),
    ("[training]\nepochs = \n", "malformed TOML"),
    ("training = 3\n", "training: expected a table"),
])
def test_bad_definition_file_one_line_exit_2_nothing_written(text, key, tmp_path, monkeypatch, capsys):
    bad, out = tmp_path / "bad.toml", tmp_path / "out"
    bad.write_text(text)
    for action in ("train", "evaluate", "compare"):
        assert _main(["vpf", action, bad, "--out", out], monkeypatch) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and str(bad) in err and key in err, err
    assert _main(["vpf", "train", tmp_path / "missing.toml", "--out", out], monkeypatch) == 2
    assert "not found; shipped network definitions: " in capsys.readouterr().err
    assert not out.exists()


def test_tiny_run_from_a_definition_records_the_resolved_config(tmp_path, monkeypatch):
    definition, out = tmp_path / "tiny.toml", tmp_path / "run"
    definition.write_text(TINY)
    options = ["--set", "training.seed=3", "--ais-chains", "12", "--quiet", "--out", out]
    assert _main(["vpf", "train", definition, *options, "--json", tmp_path / "train.json"], monkeypatch) == 0
    trained = json.loads((tmp_path / "train.json").read_text())
    expected = vc.vpf_config_from_definition(definition, ["training.seed=3"], {"ais_chains": 12}).to_dict()
    assert trained["config"] == expected
    assert expected["definition"] == str(definition) and expected["seed"] == 3 and expected["ais_chains"] == 12
    assert trained["provenance"]["seed"] == 3 and trained["n_train"] == 600 and trained["n_test"] == 100
    assert trained["dataset"] == "fashion-mnist" and trained["method"] == "cd" and trained["architecture"] == [784, 20]
    assert (out / "vpf_fashion-mnist_cd.ckpt.npz").exists()
    # evaluate reads the same definition; its JSON records the configuration too
    assert _main(["vpf", "evaluate", definition, *options, "--json", tmp_path / "eval.json"], monkeypatch) == 0
    evaluated = json.loads((tmp_path / "eval.json").read_text())
    assert evaluated["config"] == expected
    # same checkpoint, same seeds, same evaluation settings: the same numbers
    for key in ("recon_mse_dropout50", "recon_mse_occlusion", "ais_ll", "parzen_ll"):
        assert evaluated[key] == pytest.approx(trained[key], rel=1e-9), key
    # the training set is the checkpoint's: evaluating with another n_train changes nothing
    assert _main(["vpf", "evaluate", definition, *options, "--set", "data.n_train=700", "--json", tmp_path / "e2.json"],
                 monkeypatch) == 0
    again = json.loads((tmp_path / "e2.json").read_text())
    assert again["config"]["n_train"] == 600 and again["ais_ll"] == pytest.approx(trained["ais_ll"], rel=1e-9)
