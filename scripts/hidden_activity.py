"""How many hidden neurons does a trained stack still use? (diagnostic, training digits only)

For the definition's initial weights and for each given weights file (``weights_<run>.npz`` of
``spiking-bpdl train``, or a ``checkpoint_<run>.npz`` of its engine), measures the first hidden layer's
rates on the first ``--samples`` training digits in two ways:

* the **Brian2 network's free phase** (no target phase, no plasticity; the counts of its read-out
  window ``[onset, free_phase)``), through :class:`spiking_bpdl.stack.network.SpikingStack`;
* the **rate pass** of the same weights (the twin's free phase, :func:`spiking_bpdl.stack.twin.free_phase`).

Per file it records the mean rate (Hz), the share of neurons whose mean rate over the digits is
below ``--silent`` Hz, the share that never fired, and ``||W1 - W1_0|| / ||W1_0||`` against the
definition's initial weights::

    python scripts/hidden_activity.py classifier_mnist OUT/weights_spiking.npz OUT2/weights_rate.npz --out F.json
"""

import argparse
import json
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


def activity(rates, silent):
    """Summary of rates (digits, neurons) in Hz."""
    per_neuron = rates.mean(axis=0)
    return {"mean_hz": float(rates.mean()), "silent_share": float(np.mean(per_neuron < silent)),
            "never_share": float(np.mean(rates.max(axis=0) == 0))}


def measure(cfg, sim, weights, x, seed, silent):
    """Hidden activity of one set of weights: the free phase of the Brian2 network ``sim`` (built for
    ``len(x)`` digits; without plasticity its rules do not matter) and the rate pass."""
    y = np.zeros((len(x), cfg.layers[-1].size))
    out = sim.run_block(x, y, engine.feedback_weights(cfg, weights, weights), learn=False, seed=seed,
                        rng=np.random.default_rng([seed, 31]))
    spiking = np.asarray(out.counts_free[0], dtype=float) / sim.free_window
    rate = twin.free_phase(cfg, weights, x)[1][1]
    return {"spiking": activity(spiking, silent), "rate_pass": activity(rate, silent)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("definition")
    ap.add_argument("weights", nargs="*", type=Path, help="weights_<run>.npz or checkpoint_<run>.npz files")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--samples", type=int, default=200, help="first training digits presented")
    ap.add_argument("--silent", type=float, default=1.0, help="a neuron below this mean rate (Hz) counts as silent")
    ap.add_argument("--target", default="cython", choices=("cython", "numpy", "cpp_standalone"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True, help="JSON file")
    args = ap.parse_args(argv)
    cfg = load_stack(args.definition, args.overrides)
    if args.samples < 1 or not np.isfinite(args.silent) or args.silent < 0:
        raise ConfigError(f"--samples must be >= 1 and --silent a finite rate >= 0, got {args.samples}, {args.silent}")
    for path in args.weights:
        if not path.is_file():
            raise ConfigError(f"{path}: no such weights file")
    initial = twin.init_weights(cfg, np.random.default_rng(cfg.seed), np.float64)
    runs = [("initial", None, initial)] + [(str(p), sha256_file(p), load_weights(cfg, p)) for p in args.weights]
    x = load_splits(cfg)["x_train"][:args.samples]
    first = cfg.forward(1).name
    target = runnable_target(args.target)
    results = []
    with use_target(target) as project:
        rules, offsets = engine.network_rules(cfg, initial, x)
        sim = SpikingStack(cfg, rules, len(x), target=target, directory=project, pre_offsets=offsets)
        for name, digest, weights in runs:
            change = np.linalg.norm(weights[first] - initial[first]) / np.linalg.norm(initial[first])
            row = {"weights": name, "sha256": digest, "change_ratio": float(change)}
            row.update(measure(cfg, sim, weights, x, args.seed, args.silent))
            results.append(row)
    out = {"definition": str(args.definition), "layer": cfg.layers[1].name, "samples": args.samples,
           "silent_hz": args.silent, "target": target, "runs": results, "config": cfg.to_dict(),
           "provenance": script_provenance(args, "scripts/hidden_activity.py", argv)}
    write_json(args.out, out)
    print(json.dumps([{"weights": r["weights"], "silent": r["spiking"]["silent_share"]} for r in results]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
