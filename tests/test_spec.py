import pytest

from spiking_bpdl.errors import ConfigError
from spiking_bpdl.spec import load_network, parse_quantity

GOOD = """
[network]
name = "tiny"
[populations.inputs]
kind = "poisson"
size = 10
rate = "10 Hz"
[populations.out]
kind = "lif"
size = 2
tau_m = "10 ms"
v_threshold = "15 mV"
[projections.ff]
pre = "inputs"
post = "out"
weight = { init = "uniform", low = 0.0, high = 0.5 }
plasticity = "stdp"
[plasticity.stdp]
rule = "pair"
A_plus = 0.01
tau_plus = "20 ms"
[run]
duration = "2 s"
"""


def _write(tmp_path, text):
    p = tmp_path / "net.toml"
    p.write_text(text)
    return p


def test_parse_quantity_units():
    assert parse_quantity("20 ms", "time") == pytest.approx(0.02)
    assert parse_quantity("100 Mohm", "resistance") == pytest.approx(1e8)
    assert parse_quantity("-1.5e1 mV", "voltage") == pytest.approx(-0.015)
    assert parse_quantity(3, None) == 3.0


@pytest.mark.parametrize("value, dim, msg", [
    (20, "time", "needs a unit"),
    ("20 mV", "time", "expected a time"),
    ("20 parsec", "time", "unknown unit"),
    ("fast", "time", "cannot parse"),
])
def test_parse_quantity_errors(value, dim, msg):
    with pytest.raises(ConfigError, match=msg):
        parse_quantity(value, dim, "tau_m")


def test_load_good_definition(tmp_path):
    spec = load_network(_write(tmp_path, GOOD))
    out = spec.populations["out"].lif_params()
    assert out.tau_m == pytest.approx(0.01) and out.v_threshold == pytest.approx(0.015)
    assert spec.populations["inputs"].params["rate"] == 10.0
    assert spec.projections["ff"].plasticity == "stdp"
    assert spec.plasticity["stdp"].params["tau_plus"] == pytest.approx(0.02)
    assert spec.section("run")["duration"] == 2.0
    with pytest.raises(ConfigError, match=r"missing table \[training\]"):
        spec.section("training", required=True)


@pytest.mark.parametrize("old, new, msg", [
    ('tau_m = "10 ms"', 'tau_m = "-10 ms"', "tau_m must be positive"),
    ('tau_m = "10 ms"', "tau_m = 10", "needs a unit"),
    ('pre = "inputs"', 'pre = "nowhere"', "unknown population 'nowhere'"),
    ('rule = "pair"', 'rule = "magic"', "unknown rule 'magic'"),
    ('kind = "lif"', 'kind = "hodgkin"', "unknown kind"),
    ("size = 2", "size = 0", "size must be a positive integer"),
    ('plasticity = "stdp"', 'plasticity = "other"', r"no \[plasticity.other\]"),
    ('name = "tiny"', "", "missing key 'name'"),
    ("[run]", "[run", "malformed TOML"),
])
def test_malformed_definitions_name_the_problem(tmp_path, old, new, msg):
    with pytest.raises(ConfigError, match=msg):
        load_network(_write(tmp_path, GOOD.replace(old, new)))


def test_lif_param_error_names_population(tmp_path):
    spec = load_network(_write(tmp_path, GOOD.replace('v_threshold = "15 mV"', 'v_threshold = "-5 mV"')))
    with pytest.raises(ConfigError, match="populations.out: v_threshold"):
        spec.populations["out"].lif_params()


def test_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_network("/nonexistent/net.toml")
