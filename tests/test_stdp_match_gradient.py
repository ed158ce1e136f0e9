"""Part C: pair STDP in a wired spiking layer (Poisson -> LIF through weighted synapses, teacher
current from the outputs' own filtered spikes) against -dJ/dW of the Siegert rate twin.

Seeded, reduced size (10 inputs, 6 outputs, 800 trials per condition, numpy target). Every
statistical check is a z-test over the independent trials with ``|z| = 4`` (a false alarm
below 1e-4 per check).
"""


import numpy as np
import pytest

from spiking_bpdl import cli
from spiking_bpdl.errors import ConfigError
from spiking_bpdl.experiments.stdp_gradient import (
    bootstrap_cosine,
    make_layer,
    projection_z,
    rate_twin,
    run_gradient_layer,
)
from spiking_bpdl.neurons import LIFParams
from spiking_bpdl.plasticity import PairSTDP

TRIALS = 800
SEED = 1


@pytest.fixture(scope="module")
def layer_sim():
    layer = make_layer(10, 6, seed=SEED, params=LIFParams(sigma=4e-3))
    rule = PairSTDP.balanced(A_plus=1.0, tau_plus=40e-3, tau_minus=40e-3, w_max=1e9)
    sim = run_gradient_layer(layer, TRIALS, rule, seed=SEED, target="numpy")
    dw = rule.A_plus * sim["P"] - rule.A_minus * sim["D"]
    return layer, sim, {c: dw[k] for k, c in enumerate(sim["conditions"])}


@pytest.mark.slow
def test_nudged_update_points_along_the_gradient(layer_sim):
    layer, sim, dw = layer_sim
    grad = sim["twin"]["neg_grad"]
    assert projection_z(dw["nudged"], grad) > 4
    # per output neuron: where the row of updates is clearly non-zero, its sign is that of y - rho
    rows = dw["nudged"].sum(axis=2)  # (trials, M)
    z = rows.mean(0) / (rows.std(0, ddof=1) / np.sqrt(TRIALS))
    strong = np.abs(z) > 4
    assert strong.sum() >= 2
    assert np.all(np.sign(z[strong]) == np.sign(layer["y"] - sim["twin"]["rho"])[strong])
    # and the cosine interval lies above the shuffled control's
    nud = bootstrap_cosine(dw["nudged"], grad, n_boot=400, seed=0)
    shf = bootstrap_cosine(dw["shuffled"], grad, n_boot=400, seed=0)
    assert nud["ci95"][0] > shf["ci95"][1]


@pytest.mark.slow
def test_shuffled_targets_follow_their_own_gradient(layer_sim):
    """The update learns the targets it is given: along the shuffled targets' gradient, and not
    along the true one (the permutation makes the twin's cosine small: expected z ~ 0.3 here)."""
    layer, sim, dw = layer_sim
    grad = sim["twin"]["neg_grad"]
    grad_sh = rate_twin(layer, y=layer["y"][layer["perm"]])["neg_grad"]
    assert abs(np.sum(grad_sh * grad)) / (np.linalg.norm(grad_sh) * np.linalg.norm(grad)) < 0.1
    assert projection_z(dw["shuffled"], grad_sh) > 4
    assert abs(projection_z(dw["shuffled"], grad)) < 4


@pytest.mark.slow
def test_no_nudge_update_is_noise(layer_sim):
    """Without the teacher both gated windows see the same stationary rates, so the contrastive
    update's expectation is 0 (the causal pairings cancel too): its projection on the gradient is
    within 4 SE of 0 and its squared norm is what the noise alone gives,
    ``E|mean|^2 = tr(Sigma)/R`` with ``SD = sqrt(2 tr(Sigma^2))/R`` (Gaussian trial noise)."""
    _, sim, dw = layer_sim
    non = dw["no_nudge"].reshape(TRIALS, -1)
    assert abs(projection_z(non, sim["twin"]["neg_grad"])) < 4
    S = np.cov(non, rowvar=False)
    excess = np.sum(non.mean(0) ** 2) - np.trace(S) / TRIALS
    assert abs(excess) <= 4 * np.sqrt(2 * np.sum(S * S)) / TRIALS
    # while the nudged update's squared norm stands far above its noise
    nud = dw["nudged"].reshape(TRIALS, -1)
    Sn = np.cov(nud, rowvar=False)
    assert np.sum(nud.mean(0) ** 2) - np.trace(Sn) / TRIALS > 4 * np.sqrt(2 * np.sum(Sn * Sn)) / TRIALS


@pytest.mark.slow
def test_free_phase_is_the_wired_layer(layer_sim):
    """The synapses carry the drive: outputs with a larger ``tau_m W x`` fire faster (the
    twin's rates and the measured free rates agree in order), so W is really wired."""
    _, sim, _ = layer_sim
    free = sim["counts_free"][0].mean(0) / sim["L"]
    se = sim["counts_free"][0].std(0, ddof=1) / np.sqrt(TRIALS) / sim["L"]
    order = np.argsort(sim["twin"]["rho"])
    lo, hi = order[0], order[-1]
    assert free[hi] - free[lo] > 4 * np.hypot(se[hi], se[lo])
    assert np.corrcoef(free, sim["twin"]["rho"])[0, 1] > 0.9


def test_run_gradient_layer_rejects_bad_input():
    layer = make_layer(4, 3, seed=0, n_perm=5)
    rule = PairSTDP.balanced(A_plus=1.0)
    with pytest.raises(ConfigError):
        run_gradient_layer(layer, 1, rule, target="numpy")
    with pytest.raises(ConfigError):
        run_gradient_layer(layer, 4, PairSTDP(A_plus=1.0, A_minus=2.0), target="numpy")
    with pytest.raises(ConfigError):
        run_gradient_layer(layer, 4, rule, target="numpy", conditions=("nudged", "bogus"))


@pytest.mark.parametrize("argv", [
    ["--gradient-trials", "1"], ["--gradient-trials", "-3"], ["--trials", "1"], ["--n-post", "1"],
])
def test_validate_rejects_before_any_work(tmp_path, argv):
    from spiking_bpdl.commands import stdp_match

    args = cli.build_parser().parse_args(["stdp-match", *argv, "--out", str(tmp_path / "o")])
    with pytest.raises(ConfigError):
        stdp_match.validate(args)
    assert not (tmp_path / "o").exists()
