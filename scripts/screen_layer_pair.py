"""Screen variants of a layer-pair definition: train each and print its validation MSE curve.

    python scripts/screen_layer_pair.py networks/layer_pair_mnist.toml --samples 3000 \
        --set cycles=4 --set target_phase=0.01 --set free_phase=0.03 --out /tmp/screen/a

Each ``--set key=value`` replaces one field of the validated config (SI units). Variants are
scored on the definition's validation digits (the end of the training split) only: the
test digits are never loaded, so choosing among screened variants cannot fit the test set.
Writes ``OUT/result.json`` with the override, the backend, the validation curve and the
spiking network's own read-out on validation digits.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from spiking_bpdl.rate.lif_layer_pair import load_layer_pair
from spiking_bpdl.spiking.engine import train_layer_pair

from _overrides import apply_sets


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("network")
    ap.add_argument("--samples", type=int, default=3000)
    ap.add_argument("--backend", default="spiking")
    ap.add_argument("--target", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    cfg = load_layer_pair(a.network)
    cfg = apply_sets(cfg, a.set, readout_samples=100)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    res = train_layer_pair(cfg, a.backend, samples=a.samples, out=None, seed=a.seed, target=a.target,
                           progress=False, standalone_dir=out / "standalone", score_test=False)
    row = dict(sets=a.set, backend=a.backend, samples=res["samples"], seed=a.seed, val_mse=res["val_mse"],
               validation_samples=res["validation_samples"], curve=res["curve"], wall_s=time.time() - t0,
               samples_per_s=res["samples_per_s"], val_readout=res.get("val_mse_spiking_readout"))
    (out / "result.json").write_text(json.dumps(row, indent=1))
    print(json.dumps({k: row[k] for k in ("sets", "backend", "val_mse", "val_readout", "wall_s")}), flush=True)
    print(" ".join(f"{c['samples']}:{c['val_mse']:.4f}" for c in row["curve"]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
