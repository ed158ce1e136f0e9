"""Per-layer alignment of a stack classifier's spiking STDP with its rate twin, at full size.

One block of training digits (the first ``--block`` of the training pool; no validation or test digit
is read) is presented ``--repetitions`` times to the Brian2 network at the definition's initial
weights (or, with ``--weights``, at a trained run's ``weights_<run>.npz``) with plasticity on (:func:`spiking_bpdl.experiments.stack_alignment.update_alignment`). For
every plastic forward projection it records the cosine between the mean STDP change of the first
``k`` repetitions and the rate twin's update for the same weights and digits (``k = 1 ..
repetitions``), the same cosine against the twin's update for shuffled labels (the control: what a
label-blind change gives), the paired margin over the control with its standard error, and the cosine
extrapolated to infinitely many repetitions. A hidden layer whose STDP only random-walks has a margin
near 0; a margin several standard errors above 0 says its change follows the label-driven target. (A
label-blind term that dominates both updates, such as the rate regulator's, also brings the margin
near 0: ``--set stack.homeostasis=0`` measures the pair STDP alone.)
For the same weights and digits it also records, per projection, the cosine of the rate twin's
target-prop update with the negative backprop gradient and with shuffled labels
(:func:`spiking_bpdl.stack.train.alignment`)::

    python scripts/stack_layer_alignment.py classifier_mnist_deep --block 100 --repetitions 6 \\
        --out docs/results/stacks/classifier_mnist_deep_regulated/layer_alignment_initial.json --png \\
        docs/results/stacks/classifier_mnist_deep_regulated/layer_alignment_initial.png

``--weights OUT/weights_spiking.npz`` measures after training;
``--set KEY=VALUE`` changes the definition; ``--feedback-gain 0`` cuts the feedback (the ablation whose
hidden margins should fall to the control). The JSON records the configuration and the command.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from spiking_bpdl._io import save_figure, write_json
from spiking_bpdl.data import sha256_file
from spiking_bpdl.experiments import stack_alignment as sa
from spiking_bpdl.provenance import script_provenance
from spiking_bpdl.stack import twin
from spiking_bpdl.stack.config import load_stack
from spiking_bpdl.stack.train import alignment, load_splits, load_weights


def measure(cfg, block, repetitions, seed, target="cython", feedback_gain=None, weights=None):
    """The per-layer figures of one :func:`~spiking_bpdl.experiments.stack_alignment.update_alignment` call
    at the definition's initial weights or at ``weights`` (dict without arrays) and the full result (for the
    figure)."""
    if weights is None:
        weights = twin.init_weights(cfg, np.random.default_rng(cfg.seed), np.float64)
    data = load_splits(cfg, test=False)
    x, labels = data["x_train"][:block], data["l_train"][:block]
    twin_vs_backprop = alignment(cfg, weights, x, twin.targets_of(cfg, x, labels), np.random.default_rng(seed))
    r = sa.update_alignment(cfg, weights, x, labels, repetitions, target=target, seed=seed,
                            feedback_gain=feedback_gain)
    layers = {}
    for name in r["projections"]:
        margin, se = sa.control_margin(r, name)
        layers[name] = {"cos": [float(v) for v in r["cos"][name]],
                        "cos_shuffled": [float(v) for v in r["cos_shuffled"][name]],
                        "margin_over_control": margin, "margin_se": se,
                        "cos_limit": float(r["cos_limit"][name]),
                        "twin_cos_backprop": twin_vs_backprop[name]["cos"],
                        "twin_cos_backprop_shuffled": twin_vs_backprop[name]["cos_shuffled"]}
    rates = {k: {"free_hz": float(np.mean(r["rates_free"][k])), "target_hz": float(np.mean(r["rates_target"][k]))}
             for k in r["rates_free"]}
    # the twin's own free and target rates for the same weights and digits: how far each layer's mean rate
    # moves between the phases in the rate model, next to the Brian2 network's move above
    twin_cfg, twin_w = sa.twin_for_spiking(cfg, weights)
    info = twin.target_prop_updates(twin_cfg, twin_w, x, twin.targets_of(cfg, x, labels))[1]
    twin_rates = {layer.name: {"free_hz": float(np.mean(info["rates"][l])),
                               "target_hz": float(np.mean(info["targets"][l]))}
                  for l, layer in enumerate(cfg.layers) if l > 0}
    return {"block": block, "repetitions": repetitions, "seed": seed, "target": target,
            "feedback_gain": float(r["feedback_gain"]), "layers": layers, "rates": rates, "twin_rates": twin_rates,
            "wall_s": float(r["wall_s"])}, r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("definition")
    ap.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    ap.add_argument("--block", type=int, default=100)
    ap.add_argument("--repetitions", type=int, default=6)
    ap.add_argument("--feedback-gain", type=float, default=None)
    ap.add_argument("--target", default="cython", choices=("cython", "numpy", "cpp_standalone"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", type=Path, help="a run's weights_<run>.npz (default: the initial weights)")
    ap.add_argument("--out", type=Path, required=True, help="JSON file")
    ap.add_argument("--png", type=Path, help="figure: cosine against repetitions, per projection")
    args = ap.parse_args(argv)
    cfg = load_stack(args.definition, args.overrides)
    weights = load_weights(cfg, args.weights) if args.weights is not None else None
    result, full = measure(cfg, args.block, args.repetitions, args.seed, args.target, args.feedback_gain, weights)
    result.update(definition=str(args.definition), overrides=args.overrides, config=cfg.to_dict(),
                  weights=str(args.weights) if args.weights is not None else "initial",
                  weights_sha256=sha256_file(args.weights) if args.weights is not None else None,
                  provenance=script_provenance(args, "scripts/stack_layer_alignment.py", argv))
    if args.png is not None:
        save_figure(sa.plot_update_alignment(full, title=f"{cfg.name}: one block of {args.block} digits"), args.png)
    write_json(args.out, result)
    print(json.dumps({k: v["margin_over_control"] for k, v in result["layers"].items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
