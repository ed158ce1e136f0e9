"""Screen a stack classifier's rate twin (target propagation) and its backprop reference on MNIST.

    python scripts/classifier_rate_screen.py networks/classifier_mnist_rate.toml --method target_prop \
        --grid plasticity.rule_W1.eta=1e-8,3e-8 --label twin --alignment --test \
        --out docs/results/stacks/classifier_mnist_twin.json

Every combination of the ``--grid key=v1,v2,...`` values (TOML overrides, as ``--set``) is
trained on the definition's training digits (the first ``train_pool`` = 50,000 of MNIST's
training split, ``passes`` <= 3 passes) and scored on the validation digits (the last 10,000);
the combination with the best final validation accuracy is picked, and with ``--test`` only
that one is scored on the test digits, once. ``--freeze PROJ`` keeps projections at their
initial weights (the hidden-frozen ablation: ``--freeze W1``). ``--alignment`` records, at
every validation point, the cosine between the twin's update of each forward projection and
the negative backprop gradient on the same minibatch, and the shuffled-label control.

``--summarize A.json B.json ... --png FILE`` prints a table of finished screens and draws their
learning curves (validation accuracy against training samples).

The result JSON holds every variant's validation curve, the picked variant, its resolved
config, the seed, the command and the package version (:func:`spiking_bpdl.provenance.provenance`).
"""

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

from spiking_bpdl.provenance import script_provenance
from spiking_bpdl.stack import check_projection_names, freeze, load_stack
from spiking_bpdl.stack.train import METHODS, evaluate, load_splits, train


def _variants(grid):
    axes = []
    for item in grid:
        key, values = item.split("=", 1)
        axes.append([f"{key}={v}" for v in values.split(",")])
    return [list(c) for c in itertools.product(*axes)] if axes else [[]]


def _mean_alignment(curve, name, skip=1):
    """Mean cosine (and shuffled control) of projection ``name`` over the curve's points after the first ``skip``."""
    rows = [c["alignment"][name] for c in curve[skip:] if name in c.get("alignment", {})]
    if not rows:
        return None
    return {"cos": sum(r["cos"] for r in rows) / len(rows),
            "cos_shuffled": sum(r["cos_shuffled"] for r in rows) / len(rows), "points": len(rows)}


def summarize(paths, png=None):
    """Print a Markdown table of finished screens and draw the picked variants' validation curves."""
    rows = [json.loads(Path(p).read_text()) for p in paths]
    print("| configuration | network | picked (on validation) | val acc | test acc | cos(ΔW1, −∇W1) | shuffled labels |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        best = r["picked"]
        al = _mean_alignment(best["curve"], "W1")
        cos = f"{al['cos']:.2f}" if al else "–"
        shuf = f"{al['cos_shuffled']:.2f}" if al else "–"
        test = f"{100 * r['test']:.2f} %" if r.get("test") is not None else "–"
        net = Path(r["network"]).stem
        print(f"| {r['label']} | {net} | {' '.join(o.split('.', 1)[1] for o in best['overrides']) or 'defaults'} "
              f"| {100 * best['val']:.2f} % | {test} | {cos} | {shuf} |")
    if png:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.5, 4))
        for r in rows:
            c = r["picked"]["curve"]
            ax.plot([p["samples"] for p in c], [100 * p["val"] for p in c], marker="o", ms=2.5,
                    label=f"{r['label']} ({Path(r['network']).stem})")
        ax.set_xlabel("training samples (3 passes over 50,000 digits)")
        ax.set_ylabel("validation accuracy (%)")
        ax.set_ylim(85, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(png, dpi=120)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("network", nargs="?")
    ap.add_argument("--method", choices=METHODS, default="target_prop")
    ap.add_argument("--set", action="append", default=[], help="TOML override section.key=value")
    ap.add_argument("--grid", action="append", default=[], help="section.key=v1,v2,... (screened)")
    ap.add_argument("--freeze", action="append", default=[], help="projection kept at its initial weights")
    ap.add_argument("--label", default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--alignment", action="store_true")
    ap.add_argument("--test", action="store_true", help="score the picked variant on the test digits (once)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--summarize", nargs="+", default=None)
    ap.add_argument("--png", default=None)
    a = ap.parse_args(argv)
    if a.summarize:
        summarize(a.summarize, a.png)
        return 0
    if not a.network or not a.out:
        ap.error("network and --out are required (or --summarize)")
    a._argv = argv
    base = load_stack(a.network, a.set)
    check_projection_names(base, a.freeze)
    seed = base.seed if a.seed is None else a.seed
    data = load_splits(base, test=False)
    results = []
    for overrides in _variants(a.grid):
        cfg = freeze(load_stack(a.network, [*a.set, *overrides]), a.freeze)
        res = train(cfg, a.method, data, seed=seed, measure_alignment=a.alignment,
                    log=lambda line, o=overrides: print(f"  {o} {line}", flush=True))
        results.append({"overrides": overrides, "val": res["val"], "curve": res["curve"], "wall_s": res["wall_s"],
                        "samples": res["samples"], "config": cfg.to_dict(), "_weights": res["weights"]})
        print(json.dumps({"overrides": overrides, "val": res["val"], "wall_s": round(res["wall_s"], 1)}), flush=True)
    best = max(results, key=lambda r: r["val"])
    out = {"label": a.label or a.method, "method": a.method, "network": a.network, "freeze": a.freeze, "seed": seed,
           "selection": "best final validation accuracy over the grid", "picked": None, "test": None}
    if a.test:
        cfg = freeze(load_stack(a.network, [*a.set, *best["overrides"]]), a.freeze)
        test = load_splits(cfg, test=True)
        out["test"] = evaluate(cfg, best["_weights"], test["x_test"], test["l_test"])
        out["test_samples"] = len(test["l_test"])
        print(f"test accuracy of the picked variant: {out['test']:.4f}", flush=True)
    for r in results:
        r.pop("_weights")
    out["picked"] = best
    out["variants"] = [{k: r[k] for k in ("overrides", "val", "wall_s")} for r in results]
    out["provenance"] = script_provenance(a, "scripts/classifier_rate_screen.py", argv)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    t0 = time.time()
    sys.exit(main())
