"""What did a stack's first hidden layer learn, beside its target? (diagnostic)

Reads ``weights_<run>.npz`` of ``spiking-bpdl train`` runs and measures the learned change
``dW1 = W1 - W1_0`` (the initial weights come from the definition and the seed) against three
candidate terms computed with the rate twin's free phase at the initial weights on the run's first
``--samples`` training digits:

* ``hebbian``: ``E[x_j rho_i]``, the input-hidden rate product (an anti-Hebbian bias of the
  spiking scheme shows as a negative cosine);
* ``pre``: ``E[x_j]`` in every neuron (a drift along the mean digit, the same for all neurons);
* ``post``: ``E[rho_i]`` for every input.

It reports the cosine of ``dW1`` with each, a least-squares fit on all three (coefficients and R^2),
the correlation of the mean change over neurons with the mean digit, and the share of neurons whose
change has a positive component along that mean change. ``spiking-bpdl train`` JSONs carry the
structure numbers (``receptive_fields``); this adds what the structure is made of.

    python scripts/hidden_drift.py DEFINITION OUT_DIR[:RUN] [OUT_DIR[:RUN] ...] [--samples 5000] --out F.json

``--block`` measures one block instead, without training: the first ``--block`` training digits
presented ``--repetitions`` times to the Brian2 network at the initial weights with the feedback cut
(gamma = 0, so the hidden layer has no target and its phase rates are equal), through
:func:`spiking_bpdl.experiments.stack_alignment.update_alignment`; it reports the hidden phase rates and
the mean change's correlation with the block's mean digit, the share of neurons along it, and its
norm relative to the rms column (about ``1/sqrt(n_hidden)`` for changes without a common part).
``--set KEY=VALUE`` changes the definition (e.g. ``"stack.plasticity_onset=80 ms"``)::

    python scripts/hidden_drift.py classifier_mnist --block 100 [--set ...] --out F.json
"""

import argparse
import json
from pathlib import Path

import numpy as np

from spiking_bpdl._io import write_json
from spiking_bpdl.metrics import cosine_similarity as cosine
from spiking_bpdl.stack import twin
from spiking_bpdl.stack.config import load_stack
from spiking_bpdl.stack.train import load_splits


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("definition")
    parser.add_argument("runs", nargs="*", help="OUT folder of a train run, optionally :RUN (default spiking)")
    parser.add_argument("--block", type=int, default=None, help="measure one block of this many digits (no training)")
    parser.add_argument("--repetitions", type=int, default=2)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    cfg = load_stack(args.definition, args.overrides)
    seed = cfg.seed if args.seed is None else args.seed
    if args.block:
        return block_drift(args, cfg, seed)
    w0 = twin.init_weights(cfg, np.random.default_rng(seed), np.float64)
    first = cfg.forward(1).name
    x = load_splits(cfg, test=False)["x_train"][:args.samples]
    _, rates = twin.free_phase(cfg, w0, x)
    h = rates[1]
    terms = {"hebbian": x.T @ h / len(x),
             "pre": np.outer(x.mean(axis=0), np.ones(h.shape[1])),
             "post": np.outer(np.ones(x.shape[1]), h.mean(axis=0))}
    A = np.stack([t.ravel() for t in terms.values()], axis=1)
    result = {"definition": str(args.definition), "projection": first, "samples": args.samples, "seed": seed,
              "runs": {}}
    for spec in args.runs:
        folder, _, run = spec.partition(":")
        run = run or "spiking"
        d = np.load(Path(folder) / f"weights_{run}.npz")[first].astype(np.float64) - w0[first]
        coef, *_ = np.linalg.lstsq(A, d.ravel(), rcond=None)
        resid = d.ravel() - A @ coef
        m = d.mean(axis=1)
        along = (m / np.linalg.norm(m)) @ d
        config = json.loads((Path(folder) / f"train_{run}.json").read_text()).get("config", {})
        result["runs"][spec] = {
            "cosine": {k: cosine(d, t) for k, t in terms.items()},
            "fit_coefficients": dict(zip(terms, map(float, coef))),
            "fit_r2": float(1 - np.sum(resid**2) / np.sum((d - d.mean()) ** 2)),
            "mean_change_vs_mean_digit_correlation": float(np.corrcoef(m, x.mean(axis=0))[0, 1]),
            "share_of_neurons_along_mean_change": float(np.mean(along > 0)),
            "change_norm_ratio": float(np.linalg.norm(d) / np.linalg.norm(w0[first])),
            "feedback_gain": config.get("feedback_gain"),
        }
    from spiking_bpdl.provenance import script_provenance

    result["provenance"] = script_provenance(args, "scripts/hidden_drift.py")
    write_json(args.out, result)
    print(json.dumps(result["runs"], indent=1))


def block_drift(args, cfg, seed):
    """The ``--block`` measurement (module docstring)."""
    from spiking_bpdl.experiments import stack_alignment as sa

    w0 = twin.init_weights(cfg, np.random.default_rng(seed), np.float64)
    data = load_splits(cfg, test=False)
    x, labels = data["x_train"][:args.block], data["l_train"][:args.block]
    r = sa.update_alignment(cfg, w0, x, labels, args.repetitions, seed=seed, feedback_gain=0.0, target="cython")
    first = cfg.forward(1).name
    d = r["mean_change"][first]
    m = d.mean(axis=1)
    result = {"definition": str(args.definition), "overrides": args.overrides, "block": args.block,
              "repetitions": args.repetitions, "seed": seed, "projection": first, "feedback_gain": 0.0,
              "rates_free_hz": {k: float(np.mean(v)) for k, v in r["rates_free"].items()},
              "rates_target_hz": {k: float(np.mean(v)) for k, v in r["rates_target"].items()},
              "mean_change_vs_mean_digit_correlation": float(np.corrcoef(m, x.mean(axis=0))[0, 1]),
              "share_of_neurons_along_mean_change": float(np.mean((m / np.linalg.norm(m)) @ d > 0)),
              "mean_change_over_rms_column": float(np.linalg.norm(m) / np.sqrt(np.mean(np.sum(d**2, axis=0)))),
              "no_common_part_level": float(1 / np.sqrt(d.shape[1])),
              "config": cfg.to_dict()}
    from spiking_bpdl.provenance import script_provenance

    result["provenance"] = script_provenance(args, "scripts/hidden_drift.py")
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k not in ("config", "provenance")}, indent=1))


if __name__ == "__main__":
    main()
