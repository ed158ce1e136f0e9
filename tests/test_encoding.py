"""Spike encoders (Poisson, regular, TimedArray sequences in one run) and rate read-out."""

import numpy as np
import pytest

from spiking_bpdl.encoding import (
    StimulusSchedule,
    count_rates,
    exponential_filter,
    images_to_rates,
    make_input_group,
    poisson_spike_trains,
    regular_spike_trains,
    spike_counts,
    stimulus_timed_array,
)
from spiking_bpdl.errors import ConfigError


def test_images_to_rates_is_linear_and_validates():
    x = np.array([[0.0, 0.25, 1.0]])
    np.testing.assert_allclose(images_to_rates(x, 100.0, 4.0), [[4.0, 28.0, 100.0]])
    with pytest.raises(ConfigError):
        images_to_rates([1.5], 100.0)
    with pytest.raises(ConfigError):
        images_to_rates([0.5], 10.0, 20.0)


def test_schedule_windows():
    s = StimulusSchedule(3, 0.05, 0.02, offset=0.1)
    np.testing.assert_allclose(s.starts, [0.1, 0.17, 0.24])
    np.testing.assert_allclose(s.stops, [0.15, 0.22, 0.29])
    assert s.duration == pytest.approx(0.21)


def test_poisson_trains_mean_and_fano():
    rng = np.random.default_rng(1)
    rates = np.full(2000, 40.0)
    idx, t = poisson_spike_trains(rates, 0.5, rng)
    counts = np.bincount(idx, minlength=2000)
    # mean count 20, standard error sqrt(20/2000) = 0.1; 5 s.e. bound
    assert abs(counts.mean() - 20.0) < 0.5
    # Fano factor 1: the variance of the sample variance is about 2 mean^2/(n-1) -> s.e. 0.63 on 20
    assert abs(counts.var(ddof=1) - 20.0) < 5 * np.sqrt(2 * 20.0**2 / 1999)
    assert np.all(np.diff(t) >= 0) and t.min() >= 0 and t.max() < 0.5


def test_poisson_grid_has_one_spike_per_bin():
    rng = np.random.default_rng(2)
    idx, t = poisson_spike_trains(np.full(50, 200.0), 1.0, rng, dt=1e-3)
    steps = np.round(t / 1e-3).astype(int)
    np.testing.assert_allclose(t, steps * 1e-3)
    assert len(set(zip(idx.tolist(), steps.tolist()))) == idx.size
    with pytest.raises(ConfigError):
        poisson_spike_trains([2000.0], 1.0, rng, dt=1e-3)


def test_regular_trains_exact_counts():
    idx, t = regular_spike_trains([10.0, 0.0, 33.0], 1.0, phase=0.5)
    counts = np.bincount(idx, minlength=3)
    assert counts.tolist() == [10, 0, 33]
    first = t[idx == 0][:2]
    np.testing.assert_allclose(first, [0.05, 0.15])


def test_spike_counts_and_rates_in_windows():
    idx = np.array([0, 1, 0, 0, 1])
    t = np.array([0.001, 0.002, 0.011, 0.019, 0.025])
    c = spike_counts(idx, t, 2, [0.0, 0.01, 0.02], [0.01, 0.02, 0.03])
    assert c.tolist() == [[1, 1], [2, 0], [0, 1]]
    r = count_rates(idx, t, 2, [0.0], [0.02])
    np.testing.assert_allclose(r, [[150.0, 50.0]])
    with pytest.raises(ConfigError):
        spike_counts([3], [0.0], 2, [0.0], [1.0])


def test_exponential_filter_single_spike_and_mean():
    grid, r = exponential_filter([0], [0.01], 1, 0.1, tau=0.02, dt=1e-4)
    k = np.searchsorted(grid, 0.05 - 1e-12)
    assert r[k - 1, 0] == pytest.approx(np.exp(-(grid[k - 1] - 0.01) / 0.02) / 0.02, rel=1e-9)
    assert np.all(r[grid < 0.01 - 1e-12] == 0)
    idx, t = regular_spike_trains([50.0], 2.0, phase=0.0)
    t = np.round(t / 1e-4) * 1e-4
    grid, r = exponential_filter(idx, t, 1, 2.0, tau=0.02, dt=1e-4)
    # time average after the transient: rate * (dt/tau)/(1 - exp(-dt/tau)) (grid discretisation)
    expected = 50.0 * (1e-4 / 0.02) / (1 - np.exp(-1e-4 / 0.02))
    assert r[grid > 0.2, 0].mean() == pytest.approx(expected, rel=5e-3)


def _run_sequence(kind, rates, presentation, rest, seed=0, refresh=False):
    import brian2 as b2

    from spiking_bpdl.codegen import configure_target

    configure_target("numpy")
    b2.seed(seed)
    b2.start_scope()
    b2.defaultclock.dt = 0.1 * b2.ms
    timed, schedule = stimulus_timed_array(rates, presentation, rest, dt=1e-4)
    group = make_input_group(rates.shape[1], timed, kind=kind, rng=np.random.default_rng(seed),
                             refresh=timed.dt * b2.second if refresh else None)
    mon = b2.SpikeMonitor(group)
    net = b2.Network(group, mon)
    net.run(schedule.duration * b2.second)  # the whole sequence in ONE run
    # copies: from brian2 2.10 the monitor's arrays live in C++ memory freed with the monitor
    return np.array(mon.i[:]), np.array(mon.t[:] / b2.second), schedule


def test_poisson_sequence_in_one_run_with_rest_phases():
    n = 400
    rates = np.array([np.full(n, 20.0), np.full(n, 80.0), np.linspace(0, 100, n)])
    idx, t, sched = _run_sequence("poisson", rates, 0.1, 0.05)
    counts = spike_counts(idx, t, n, sched.starts, sched.stops)
    expected = rates * 0.1
    # per stimulus, total count over n inputs is Poisson: 5 standard errors
    for k in range(3):
        assert abs(counts[k].sum() - expected[k].sum()) < 5 * np.sqrt(expected[k].sum())
    # the linearly ramped stimulus keeps its profile, input by input: the least-squares slope of
    # count on rate is the presentation time 0.1 s. Counts are independent Poisson with variance
    # 0.1 r_i, so var(slope) = sum((r_i - rbar)^2 0.1 r_i) / S^2 with S = sum((r_i - rbar)^2)
    # (s.e. 0.004, 4 % of the slope); 5 standard errors. A reversed, shuffled or flattened
    # ramp (inputs wired to the wrong rates) fails.
    r = rates[2] - rates[2].mean()
    S = np.sum(r**2)
    slope = np.sum(r * counts[2]) / S
    se = np.sqrt(np.sum(r**2 * 0.1 * rates[2])) / S
    assert abs(slope - 0.1) < 5 * se, (slope, se)
    rest = spike_counts(idx, t, n, sched.stops, sched.stops + 0.05)
    assert rest.sum() == 0


def test_regular_sequence_counts_are_exact_to_one_spike():
    n = 20
    rates = np.array([np.linspace(10, 200, n), np.linspace(200, 10, n)])
    idx, t, sched = _run_sequence("regular", rates, 0.2, 0.1)
    counts = spike_counts(idx, t, n, sched.starts, sched.stops + 1e-4)
    assert np.all(np.abs(counts - rates * 0.2) <= 1.0 + 1e-9)
    assert spike_counts(idx, t, n, sched.stops + 2e-4, sched.stops + 0.1).sum() == 0


@pytest.mark.parametrize("kind", ["poisson", "regular"])
def test_refreshed_rates_give_identical_spikes(kind):
    """Reading the rate once per TimedArray step (run_regularly) changes nothing but the cost."""
    rates = np.array([np.linspace(5, 150, 30), np.linspace(150, 5, 30)])
    every_step = _run_sequence(kind, rates, 0.1, 0.05, seed=2)
    refreshed = _run_sequence(kind, rates, 0.1, 0.05, seed=2, refresh=True)
    assert every_step[0].size > 100
    np.testing.assert_array_equal(every_step[0], refreshed[0])
    np.testing.assert_array_equal(every_step[1], refreshed[1])


def test_timed_array_rejects_bad_input():
    with pytest.raises(ConfigError):
        stimulus_timed_array(np.ones((2, 3)), 0.1, rest=-0.01)
    with pytest.raises(ConfigError):
        stimulus_timed_array(np.ones((2, 3)), 0.10005, dt=1e-4)
    with pytest.raises(ConfigError):
        stimulus_timed_array(-np.ones((2, 3)), 0.1)
    with pytest.raises(ConfigError):
        make_input_group(3, None, kind="bursty")
