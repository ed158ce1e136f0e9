"""Benchmark: one MNIST epoch of a 784-500 binary RBM (float32, vectorised numpy) per learning rule.

The issue's budget is 60 s per epoch on 2 cores. This measures the training time of one full
epoch (60k - 10 images, minibatch 100, momentum SGD; the validation passes that the
experiment interleaves are excluded from the timing) for VPF, CD-1 and PCD in the same
process, and reports ratios (VPF / CD-1, each / budget) rather than absolute numbers only,
since the machine is shared.

    OPENBLAS_NUM_THREADS=1 python benchmarks/vpf_epoch.py            # writes benchmarks/results/vpf_epoch.json
    OPENBLAS_NUM_THREADS=2 python benchmarks/vpf_epoch.py --out benchmarks/results/vpf_epoch_2threads.json
"""

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from spiking_bpdl._io import write_json
from spiking_bpdl.experiments.vpf_compare import VPFConfig, load_binarised, train_model
from spiking_bpdl.provenance import provenance

BUDGET_S = 60.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "vpf_epoch.json")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per method; the median is reported")
    args = parser.parse_args(argv)
    prov = provenance(args)  # before the run: the commit and source that were imported
    prov["command"] = shlex.join(["python", "benchmarks/vpf_epoch.py", *(sys.argv[1:] if argv is None else argv)])
    data = load_binarised(args.dataset, n_train=60000, n_val=10, source="full")
    rows = {}
    load0 = os.getloadavg()
    for method in ("vpf", "cd", "pcd"):
        times = []
        for r in range(args.repeats):
            cfg = VPFConfig(dataset=args.dataset, method=method, epochs=1, curve_points_per_epoch=1,
                            n_select=10, select_sweeps=1, learning_rates=(0.001,), seed=r).validate()
            fit = train_model(cfg, data, 0.001)
            times.append(fit["curve"][-1]["train_wall_s"])
        rows[method] = {"epoch_s": float(np.median(times)), "epoch_s_all": times,
                        "images": len(data.train), "fraction_of_budget": float(np.median(times)) / BUDGET_S}
        print(f"{method}: {np.median(times):.2f} s per epoch ({len(data.train)} images)", flush=True)
    result = {
        "benchmark": "vpf_epoch",
        "model": "784-500 binary RBM, float32, minibatch 100",
        "budget_s": BUDGET_S,
        "methods": rows,
        "ratio_vpf_over_cd": rows["vpf"]["epoch_s"] / rows["cd"]["epoch_s"],
        "ratio_pcd_over_cd": rows["pcd"]["epoch_s"] / rows["cd"]["epoch_s"],
        "all_under_budget": all(r["epoch_s"] < BUDGET_S for r in rows.values()),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or "default",
        "load_average_before": load0,
        "load_average_after": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "provenance": prov,
    }
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "methods"}, indent=1))


if __name__ == "__main__":
    main()
