"""Probe a spiking layer-stack classifier on validation digits: the STDP learning of every layer in Brian2.

    python scripts/spiking_classifier_probe.py DEFINITION.toml --samples 6000 --set stack.nudge=12 \
        --out /tmp/probe/a.json [--freeze-hidden] [--target cpp_standalone]

A screening tool for the spiking backend of layer stacks while its training engine is being built:
it trains :class:`spiking_bpdl.stack.network.SpikingStack` block by block on the first
``train_pool`` training digits (weights change only through the synapses' STDP code and the per-sample
flush), and scores the network's own output spike counts (and a rate pass of its weights) on
validation digits only (the last ``validation_samples`` of the training split). The test digits are
never loaded. Every plastic forward projection needs a ``rule = "pair"`` table. The feedback of the
definition's ``[stack] feedback`` is used as follows: ``transposed`` sends the top layer's spikes down
through the transposed forward weights (refreshed every block; ``--feedback-centre`` removes their mean
over the top units), ``random`` through the fixed initial feedback weights; other modes are not
available on the spiking backend yet. ``--centre W1`` makes a projection's STDP pre-centred
(:attr:`spiking_bpdl.plasticity.PairSTDP.pre_offset`); ``--freeze-hidden`` zeroes the hidden
projections' amplitudes.

Writes one JSON with the validation curve (spiking read-out and rate pass, per ``--eval-every``
samples), per-block alignment of each layer's STDP update with the rate rule computed from the same
block's measured phase rates (a bookkeeping check: the same spikes) and with the rate twin's update of
the same block (``cos_twin_*``: the rule's direction), every layer's mean free rate and phase change,
the resolved configuration, the seed, the command and the version.
"""

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from spiking_bpdl._io import write_json
from spiking_bpdl.codegen import use_target
from spiking_bpdl.data import load_dataset
from spiking_bpdl.provenance import script_provenance
from spiking_bpdl.stack import twin
from spiking_bpdl.stack.config import fixed_feedback, load_stack
from spiking_bpdl.stack.engine import centring_offset, stdp_rules
from spiking_bpdl.stack.network import SpikingStack


def _cos(a, b):
    den = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / den) if den > 0 else float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("network")
    ap.add_argument("--samples", type=int, default=6000)
    ap.add_argument("--block", type=int, default=100)
    ap.add_argument("--set", action="append", default=[], help="definition key override section.key=value")
    ap.add_argument("--feedback-gain", type=float, default=0.5, help="gamma: factor on every feedback spike")
    ap.add_argument("--freeze-hidden", action="store_true", help="hidden forward weights stay at their initial values")
    ap.add_argument("--lr-decay-samples", type=float, default=20000.0, help="STDP factor 1/(1 + samples/this)")
    ap.add_argument("--eval-every", type=int, default=2000)
    ap.add_argument("--eval-samples", type=int, default=500)
    ap.add_argument("--centre", action="append", default=[], metavar="NAME[=HZ]",
                    help="pre-centred STDP on forward projection NAME (PairSTDP.pre_offset): the mean pre rate m "
                         "is HZ, or the pre layer's mean rate over the first 1,000 training digits (the input's, "
                         "or the rate twin's at the initial weights)")
    ap.add_argument("--feedback-phases", choices=("both", "target"), default="both",
                    help="SpikingStack(feedback_phases=...): feedback spikes reach the layer below in both "
                         "phases, or in the target phase only")
    ap.add_argument("--feedback-centre", action="store_true",
                    help="transposed feedback minus its mean over the layer above (per receiving neuron), so that "
                         "activity common to all top units (e.g. the output's free-phase background) sends no net "
                         "drive down")
    ap.add_argument("--target", default="cpp_standalone")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True, help="JSON file")
    a = ap.parse_args(argv)
    prov = script_provenance(a, "scripts/spiking_classifier_probe.py", argv)
    cfg = load_stack(a.network, a.set)
    rules = stdp_rules(cfg)
    if cfg.target != "label":
        raise SystemExit("spiking_classifier_probe: error: the definition's stack.target must be 'label'")
    if cfg.feedback not in ("transposed", "random"):
        raise SystemExit(f"spiking_classifier_probe: error: feedback {cfg.feedback!r} has no spiking version yet")
    if cfg.downsample != 1:
        raise SystemExit("spiking_classifier_probe: error: data.downsample must be 1 (full-size digits)")
    data = load_dataset(cfg.dataset, "train", source=cfg.source)
    x = data.images.reshape(len(data.images), -1).astype(float)
    x = x / 255.0 if x.max() > 1.5 else x
    n_val = cfg.validation_samples
    x_train, y_train = x[:cfg.train_pool], data.labels[:cfg.train_pool]
    x_val, y_val = x[-n_val:], data.labels[-n_val:]
    rng = np.random.default_rng([a.seed, 1])
    weights = twin.init_weights(cfg, rng)
    n = len(cfg.layers) - 1
    fwd = [cfg.forward(l).name for l in range(1, n + 1)]
    if a.freeze_hidden:
        # Zero amplitudes, not only discarding the block's hidden changes: the per-sample flush would
        # otherwise let the hidden weights drift inside every block (and move the rates that W2 learns from).
        for name in fwd[:-1]:
            if name in rules:
                rules[name] = rules[name].replace(A_plus=0.0, A_minus=0.0)
    # Pre-centring: the offset x_tar of the training engine (spiking_bpdl.stack.engine.centring_offset).
    twin_rates = twin.free_phase(cfg, weights, x_train[:1000])[1]
    centred = {}
    for item in a.centre:
        name, _, hz = item.partition("=")
        if name not in rules:
            raise SystemExit(f"spiking_classifier_probe: error: --centre {name}: no plastic forward projection")
        l = fwd.index(name) + 1
        m = float(hz) if hz else float(np.mean(twin_rates[l - 1]))
        rules[name] = rules[name].replace(pre_offset=centring_offset(rules[name], m, cfg))
        centred[name] = m
    # the rate twin's update of the same block, for the alignment report: hidden targets by injected currents
    # through the very feedback weights the spiking network gets ('random' reads them as given)
    cfg_twin = dataclasses.replace(fixed_feedback(cfg), hidden_target="current",
                                   centering="pre" if any(fwd.index(k) < n - 1 for k in centred) else "none")
    fb_of = {p.name: p for p in cfg.projections if p.role == "feedback"}

    def with_feedback(w):
        out = dict(w)
        for name, g in fb_of.items():
            if cfg.feedback == "transposed":
                above = [cfg.forward(l) for l in range(1, n + 1) if cfg.forward(l).pre == g.post][0]
                out[name] = w[above.name].T
                if a.feedback_centre:
                    out[name] = out[name] - out[name].mean(axis=0)
        return out

    block = a.block
    top = cfg.layers[-1]
    curve, align, t0 = [], [], time.time()
    out_dir = a.out.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    with use_target(a.target) as d:  # cpp_standalone: a temporary project folder, removed afterwards
        sim = SpikingStack(cfg, rules, block, target=a.target, directory=d, feedback_gain=a.feedback_gain,
                           feedback_phases=a.feedback_phases)

        def evaluate(samples_done):
            n_eval = (a.eval_samples // block) * block
            preds = []
            for b in range(0, n_eval, block):
                r = sim.run_block(x_val[b:b + block], np.zeros((block, top.size)), with_feedback(weights), learn=False,
                                  seed=10**6 + b, rng=np.random.default_rng([a.seed, 5, b]))
                counts = r.counts_all[-1].reshape(block, cfg.n_classes, cfg.per_class).sum(axis=2)
                preds.append(counts.argmax(axis=1))
            spiking = float(np.mean(np.concatenate(preds) == y_val[:n_eval]))
            rate = float(np.mean(twin.predict(cfg, weights, x_val) == y_val))
            curve.append({"samples": samples_done, "val_accuracy_spiking_readout": spiking,
                          "val_accuracy_rate_pass": rate, "wall_s": time.time() - t0})
            print(f"{samples_done}: val accuracy spiking read-out {spiking:.3f} ({n_eval} digits), rate pass "
                  f"{rate:.4f} ({len(y_val)}), {time.time() - t0:.0f} s", flush=True)

        evaluate(0)
        done = 0
        while done < a.samples:
            idx = np.random.default_rng([a.seed, 2, done]).choice(len(x_train), block, replace=False)
            y = twin.targets_of(cfg, x_train[idx], y_train[idx])
            scale = 1.0 / (1.0 + done / a.lr_decay_samples) if a.lr_decay_samples > 0 else 1.0
            before = {k: v.copy() for k, v in weights.items()}
            twin_upd = twin.target_prop_updates(cfg_twin, with_feedback(weights), x_train[idx], y)[0]
            r = sim.run_block(x_train[idx], y, with_feedback(weights), learn=True, seed=done, lr_scale=scale,
                              rng=np.random.default_rng([a.seed, 3, done]))
            # the rate rule from this block's measured phase rates (the same spikes: bookkeeping, not theory)
            rates_pre = [cfg.layers[0].max_rate * x_train[idx]]
            row = {"samples": done}
            for l in range(1, n + 1):
                free = r.counts_free[l - 1] / sim.free_window
                tgt = (r.counts_all[l - 1] - r.counts_free[l - 1]) / cfg.target_phase
                change = r.weights[fwd[l - 1]] - before[fwd[l - 1]]
                row[f"cos_{fwd[l - 1]}"] = _cos(change, rates_pre[-1].T @ (tgt - free))
                row[f"cos_twin_{fwd[l - 1]}"] = _cos(change, twin_upd[fwd[l - 1]])
                rates_pre.append(free)
            row["mean_rate_free"] = [float(np.mean(c)) / sim.free_window for c in r.counts_free]
            # the phase change of every layer (target minus free rate, Hz): its mean and its spread
            dr = [(c_all - c_free) / cfg.target_phase - c_free / sim.free_window
                  for c_all, c_free in zip(r.counts_all, r.counts_free)]
            row["mean_rate_change"] = [float(np.mean(d)) for d in dr]
            row["rms_rate_change"] = [float(np.sqrt(np.mean(d * d))) for d in dr]
            align.append(row)
            for l, name in enumerate(fwd, 1):
                if a.freeze_hidden and l < n:
                    continue
                weights[name] = r.weights[name]
            done += block
            if done % a.eval_every == 0 or done >= a.samples:
                evaluate(done)
    result = {"definition": str(a.network), "samples": done, "frozen_hidden": a.freeze_hidden,
              "feedback": cfg.feedback, "feedback_gain": a.feedback_gain, "feedback_phases": a.feedback_phases,
              "feedback_centre": a.feedback_centre,
              "centred_mean_pre_rate_hz": centred, "curve": curve, "alignment": align,
              "rules": {k: v.to_dict() for k, v in rules.items()}, "config": cfg.to_dict(), "seed": a.seed,
              "provenance": prov, "wall_s": time.time() - t0}
    write_json(a.out, result)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
