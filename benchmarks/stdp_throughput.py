"""Throughput of the replicated STDP-match engine: synapse-trials per second.

Measures, within one process, the event-driven pair-STDP engine of
``spiking_bpdl.experiments.stdp_match.run_replicated`` (R replicas in ONE network and ONE
run) against the naive alternative, a Python loop of one small network per trial, for
the same number of synapse-trials. Both on the same target (cython by default; the
Cython cache is warmed by a first small run so compile time is not counted).

    python benchmarks/stdp_throughput.py [--target cython] [--trials 200] [--loop-trials 10]

Writes benchmarks/results/stdp_throughput.json.
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

from spiking_bpdl.experiments.stdp_match import default_setup, run_replicated
from spiking_bpdl.plasticity import PairSTDP
from spiking_bpdl.provenance import provenance


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", default="cython")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--loop-trials", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3, help="timed repetitions of each variant; medians are reported")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "stdp_throughput.json")
    args = ap.parse_args()
    prov = provenance(args)
    prov["command"] = shlex.join(["python", "benchmarks/stdp_throughput.py", *sys.argv[1:]])
    setup = default_setup(coupling=0.0)
    rule = PairSTDP.balanced(A_plus=1.0, w_max=1e9)
    run_replicated(setup, rule, 2, target=args.target)  # warm the code cache
    t_vecs, t_loops = [], []
    for _ in range(args.repeats):  # alternate the variants so that a burst of load hits both
        t0 = time.perf_counter()
        sim = run_replicated(setup, rule, args.trials, target=args.target)
        t_vecs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        n_loop = 0
        for k in range(args.loop_trials):
            n_loop += run_replicated(setup, rule, 1, seed=k, target=args.target)["n_synapses"]
        t_loops.append(time.perf_counter() - t0)
    t_vec, t_loop = float(np.median(t_vecs)), float(np.median(t_loops))
    thr_vec = sim["n_synapses"] / t_vec
    thr_loop = n_loop / t_loop
    result = {
        "target": args.target, "trials": args.trials, "synapses_per_trial": sim["n_synapses"] // args.trials,
        "simulated_s_per_trial": sim["duration"], "repeats": args.repeats,
        "replicated_wall_s": t_vec, "replicated_wall_s_all": t_vecs, "replicated_synapse_trials_per_s": thr_vec,
        "loop_trials": args.loop_trials, "loop_wall_s": t_loop, "loop_wall_s_all": t_loops,
        "loop_synapse_trials_per_s": thr_loop,
        "speedup_replicated_vs_loop": thr_vec / thr_loop,
        "statistic": "median wall time of each variant over the repetitions",
        "load_average_after": os.getloadavg(), "cpu_count": os.cpu_count(),
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
        "provenance": prov,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
