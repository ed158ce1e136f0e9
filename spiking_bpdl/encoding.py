"""Spike encoders and decoders: images and rate vectors to spike trains and back.

Encoding
--------
* :func:`images_to_rates` maps pixel intensities in [0, 1] linearly to firing rates.
* :func:`stimulus_timed_array` turns a *sequence* of rate vectors into one Brian2
  ``TimedArray`` with a presentation phase (the stimulus) and a rest phase (``rest_rate``,
  default silence) per stimulus, so that a whole sequence is presented within ONE
  ``run()``. :func:`make_input_group` builds the matching input population, either
  Poisson (``rand() < rate*dt`` each step) or regular (a phase oscillator that fires
  every ``1/rate``). There is no per-sample ``run()`` anywhere in the library.
* :func:`poisson_spike_trains` and :func:`regular_spike_trains` draw the same trains in
  numpy (for ``SpikeGeneratorGroup`` or tests).

Decoding
--------
* :func:`spike_counts` / :func:`count_rates`: spike counts (and rates) in time windows,
  e.g. the presentation windows of a :class:`StimulusSchedule`.
* :func:`exponential_filter`: the causal exponentially filtered rate
  ``r(t) = sum_k exp(-(t - t_k)/tau)/tau`` on a regular grid (unit: Hz).

Times are plain floats in seconds, rates in hertz (SI, like
:class:`spiking_bpdl.neurons.LIFParams`); Brian2 quantities are accepted too.
"""

from dataclasses import dataclass
from math import gcd

import numpy as np

from .errors import ConfigError

__all__ = [
    "images_to_rates",
    "StimulusSchedule",
    "stimulus_timed_array",
    "make_input_group",
    "poisson_spike_trains",
    "regular_spike_trains",
    "spike_counts",
    "count_rates",
    "exponential_filter",
    "counts_per_sample",
]


def _seconds(value, name):
    """Plain float seconds from a float or a Brian2 quantity; validated finite."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a time (seconds or a Brian2 quantity), got {value!r}") from None
    if not np.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value}")
    return value


def _check_rates(rates, name="rates"):
    rates = np.asarray(rates, dtype=np.float64)
    if rates.size and not np.all(np.isfinite(rates)):
        raise ConfigError(f"{name} must be finite")
    if rates.size and rates.min() < 0:
        raise ConfigError(f"{name} must be >= 0 Hz, got a minimum of {rates.min()}")
    return rates


def images_to_rates(images, max_rate, min_rate=0.0):
    """Map pixel intensities in [0, 1] linearly to firing rates in Hz.

    Parameters
    ----------
    images : array_like
        Pixel intensities in [0, 1], any shape (typically ``(n_images, n_pixels)``).
    max_rate : float
        Rate (Hz) of a pixel of intensity 1.
    min_rate : float, optional
        Rate (Hz) of a pixel of intensity 0 (default 0).

    Returns
    -------
    ndarray
        ``min_rate + images * (max_rate - min_rate)``, float64, same shape.

    Raises
    ------
    ConfigError
        If pixels leave [0, 1] or the rates are negative or ``max_rate < min_rate``.
    """
    x = np.asarray(images, dtype=np.float64)
    if x.size and (not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1):
        raise ConfigError("pixel intensities must lie in [0, 1]")
    max_rate, min_rate = float(max_rate), float(min_rate)
    if not (min_rate >= 0 and max_rate >= min_rate):
        raise ConfigError(f"need 0 <= min_rate <= max_rate, got min_rate={min_rate}, max_rate={max_rate}")
    return min_rate + x * (max_rate - min_rate)


@dataclass(frozen=True)
class StimulusSchedule:
    """Timing of a stimulus sequence: stimulus ``k`` is shown on ``[starts[k], stops[k])``.

    Attributes
    ----------
    n_stimuli : int
    presentation : float
        Presentation phase per stimulus (s).
    rest : float
        Rest phase after each stimulus (s).
    offset : float
        Time of the first presentation (s).
    """

    n_stimuli: int
    presentation: float
    rest: float = 0.0
    offset: float = 0.0

    @property
    def period(self):
        """Presentation plus rest (s)."""
        return self.presentation + self.rest

    @property
    def duration(self):
        """Time from ``offset`` to the end of the last rest phase (s)."""
        return self.n_stimuli * self.period

    @property
    def starts(self):
        """Start time of each presentation (s), shape ``(n_stimuli,)``."""
        return self.offset + np.arange(self.n_stimuli) * self.period

    @property
    def stops(self):
        """End time of each presentation (s), shape ``(n_stimuli,)``."""
        return self.starts + self.presentation


def stimulus_timed_array(rates, presentation, rest=0.0, dt=1e-4, rest_rate=0.0, name=None):
    """A Brian2 ``TimedArray`` presenting a sequence of rate vectors in one run.

    Stimulus ``k`` (row ``k`` of ``rates``) is on during ``[k*P, k*P + presentation)``
    with ``P = presentation + rest``; during the rest phase every input has
    ``rest_rate``. After the last stimulus the array holds its last value (Brian2's
    TimedArray convention), i.e. the rest rate if ``rest > 0``.

    Parameters
    ----------
    rates : array_like, shape (n_stimuli, n_inputs)
        Firing rates in Hz.
    presentation : float or Quantity
        Presentation phase per stimulus (s); a positive multiple of ``dt``.
    rest : float or Quantity, optional
        Rest phase after each stimulus (s); a non-negative multiple of ``dt``.
    dt : float or Quantity, optional
        Simulation time step (s) used to snap the phases (default 0.1 ms). The array's
        own time step is the greatest common divisor of the two phases, so it stays small.
    rest_rate : float, optional
        Rate (Hz) during the rest phase.
    name : str, optional
        Brian2 name of the TimedArray; refer to it as ``name(t, i)`` in equations.

    Returns
    -------
    timed_array : brian2.TimedArray
        Values in Hz, called as ``stimulus(t, i)``.
    schedule : StimulusSchedule
    """
    import brian2 as b2

    rates = _check_rates(np.atleast_2d(rates))
    if rates.ndim != 2 or rates.shape[0] == 0 or rates.shape[1] == 0:
        raise ConfigError(f"rates must be a non-empty (n_stimuli, n_inputs) array, got shape {rates.shape}")
    dt = _seconds(dt, "dt")
    presentation, rest = _seconds(presentation, "presentation"), _seconds(rest, "rest")
    if not dt > 0:
        raise ConfigError(f"dt must be > 0, got {dt}")
    if not presentation > 0:
        raise ConfigError(f"presentation must be > 0, got {presentation}")
    if not rest >= 0:
        raise ConfigError(f"rest must be >= 0, got {rest}")
    _check_rates([rest_rate], "rest_rate")
    n_pres, n_rest = int(round(presentation / dt)), int(round(rest / dt))
    for label, value, steps in (("presentation", presentation, n_pres), ("rest", rest, n_rest)):
        if abs(steps * dt - value) > 1e-6 * max(dt, value):
            raise ConfigError(f"{label} ({value} s) must be a multiple of dt ({dt} s)")
    slot = gcd(n_pres, n_rest) if n_rest else n_pres
    rows_on, rows_off = n_pres // slot, n_rest // slot
    n_stim, n_in = rates.shape
    values = np.empty((n_stim, rows_on + rows_off, n_in))
    values[:, :rows_on] = rates[:, None, :]
    values[:, rows_on:] = float(rest_rate)
    values = values.reshape(n_stim * (rows_on + rows_off), n_in)
    kwargs = {"name": name} if name else {}
    timed = b2.TimedArray(values * b2.Hz, dt=slot * dt * b2.second, **kwargs)
    return timed, StimulusSchedule(n_stim, n_pres * dt, n_rest * dt)


def make_input_group(n, timed_array, kind="poisson", name=None, phase=None, rng=None, dt=None, model="",
                     reset="", namespace=None, refresh=None, rand_function=None):
    """Input population that fires at ``timed_array(t, i)`` Hz.

    Parameters
    ----------
    n : int
        Number of inputs (columns of the TimedArray).
    timed_array : brian2.TimedArray
        From :func:`stimulus_timed_array` (values in Hz).
    kind : {'poisson', 'regular'}
        ``'poisson'``: each step a neuron fires with probability ``rate*dt`` (needs
        ``rate*dt << 1``). ``'regular'``: a phase variable integrates the rate and the
        neuron fires each time it passes 1, so a constant rate ``r`` over ``T`` gives
        ``floor(r*T + phase0)`` spikes.
    name : str, optional
    phase : float or array_like, optional
        Initial phase in [0, 1) of the regular encoder (default: uniform random from
        ``rng``, to avoid synchronous volleys).
    rng : numpy.random.Generator, optional
        For the initial phases.
    dt : Quantity, optional
        Clock step of the group.
    model : str, optional
        Extra (linear) equations, e.g. a spike trace ``'dapre/dt = -apre/tau : 1'``.
    reset : str, optional
        Extra statements run at each spike, e.g. ``'apre += 1'``.
    namespace : dict, optional
        Names used in ``model`` and ``reset``.
    refresh : Quantity, optional
        If given, the rate is read from the TimedArray only once per ``refresh`` period (a
        ``run_regularly`` operation writes it into the neuron variable ``rate_now``) instead
        of at every time step. Use the TimedArray's own ``dt`` (or a divisor of it): the
        spikes are then identical and every step is cheaper.
    rand_function : brian2.Function, optional
        Uniform generator of the Poisson encoder instead of ``rand()``, e.g.
        :func:`spiking_bpdl.fast_random.fast_rand` for ``cpp_standalone``.

    Returns
    -------
    brian2.NeuronGroup
    """
    import brian2 as b2

    if int(n) != n or n <= 0:
        raise ConfigError(f"input population size must be a positive integer, got {n}")
    kwargs = {"name": name} if name else {}
    if dt is not None:
        kwargs["dt"] = dt
    ns = {"stimulus_rates": timed_array}
    ns.update(namespace or {})
    rate = "stimulus_rates(t, i)"
    uniform = "rand()"
    if rand_function is not None:
        ns["uniform_rand"] = rand_function
        uniform = "uniform_rand()"
    if refresh is not None:
        model = "rate_now : Hz\n" + model
        rate = "rate_now"

    def refreshed(group):
        if refresh is not None:
            when = {"clock": refresh} if isinstance(refresh, b2.Clock) else {"dt": refresh}
            group.run_regularly("rate_now = stimulus_rates(t, i)", when="start", order=-1, **when)
        return group

    if kind == "poisson":
        if model:
            kwargs["method"] = "exact"
        # with a custom generator (compiled targets only) silent inputs skip the draw
        threshold = f"{uniform} < {rate}*dt" if rand_function is None else f"{rate} > 0*Hz and {uniform} < {rate}*dt"
        return refreshed(b2.NeuronGroup(int(n), model, threshold=threshold, reset=reset or None,
                                        namespace=ns, **kwargs))
    if kind == "regular":
        group = refreshed(b2.NeuronGroup(int(n), f"dphase/dt = {rate} : 1\n" + model, threshold="phase >= 1",
                                         reset="phase -= 1\n" + reset, method="euler", namespace=ns, **kwargs))
        if phase is None:
            rng = rng or np.random.default_rng(0)
            phase = rng.uniform(0, 1, int(n))
        phase = np.broadcast_to(np.asarray(phase, dtype=float), (int(n),))
        if phase.min() < 0 or phase.max() >= 1:
            raise ConfigError("initial phases must lie in [0, 1)")
        group.phase = phase
        return group
    raise ConfigError(f"unknown encoder kind {kind!r}; choose 'poisson' or 'regular'")


def poisson_spike_trains(rates, duration, rng, dt=None):
    """Independent Poisson spike trains with constant rates.

    Parameters
    ----------
    rates : array_like, shape (n,)
        Rates in Hz.
    duration : float
        Length of the trains (s).
    rng : numpy.random.Generator
    dt : float, optional
        If given, spike times are snapped to the grid ``k*dt`` with at most one spike
        per neuron and bin (Bernoulli with ``p = rate*dt``, like the Brian2 encoder).

    Returns
    -------
    indices : ndarray of int, times : ndarray of float
        Sorted by time, ready for ``SpikeGeneratorGroup(n, indices, times*second)``.
    """
    rates = _check_rates(np.ravel(rates))
    duration = _seconds(duration, "duration")
    if not duration >= 0:
        raise ConfigError(f"duration must be >= 0, got {duration}")
    if dt is None:
        counts = rng.poisson(rates * duration)
        indices = np.repeat(np.arange(rates.size), counts)
        times = rng.uniform(0, duration, counts.sum())
    else:
        dt = _seconds(dt, "dt")
        steps = int(round(duration / dt))
        p = rates * dt
        if p.size and p.max() > 1:
            raise ConfigError(f"rate*dt must be <= 1 for a Bernoulli grid, got {p.max()}")
        fired = rng.random((steps, rates.size)) < p
        step_idx, indices = np.nonzero(fired)
        times = step_idx * dt
    order = np.argsort(times, kind="stable")
    return indices[order].astype(np.int64), times[order]


def regular_spike_trains(rates, duration, phase=0.5):
    """Regular (clock-like) spike trains: neuron ``j`` fires at ``(k - phase_j)/rate_j``.

    Parameters
    ----------
    rates : array_like, shape (n,)
        Rates in Hz (0 means silent).
    duration : float
        Length of the trains (s); spikes at times in ``[0, duration)``.
    phase : float or array_like
        Initial phase in [0, 1): the first spike comes at ``(1 - phase)/rate``.

    Returns
    -------
    indices : ndarray of int, times : ndarray of float
        Sorted by time; neuron ``j`` has ``ceil(rate_j*duration + phase_j) - 1`` spikes.
    """
    rates = _check_rates(np.ravel(rates))
    duration = _seconds(duration, "duration")
    phase = np.broadcast_to(np.asarray(phase, dtype=float), rates.shape)
    if phase.size and (phase.min() < 0 or phase.max() >= 1):
        raise ConfigError("phases must lie in [0, 1)")
    idx, tim = [], []
    for j, (r, ph) in enumerate(zip(rates, phase)):
        if r <= 0:
            continue
        t = (np.arange(1, int(np.ceil(r * duration + ph)) + 1) - ph) / r
        t = t[t < duration]
        idx.append(np.full(t.size, j))
        tim.append(t)
    if not idx:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    indices, times = np.concatenate(idx), np.concatenate(tim)
    order = np.argsort(times, kind="stable")
    return indices[order].astype(np.int64), times[order]


def _spike_arrays(indices, times, n):
    indices = np.asarray(indices, dtype=np.int64).ravel()
    times = np.asarray(times, dtype=np.float64).ravel()
    if indices.shape != times.shape:
        raise ConfigError("spike indices and times must have the same length")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise ConfigError(f"spike indices must lie in [0, {n})")
    return indices, times


def spike_counts(indices, times, n, starts, stops):
    """Spike counts of ``n`` neurons in time windows ``[starts[k], stops[k])``.

    Parameters
    ----------
    indices, times : array_like
        Spikes (neuron index, time in s), e.g. ``SpikeMonitor.i`` and ``.t``.
    n : int
        Number of neurons.
    starts, stops : array_like, shape (n_windows,)
        Window bounds (s); windows may overlap or leave gaps.

    Returns
    -------
    ndarray of int, shape (n_windows, n)
    """
    indices, times = _spike_arrays(indices, times, n)
    starts = np.atleast_1d(np.asarray(starts, dtype=np.float64))
    stops = np.atleast_1d(np.asarray(stops, dtype=np.float64))
    if starts.shape != stops.shape or np.any(stops < starts):
        raise ConfigError("need one stop >= start per window")
    order = np.argsort(times, kind="stable")
    indices, times = indices[order], times[order]
    lo = np.searchsorted(times, starts - 1e-12, side="left")
    hi = np.searchsorted(times, stops - 1e-12, side="left")
    out = np.zeros((starts.size, n), dtype=np.int64)
    for k, (a, b) in enumerate(zip(lo, hi)):
        out[k] = np.bincount(indices[a:b], minlength=n)
    return out


def count_rates(indices, times, n, starts, stops):
    """Firing rates (Hz) from spike counts in windows: counts / window length.

    See :func:`spike_counts`; windows of zero length give rate 0.
    """
    counts = spike_counts(indices, times, n, starts, stops)
    length = np.atleast_1d(np.asarray(stops, dtype=float) - np.asarray(starts, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(length[:, None] > 0, counts / length[:, None], 0.0)
    return rates


def exponential_filter(indices, times, n, duration, tau, dt=1e-4):
    """Causal exponentially filtered rates on the grid ``t_k = k*dt``, ``k < duration/dt``.

    ``r_j(t) = sum_{t_s <= t} exp(-(t - t_s)/tau) / tau`` over the spikes ``t_s`` of
    neuron ``j``, so a neuron firing regularly at rate ``r`` has a time-averaged
    ``r_j(t) = r``. Spikes are placed on the grid (``floor(t_s/dt)``); for spike times
    on the grid the result is exact.

    Parameters
    ----------
    indices, times : array_like
        Spikes (neuron index, time in s).
    n : int
        Number of neurons.
    duration : float
        Length of the grid (s).
    tau : float
        Filter time constant (s), > 0.
    dt : float, optional
        Grid step (s).

    Returns
    -------
    grid : ndarray, shape (steps,)
        Times (s).
    rates : ndarray, shape (steps, n)
        Filtered rates (Hz).
    """
    from scipy.signal import lfilter

    indices, times = _spike_arrays(indices, times, n)
    tau, dt, duration = _seconds(tau, "tau"), _seconds(dt, "dt"), _seconds(duration, "duration")
    if not tau > 0:
        raise ConfigError(f"tau must be > 0, got {tau}")
    if not dt > 0:
        raise ConfigError(f"dt must be > 0, got {dt}")
    steps = int(round(duration / dt))
    grid = np.arange(steps) * dt
    binned = np.zeros((steps, n))
    keep = times < steps * dt
    np.add.at(binned, (np.floor(times[keep] / dt + 1e-9).astype(np.int64), indices[keep]), 1.0 / tau)
    decay = np.exp(-dt / tau)
    rates = lfilter([1.0], [1.0, -decay], binned, axis=0)
    return grid, rates


def counts_per_sample(recorded, last, slots_per_sample, n_samples):
    """Per-sample spike counts from counters that the first slot of every sample resets.

    A counter incremented in a group's reset and zeroed at the start of each sample is recorded
    once per slot *before* the zeroing, so the row recorded at the first slot of sample ``k + 1``
    holds sample ``k``'s count, and the last sample's count is the counter's value at the end.

    Parameters
    ----------
    recorded : ndarray (n, n_slots)
        The counter recorded once per slot, neurons first, as a ``StateMonitor`` returns it.
    last : ndarray (n,)
        The counter at the end of the run.
    slots_per_sample : int
    n_samples : int

    Returns
    -------
    ndarray (n_samples, n)
    """
    rec = np.array(recorded, dtype=float).T  # a copy: brian2 2.11's monitor arrays may be freed views
    last = np.asarray(last, dtype=float)[None, :]
    return np.concatenate([rec[slots_per_sample:n_samples * slots_per_sample:slots_per_sample], last])
