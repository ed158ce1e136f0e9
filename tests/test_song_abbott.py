"""Song, Miller & Abbott (2000): competitive STDP ends with a bimodal weight distribution."""

import numpy as np
import pytest

from spiking_bpdl.codegen import compiler_available
from spiking_bpdl.errors import ConfigError
from spiking_bpdl.experiments.song_abbott import bimodality, config_from_spec, run_song_abbott
from spiking_bpdl.spec import load_network, parse_network


def test_definition_loads():
    cfg = config_from_spec(load_network("song_miller_abbott"))
    assert cfg["n_inputs"] == 1000
    rule = cfg["rule"]
    assert rule.w_max == 0.015 and rule.A_minus / rule.A_plus == pytest.approx(1.05)
    assert rule.tau_plus == rule.tau_minus == pytest.approx(20e-3)


def test_bad_definition_is_a_config_error():
    with pytest.raises(ConfigError):
        config_from_spec(parse_network({"network": {"name": "x"}, "populations": {}}))


@pytest.mark.slow
@pytest.mark.skipif(not compiler_available(), reason="the 400 s run needs cpp_standalone (a C++ compiler)")
def test_weights_become_bimodal():
    res = run_song_abbott(target="cpp_standalone", seed=1)
    w = res["w_final"] / res["w_max"]
    counts = np.histogram(w, bins=10, range=(0, 1))[0]
    # initial weights are uniform: every bin expects 100 +- 10. Bimodal (U-shaped) means both end
    # bins exceed every central bin (bins 3-8) by more than 4 Poisson standard errors.
    ends, centre = counts[[0, -1]], counts[2:8]
    assert ends.min() - centre.max() > 4 * np.sqrt(ends.min())
    b0, b1 = res["bimodality_init"], res["bimodality"]
    n = len(w)
    gained = (b1["frac_low"] + b1["frac_high"]) - (b0["frac_low"] + b0["frac_high"])
    assert gained > 4 * np.sqrt(0.25 / n) * np.sqrt(2)
    # "most weights near 0 or near g_max": more than half within 10% of a bound, by more than
    # 4 binomial standard errors of a fraction of n = 1000 weights
    assert b1["frac_low"] + b1["frac_high"] > 0.5 + 4 * np.sqrt(0.25 / n)
    assert b1["frac_low"] > 0.2 and b1["frac_high"] > 0.2  # both modes populated, not one-sided
    assert bimodality(np.array([0.0, 0.015]), 0.015)["frac_middle"] == 0.0
