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
(d) as (c) with OpenMP threads (``--threads``, default 2; 0 skips it).

Every variant trains the same layer pair with the same all-to-all pair-STDP rule on the same
digits, from the same initial weights.

Protocol
--------
* **Input statistics: Poisson on both sides.** The naive loop's ``PoissonGroup`` and the
  engine's Poisson encoder (``encoder = "poisson"``, overriding the MNIST definition's
  ``"regular"``): one Bernoulli draw per input neuron and time step at rate ``r_max * x``.
* **Warm-up, then time -- on both sides.** The naive network is constructed and run for one
  sample (Cython compilation or cache loading, first-run preparation), untimed; the engine
  runs its first block (network build, compilation, standalone project build), untimed. These
  one-time costs are reported separately (``one_time_s``).
* **Repetitions.** Each variant then runs ``--repeats`` (default 3) timed repetitions in the
  same process, each from the same initial weights on the same digits (the ones after the
  warm-up block): ``--naive-samples`` (default 100) samples for the naive loop, one
  ``run()`` each, ``--engine-samples`` (default 300, whole blocks) for the engines. A row
  reports the median over repetitions with the min and max; a ratio is median / median,
  with the range min(variant)/max(naive) .. max(variant)/min(naive).
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
        n_in, n_h, n_r = (a - b for a, b in zip(self._spikes(), before))
        return n_in * cfg.n_hidden + n_h * 2 * cfg.n_in + n_r * 2 * cfg.n_hidden


def _repetition(samples, sw, events):
    return {"samples": samples, "wall_s": sw.wall, "cpu_s": sw.cpu, "cpu_over_wall": sw.cpu / sw.wall,
            "samples_per_s": samples / sw.wall, "samples_per_cpu_s": samples / sw.cpu, "synaptic_events": int(events),
            "synaptic_events_per_s": events / sw.wall}


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
        reps.append(_repetition(n_samples, sw, events))
        print(f"  naive repetition {r + 1}/{repeats}: {reps[-1]['samples_per_s']:.3f} samples/s "
              f"(cpu/wall {reps[-1]['cpu_over_wall']:.2f}, load {_load()[0]})", flush=True)
    del loop
    gc.collect()  # nothing of the naive network stays behind for the engines
    return {"one_time_s": {"construction": construct.wall, "first_sample_incl_compile": first.wall},
            "warmup_samples": 1, "repetitions": reps, "load_avg_before": load_before, "load_avg_after": _load()}


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
            Wr, Vr, events = W, V, 0
            with _Stopwatch() as sw:
                for i, b in enumerate(range(start, start + n_samples, block)):
                    res = sim.run_block(x[b:b + block], x[b:b + block], Wr, Vr, learn=True,
                                        seed=1 + r * (n_samples // block) + i)
                    Wr, Vr = res.W, res.V
                    events += res.synaptic_events
            reps.append(_repetition(n_samples, sw, events))
            print(f"  {target} ({threads} threads) repetition {r + 1}/{repeats}: "
                  f"{reps[-1]['samples_per_s']:.2f} samples/s (cpu/wall {reps[-1]['cpu_over_wall']:.2f}, "
                  f"load {_load()[0]})", flush=True)
    return {"one_time_s": {"first_block_incl_build": first.wall}, "warmup_samples": block, "repetitions": reps,
            "load_avg_before": load_before, "load_avg_after": _load()}


def _summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(rows):
    """Median, min and max over repetitions; ratios to the naive loop (median / median, and the
    range min/max .. max/min), of wall-clock samples/s and of samples per CPU second (this process
    and its children: less sensitive to the load of a shared machine for single-threaded variants;
    for OpenMP variants it counts every thread's time, waiting included)."""
    for r in rows.values():
        for key in ("samples_per_s", "samples_per_cpu_s", "synaptic_events_per_s", "cpu_over_wall"):
            r[key] = _summary([rep[key] for rep in r["repetitions"]])
        r["samples_per_repetition"] = r["repetitions"][0]["samples"]
        r["n_repetitions"] = len(r["repetitions"])
    naive = rows["a_naive_cython_run_per_sample"]
    for r in rows.values():
        for key, out in (("samples_per_s", "speedup_vs_naive"), ("samples_per_cpu_s", "speedup_vs_naive_cpu_time")):
            s, base = r[key], naive[key]
            r[out] = {"median": s["median"] / base["median"], "min": s["min"] / base["max"],
                      "max": s["max"] / base["min"]}


def _git(*cmd):
    try:
        out = subprocess.run(["git", "-C", str(ROOT), *cmd], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


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
                     "min": float(np.min(v)), "max": float(np.max(v))} if np.ndim(v) > 0 and not isinstance(v, str)
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
            "platform": platform.platform(), "cpu_count": os.cpu_count()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="networks/layer_pair_mnist.toml")
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
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.naive_samples < 1 or args.repeats < 1 or args.block < 1:
        parser.error("--naive-samples, --repeats and --block must be positive")
    if args.engine_samples < args.block or args.engine_samples % args.block:
        parser.error(f"--engine-samples must be a positive multiple of --block ({args.block})")
    protocol_met = args.naive_samples >= MIN_NAIVE_SAMPLES and args.repeats >= MIN_REPEATS
    if not protocol_met:
        print(f"note: below the protocol's sizes (>= {MIN_NAIVE_SAMPLES} naive samples, >= {MIN_REPEATS} "
              "repetitions): a check of the script, not a measurement", flush=True)
    uptime_start = _uptime()
    print(f"load at start: {uptime_start}", flush=True)

    import brian2 as b2

    b2.seed(args.seed)
    cfg = load_layer_pair(args.network)
    cfg = dataclasses.replace(cfg, block=args.block, dt=args.dt_ms * 1e-3, free_phase=args.free_ms * 1e-3,
                              target_phase=args.target_ms * 1e-3, plasticity_onset=20e-3,
                              # the scheme the naive loop implements: one switch, online updates, running traces,
                              # delta synapses, Poisson inputs
                              cycles=1, weight_updates="online", trace_reset="none", tau_syn=0.0,
                              encoder=INPUT_STATISTICS)
    start = args.block  # timed digits follow the engines' warm-up block
    x = load_images(cfg, "train", start + max(args.naive_samples, args.engine_samples))
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
    summarize(rows)
    uptime_end = _uptime()
    result = {
        "network": cfg.name, "dt_ms": cfg.dt * 1e3, "presentation_ms": cfg.presentation * 1e3, "block": cfg.block,
        "max_rate_hz": cfg.max_rate, "input_statistics": f"{INPUT_STATISTICS} on both sides",
        "protocol": {
            "warm_up": "naive: network constructed and run for 1 sample, untimed; engines: first block "
                       "(build, compilation) untimed; both reported in one_time_s",
            "repetitions": args.repeats, "naive_samples_per_repetition": args.naive_samples,
            "engine_samples_per_repetition": args.engine_samples,
            "each_repetition": "from the same initial weights on the same digits (training digits "
                               f"{start}..{start + max(args.naive_samples, args.engine_samples) - 1})",
            "statistic": "median over repetitions, with min and max; speedup = median/median, range "
                         "min(variant)/max(naive) .. max(variant)/min(naive); of wall-clock samples/s "
                         "(speedup_vs_naive) and of samples per CPU second (speedup_vs_naive_cpu_time)",
            "meets_minimum": protocol_met},
        "load": {"uptime_start": uptime_start, "uptime_end": uptime_end, "cpu_count": os.cpu_count(),
                 "note": "wall-clock figures; ratios are measured within one run. cpu_over_wall < 1 for a "
                         "single-threaded variant means it waited for a core (a shared, loaded machine)"},
        "rows": rows,
        "targets": {"b_over_a": 4.0, "c_over_a": 20.0},
        "provenance": prov,
    }
    write_json(args.out, result)

    print(f"\ninput statistics: {INPUT_STATISTICS} on both sides; median [min-max] of {args.repeats} repetitions; "
          f"one-time costs excluded (warm-up) and listed")
    print(f"{'variant':38s} {'samples':>9s} {'samples/s':>24s} {'events/s':>9s} {'x naive':>19s} {'cpu/wall':>8s} "
          f"{'x naive (CPU time)':>19s} {'one-time s':>10s}")
    for name, r in rows.items():
        s, sp, sc = r["samples_per_s"], r["speedup_vs_naive"], r["speedup_vs_naive_cpu_time"]
        print(f"{name:38s} {r['n_repetitions']:>3d}x{r['samples_per_repetition']:<5d} "
              f"{s['median']:8.2f} [{s['min']:6.2f}-{s['max']:6.2f}] {r['synaptic_events_per_s']['median']:9.3g} "
              f"{sp['median']:6.1f} [{sp['min']:4.1f}-{sp['max']:4.1f}] {r['cpu_over_wall']['median']:8.2f} "
              f"{sc['median']:6.1f} [{sc['min']:4.1f}-{sc['max']:4.1f}] {sum(r['one_time_s'].values()):10.1f}")
    print(f"load: start {uptime_start}; end {uptime_end}")
    print(json.dumps({k: [round(v["speedup_vs_naive"]["median"], 2), round(v["speedup_vs_naive_cpu_time"]["median"], 2)]
                      for k, v in rows.items()}))


if __name__ == "__main__":
    main()
