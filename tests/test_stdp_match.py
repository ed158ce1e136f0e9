"""Emergent window (A) and spiking pair STDP vs the kernel-rate bookkeeping (B).

The analytic (rate-theory) prediction is tested in ``test_stdp_match_analytic.py``, the wired
gradient layer (C) in ``test_stdp_match_gradient.py``.

Seeded statistical tests, small sizes, numpy target. Tolerances are multiples of standard
errors computed from the trials (4 SE: a false alarm rate below 1e-4 per check).
"""

import numpy as np
import pytest

from spiking_bpdl.experiments.stdp_match import (
    MatchSetup,
    _per_trial_pair,
    default_setup,
    kernel_rate_prediction,
    run_replicated,
    window_kernel_integral,
)
from spiking_bpdl.experiments.stdp_window import voltage_derivative_window
from spiking_bpdl.neurons import LIFParams
from spiking_bpdl.plasticity import PairSTDP, VoltageDerivativeRule


def test_emergent_window_shape():
    res = voltage_derivative_window(slope_min=0.01, slope_max=0.05, n_slopes=4, trials=60, seed=2,
                                    target="numpy")
    s, dt, dw = res["slopes_per_ms"], res["mean_dt"], res["mean_dw"]
    assert np.all(res["n_valid"] == 60)  # equal margins: every trial finds a post spike
    # Bi & Poo signs: dW > 0 exactly where dT > 0 (rising membrane), < 0 where dT < 0
    assert np.all(np.sign(dw) == np.sign(dt)) and np.all(np.sign(dt) == np.sign(s))
    # free membrane: E[dW] = eta * slope exactly (dW in threshold/ms): within 4 SE
    assert np.all(np.abs(dw - s) <= 4 * res["sem_dw"] + 1e-12)
    # decay on both sides: steeper slopes give |dT| smaller and |dW| larger
    for side in (s > 0, s < 0):
        order = np.argsort(np.abs(s[side]))
        adt, adw = np.abs(dt[side][order]), np.abs(dw[side][order])
        assert np.all(np.diff(adt) < 0) and np.all(np.diff(adw) > 0)


def test_window_kernel_integral_closed_form():
    rule = PairSTDP(A_plus=1.0, A_minus=0.6, tau_plus=17e-3, tau_minus=34e-3)
    t = np.array([-0.05, 0.0, 0.02, 0.1, 0.19, 0.3])
    a, b = 0.0, 0.2
    grid = np.linspace(a, b, 400001)
    num = np.array([np.trapezoid(rule.window(tt - grid), grid) for tt in t])
    g = window_kernel_integral(t, a, b, rule.A_plus, rule.A_minus, rule.tau_plus, rule.tau_minus)
    # trapezoid error at the jump of K: ds (A_plus + A_minus) / 2 = 4e-7
    np.testing.assert_allclose(g, num, rtol=0, atol=1e-6)
    # deep inside a long window G = int K; the derivative term lives at the edges
    inside = window_kernel_integral(1.0, 0.0, 2.0, rule.A_plus, rule.A_minus, rule.tau_plus, rule.tau_minus)
    assert inside == pytest.approx(rule.integral_K(), rel=1e-9)


@pytest.fixture(scope="module")
def pair_sim():
    setup = default_setup(n_pre=8, n_post=8, T=0.2, margin=0.1)
    rule = PairSTDP.balanced(A_plus=1.0, tau_plus=20e-3, tau_minus=20e-3, w_max=1e9)
    sim = run_replicated(setup, rule, 40, seed=5, target="numpy")
    return setup, rule, sim


def _pred(sim, setup, rule, group=0, k=None):
    ps = sim["post_spikes"][group]
    k = k or sim["trials"]
    sel = ps[2] < k
    return kernel_rate_prediction((ps[0][sel], ps[1][sel]), k, setup["pre_rates"], len(setup["mu_a"]),
                                  sim["window"], rule, dt=setup["dt"])


@pytest.mark.slow
def test_pair_stdp_matches_kernel_rate(pair_sim):
    setup, rule, sim = pair_sim
    per_trial = _per_trial_pair(sim, rule)
    pred = _pred(sim, setup, rule)
    resid = (per_trial - pred[None]).mean(axis=(1, 2))  # per-trial mean residual over synapses
    assert abs(resid.mean()) <= 4 * resid.std(ddof=1) / np.sqrt(len(resid))
    mean = per_trial.mean(0)
    sem = per_trial.std(0, ddof=1) / np.sqrt(per_trial.shape[0])
    strong = np.abs(pred) > 4 * sem
    assert strong.sum() >= 10
    assert np.all(np.sign(mean[strong]) == np.sign(pred[strong]))  # signs follow d rho_post/dt
    # sign of the prediction is the sign of the ramp (rates up -> potentiation)
    up = setup["mu_b"] > setup["mu_a"]
    assert np.all(pred[:, up & (np.abs(setup["mu_b"] - setup["mu_a"]) > 1e-3)] > 0)


@pytest.mark.slow
def test_unbalanced_window_adds_baseline(pair_sim):
    """A_minus * 1.5 adds exactly (int K_unb - int K) rho_pre rho_post (kernel-rate form)."""
    setup, rule, sim = pair_sim
    unb = rule.replace(A_minus=1.5 * rule.A_minus)
    extra = _per_trial_pair(sim, unb) - _per_trial_pair(sim, rule)  # = -0.5 A_minus D per trial
    pred = _pred(sim, setup, unb) - _pred(sim, setup, rule)
    per_trial = (extra - pred[None]).mean(axis=(1, 2))
    assert abs(per_trial.mean()) <= 4 * per_trial.std(ddof=1) / np.sqrt(len(per_trial))
    assert pred.mean() < 0 and extra.mean() < 0


@pytest.mark.slow
def test_correlation_term_when_pre_drives_post(pair_sim):
    setup, rule, sim = pair_sim
    assert sim["groups"] == 2
    excess_c = (_per_trial_pair(sim, rule, group=1) - _pred(sim, setup, rule, group=1)[None]).mean(axis=(1, 2))
    excess_0 = (_per_trial_pair(sim, rule, group=0) - _pred(sim, setup, rule, group=0)[None]).mean(axis=(1, 2))
    se_c = excess_c.std(ddof=1) / np.sqrt(len(excess_c))
    assert excess_c.mean() > 4 * se_c  # causal EPSPs add potentiation that rates do not predict
    # without coupling the kernel-rate prediction (with its time-grid term) has no excess
    assert abs(excess_0.mean()) <= 4 * excess_0.std(ddof=1) / np.sqrt(len(excess_0))


@pytest.mark.slow
def test_convergence_with_trials(pair_sim):
    setup, rule, sim = pair_sim
    per_trial = _per_trial_pair(sim, rule)
    rs = [np.corrcoef(per_trial[:k].mean(0).ravel(), _pred(sim, setup, rule, k=k).ravel())[0, 1] for k in (4, 40)]
    assert rs[1] > rs[0]


def test_voltage_derivative_rule_matches_rho_pre_dV():
    p = LIFParams()
    mu_a = np.array([15e-3, 18e-3, 22e-3, 25e-3])
    setup = MatchSetup(pre_rates=np.array([20.0, 60.0]), mu_a=mu_a, mu_b=mu_a[::-1], T=0.2, margin=0.1, hold=False,
                       params=p, ou_sigma=3e-3, ou_tau=5e-3, coupling=0.0, dt=1e-4)
    rule = VoltageDerivativeRule(eta=1.0)
    sim = run_replicated(setup, rule, 30, seed=3, target="numpy")
    dw = sim["dw"][:, 0]  # (trials, N, M)
    # eta rho_pre (mu(b) - mu(a)), less the time-grid term dt/tau_m (U read after the update, drive before)
    pred = np.outer(setup["pre_rates"], setup["mu_b"] - setup["mu_a"]) * (1 - setup["dt"] / p.tau_m)
    z = (dw.mean(0) - pred) / (dw.std(0, ddof=1) / np.sqrt(dw.shape[0]))
    assert np.all(np.abs(z) < 4.5)
    assert np.all(np.sign(dw.mean(0)) == np.sign(pred))


def test_box_window_edge_terms_closed_form():
    """Box minus pre-centred expectation equals edge_terms exactly for linear rates."""
    from spiking_bpdl.experiments.stdp_match import edge_terms

    rule = PairSTDP(A_plus=1.0, A_minus=0.5, tau_plus=17e-3, tau_minus=34e-3)
    a, b = 0.3, 0.8
    rho0, slope = 20.0, 60.0  # Hz, Hz/s; rho(t) = rho0 + slope * (t - a)
    t = np.linspace(0.0, 1.1, 440001)  # post spike times (pre-centred: all); fine grid: G_box jumps at a, b
    dt = t[1] - t[0]
    rho = rho0 + slope * (t - a)
    g_pre = window_kernel_integral(t, a, b, rule.A_plus, rule.A_minus, rule.tau_plus, rule.tau_minus)
    g_box = window_kernel_integral(t, a, b, rule.A_plus, rule.A_minus, rule.tau_plus, rule.tau_minus, box=True)
    diff = np.trapezoid((g_box - g_pre) * rho, dx=dt)
    expected = edge_terms(np.array([1.0]), rho0, rho0 + slope * (b - a), rule, slope, slope)[0, 0]
    assert diff == pytest.approx(expected, rel=2e-3)
    # and the pre-centred expectation is the Taylor form exactly: (int K) int rho + (int sK) (rho(b) - rho(a))
    pre = np.trapezoid(g_pre * rho, dx=dt)
    taylor = rule.integral_K() * (rho0 * (b - a) + slope * (b - a) ** 2 / 2) + rule.integral_sK() * slope * (b - a)
    assert pre == pytest.approx(taylor, rel=2e-3)
