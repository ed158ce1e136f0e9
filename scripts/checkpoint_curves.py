"""The validation curves of spiking training runs, read from their checkpoints.

A run of ``spiking-bpdl train --backend spiking`` writes its result JSON only when it completes; until
then its validation curve (one point every ``training.eval_every`` samples) lives in the checkpoint
it rewrites after every block. This script collects the curves of several checkpoints into one JSON,
with each checkpoint's SHA-256, run name, samples done, seed and resolved configuration, so that the
curves of runs stopped before the end can be compared point by point (validation digits only; no
test digits are read)::

    python scripts/checkpoint_curves.py OUT/checkpoint_spiking.npz OUT/checkpoint_spiking_frozen-W1.npz \\
        --out OUT/interim_curves.json

A checkpoint that fails its SHA-256 check, or a missing file, is a one-line error (exit 2) and nothing
is written.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from spiking_bpdl._io import write_json
from spiking_bpdl.checkpoint import load_checkpoint
from spiking_bpdl.data import sha256_file
from spiking_bpdl.errors import SpikingBPDLError
from spiking_bpdl.metrics import cosine_similarity
from spiking_bpdl.provenance import script_provenance

PREFIX = "checkpoint_"


def checkpoint_curve(path):
    """One checkpoint's curve and what it ran with.

    Parameters
    ----------
    path : str or Path
        A checkpoint written by the training engine (``OUT/checkpoint_<run>.npz``).

    Returns
    -------
    dict
        ``run`` (from the file name), ``checkpoint`` and its ``sha256``, ``samples_done``, ``seed``,
        ``backend``, ``train_s``, ``curve`` (``[{samples, val_accuracy, val_accuracy_spiking_readout}]``)
        ``config`` (the resolved configuration the run was started with) and ``weights``: per projection
        the standard deviation and largest magnitude of its current weights, and for a feedback
        projection ``g`` (``post -> pre`` of a forward ``f``) the cosine of ``g`` with ``f^T``.
    """
    path = Path(path)
    arrays, meta = load_checkpoint(path)
    weights = {k[2:]: np.asarray(v, dtype=float) for k, v in arrays.items() if k.startswith("w_")}
    stats = {name: {"std": float(np.std(w)), "max_abs": float(np.max(np.abs(w)))} for name, w in weights.items()}
    projections = (meta.get("config") or {}).get("projections", [])
    for g in (p for p in projections if p.get("role") == "feedback"):
        reverse = (g["post"], g["pre"])  # the forward projection this feedback runs against
        f = next((f for f in projections if f.get("role") == "forward" and (f["pre"], f["post"]) == reverse), None)
        if f is not None and {g["name"], f["name"]} <= set(weights):
            stats[g["name"]][f"cos_with_{f['name']}_T"] = cosine_similarity(weights[g["name"]], weights[f["name"]].T)
    stem = path.stem
    return {"run": stem[len(PREFIX):] if stem.startswith(PREFIX) else stem, "checkpoint": str(path),
            "sha256": sha256_file(path), "samples_done": meta["samples_done"], "seed": meta.get("seed"),
            "backend": meta.get("backend"), "train_s": meta.get("train_s"), "curve": meta["curve"],
            "config": meta.get("config"), "weights": stats}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path, help="checkpoint_<run>.npz files")
    parser.add_argument("--out", type=Path, required=True, help="JSON to write")
    args = parser.parse_args(argv)
    try:
        runs = [checkpoint_curve(p) for p in args.checkpoints]
    except (SpikingBPDLError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = {"runs": runs, "provenance": script_provenance(args, "scripts/checkpoint_curves.py", argv)}
    write_json(args.out, result)
    for r in runs:
        last = r["curve"][-1]
        print(f"{r['run']}: {r['samples_done']} samples done; validation at {last['samples']}: "
              f"own spikes {last.get('val_accuracy_spiking_readout')}, rate pass {last['val_accuracy']}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
