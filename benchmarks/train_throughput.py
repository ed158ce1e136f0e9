"""Spiking layer-pair training throughput: the naive Brian2 loop vs this engine.

Measured in ONE process, as ratios (the machine's absolute speed cancels out), on the
MNIST definition with real MNIST digits, 100 ms per sample (60 ms free + 40 ms target
phase) and dt = 0.1 ms unless told otherwise:

(a) naive  -- what most user scripts do: Brian2 runtime mode (cython), one persistent
    network, a ``PoissonGroup`` whose rates (and the clean target) are set from Python for
    every sample, then ONE ``run()`` of the presentation (the phases follow ``t - t_start``
    inside it), and pair STDP written as in Brian2's documentation (per-synapse
    event-driven traces);
(b) engine on cython   -- one ``run()`` per block of 100 samples (TimedArray stimuli);
(c) engine on cpp_standalone -- compiled once, one ``device.run(run_args=...)`` per block
    (single thread, the training default);
(d) as (c) with OpenMP threads (``--threads``, default 2; 0 skips it);
(e) a peer simulator: the same network in NEST 3.10 (``--nest/--no-nest``, default on when
    nest-simulator is installed: ``pip install 'nest-simulator>=3.10'`` or the package's
    ``[bench]`` extra; without it the row records ``skipped`` and the rest runs), with NEST's
    own ``stdp_synapse`` on W and V and the fixed feedback, driven NEST's fast way: one
    ``nest.Prepare()``, per sample the generators' schedules set from Python and ONE
    ``nest.Run(presentation)``, one ``nest.Cleanup()``; one thread (``local_num_threads``), as
    (c). Its dynamics are not the engine's (no phase sign gates, one sign per weight, an
    open-loop teacher: :data:`NEST_DIFFERENCES`), so its weights are not compared and each row
    records its spikes per sample; the ratios to it are of samples/s and of synaptic events/s.

Variants (a)-(d) train the same layer pair with the same all-to-all pair-STDP rule on the same
digits, from the same initial weights; (e) starts from the same weights on the same digits.

The network is ``--network`` (default ``networks/layer_pair_mnist.toml``), a layer-pair
definition. Layer stacks (classifiers) have their own benchmark with the same protocol and
helpers: ``benchmarks/classifier_throughput.py``.

Protocol
--------
* **Input statistics: Poisson on both sides.** The naive loop's ``PoissonGroup`` and the
  engine's Poisson encoder (``encoder = "poisson"``, overriding the MNIST definition's
  ``"regular"``): one Bernoulli draw per input neuron and time step at rate ``r_max * x``.
* **Warm-up, then time -- on both sides.** The naive network is constructed and run for one
  sample (Cython compilation or cache loading, first-run preparation), untimed; the engine
  runs its first block (network build, compilation, standalone project build), untimed; NEST
  builds its network, calls ``nest.Prepare()`` and runs one sample, untimed. These one-time
  costs are reported separately (``one_time_s``).
* **Repetitions.** Each variant then runs ``--repeats`` (default 3) timed repetitions in the
  same process, each from the same initial weights on the same digits (the ones after the
  warm-up block): ``--naive-samples`` (default 100) samples for the naive loop, one
  ``run()`` each, ``--engine-samples`` (default 300, whole blocks) for the engines,
  ``--nest-samples`` (default: as the engines) for NEST, one ``nest.Run`` each. A row
  reports the median over repetitions with the min and max; a ratio is median / median,
  with the range min(variant)/max(naive) .. max(variant)/min(naive) (``speedup_vs_naive``;
  ``speedup_vs_nest`` likewise against (e)).
* **Load.** The figures are wall-clock times; on a shared machine other processes take CPU.
  The load average before and after each variant and each repetition's CPU time (this
  process and its children, so the standalone binary counts) over its wall time are recorded:
  a CPU/wall ratio well below 1 (single thread) means the repetition waited for a core.

Synaptic events are spike deliveries (pre spikes times fan-out over all projections, plus the
STDP updates that post spikes make on the plastic ones). Writes
``benchmarks/results/train_throughput.json`` (with provenance: package version, git commit,
command line, resolved configuration) and prints a table.

Usage::

    python benchmarks/train_throughput.py [--network networks/layer_pair_mnist.toml]
        [--dt-ms 0.1] [--naive-samples 100] [--engine-samples 300] [--repeats 3] [--threads 2]
        [--nest | --no-nest] [--nest-samples N]
"""

import argparse
import dataclasses
import gc
import hashlib
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from spiking_bpdl._io import write_json
from spiking_bpdl.codegen import use_target
from spiking_bpdl.errors import ConfigError
from spiking_bpdl.rate.lif_layer_pair import (
    init_weights,
    load_images,
    load_layer_pair,
    with_mean_bias,
)
from spiking_bpdl.spiking.layer_pair import SpikingLayerPair

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "train_throughput.json"
INPUT_STATISTICS = "poisson"  # both sides; see the module docstring
# The protocol's minimum sizes (smaller runs are allowed for checking the script, and flagged).
MIN_NAIVE_SAMPLES, MIN_REPEATS = 100, 3


# The protocol's texts, recorded in every result (also by benchmarks/classifier_throughput.py).
PROTOCOL_WARM_UP = ("naive: network constructed and run for 1 sample, untimed; engines: first block "
                    "(build, compilation) untimed; NEST: network built, nest.Prepare() and 1 sample, untimed; "
                    "all reported in one_time_s")
PROTOCOL_STATISTIC = ("median over repetitions, with min and max; speedup = median/median, range "
                      "min(variant)/max(naive) .. max(variant)/min(naive); of wall-clock samples/s "
                      "(speedup_vs_naive) and of samples per CPU second (speedup_vs_naive_cpu_time); the same against "
                      "the NEST peer (speedup_vs_nest, speedup_vs_nest_cpu_time, and of synaptic events/s: "
                      "speedup_vs_nest_events_per_s)")


def nest_peer_protocol(row):
    """How the NEST peer is driven (its differences are listed in ``rows.<row>.differences``)."""
    return ("NEST's fast way: one nest.Prepare(), per sample the generators' schedules set from Python "
            "and one nest.Run(presentation), one nest.Cleanup(); local_num_threads 1; same sizes, "
            "neuron parameters, input rates, presentation, resolution and initial weights; what "
            f"differs: rows.{row}.differences")


def load_record(uptime_start, uptime_end):
    """The machine's load around a benchmark run (wall-clock figures on a shared machine)."""
    return {"uptime_start": uptime_start, "uptime_end": uptime_end, "cpu_count": os.cpu_count(),
            "note": "wall-clock figures; ratios are measured within one run. cpu_over_wall < 1 for a "
                    "single-threaded variant means it waited for a core (a shared, loaded machine)"}


def _cpu_s():
    """CPU seconds of this process and its (waited-for) children: user + system."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _load():
    return [round(v, 2) for v in os.getloadavg()]


def _uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


class _Stopwatch:
    """Wall and CPU time of a ``with`` block."""

    def __enter__(self):
        self.cpu0, self.t0 = _cpu_s(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self.cpu = _cpu_s() - self.cpu0
        return False


class NaiveLoop:
    """What most user scripts do, written the way Brian2's documentation writes STDP.

    Brian2 runtime mode (cython); a ``PoissonGroup`` whose rates, like the clean target of
    the reconstruction, are set from Python before every sample; ONE ``run()`` per sample,
    the phases following ``t - t_start`` inside it; pair STDP with the per-synapse
    event-driven traces of Brian2's STDP example. Same neurons, same rule (all-to-all
    pairing, contrastive sign window), same learning and same recorded spikes as the engine.
    The network is built once (``__init__``); :meth:`run` presents samples."""

    def __init__(self, cfg, W, V):
        import brian2 as b2

        from spiking_bpdl.codegen import configure_target
        from spiking_bpdl.neurons import lif_equations

        self.cfg = cfg
        configure_target("cython")
        b2.defaultclock.dt = cfg.dt * b2.second
        params = cfg.lif_params()
        ns = params.namespace()
        A_W, A_V = cfg.A_plus_W, cfg.A_plus_V
        window = min(cfg.free_phase - cfg.plasticity_onset, cfg.target_phase)
        ns.update(tau_plus=cfg.tau_plus * b2.second, tau_minus=cfg.tau_minus * b2.second, bias_h=cfg.bias_hidden,
                  beta=cfg.nudge, gamma=cfg.feedback_gain, r_max=cfg.max_rate * b2.Hz,
                  tau_filter=cfg.tau_filter * b2.second, A_plus_W=A_W, A_minus_W=A_W * cfg.tau_plus / cfg.tau_minus,
                  A_plus_V=A_V, A_minus_V=A_V * cfg.tau_plus / cfg.tau_minus,
                  free_phase=cfg.free_phase * b2.second, L=window * b2.second)
        # the engine's contrastive sign window, as a function of the time since the sample began
        gate = ("plastic = int(t - t_start >= free_phase - L and t - t_start < free_phase + L)"
                " * (2*int(t - t_start >= free_phase) - 1) : 1\nt_start : second (shared)\n")
        inp = b2.PoissonGroup(cfg.n_in, rates=np.zeros(cfg.n_in) * b2.Hz, name="naive_input")
        method = "euler" if params.sigma > 0 else "exact"
        hidden = b2.NeuronGroup(cfg.n_hidden, lif_equations(params, "bias_h*v_threshold/R") + b2.Equations(gate),
                                threshold="v > v_threshold", reset="v = v_reset", refractory="t_ref", method=method,
                                namespace=ns, name="naive_hidden")
        rec_eqs = lif_equations(
            params, "(bias_r + int(t - t_start >= free_phase)*beta*(xt - rtrace/r_max))*v_threshold/R"
        ) + b2.Equations("drtrace/dt = -rtrace/tau_filter : Hz\nbias_r : 1\nxt : 1\n" + gate)
        recon = b2.NeuronGroup(cfg.n_in, rec_eqs, threshold="v > v_threshold",
                               reset="v = v_reset\nrtrace += 1/tau_filter",
                               refractory="t_ref", method=method, namespace=ns, name="naive_recon")
        recon.bias_r = np.broadcast_to(cfg.b_r, (cfg.n_in,))
        stdp = ("w : 1\ndapre/dt = -apre/tau_plus : 1 (event-driven)\n"
                "dapost/dt = -apost/tau_minus : 1 (event-driven)")
        sW = b2.Synapses(inp, hidden, stdp, namespace=ns, name="naive_W",
                         on_pre="v_post += (1 - gamma)*w*v_threshold\napre += 1\nw -= plastic_post*A_minus_W*apost",
                         on_post="apost += 1\nw += plastic_post*A_plus_W*apre")
        sV = b2.Synapses(hidden, recon, stdp, namespace=ns, name="naive_V",
                         on_pre="v_post += w*v_threshold\napre += 1\nw -= plastic_post*A_minus_V*apost",
                         on_post="apost += 1\nw += plastic_post*A_plus_V*apre")
        sF = b2.Synapses(recon, hidden, "w : 1", on_pre="v_post += gamma*w*v_threshold", namespace=ns,
                         name="naive_Wfb")
        for s in (sW, sV, sF):
            s.connect()
        # the engine's outputs: hidden and reconstruction spike trains (for the loss), input spike count
        self.counts = [b2.SpikeMonitor(g, record=g is not inp, name=f"naive_mon_{g.name}")
                       for g in (inp, hidden, recon)]
        self.net = b2.Network(inp, hidden, recon, sW, sV, sF, *self.counts, name="naive_net")
        self.inp, self.hidden, self.recon, self.syn = inp, hidden, recon, (sW, sV, sF)
        self.set_weights(W, V)

    def set_weights(self, W, V):
        sW, sV, sF = self.syn
        sW.w, sV.w, sF.w = W.ravel(), V.ravel(), W.ravel()

    def _spikes(self):
        return [int(c.num_spikes) for c in self.counts]

    def run(self, x):
        """Present the samples ``x`` (n, n_in), one ``run()`` each; the synaptic events processed
        (the engine's definition)."""
        import brian2 as b2

        cfg, net = self.cfg, self.net
        before = self._spikes()
        for k in range(x.shape[0]):
            self.inp.rates = cfg.max_rate * x[k] * b2.Hz
            self.recon.xt = x[k]
            self.hidden.t_start = self.recon.t_start = net.t
            net.run(cfg.presentation * b2.second)
        n_in, n_h, n_r = self.last_spikes = [a - b for a, b in zip(self._spikes(), before)]
        return n_in * cfg.n_hidden + n_h * 2 * cfg.n_in + n_r * 2 * cfg.n_hidden


NEST_REQUIREMENT = "nest-simulator>=3.10"
NEST_ROW = "e_nest_peer"  # after (d), the engine's OpenMP variant
# What the NEST peer does not share with the engine (NEST has no equivalent without a custom model);
# written into the benchmark's JSON with the row.
NEST_DIFFERENCES = {
    "plasticity": "NEST's stdp_synapse (additive: mu_plus = mu_minus = 0, lambda = A_plus, alpha = A_minus/A_plus, "
                  "tau_plus on the synapse, tau_minus on the neuron) keeps a pre-synaptic trace per synapse and has no "
                  "phase sign gates: every pairing counts with the + sign of the pair window, in both phases and from "
                  "the first millisecond (the engine: -1 in the last L of the free phase and +1 in the first L of the "
                  "target phase, L = min(free phase - plasticity onset, target phase)). Without the gates the causal "
                  "potentiation of V is not cancelled",
    "signed_weights": "a NEST weight keeps one sign (weight and Wmax of one sign; |Wmax| = one threshold jump, far "
                      "above the weights): each synapse of W keeps the sign of its initial weight, and V, which starts "
                      "at zero, gets a fixed random sign per synapse (half each; a weight of 1e-12 of a jump); a "
                      "weight that would cross zero stops there. The fixed feedback (static_synapse) is signed",
    "teacher": "the open-loop current beta * x in the target phase (step_current_generator per reconstruction "
               "neuron); the engine's teacher beta * (x - rtrace / r_max) also feeds back the neuron's own filtered "
               "rate, which no NEST device or built-in synapse provides",
    "inputs": "inhomogeneous_poisson_generator -> parrot_neuron (Poisson counts per step; the engine: one Bernoulli "
              "draw per step), rates switched one step after the sample starts; device currents (teacher, noise) "
              "arrive one step late",
    "noise": "one noise_generator (a current, constant over each step, independent per neuron, with the engine's "
             "per-step membrane increment sigma * sqrt(2 dt / tau_m)): NEST sends it as events every step; the "
             "engine draws it inside the neuron update",
    "counting": "spikes counted by three spike_recorders (memory backend; they cannot be cleared between Prepare "
                "and Cleanup), the engine by counters in the resets",
    "weights": "the weights NEST learns are not compared with the engine's: a throughput peer only; compare the "
               "spikes per sample of the rows, which set the work",
}
_TINY = 1e-12  # the magnitude (threshold units) of a NEST weight that should be zero but keep its sign


def nest_missing():
    """Why the NEST peer cannot run here (a one-line reason), or None when nest-simulator is installed.

    Looks the package up without importing it, so NEST is not loaded while the other rows run."""
    import importlib.util

    if importlib.util.find_spec("nest") is None:
        return "nest-simulator not installed"
    return None


class NestPeer:
    """The same layer pair in NEST with its own ``stdp_synapse``, driven NEST's fast way.

    Built once; ``nest.Prepare()`` once, then per sample the input rates
    (``inhomogeneous_poisson_generator`` -> ``parrot_neuron``: devices cannot drive plastic
    synapses), the teacher current (``step_current_generator`` per reconstruction neuron, on in
    the target phase) and ONE ``nest.Run(presentation)``; :meth:`close` calls ``nest.Cleanup()``.
    One thread (``local_num_threads = 1``). Generators with a schedule, because a
    ``poisson_generator``'s rate and a ``dc_generator``'s ``origin``/``start``/``stop`` set after
    ``nest.Prepare()`` do not take effect (NEST 3.10 computes them in ``Prepare``); NEST takes
    only future change times, so a sample's rates switch on one step (0.1 ms) after it starts.

    The same sizes, neuron parameters (``iaf_psc_delta`` for delta synapses, ``iaf_psc_exp``
    when ``tau_syn > 0``; ``E_L = 0``, so membrane potentials are measured from rest; input
    arriving during the refractory period counts after it, as in Brian2), bias currents
    (``I_e``), membrane noise (one ``noise_generator``, independent per neuron, with the engine's
    per-step increment), input rates, presentation time, resolution (synaptic delays: one step)
    and initial weights as the engine. What differs: see :data:`NEST_DIFFERENCES`.

    The weights NEST learns are not compared with the engine's; this is a throughput peer.

    Parameters
    ----------
    cfg : LayerPairConfig
        The resolved definition (as the engine runs it).
    W, V : ndarray
        Initial weights, ``(n_in, n_hidden)`` and ``(n_hidden, n_in)``, in threshold units.
    seed : int
        NEST's random seed (inputs, noise, initial membranes) and the signs of V's synapses.
    """

    def __init__(self, cfg, W, V, seed=0):
        import nest

        self.nest, self.cfg = nest, cfg
        nest.ResetKernel()
        nest.verbosity = nest.VerbosityLevel.ERROR
        ms = 1e3  # NEST: ms, mV, pA, pF
        dt = cfg.dt * ms
        nest.SetKernelStatus({"resolution": dt, "local_num_threads": 1, "rng_seed": int(seed) + 1})
        theta, tau_m, C = cfg.v_threshold * ms, cfg.tau_m * ms, 250.0
        self._pa = theta * C / tau_m  # pA of a constant current whose drive is one threshold
        neuron = {"C_m": C, "tau_m": tau_m, "E_L": 0.0, "V_th": theta, "V_reset": cfg.v_reset * ms,
                  "t_ref": cfg.t_ref * ms, "tau_minus": cfg.tau_minus * ms}
        if cfg.tau_syn > 0:
            self.model = "iaf_psc_exp"
            neuron.update(tau_syn_ex=cfg.tau_syn * ms, tau_syn_in=cfg.tau_syn * ms)
            # an exponential current with the charge of the jump w * theta
            self._jump = C / (cfg.tau_syn * ms)
        else:
            self.model = "iaf_psc_delta"
            # Brian2 adds synaptic jumps during the refractory period too (they count after it)
            neuron.update(refractory_input=True)
            self._jump = 1.0
        n_in, n_h = cfg.n_in, cfg.n_hidden
        self.hidden = nest.Create(self.model, n_h, params=neuron)
        self.recon = nest.Create(self.model, n_in, params=neuron)
        self.hidden.I_e = cfg.bias_hidden * self._pa
        self.recon.I_e = np.broadcast_to(np.asarray(cfg.b_r, dtype=float), (n_in,)) * self._pa
        for pop in (self.hidden, self.recon):
            pop.V_m = nest.random.uniform(cfg.v_reset * ms, theta)
        if cfg.sigma > 0:
            # piecewise-constant current per step with the engine's Euler-Maruyama increment
            # sigma * sqrt(2 dt / tau_m) of the membrane: current x (tau_m/C)(1 - e^(-dt/tau_m))
            gain = tau_m / C * (1.0 - np.exp(-dt / tau_m))
            noise = nest.Create("noise_generator", params={
                "mean": 0.0, "std": cfg.sigma * ms * np.sqrt(2 * dt / tau_m) / gain, "dt": dt})
            nest.Connect(noise, self.hidden + self.recon, syn_spec={"delay": dt})  # independent per target
        # Generators whose schedule is read while running: a poisson_generator's rate and a dc_generator's
        # origin/start/stop set after nest.Prepare() do not take effect (NEST calibrates them in Prepare)
        self.gen = nest.Create("inhomogeneous_poisson_generator", n_in)
        self.inp = nest.Create("parrot_neuron", n_in)
        nest.Connect(self.gen, self.inp, "one_to_one", syn_spec={"delay": dt})
        self.teacher = nest.Create("step_current_generator", n_in)
        nest.Connect(self.teacher, self.recon, "one_to_one", syn_spec={"delay": dt})  # (the default is 1 ms)
        g = cfg.feedback_gain
        self._scale = {"W": (1 - g) * theta * self._jump, "V": theta * self._jump}
        sign_W = np.where(W >= 0, 1.0, -1.0)
        sign_V = np.random.default_rng(seed).choice([-1.0, 1.0], size=V.shape)
        self._signs = {"W": sign_W, "V": sign_V}
        for name, pre, post, A_plus, A_minus in (("W", self.inp, self.hidden, cfg.A_plus_W, cfg.A_minus("W")),
                                                 ("V", self.hidden, self.recon, cfg.A_plus_V, cfg.A_minus("V"))):
            # all_to_all takes (post, pre) arrays
            wmax = (self._signs[name] * self._scale[name]).T
            nest.Connect(pre, post, "all_to_all", syn_spec={
                "synapse_model": "stdp_synapse", "delay": dt, "weight": wmax * _TINY, "Wmax": wmax,
                "tau_plus": cfg.tau_plus * ms, "lambda": A_plus, "alpha": A_minus / A_plus,
                "mu_plus": 0.0, "mu_minus": 0.0})
        # the feedback through f: recon i -> hidden j carries gamma * W[i, j], fixed
        nest.Connect(self.recon, self.hidden, "all_to_all", syn_spec={
            "synapse_model": "static_synapse", "delay": dt, "weight": (g * theta * self._jump * W).T})
        self._conn = {}
        for name, pre, post in (("W", self.inp, self.hidden), ("V", self.hidden, self.recon),
                                ("F", self.recon, self.hidden)):
            conns = nest.GetConnections(source=pre, target=post)
            st = conns.get(["source", "target"])
            self._conn[name] = (conns, np.asarray(st["source"]) - pre[0].global_id,
                                np.asarray(st["target"]) - post[0].global_id)
        self.recorders = [nest.Create("spike_recorder") for _ in range(3)]
        for rec, pop in zip(self.recorders, (self.inp, self.hidden, self.recon)):
            nest.Connect(pop, rec)
        self.set_weights(W, V)
        nest.Prepare()
        self._prepared = True

    def set_weights(self, W, V):
        """Set W, V and the feedback from threshold units (each synapse keeps its sign, see above)."""
        g, theta = self.cfg.feedback_gain, self.cfg.v_threshold * 1e3
        for name, M, scale in (("W", W, self._scale["W"]), ("V", V, self._scale["V"])):
            conns, i, j = self._conn[name]
            # a weight of the other sign than its synapse's Wmax is clipped to (nearly) zero: NEST wants
            # weight and Wmax of one sign, and counts a zero weight as positive
            sign = self._signs[name][i, j]
            w = np.maximum(M[i, j] * sign, _TINY) * sign * scale
            conns.set(weight=w.tolist())
        conns, i, j = self._conn["F"]
        conns.set(weight=(g * theta * self._jump * W[i, j]).tolist())

    def spike_counts(self):
        """Spikes recorded so far: input (parrots), hidden, reconstruction (the recorders cannot be
        cleared between ``Prepare`` and ``Cleanup``; a few million events fit in memory)."""
        return [int(rec.n_events) for rec in self.recorders]

    def run(self, x):
        """Present the samples ``x`` (n, n_in), one ``nest.Run`` each; the synaptic events
        processed (the engine's definition) and the spikes per population."""
        nest, cfg = self.nest, self.cfg
        before = self.spike_counts()
        ms, dt = 1e3, cfg.dt * 1e3
        P, free = cfg.presentation * ms, cfg.free_phase * ms
        self.last_run_s = 0.0
        for k in range(x.shape[0]):
            t0 = nest.biological_time
            # NEST accepts only future change times: the rates switch one step into the sample
            self.gen.set([{"rate_times": [t0 + dt], "rate_values": [r]} for r in (cfg.max_rate * x[k]).tolist()])
            self.teacher.set([{"amplitude_times": [t0 + free, t0 + P], "amplitude_values": [a, 0.0]}
                              for a in (cfg.nudge * self._pa * x[k]).tolist()])
            t = time.perf_counter()
            nest.Run(P)
            self.last_run_s += time.perf_counter() - t
        spikes = [a - b for a, b in zip(self.spike_counts(), before)]
        n_in, n_h, n_r = spikes
        return n_in * cfg.n_hidden + n_h * 2 * cfg.n_in + n_r * 2 * cfg.n_hidden, spikes

    def close(self):
        """``nest.Cleanup()`` (once, after the last run)."""
        if self._prepared:
            self.nest.Cleanup()
            self._prepared = False


def _repetition(samples, sw, events, spikes):
    """One timed repetition; ``spikes``: (input, hidden, reconstruction) spikes of all its samples."""
    return {"samples": samples, "wall_s": sw.wall, "cpu_s": sw.cpu, "cpu_over_wall": sw.cpu / sw.wall,
            "samples_per_s": samples / sw.wall, "samples_per_cpu_s": samples / sw.cpu, "synaptic_events": int(events),
            "synaptic_events_per_s": events / sw.wall,
            # the activity behind the events: rows whose dynamics differ (the NEST peer) differ here
            "spikes_per_sample": {k: n / samples for k, n in zip(("input", "hidden", "recon"), spikes)}}


def run_naive(cfg, x, W, V, n_samples, repeats, start):
    """Construct (untimed), warm up on one sample (untimed), then ``repeats`` timed runs of
    ``n_samples`` samples ``x[start:start + n_samples]``, each from the initial weights."""
    load_before = _load()
    with _Stopwatch() as construct:
        loop = NaiveLoop(cfg, W, V)
    with _Stopwatch() as first:
        loop.run(x[:1])  # code generation, Cython compilation or cache loading, first-run preparation
    reps = []
    for r in range(repeats):
        loop.set_weights(W, V)
        with _Stopwatch() as sw:
            events = loop.run(x[start:start + n_samples])
        reps.append(_repetition(n_samples, sw, events, loop.last_spikes))
        print(f"  naive repetition {r + 1}/{repeats}: {reps[-1]['samples_per_s']:.3f} samples/s "
              f"(cpu/wall {reps[-1]['cpu_over_wall']:.2f}, load {_load()[0]})", flush=True)
    del loop
    gc.collect()  # nothing of the naive network stays behind for the engines
    return {"one_time_s": {"construction": construct.wall, "first_sample_incl_compile": first.wall},
            "warmup_samples": 1, "repetitions": reps, "load_avg_before": load_before, "load_avg_after": _load()}


def _engine_spikes(res):
    """Input, hidden and reconstruction spikes of the block just run (the network's reset counters)."""
    return np.asarray(res.layer_spikes, dtype=float)


def run_engine(cfg, x, W, V, n_samples, repeats, start, target, threads):
    """First block (build, compilation; untimed), then ``repeats`` timed runs of ``n_samples``
    samples (whole blocks) ``x[start:start + n_samples]``, each from the initial weights."""
    block = cfg.block
    load_before = _load()
    with use_target(target, threads=threads) as directory:
        sim = SpikingLayerPair(cfg, block, target, directory)
        with _Stopwatch() as first:
            sim.run_block(x[:block], x[:block], W, V, learn=True, seed=0)
        reps = []
        for r in range(repeats):
            Wr, Vr, events, spikes = W, V, 0, np.zeros(3)
            with _Stopwatch() as sw:
                for i, b in enumerate(range(start, start + n_samples, block)):
                    res = sim.run_block(x[b:b + block], x[b:b + block], Wr, Vr, learn=True,
                                        seed=1 + r * (n_samples // block) + i)
                    Wr, Vr = res.W, res.V
                    events += res.synaptic_events
                    spikes += _engine_spikes(res)
            reps.append(_repetition(n_samples, sw, events, spikes.tolist()))
            print(f"  {target} ({threads} threads) repetition {r + 1}/{repeats}: "
                  f"{reps[-1]['samples_per_s']:.2f} samples/s (cpu/wall {reps[-1]['cpu_over_wall']:.2f}, "
                  f"load {_load()[0]})", flush=True)
    return {"one_time_s": {"first_block_incl_build": first.wall}, "warmup_samples": block, "repetitions": reps,
            "load_avg_before": load_before, "load_avg_after": _load()}


def run_nest(cfg, x, W, V, n_samples, repeats, start, seed):
    """The NEST peer: built (untimed), ``nest.Prepare()``, one sample (untimed), then ``repeats``
    timed runs of ``n_samples`` samples ``x[start:start + n_samples]``, each from the initial
    weights; ``nest.Cleanup()`` at the end. ``nest_run_s``: the part of a repetition's wall time
    spent inside ``nest.Run`` (the rest sets the generators from Python)."""
    import nest

    load_before = _load()
    with _Stopwatch() as construct:
        peer = NestPeer(cfg, W, V, seed=seed)
    with _Stopwatch() as first:
        peer.run(x[:1])
    reps = []
    try:
        for r in range(repeats):
            peer.set_weights(W, V)
            with _Stopwatch() as sw:
                events, spikes = peer.run(x[start:start + n_samples])
            reps.append(_repetition(n_samples, sw, events, spikes))
            reps[-1]["nest_run_s"] = peer.last_run_s
            print(f"  NEST repetition {r + 1}/{repeats}: {reps[-1]['samples_per_s']:.2f} samples/s "
                  f"(cpu/wall {reps[-1]['cpu_over_wall']:.2f}, inside nest.Run {peer.last_run_s / sw.wall:.0%}, "
                  f"load {_load()[0]})", flush=True)
    finally:
        peer.close()
    return {"one_time_s": {"construction_and_prepare": construct.wall, "first_sample": first.wall},
            "warmup_samples": 1, "repetitions": reps, "load_avg_before": load_before, "load_avg_after": _load(),
            "nest": nest.__version__, "local_num_threads": 1, "neuron_model": peer.model,
            "differences": NEST_DIFFERENCES}


def _summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _ratio(s, base):
    """median / median, with the range min/max .. max/min."""
    return {"median": s["median"] / base["median"], "min": s["min"] / base["max"], "max": s["max"] / base["min"]}


def summarize(rows, nest_row=None):
    """Median, min and max over repetitions; ratios to the naive loop (median / median, and the
    range min/max .. max/min), of wall-clock samples/s and of samples per CPU second (this process
    and its children: less sensitive to the load of a shared machine for single-threaded variants;
    for OpenMP variants it counts every thread's time, waiting included). With ``nest_row`` (the
    key of a NEST peer that ran) every other row gets its ratio to NEST too: of samples/s
    (``speedup_vs_nest``), of samples per CPU second and of synaptic events/s (the NEST peer's
    activity differs, see ``spikes_per_sample``). Rows that were skipped (``skipped``) are left as
    they are."""
    measured = {k: r for k, r in rows.items() if "skipped" not in r}
    for r in measured.values():
        for key in ("samples_per_s", "samples_per_cpu_s", "synaptic_events_per_s", "cpu_over_wall"):
            r[key] = _summary([rep[key] for rep in r["repetitions"]])
        r["spikes_per_sample"] = {k: _summary([rep["spikes_per_sample"][k] for rep in r["repetitions"]])
                                  for k in ("input", "hidden", "recon")}
        r["samples_per_repetition"] = r["repetitions"][0]["samples"]
        r["n_repetitions"] = len(r["repetitions"])
    naive = measured["a_naive_cython_run_per_sample"]
    for r in measured.values():
        for key, out in (("samples_per_s", "speedup_vs_naive"), ("samples_per_cpu_s", "speedup_vs_naive_cpu_time")):
            r[out] = _ratio(r[key], naive[key])
    if nest_row is not None:
        nest = measured[nest_row]
        for name, r in measured.items():
            if name != nest_row:
                for key, out in (("samples_per_s", "speedup_vs_nest"), ("samples_per_cpu_s", "speedup_vs_nest_cpu_time"),
                                 ("synaptic_events_per_s", "speedup_vs_nest_events_per_s")):
                    r[out] = _ratio(r[key], nest[key])


def print_table(rows):
    """Print the rows (median [min-max] of each measured row, ``skipped`` rows by their reason)."""
    print(f"{'variant':38s} {'samples':>9s} {'samples/s':>24s} {'events/s':>9s} {'x naive':>19s} {'cpu/wall':>8s} "
          f"{'x naive (CPU time)':>19s} {'x NEST':>19s} {'one-time s':>10s}")
    for name, r in rows.items():
        if "skipped" in r:
            print(f"{name:38s} skipped: {r['skipped']}")
            continue
        s, sp, sc = r["samples_per_s"], r["speedup_vs_naive"], r["speedup_vs_naive_cpu_time"]
        sn = r.get("speedup_vs_nest")
        vs_nest = f"{sn['median']:6.2f} [{sn['min']:4.2f}-{sn['max']:4.2f}]" if sn else f"{'-':>19s}"
        print(f"{name:38s} {r['n_repetitions']:>3d}x{r['samples_per_repetition']:<5d} "
              f"{s['median']:8.2f} [{s['min']:6.2f}-{s['max']:6.2f}] {r['synaptic_events_per_s']['median']:9.3g} "
              f"{sp['median']:6.1f} [{sp['min']:4.1f}-{sp['max']:4.1f}] {r['cpu_over_wall']['median']:8.2f} "
              f"{sc['median']:6.1f} [{sc['min']:4.1f}-{sc['max']:4.1f}] {vs_nest} "
              f"{sum(r['one_time_s'].values()):10.1f}")
        sps = r["spikes_per_sample"]
        print(f"{'':38s} spikes per sample (input/hidden/recon): "
              + " / ".join(f"{sps[k]['median']:.0f}" for k in ("input", "hidden", "recon")))


def _git(*cmd):
    try:
        out = subprocess.run(["git", "-C", str(ROOT), *cmd], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _nest_version():
    """nest-simulator's installed version (without importing NEST), or None."""
    from importlib import metadata

    try:
        return metadata.version("nest-simulator")
    except metadata.PackageNotFoundError:
        return None


def provenance(args, cfg):
    import brian2

    import spiking_bpdl

    status = _git("status", "--porcelain", "--untracked-files=no")
    # what was imported: the package's source as it stood when the run began (other commits may follow)
    digest = hashlib.sha256()
    for path in sorted((ROOT / "spiking_bpdl").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    # per-pixel arrays (the reconstruction's mean-image drive, from the loaded digits) as a summary
    resolved = {k: ({"per_pixel": True, "shape": list(np.shape(v)), "mean": float(np.mean(v)),
                     "min": float(np.min(v)), "max": float(np.max(v))}
                    if np.size(v) > 0 and np.ndim(v) > 0 and np.issubdtype(np.asarray(v).dtype, np.number)
                    else v) for k, v in dataclasses.asdict(cfg).items()}
    return {"version": spiking_bpdl.__version__, "git_commit": _git("rev-parse", "HEAD"),
            "git_dirty": None if status is None else bool(status),
            # the benchmark runs the working tree: modified package files are part of what was measured
            "git_modified_package_files": None if status is None else sorted(
                line[3:] for line in status.splitlines() if line[3:].startswith("spiking_bpdl/")),
            "package_source_sha256": digest.hexdigest(), "recorded_at": "start of the run",
            "command": shlex.join(["python", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT), *sys.argv[1:]]),
            "options": vars(args), "resolved_config": resolved,
            "python": sys.version.split()[0], "brian2": brian2.__version__, "numpy": np.__version__,
            "nest": _nest_version(),
            "platform": platform.platform(), "cpu_count": os.cpu_count()}


def main(argv=None):
    """Run the benchmark (``argv``: the command-line arguments, default ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="networks/layer_pair_mnist.toml",
                        help="a layer-pair definition (layer stacks: benchmarks/classifier_throughput.py)")
    parser.add_argument("--dt-ms", type=float, default=0.1)
    parser.add_argument("--free-ms", type=float, default=60.0)
    parser.add_argument("--target-ms", type=float, default=40.0)
    parser.add_argument("--naive-samples", type=int, default=MIN_NAIVE_SAMPLES,
                        help="timed samples of the naive loop per repetition (protocol: >= 100)")
    parser.add_argument("--engine-samples", type=int, default=300,
                        help="timed samples of each engine per repetition (whole blocks)")
    parser.add_argument("--repeats", type=int, default=MIN_REPEATS, help="timed repetitions per variant (protocol: >= 3)")
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2, help="OpenMP threads of variant (d); 0 skips it")
    parser.add_argument("--seed", type=int, default=0, help="initial weights and the naive loop's Poisson trains")
    parser.add_argument("--nest", action=argparse.BooleanOptionalAction, default=None,
                        help="the NEST peer row (e); default: on when `import nest` works (pip install "
                             f"'{NEST_REQUIREMENT}', or the package's [bench] extra)")
    parser.add_argument("--nest-samples", type=int, default=None,
                        help="timed samples of the NEST peer per repetition (default: --engine-samples)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.naive_samples < 1 or args.repeats < 1 or args.block < 1:
        parser.error("--naive-samples, --repeats and --block must be positive")
    if args.engine_samples < args.block or args.engine_samples % args.block:
        parser.error(f"--engine-samples must be a positive multiple of --block ({args.block})")
    if args.nest_samples is None:
        args.nest_samples = args.engine_samples
    if args.nest_samples < 1:
        parser.error("--nest-samples must be positive")
    nest_skip = nest_missing() if args.nest is not False else "not requested (--no-nest)"
    if nest_skip is not None:
        print(f"NEST peer skipped: {nest_skip}", flush=True)
    protocol_met = args.naive_samples >= MIN_NAIVE_SAMPLES and args.repeats >= MIN_REPEATS
    if not protocol_met:
        print(f"note: below the protocol's sizes (>= {MIN_NAIVE_SAMPLES} naive samples, >= {MIN_REPEATS} "
              "repetitions): a check of the script, not a measurement", flush=True)
    uptime_start = _uptime()
    print(f"load at start: {uptime_start}", flush=True)

    import brian2 as b2

    b2.seed(args.seed)
    try:
        cfg = load_layer_pair(args.network)
    except ConfigError as exc:
        parser.error(f"{exc} (this benchmark trains layer pairs; layer stacks: benchmarks/classifier_throughput.py)")
    cfg = dataclasses.replace(cfg, block=args.block, dt=args.dt_ms * 1e-3, free_phase=args.free_ms * 1e-3,
                              target_phase=args.target_ms * 1e-3, plasticity_onset=20e-3,
                              # the scheme the naive loop implements: one switch, online updates, running traces,
                              # delta synapses, Poisson inputs
                              cycles=1, weight_updates="online", trace_reset="none", tau_syn=0.0,
                              encoder=INPUT_STATISTICS)
    start = args.block  # timed digits follow the engines' warm-up block
    x = load_images(cfg, "train", start + max(args.naive_samples, args.engine_samples, args.nest_samples))
    cfg = with_mean_bias(cfg, x)
    W, V = init_weights(cfg, np.random.default_rng(args.seed))
    prov = provenance(args, cfg)  # before the run: the commit and source that were imported

    rows = {}
    print("(a) naive loop", flush=True)
    rows["a_naive_cython_run_per_sample"] = run_naive(cfg, x, W, V, args.naive_samples, args.repeats, start)
    variants = [("b_engine_cython", "cython", 0), ("c_engine_cpp_standalone", "cpp_standalone", 0)]
    if args.threads > 0:
        variants.append((f"d_engine_cpp_standalone_{args.threads}_threads", "cpp_standalone", args.threads))
    for name, target, threads in variants:
        print(f"({name[0]}) {name}", flush=True)
        rows[name] = run_engine(cfg, x, W, V, args.engine_samples, args.repeats, start, target, threads)
    if nest_skip is None:
        print(f"({NEST_ROW[0]}) {NEST_ROW}: NEST's stdp_synapse, one thread", flush=True)
        try:
            rows[NEST_ROW] = run_nest(cfg, x, W, V, args.nest_samples, args.repeats, start, args.seed)
        except ImportError as exc:  # installed but broken
            nest_skip = f"import nest failed: {exc}"
    if nest_skip is not None:
        rows[NEST_ROW] = {"skipped": nest_skip}
    summarize(rows, nest_row=NEST_ROW if nest_skip is None else None)
    uptime_end = _uptime()
    result = {
        "network": cfg.name, "dt_ms": cfg.dt * 1e3, "presentation_ms": cfg.presentation * 1e3, "block": cfg.block,
        "max_rate_hz": cfg.max_rate, "input_statistics": f"{INPUT_STATISTICS} on both sides",
        "protocol": {
            "warm_up": PROTOCOL_WARM_UP,
            "repetitions": args.repeats, "naive_samples_per_repetition": args.naive_samples,
            "engine_samples_per_repetition": args.engine_samples,
            "nest_samples_per_repetition": args.nest_samples if nest_skip is None else None,
            "nest_peer": nest_peer_protocol("e_nest_peer"),
            "each_repetition": "from the same initial weights on the same digits (training digits "
                               f"{start}..{start + max(args.naive_samples, args.engine_samples, args.nest_samples) - 1})",
            "statistic": PROTOCOL_STATISTIC,
            "meets_minimum": protocol_met},
        "load": load_record(uptime_start, uptime_end),
        "rows": rows,
        "targets": {"b_over_a": 4.0, "c_over_a": 20.0},
        "provenance": prov,
    }
    write_json(args.out, result)

    print(f"\ninput statistics: {INPUT_STATISTICS} on both sides; median [min-max] of {args.repeats} repetitions; "
          f"one-time costs excluded (warm-up) and listed")
    print_table(rows)
    print(f"load: start {uptime_start}; end {uptime_end}")
    print(json.dumps({k: [round(v["speedup_vs_naive"]["median"], 2), round(v["speedup_vs_naive_cpu_time"]["median"], 2)]
                      for k, v in rows.items() if "skipped" not in v}))


if __name__ == "__main__":
    main()
