"""Part B's analytic prediction -- the rate theory -- against spiking pair STDP.

The kernel-rate prediction is bookkeeping (the expected update *given* the measured post
spikes); the analytic prediction uses nothing measured: the Siegert rate of each post neuron's
imposed drive, in derivative form. These tests check the theory, and that the check rejects a
wrong transfer function (so it can fail).
"""

import pytest

from spiking_bpdl.experiments.stdp_match import (
    _per_trial_pair,
    analytic_check,
    analytic_prediction,
    default_setup,
    run_replicated,
)
from spiking_bpdl.neurons import siegert_rate
from spiking_bpdl.plasticity import PairSTDP

TRIALS = 60
SEED = 7


@pytest.fixture(scope="module")
def uncoupled_sim():
    """8 x 8 synapses, ramps of 5-55 Hz over 200 ms, 60 trials, no coupling (a few seconds on numpy)."""
    setup = default_setup(n_pre=8, n_post=8, T=0.2, margin=0.1, coupling=0.0)
    rule = PairSTDP.balanced(A_plus=1.0, tau_plus=20e-3, tau_minus=20e-3, w_max=1e9)
    sim = run_replicated(setup, rule, TRIALS, seed=SEED, target="numpy")
    return setup, rule, _per_trial_pair(sim, rule)


def _predict(setup, rule, rate_fn=None):
    return analytic_prediction(setup["pre_rates"], setup["mu_a"], setup["mu_b"], setup["T"], setup["params"], rule,
                               dt=setup["dt"], rate_fn=rate_fn)[0]


@pytest.mark.slow
def test_analytic_prediction_follows_the_siegert_rate(uncoupled_sim):
    """Slope within its bootstrap CI of 1 and r above the bound that 60 trials allow.

    Bound on r (also in :func:`analytic_check`). If the prediction ``p`` (n = 64 synapses) is
    the expectation, the trial mean is ``m = p + e`` with ``Cov(e) = Sigma/R``, ``Sigma`` the
    per-trial covariance across synapses (estimated from the R = 60 trials; synapses sharing a
    post neuron are correlated, so the whole matrix is used). With ``V = var_n(p)``,
    ``c = cov_n(p, e)`` and ``E = var_n(e)`` (moments over synapses)::

        r = (V + c) / sqrt(V (V + 2c + E))

    For Gaussian noise and the centring matrix ``C``: ``E[E] = tr(C Sigma)/(nR)``,
    ``SD[E] = sqrt(2 tr((C Sigma C)^2))/(nR)``, ``E[c] = 0``, ``SD[c] = sqrt(p_c' Sigma p_c/R)/n``.
    ``r`` rises with ``c`` and falls with ``E``; the bound is ``r`` at ``c = -4 SD[c]`` and
    ``E = E[E] + 4 SD[E]``. A smaller r means more scatter about the prediction than pairing
    noise from 60 trials allows. The bound therefore rises with the trial count (to 1 as
    ``R -> inf``), and the slope CI narrows as ``1/sqrt(R)``.
    """
    setup, rule, dw = uncoupled_sim
    check = analytic_check(dw, _predict(setup, rule), seed=SEED)
    assert check["n_trials"] == TRIALS and check["n_synapses"] == 64
    assert check["slope_ci95"][0] <= 1.0 <= check["slope_ci95"][1]
    assert check["pearson_r"] >= check["r_bound"]
    # the bound is not vacuous: the noise it allows is a small part of the signal's spread
    assert check["r_bound"] > 0.9
    assert check["passes"]


@pytest.mark.slow
def test_r_bound_tightens_with_trials(uncoupled_sim):
    """Fewer trials -> more noise allowed -> a lower bound (the bound is derived, not fixed)."""
    setup, rule, dw = uncoupled_sim
    pred = _predict(setup, rule)
    few = analytic_check(dw[:15], pred, seed=SEED)
    full = analytic_check(dw, pred, seed=SEED)
    assert few["r_bound"] < full["r_bound"]
    w_few = few["slope_ci95"][1] - few["slope_ci95"][0]
    w_full = full["slope_ci95"][1] - full["slope_ci95"][0]
    assert w_full < w_few


@pytest.mark.parametrize("name, wrong, failing", [
    # a rate 30 % too high: the shape is right, so r cannot see it; the slope (1/1.3) must
    ("rate x 1.3", lambda mu, p: 1.3 * siegert_rate(mu / p.R, p), "slope_ok"),
    # the noise-free LIF rate: zero below threshold, too steep above it
    ("noise-free LIF", lambda mu, p: siegert_rate(mu / p.R, p.replace(sigma=0.0)), "slope_ok"),
    # a rate that falls with the drive: the derivative term has the wrong sign per neuron
    ("decreasing", lambda mu, p: siegert_rate((2 * p.v_threshold - mu) / p.R, p), "r_ok"),
])
@pytest.mark.slow
def test_check_fails_for_a_wrong_transfer_function(uncoupled_sim, name, wrong, failing):
    setup, rule, dw = uncoupled_sim
    p = setup["params"]
    check = analytic_check(dw, _predict(setup, rule, rate_fn=lambda mu: wrong(mu, p)), seed=SEED)
    assert not check[failing], name
    assert not check["passes"], name

