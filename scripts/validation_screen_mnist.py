"""Validation screen of the MNIST layer pair's spiking settings (one factor at a time).

    python scripts/validation_screen_mnist.py --out docs/results/layer_pairs/mnist/validation_screen

Every variant changes one setting of ``networks/layer_pair_mnist.toml`` (the STDP windows of W and
V together; both amplitudes A+ scaled together) and is trained on the spiking backend for
``--samples`` digits (seed 0) with ``scripts/screen_layer_pair.py``, which scores the 10,000
validation digits (the last 10,000 of MNIST's 60,000 training digits) and never loads the test
split. Two variants run at a time.

Decision rule, fixed before the screen ran: the definition keeps its value unless a variant's
val_mse is lower than the base's by more than ``--margin`` (default 2.5e-4: twice the standard
deviation of the difference of two single-seed runs, sqrt(2) x 8.9e-5, the seed-to-seed sd of the
spiking val_mse measured over three seeds at 10,000 samples). ``OUT/summary.json`` and
``OUT/summary.md`` record every variant, the base and the decision.
"""

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

#: name -> field overrides of the validated config (SI units), as screen_layer_pair.py takes them
VARIANTS = {
    "base": [],
    "tau_syn=0 (delta synapses)": ["tau_syn=0"],
    "cycles=1": ["cycles=1"],
    "STDP windows 40 ms": ["tau_plus=0.04", "tau_minus=0.04"],
    "STDP windows 80 ms": ["tau_plus=0.08", "tau_minus=0.08"],
    "A+ x0.7": ["A_plus_W=1.911e-6", "A_plus_V=2.884e-4"],
    "A+ x1.4": ["A_plus_W=3.822e-6", "A_plus_V=5.768e-4"],
    "nudge beta=5": ["nudge=5"],
    "nudge beta=20": ["nudge=20"],
}


def _slug(name):
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def run_variant(name, sets, args):
    out = Path(args.out) / _slug(name)
    if (out / "result.json").exists():
        return name, json.loads((out / "result.json").read_text())
    cmd = [sys.executable, str(HERE / "screen_layer_pair.py"), str(REPO / "networks" / "layer_pair_mnist.toml"),
           "--samples", str(args.samples), "--seed", str(args.seed), "--out", str(out)]
    for s in sets:
        cmd += ["--set", s]
    subprocess.run(cmd, check=True, cwd=HERE, stdout=subprocess.DEVNULL)
    return name, json.loads((out / "result.json").read_text())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--samples", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--margin", type=float, default=2.5e-4)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        results = dict(pool.map(lambda kv: run_variant(kv[0], kv[1], args), VARIANTS.items()))
    base = results["base"]["val_mse"]
    rows = []
    for name, r in results.items():
        rows.append({"variant": name, "sets": VARIANTS[name], "val_mse": r["val_mse"],
                     "val_mse_spiking_readout": r["val_readout"], "improvement": base - r["val_mse"],
                     "chosen": name != "base" and base - r["val_mse"] > args.margin,
                     "samples": r["samples"], "wall_s": r["wall_s"]})
    summary = {"definition": "networks/layer_pair_mnist.toml", "backend": "spiking", "samples": args.samples,
               "seed": args.seed, "margin": args.margin, "split": "validation (last 10,000 training digits)",
               "variants": rows, "changes": [r["variant"] for r in rows if r["chosen"]],
               "command": " ".join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:]))}
    (Path(args.out) / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    lines = [f"# Validation screen: layer_pair_mnist, spiking, {args.samples} samples, seed {args.seed}", "",
             f"Scored on the validation digits only; keep the definition unless a variant beats base by > {args.margin:g}.",
             "", "| variant | val_mse | spiking read-out | improvement | chosen |", "|---|---|---|---|---|"]
    for r in rows:
        ro = r["val_mse_spiking_readout"]
        lines.append(f"| {r['variant']} | {r['val_mse']:.5f} | {ro:.5f} | {r['improvement']:+.5f} | {'yes' if r['chosen'] else ''} |")
    (Path(args.out) / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
