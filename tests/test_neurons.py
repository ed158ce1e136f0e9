"""LIF populations against their analytic rate twins (deterministic and Siegert)."""

import numpy as np
import pytest

from spiking_bpdl.codegen import configure_target
from spiking_bpdl.errors import ConfigError
from spiking_bpdl.neurons import (ConductanceLIFParams, LIFParams, lif_rate, lif_rate_derivative,
                                  make_lif_group, siegert_rate)


def _run(group_factory, duration, target="cython", dt=None):
    import brian2 as b2

    b2.start_scope()
    configure_target(target)
    if dt is not None:
        b2.defaultclock.dt = dt * b2.second
    else:
        b2.defaultclock.dt = 0.1 * b2.ms
    group = group_factory()
    mon = b2.SpikeMonitor(group)
    b2.run(duration * b2.second)
    trains = mon.spike_trains()
    return [np.asarray(trains[i] / b2.second) for i in range(len(group))]


def test_deterministic_rate_matches_analytic_within_2_percent():
    params = LIFParams()
    currents = np.linspace(0.205e-9, 0.8e-9, 12)  # 12 suprathreshold levels (threshold 0.2 nA)

    def build():
        g = make_lif_group(len(currents), params)
        g.I_ext_ = currents
        return g

    trains = _run(build, 2.0)
    # the rate of a periodic neuron: (spikes - 1) / (last - first), free of window edges
    sim = np.array([(len(t) - 1) / (t[-1] - t[0]) for t in trains])
    np.testing.assert_allclose(sim, lif_rate(currents, params), rtol=0.02)
    # below threshold: silent
    assert lif_rate(0.19e-9, params) == 0.0


def test_rate_derivative_is_derivative():
    params = LIFParams()
    I = np.linspace(0.21e-9, 1e-9, 20)
    h = 1e-15
    fd = (lif_rate(I + h, params) - lif_rate(I - h, params)) / (2 * h)
    np.testing.assert_allclose(lif_rate_derivative(I, params), fd, rtol=1e-5)


def test_siegert_reduces_to_deterministic_for_small_noise():
    I = np.array([0.3e-9, 0.5e-9])
    p = LIFParams(sigma=1e-5)
    np.testing.assert_allclose(siegert_rate(I, p), lif_rate(I, LIFParams()), rtol=2e-3)


@pytest.mark.slow
def test_noisy_rate_matches_siegert_within_statistical_tolerance():
    dt = 0.05e-3
    params = LIFParams(sigma=4e-3)
    currents = np.linspace(0.10e-9, 0.40e-9, 12)  # sub- to suprathreshold mean drive
    n_per, duration, warmup = 200, 3.0, 0.2
    I = np.repeat(currents, n_per)

    def build():
        g = make_lif_group(len(I), params)
        g.I_ext_ = I
        return g

    trains = _run(build, duration + warmup, dt=dt)
    counts = np.array([np.sum(t >= warmup) for t in trains]).reshape(len(currents), n_per) / duration
    sim = counts.mean(axis=1)
    sem = counts.std(axis=1, ddof=1) / np.sqrt(n_per)
    theory = siegert_rate(currents, params, dt=dt)
    # 4 standard errors (z = 4: a 12-level test has family-wise false-alarm < 1e-3)
    # plus 1% for the first-order-only discretisation correction
    tol = 4 * sem + 0.01 * theory
    assert np.all(np.abs(sim - theory) <= tol), np.c_[currents, sim, theory, tol]
    assert sim[0] > 0  # noise makes subthreshold drive fire: Siegert, not the step function
    assert lif_rate(currents[0], params.replace(sigma=0.0)) == 0.0


def test_conductance_lif_rate_matches_its_closed_form():
    """Without synaptic input the conductance LIF is a LIF with tau = C/g_L and rest E_L:
    rate = 1 / (t_ref + tau ln((v_inf - v_reset)/(v_inf - v_threshold))), v_inf = E_L + I/g_L,
    and silent when v_inf <= v_threshold (0.15 nA: v_inf = -55 mV, 5 mV below threshold)."""
    p = ConductanceLIFParams()
    currents = np.array([0.0, 0.15e-9, 0.3e-9, 0.5e-9, 1.0e-9])

    def build():
        g = make_lif_group(len(currents), p)
        g.I_ext_ = currents
        return g

    trains = _run(build, 0.5, target="numpy")
    tau = p.C / p.g_L
    v_inf = p.E_L + currents / p.g_L
    firing = v_inf > p.v_threshold
    assert [len(t) == 0 for t in trains] == list(~firing)
    with np.errstate(divide="ignore", invalid="ignore"):
        climb = tau * np.log((v_inf - p.v_reset) / (v_inf - p.v_threshold))
    expected = 1.0 / (p.t_ref + climb[firing])
    sim = np.array([(len(t) - 1) / (t[-1] - t[0]) for t, f in zip(trains, firing) if f])
    # exponential Euler is exact for constant conductance; the threshold is checked once per step,
    # so each interval is late by < dt = 0.1 ms, 1.5 % of the shortest interval (6.5 ms at 1 nA)
    np.testing.assert_allclose(sim, expected, rtol=0.02)
    # the neurons start at rest (v = E_L = v_reset): the first spike comes after one climb
    first = np.array([t[0] for t, f in zip(trains, firing) if f])
    np.testing.assert_allclose(first, climb[firing], atol=2e-4)


@pytest.mark.parametrize("kwargs, msg", [
    ({"tau_m": -0.01}, "tau_m must be > 0"),
    ({"t_ref": -1e-3}, "t_ref must be >= 0"),
    ({"v_threshold": 0.0, "v_reset": 0.01}, "must be above v_reset"),
])
def test_invalid_parameters(kwargs, msg):
    with pytest.raises(ConfigError, match=msg):
        LIFParams(**kwargs)
