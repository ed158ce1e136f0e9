"""Is the spiking network's gap weight noise that averaging, decay or shrinkage would remove? (diagnostic)

Trains one backend with ``train_layer_pair(..., on_block=...)`` and scores, on the first
``--val-samples`` *validation* digits (the last ``validation_samples`` of the training split; a
diagnostic screen never looks at test digits) with the deterministic rate forward pass:

* the final weights, exponential averages of the per-block weights (time constants in
  samples) and uniform averages over the last samples of training (Polyak averaging);
* optionally a multiplicative decay of V and W after every block, ``w *= 1 - lambda * block *
  lr_scale`` (``--decay-V``, ``--decay-W``; lambda per sample, on the learning-rate schedule);
* the final V scaled by constants (``--v-scales``): an optimum below 1 means V carries
  drive that does not help the reconstruction.

    python scripts/layer_pair_weight_probe.py networks/layer_pair_mnist.toml --backend spiking \
        [--decay-V 1e-4] [--set key=value] --out /tmp/probe
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from spiking_bpdl._io import write_json
from spiking_bpdl.rate.lif_layer_pair import forward, load_layer_pair, load_splits
from spiking_bpdl.spiking.engine import train_layer_pair

from _overrides import apply_sets


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("network")
    ap.add_argument("--backend", default="spiking")
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-samples", type=int, default=2000)
    ap.add_argument("--decay-V", type=float, default=0.0)
    ap.add_argument("--decay-W", type=float, default=0.0)
    ap.add_argument("--ema", type=float, nargs="*", default=[300, 1000, 2000, 3000])
    ap.add_argument("--tail", type=int, nargs="*", default=[1000, 2000, 3000, 5000])
    ap.add_argument("--v-scales", type=float, nargs="*", default=[0.6, 0.7, 0.8, 0.9, 1.0, 1.1])
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    cfg = apply_sets(load_layer_pair(a.network), a.set, readout_samples=100)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    snapshots = []

    def on_block(done, W, V, lr_scale):
        shrink = 1.0 - cfg.block * lr_scale * np.array([a.decay_W, a.decay_V])
        W, V = W * shrink[0], V * shrink[1]
        snapshots.append((W.astype(np.float32), V.astype(np.float32)))
        return W, V

    t0 = time.time()
    res = train_layer_pair(cfg, a.backend, samples=a.samples, seed=a.seed, progress=False,
                           standalone_dir=out / "standalone", on_block=on_block, score_test=False)
    c = res["config"]
    x = load_splits(c, test=False)[1][: a.val_samples]

    def mse(W, V):
        return float(np.mean((forward(x, np.asarray(W, float), np.asarray(V, float), c) - x) ** 2))

    W, V = res["weights"]["W"], res["weights"]["V"]
    row = dict(network=c.name, backend=a.backend, sets=a.set, seed=a.seed, samples=res["samples"],
               val_samples=int(x.shape[0]), decay_V=a.decay_V, decay_W=a.decay_W, final=mse(W, V),
               norm_W=float(np.linalg.norm(W)), norm_V=float(np.linalg.norm(V)), ema={}, tail={}, v_scale={})
    for tau in a.ema:
        alpha = cfg.block / tau
        Wa, Va = snapshots[0][0].astype(float), snapshots[0][1].astype(float)
        for Ws, Vs in snapshots[1:]:
            Wa += alpha * (Ws - Wa)
            Va += alpha * (Vs - Va)
        row["ema"][str(int(tau))] = mse(Wa, Va)
    for tail in a.tail:
        n = max(1, tail // cfg.block)
        row["tail"][str(tail)] = mse(np.mean([s[0] for s in snapshots[-n:]], 0), np.mean([s[1] for s in snapshots[-n:]], 0))
    for scale in a.v_scales:
        row["v_scale"][str(scale)] = mse(W, scale * V)
    row["wall_s"] = time.time() - t0
    write_json(out / "probe.json", row)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    sys.exit(main())
