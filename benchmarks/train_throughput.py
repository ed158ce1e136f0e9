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
(d) as (c) with OpenMP threads (``--threads``, default 2).

Every variant trains the same layer pair with the same all-to-all pair-STDP rule on the same
digits. Steady-state figures exclude one-time compilation (the naive loop is timed after a
warm-up call that compiles its code; the engines after their first block), which is reported
separately, together with the figures that include it. Synaptic events are spike deliveries
(pre spikes times fan-out over all projections, plus the STDP updates that post spikes make on
the plastic ones). Writes ``benchmarks/results/train_throughput.json`` and prints a table.

Usage::

    python benchmarks/train_throughput.py [--network networks/layer_pair_mnist.toml]
        [--dt-ms 0.1] [--naive-samples 20] [--engine-samples 400] [--threads 2]
"""

import argparse
import dataclasses
import gc
import json
import time
from pathlib import Path

import numpy as np

from spiking_bpdl._io import write_json
from spiking_bpdl.codegen import use_target
from spiking_bpdl.rate.lif_layer_pair import init_weights, load_images, load_layer_pair, with_mean_bias
from spiking_bpdl.spiking.layer_pair import SpikingLayerPair

OUT = Path(__file__).resolve().parent / "results" / "train_throughput.json"


def naive_loop(cfg, x, W, V):
    """What most user scripts do, written the way Brian2's documentation writes STDP.

    Brian2 runtime mode (cython); a ``PoissonGroup`` whose rates, like the clean target of
    the reconstruction, are set from Python before every sample; ONE ``run()`` per sample,
    the phases following ``t - t_start`` inside it; pair STDP with the per-synapse
    event-driven traces of Brian2's STDP example. Same neurons, same rule (all-to-all
    pairing, contrastive sign window), same learning and same recorded spikes as the engine.
    Returns the synaptic events processed (the engine's definition)."""
    import brian2 as b2

    from spiking_bpdl.codegen import configure_target
    from spiking_bpdl.neurons import lif_equations

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
    recon = b2.NeuronGroup(cfg.n_in, rec_eqs, threshold="v > v_threshold", reset="v = v_reset\nrtrace += 1/tau_filter",
                           refractory="t_ref", method=method, namespace=ns, name="naive_recon")
    recon.bias_r = np.broadcast_to(cfg.b_r, (cfg.n_in,))
    stdp = "w : 1\ndapre/dt = -apre/tau_plus : 1 (event-driven)\ndapost/dt = -apost/tau_minus : 1 (event-driven)"
    sW = b2.Synapses(inp, hidden, stdp, namespace=ns, name="naive_W",
                     on_pre="v_post += (1 - gamma)*w*v_threshold\napre += 1\nw -= plastic_post*A_minus_W*apost",
                     on_post="apost += 1\nw += plastic_post*A_plus_W*apre")
    sV = b2.Synapses(hidden, recon, stdp, namespace=ns, name="naive_V",
                     on_pre="v_post += w*v_threshold\napre += 1\nw -= plastic_post*A_minus_V*apost",
                     on_post="apost += 1\nw += plastic_post*A_plus_V*apre")
    sF = b2.Synapses(recon, hidden, "w : 1", on_pre="v_post += gamma*w*v_threshold", namespace=ns, name="naive_Wfb")
    for s in (sW, sV, sF):
        s.connect()
    sW.w, sV.w, sF.w = W.ravel(), V.ravel(), W.ravel()
    # the engine's outputs: hidden and reconstruction spike trains (for the loss), input spike count
    counts = [b2.SpikeMonitor(g, record=g is not inp, name=f"naive_mon_{g.name}") for g in (inp, hidden, recon)]
    net = b2.Network(inp, hidden, recon, sW, sV, sF, *counts, name="naive_net")
    for k in range(x.shape[0]):
        inp.rates = cfg.max_rate * x[k] * b2.Hz
        recon.xt = x[k]
        hidden.t_start = recon.t_start = net.t
        net.run(cfg.presentation * b2.second)
    n_in, n_h, n_r = (int(c.num_spikes) for c in counts)
    return n_in * cfg.n_hidden + n_h * 2 * cfg.n_in + n_r * 2 * cfg.n_hidden


def engine(cfg, x, W, V, target, threads=0):
    """(seconds of the first block incl. build/compilation, seconds of the other blocks,
    synaptic events of the other blocks)."""
    with use_target(target, threads=threads) as directory:
        sim = SpikingLayerPair(cfg, cfg.block, target, directory)
        events, times = 0, []
        for b in range(0, x.shape[0], cfg.block):
            t0 = time.perf_counter()
            res = sim.run_block(x[b:b + cfg.block], x[b:b + cfg.block], W, V, learn=True, seed=b)
            times.append(time.perf_counter() - t0)
            W, V = res.W, res.V
            if b:
                events += res.synaptic_events
    return times[0], sum(times[1:]), events


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="networks/layer_pair_mnist.toml")
    parser.add_argument("--dt-ms", type=float, default=0.1)
    parser.add_argument("--free-ms", type=float, default=60.0)
    parser.add_argument("--target-ms", type=float, default=40.0)
    parser.add_argument("--naive-samples", type=int, default=20)
    parser.add_argument("--engine-samples", type=int, default=400)
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2, help="OpenMP threads of variant (d); 0 skips it")
    args = parser.parse_args()
    cfg = load_layer_pair(args.network)
    cfg = dataclasses.replace(cfg, block=args.block, dt=args.dt_ms * 1e-3, free_phase=args.free_ms * 1e-3,
                              target_phase=args.target_ms * 1e-3, plasticity_onset=20e-3,
                              # the scheme the naive loop implements: one switch, online updates, running traces,
                              # delta synapses
                              cycles=1, weight_updates="online", trace_reset="none", tau_syn=0.0)
    x = load_images(cfg, "train", max(args.naive_samples + 1, args.engine_samples))
    cfg = with_mean_bias(cfg, x)
    W, V = init_weights(cfg, np.random.default_rng(0))
    rows = {}
    t0 = time.perf_counter()
    naive_loop(cfg, x[:1], W, V)  # compiles the naive network's code (cached afterwards)
    t_warm = time.perf_counter() - t0
    gc.collect()  # the warm-up objects must be gone before the same names are used again
    t0 = time.perf_counter()
    events = naive_loop(cfg, x[1:args.naive_samples + 1], W, V)
    t = time.perf_counter() - t0
    rows["a_naive_cython_run_per_sample"] = {
        "samples": args.naive_samples, "wall_s": t, "samples_per_s": args.naive_samples / t,
        "synaptic_events_per_s": events / t, "first_call_incl_compile_s": t_warm,
        "samples_per_s_incl_compile": (args.naive_samples + 1) / (t + t_warm)}
    print(f"naive: {args.naive_samples / t:.2f} samples/s", flush=True)
    variants = [("b_engine_cython", "cython", 0), ("c_engine_cpp_standalone", "cpp_standalone", 0)]
    if args.threads > 0:
        variants.append((f"d_engine_cpp_standalone_{args.threads}_threads", "cpp_standalone", args.threads))
    for name, target, threads in variants:
        t_first, t_rest, events = engine(cfg, x[:args.engine_samples], W, V, target, threads)
        n_rest = args.engine_samples - cfg.block
        rows[name] = {"samples": n_rest, "wall_s": t_rest, "samples_per_s": n_rest / t_rest,
                      "synaptic_events_per_s": events / t_rest, "first_block_incl_build_s": t_first,
                      "samples_per_s_incl_compile": args.engine_samples / (t_first + t_rest)}
        print(f"{name}: {rows[name]['samples_per_s']:.2f} samples/s", flush=True)
    base = rows["a_naive_cython_run_per_sample"]
    for r in rows.values():
        r["speedup_vs_naive"] = r["samples_per_s"] / base["samples_per_s"]
        r["speedup_vs_naive_incl_compile"] = r["samples_per_s_incl_compile"] / base["samples_per_s_incl_compile"]
    result = {"network": cfg.name, "dt_ms": cfg.dt * 1e3, "presentation_ms": cfg.presentation * 1e3,
              "block": cfg.block, "max_rate_hz": cfg.max_rate, "rows": rows,
              "targets": {"b_over_a": 4.0, "c_over_a": 20.0},
              "note": "steady state excludes one-time compilation (naive: a 1-sample warm-up call; engines: "
                      "their first block), reported separately and in the *_incl_compile figures"}
    write_json(OUT, result)
    print(f"{'variant':40s} {'samples':>7s} {'samples/s':>10s} {'events/s':>10s} {'x naive':>8s} {'incl. compile':>14s}")
    for name, r in rows.items():
        print(f"{name:40s} {r['samples']:7d} {r['samples_per_s']:10.2f} {r['synaptic_events_per_s']:10.3g} "
              f"{r['speedup_vs_naive']:8.1f} {r['samples_per_s_incl_compile']:8.2f} ({r['speedup_vs_naive_incl_compile']:.1f}x)")
    print(json.dumps({k: round(v["speedup_vs_naive"], 2) for k, v in rows.items()}))


if __name__ == "__main__":
    main()
