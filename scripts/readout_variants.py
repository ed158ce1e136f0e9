"""Where does the spiking read-out lose against the rate pass of the same weights? (diagnostic,
validation digits only)

A trained classifier stack's weights (``weights_<run>.npz`` of ``spiking-bpdl train``, or an engine
checkpoint) are read out on the first ``--samples`` validation digits by the Brian2 network's own output
spikes (:func:`spiking_bpdl.stack.engine.spiking_predict`, no target, no plasticity) and by the rate pass
(:func:`spiking_bpdl.stack.twin.predict`). Each ``--variant KEY=VALUE[,KEY=VALUE ...]`` reads the same
weights out again with the definition changed (``stack.free_phase=400 ms``: a read-out window 3.5 times
as long, so fewer count ties and less count noise; ``stack.feedback_gain=0``: without the free-phase loop
through the feedback). Every read-out records its accuracy, the share of digits whose top class count is
tied, the mean top count, and, against the definition's own read-out, the paired difference of the
per-digit correctness with its standard error (the same digits, so the digits' difficulty cancels)::

    python scripts/readout_variants.py classifier_mnist OUT/weights_spiking.npz --samples 2000 \\
        --variant "stack.free_phase=400 ms" --variant stack.feedback_gain=0 --out F.json
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from spiking_bpdl._io import write_json
from spiking_bpdl.codegen import runnable_target, use_target
from spiking_bpdl.data import sha256_file
from spiking_bpdl.errors import ConfigError
from spiking_bpdl.provenance import script_provenance
from spiking_bpdl.stack import engine, twin
from spiking_bpdl.stack.config import load_stack
from spiking_bpdl.stack.network import SpikingStack
from spiking_bpdl.stack.train import load_splits, load_weights


def read_out(cfg, weights, x_train, x, labels, target, seed):
    """The Brian2 network's own read-out of ``weights`` on ``x`` (a multiple of the definition's block):
    per-digit correctness (bool array), the share of tied top counts and the mean top count."""
    rules, offsets = engine.network_rules(cfg, weights, x_train)
    with use_target(target) as project:
        sim = SpikingStack(cfg, rules, cfg.block, target=target, directory=project, pre_offsets=offsets)
        predictions, counts = engine.spiking_predict(sim, cfg, weights, x, seed)
    top = counts.max(axis=1, keepdims=True)
    return predictions == labels, float(np.mean((counts == top).sum(axis=1) > 1)), float(top.mean())


def paired(correct, reference):
    """Accuracy difference of two read-outs of the same digits and its standard error."""
    d = correct.astype(float) - reference.astype(float)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("definition")
    ap.add_argument("weights", type=Path, help="weights_<run>.npz or checkpoint_<run>.npz")
    ap.add_argument("--variant", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]",
                    help="read out again with these settings changed (repeatable)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="changes the definition for every read-out, the reference included")
    ap.add_argument("--samples", type=int, default=2000, help="first validation digits (a multiple of the block)")
    ap.add_argument("--target", default="cython", choices=("cython", "numpy", "cpp_standalone"))
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", type=Path, required=True, help="JSON file")
    args = ap.parse_args(argv)
    cfg = load_stack(args.definition, args.overrides)
    if not args.weights.is_file():
        raise ConfigError(f"{args.weights}: no such weights file")
    if args.samples < 1 or args.samples % cfg.block:
        raise ConfigError(f"--samples must be a positive multiple of the block ({cfg.block}), got {args.samples}")
    variants = [[item.strip() for item in v.split(",") if item.strip()] for v in args.variant]
    configs = [load_stack(args.definition, args.overrides + v) for v in variants]  # all validated before any run
    weights = load_weights(cfg, args.weights)
    data = load_splits(cfg, test=False)
    if args.samples > len(data["x_val"]):
        raise ConfigError(f"--samples {args.samples}: the definition has {len(data['x_val'])} validation digits")
    x, labels = data["x_val"][:args.samples], data["l_val"][:args.samples]
    target = runnable_target(args.target)
    rate_pass = twin.predict(cfg, weights, x) == labels
    rows, reference = [], None
    for overrides, c in zip([[]] + variants, [cfg] + configs):
        t0 = time.time()
        correct, ties, top = read_out(c, weights, data["x_train"][:1000], x, labels, target, args.seed)
        reference = correct if reference is None else reference
        diff, se = paired(correct, reference)
        rate_diff, rate_se = paired(rate_pass, correct)
        rows.append({"variant": overrides, "readout_window_s": c.free_phase + c.target_phase - c.plasticity_onset,
                     "accuracy": float(correct.mean()), "tied_share": ties, "mean_top_count": top,
                     "minus_reference": diff, "minus_reference_se": se,
                     "rate_pass_minus_this": rate_diff, "rate_pass_minus_this_se": rate_se,
                     "wall_s": time.time() - t0})
        print(f"{','.join(overrides) or 'definition'}: own {rows[-1]['accuracy']:.4f} "
              f"({diff:+.4f} ± {se:.4f}), ties {ties:.3f}", flush=True)
    out = {"definition": str(args.definition), "weights": str(args.weights), "sha256": sha256_file(args.weights),
           "samples": args.samples, "target": target, "rate_pass_accuracy": float(rate_pass.mean()),
           "readouts": rows, "config": cfg.to_dict(),
           "provenance": script_provenance(args, "scripts/readout_variants.py", argv)}
    write_json(args.out, out)
    print(json.dumps({"rate_pass": out["rate_pass_accuracy"], "own": [r["accuracy"] for r in rows]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
