"""Which pre-centring can a one-hidden-layer twin live with? (diagnostic, validation digits only)

The spiking classifier's hidden STDP is pre-centred by an offset ``x_tar`` on every post spike. With
``[spiking] centring_mean = "layer"`` that offset stands for the mean rate of the whole input layer, so
the part of the update that is common to all digits (each hidden neuron's mean rate change,
``sum_d delta rho_j,d``) is removed only on average over pixels: ``(rho_i - m) delta rho_j`` summed
over a block leaves ``(mean_i - m) sum_d delta rho_j`` for every pixel ``i``. The twin centres each
input by its own minibatch mean (``stack.centering = "pre"``), which removes that part exactly, for
any common shift of the hidden targets.

This script trains the definition's rate twin (one pass, the definition's minibatch, its validation
curve; no test digit is read) with the update of the hidden projection replaced by a variant:

* ``--centre input`` (the twin's own) or ``layer`` (the spiking scheme's one layer mean);
* ``--shift H``: every hidden target raised by ``H`` Hz, standing for the common rate rise that the
  feedback's spikes give the Brian2 network in the target phase (``docs/stacks.md``);
* ``--post``: the rate change also centred over the minibatch (each hidden neuron's mean removed).

The output projection and reciprocal feedback learn as in the twin. One-hidden-layer stacks with the
open loop only::

    python scripts/twin_centring_variants.py classifier_mnist --centre layer --out F.json
"""

import argparse
import json
import time

import numpy as np

from spiking_bpdl._io import write_json
from spiking_bpdl.errors import ConfigError
from spiking_bpdl.provenance import script_provenance
from spiking_bpdl.stack import twin
from spiking_bpdl.stack import train as stack_train
from spiking_bpdl.stack.config import load_stack


def variant_updates(cfg, weights, x, y, centre="input", shift=0.0, post=False):
    """The twin's target-prop updates of a one-hidden-layer stack with the hidden update's centring
    replaced (see the module docstring); the output and reciprocal feedback updates and the rate
    regulator's term are the twin's."""
    drives, rates = twin.free_phase(cfg, weights, x)
    targets = twin.hidden_targets(cfg, weights, drives, rates, twin.nudged(cfg, drives[-1], y))
    hidden_target = targets[1] + np.asarray(shift, dtype=targets[1].dtype)
    pre = rates[0] - (rates[0].mean() if centre == "layer" else rates[0].mean(axis=0))
    change = hidden_target - rates[1]
    if post:
        change = change - change.mean(axis=0)
    updates = {}
    f1, f2 = cfg.forward(1), cfg.forward(2)
    if f1.plastic:
        updates[f1.name] = f1.eta * (pre.T @ change)
    if f2.plastic:
        updates[f2.name] = f2.eta * (rates[1].T @ (targets[2] - rates[2]))
    if cfg.feedback == "reciprocal":
        for g_name, f_name in cfg.reciprocal_pairs().items():
            updates[g_name] = cfg.projection(g_name).mirror_scale * updates[f_name].T
    # the rate regulator ([stack] homeostasis) as the twin adds it: after the reciprocal copy
    for name, change in twin.homeostatic_updates(cfg, rates).items():
        updates[name] = updates[name] + change
    return updates, {"drives": drives, "rates": rates, "targets": [None, hidden_target, targets[2]]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("definition")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--centre", choices=("input", "layer"), default="input")
    ap.add_argument("--shift", type=float, default=0.0, help="common rise of every hidden target (Hz)")
    ap.add_argument("--post", action="store_true", help="also centre the rate change over the minibatch")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--out", required=True, help="JSON file")
    args = ap.parse_args(argv)
    cfg = load_stack(args.definition, args.overrides)
    args.seed = cfg.seed if args.seed is None else args.seed
    if cfg.depth != 2 or cfg.target != "label" or cfg.twin_loop != "open":
        raise ConfigError(f"{cfg.path}: the variants are built for a one-hidden-layer classifier with the open loop")
    if not np.isfinite(args.shift):
        raise ConfigError(f"--shift must be finite, got {args.shift!r}")
    data = stack_train.load_splits(cfg)
    t0 = time.time()
    def rule(c, w, x, y, rng=None):
        return variant_updates(c, w, x, y, args.centre, args.shift, args.post)

    res = stack_train.train(cfg, "target_prop", data, seed=args.seed, log=print, update_rule=rule)
    out = {"centre": args.centre, "shift_hz": args.shift, "post": args.post,
           "curve": [{"samples": c["samples"], "val_accuracy": c["val"]} for c in res["curve"]],
           "val_accuracy": res["val"], "wall_s": time.time() - t0, "definition": args.definition,
           "overrides": args.overrides, "config": cfg.to_dict(),
           "provenance": script_provenance(args, "scripts/twin_centring_variants.py", argv)}
    write_json(args.out, out)
    print(json.dumps({"val_accuracy": res["val"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
