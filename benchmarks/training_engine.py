"""Throughput of spiking layer-pair training: naive Brian2 loop vs this engine.

Measured in ONE process, as ratios (the machine's absolute speed cancels out):

(a) naive  -- what most user scripts do: Brian2 runtime mode (cython), one persistent
    network, and for every sample ``inp.rates = ...`` / teacher set from Python, then
    ``run(free_phase)`` and ``run(target_phase)``;
(b) engine on cython   -- one ``run()`` per block of samples (TimedArray stimuli);
(c) engine on cpp_standalone -- compiled once, one ``device.run(run_args=...)`` per block.

Every variant trains the same layer pair with the same STDP code on real MNIST digits.
Steady-state throughput is compared: the naive loop is timed after a warm-up call that
compiles its code, the engines after their first block (build + compilation, reported
separately). Writes ``benchmarks/results/training_engine.json`` and prints a table.

Usage::

    python benchmarks/training_engine.py [--network networks/layer_pair_small.toml]
        [--naive-samples 20] [--engine-samples 400]
"""

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from spiking_bpdl._io import write_json
from spiking_bpdl.codegen import use_target
from spiking_bpdl.rate.lif_layer_pair import init_weights, load_images, load_layer_pair, with_mean_bias
from spiking_bpdl.spiking.layer_pair import SpikingLayerPair

OUT = Path(__file__).resolve().parent / "results" / "training_engine.json"


def naive_loop(cfg, x, W, V):
    """One persistent runtime network; rates and teacher set from Python; two run() per sample."""
    import brian2 as b2

    from spiking_bpdl.codegen import configure_target

    configure_target("cython")

    from spiking_bpdl.neurons import lif_equations

    b2.defaultclock.dt = cfg.dt * b2.second
    params = cfg.lif_params()
    ns = params.namespace()
    A_W, A_V = cfg.A_plus_W, cfg.A_plus_V
    ns.update(tau_plus=cfg.tau_plus * b2.second, tau_minus=cfg.tau_minus * b2.second, bias_h=cfg.bias_hidden,
              beta=cfg.nudge, gamma=cfg.feedback_gain, r_max=cfg.max_rate * b2.Hz,
              tau_filter=cfg.tau_filter * b2.second, A_plus_W=A_W, A_minus_W=A_W * cfg.tau_plus / cfg.tau_minus,
              A_plus_V=A_V, A_minus_V=A_V * cfg.tau_plus / cfg.tau_minus)
    inp = b2.NeuronGroup(cfg.n_in, "rates : Hz\ndapre/dt = -apre/tau_plus : 1", threshold="rand() < rates*dt",
                         reset="apre += 1", method="exact", namespace=ns, name="naive_input")
    traces = "dapre/dt = -apre/tau_plus : 1\ndapost/dt = -apost/tau_minus : 1\nplastic_W : 1 (shared)\n"
    hidden = b2.NeuronGroup(cfg.n_hidden, lif_equations(params, "bias_h*v_threshold/R") + b2.Equations(traces),
                            threshold="v > v_threshold", reset="v = v_reset\napre += 1\napost += 1",
                            refractory="t_ref", method="euler", namespace=ns, name="naive_hidden")
    rec_eqs = lif_equations(params, "(bias_r + target_on*beta*(xt - rtrace/r_max))*v_threshold/R") + b2.Equations(
        "dapost/dt = -apost/tau_minus : 1\ndrtrace/dt = -rtrace/tau_filter : Hz\nbias_r : 1\nxt : 1\n"
        "target_on : 1 (shared)\nplastic_V : 1 (shared)\nplastic_W : 1 (shared)")
    recon = b2.NeuronGroup(cfg.n_in, rec_eqs, threshold="v > v_threshold",
                           reset="v = v_reset\napost += 1\nrtrace += 1/tau_filter", refractory="t_ref",
                           method="euler", namespace=ns, name="naive_recon")
    recon.bias_r = np.broadcast_to(cfg.b_r, (cfg.n_in,))
    sW = b2.Synapses(inp, hidden, "w : 1", namespace=ns, name="naive_W",
                     on_pre="v_post += (1 - gamma)*w*v_threshold\nw -= plastic_W_post*A_minus_W*apost_post",
                     on_post="w += plastic_W_post*A_plus_W*apre_pre")
    sV = b2.Synapses(hidden, recon, "w : 1", namespace=ns, name="naive_V",
                     on_pre="v_post += w*v_threshold\nw -= plastic_V_post*A_minus_V*apost_post",
                     on_post="w += plastic_V_post*A_plus_V*apre_pre")
    sF = b2.Synapses(recon, hidden, "w : 1", on_pre="v_post += gamma*w*v_threshold", namespace=ns, name="naive_Wfb")
    for s in (sW, sV, sF):
        s.connect()
    sW.w, sV.w, sF.w = W.ravel(), V.ravel(), W.ravel()
    net = b2.Network(inp, hidden, recon, sW, sV, sF, name="naive_net")
    for k in range(x.shape[0]):
        inp.rates = cfg.max_rate * x[k] * b2.Hz
        recon.xt = x[k]
        recon.target_on = 0
        recon.plastic_V = 0
        hidden.plastic_W = 0
        net.run(cfg.free_phase * b2.second)
        recon.target_on = 1
        recon.plastic_V = 1
        hidden.plastic_W = 1
        net.run(cfg.target_phase * b2.second)
    return np.asarray(sV.w[:])


def engine(cfg, x, W, V, target):
    """Returns (seconds of the first block, incl. build/compilation), (seconds of the other blocks),
    and the synaptic events of the other blocks."""
    with use_target(target) as directory:
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


def timed(fun, *args):
    t0 = time.perf_counter()
    out = fun(*args)
    return time.perf_counter() - t0, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="networks/layer_pair_small.toml")
    parser.add_argument("--naive-samples", type=int, default=20)
    parser.add_argument("--engine-samples", type=int, default=400)
    parser.add_argument("--block", type=int, default=100)
    args = parser.parse_args()
    cfg = load_layer_pair(args.network)
    cfg = dataclasses.replace(cfg, block=args.block)
    x = load_images(cfg, "train", max(args.naive_samples, args.engine_samples))
    cfg = with_mean_bias(cfg, x)
    W, V = init_weights(cfg, np.random.default_rng(0))
    rows = {}
    t_warm, _ = timed(naive_loop, cfg, x[:1], W, V)  # compiles the naive network's code (cached)
    import gc

    gc.collect()  # the warm-up objects must be gone before the same names are used again
    t, _ = timed(naive_loop, cfg, x[:args.naive_samples], W, V)
    rows["naive_cython_run_per_sample"] = {"samples": args.naive_samples, "wall_s": t,
                                           "samples_per_s": args.naive_samples / t,
                                           "first_call_incl_compile_s": t_warm}
    for target in ("cython", "cpp_standalone"):
        t_first, t_rest, events = engine(cfg, x[:args.engine_samples], W, V, target)
        n_rest = args.engine_samples - cfg.block
        rows[f"engine_{target}"] = {"samples": n_rest, "wall_s": t_rest, "samples_per_s": n_rest / t_rest,
                                    "synaptic_events_per_s": events / t_rest,
                                    "first_block_incl_build_s": t_first,
                                    "samples_per_s_incl_first_block": args.engine_samples / (t_first + t_rest)}
    base = rows["naive_cython_run_per_sample"]["samples_per_s"]
    for r in rows.values():
        r["speedup_vs_naive"] = r["samples_per_s"] / base
    result = {"network": cfg.name, "dt_ms": cfg.dt * 1e3, "presentation_ms": cfg.presentation * 1e3,
              "block": cfg.block, "rows": rows,
              "note": "steady state: naive timed after a 1-sample warm-up call; engines exclude their first "
                      "block (build + compilation), which is reported separately"}
    write_json(OUT, result)
    print(f"{'variant':32s} {'samples':>8s} {'samples/s':>10s} {'x naive':>8s}")
    for name, r in rows.items():
        print(f"{name:32s} {r['samples']:8d} {r['samples_per_s']:10.2f} {r['speedup_vs_naive']:8.1f}")
    print(json.dumps({k: round(v["speedup_vs_naive"], 2) for k, v in rows.items()}))


if __name__ == "__main__":
    main()
