"""Run a parameter sweep with seeds on Dask and summarise it with 95 % intervals.

A sweep file (TOML) names one command, its fixed options, a [grid] of options or definition
keys (dotted, e.g. "layer_pair.nudge") and the seeds; see networks/sweeps/*.toml. Every
(grid point, seed) is validated by the command's own parser before anything starts, then runs
as a Dask task in its own process and folder (OUT/tasks/<point>/seed-<s>/attempt-<n>/).

Without --scheduler, a dask.distributed LocalCluster with one single-threaded worker process
per core (or --workers) starts and stops with the command; with --scheduler the tasks go to a
running cluster (start it with Dask's own `dask scheduler` and `dask worker ADDRESS
--nthreads 1`). The dashboard address is printed.

Writes, as tasks finish: OUT/results.csv (one row per (point, seed): grid values, seed, every
scalar of the command's JSON, wall time, status; also results.parquet when pyarrow is
installed); at the end: OUT/summary.json, OUT/summary.md (mean, sd and 95 % t-interval per
point and metric) and OUT/figures/<metric>.png (against the first grid axis, with error bars).

A failed task (non-zero exit, crash, killed worker) is retried once, then recorded with its
error; the sweep goes on and exits with status 1 at the end. --resume skips the (point, seed)
pairs already in OUT/results.csv with status ok.

Examples:
  spiking-bpdl sweep networks/sweeps/stdp_window_tau.toml --out results/sweep_tau
  spiking-bpdl sweep networks/sweeps/layer_pair_small_seeds.toml --out results/lp --resume
  spiking-bpdl sweep my_sweep.toml --out results/s --scheduler tcp://10.0.0.5:8786
"""

import sys
from pathlib import Path

from . import _common

NAME = "sweep"
HELP = "run a grid of options x seeds of one command on Dask; CSV, summary with 95%% intervals, figures"

__all__ = ["NAME", "HELP", "add_arguments", "run"]


def add_arguments(parser):
    """Options of ``sweep``."""
    parser.add_argument("sweep_file", metavar="SWEEP.toml",
                        help="sweep file (or the name of one in networks/sweeps/)")
    parser.add_argument("--out", type=Path, required=True, help="output folder of the sweep")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="address of a running Dask scheduler (default: start a LocalCluster)")
    parser.add_argument("--workers", type=_common.positive_int, default=None,
                        help="worker processes of the LocalCluster (default: one per core)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the ok rows of OUT/results.csv and run only the missing (point, seed) pairs")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the summary JSON here (always written to OUT/summary.json)")
    parser.add_argument("--seed", type=int, default=None,
                        help="not used: each task's seeds come from the sweep file (accepted for uniformity)")


def validate(args):
    """Read and validate the sweep file and every point of it (nothing runs)."""
    from ..errors import ConfigError
    from ..sweep import load_sweep

    if args.scheduler is not None and args.workers is not None:
        raise ConfigError("--workers applies to the LocalCluster; with --scheduler the cluster has its own workers")
    return load_sweep(args.sweep_file)


def run(args):
    """Validate, run on Dask, write the results; exit status 1 when a task failed."""
    from ..sweep import run as run_sweep

    spec = validate(args)
    rows = run_sweep(spec, args.out, scheduler=args.scheduler, workers=args.workers, resume=args.resume)
    if args.json is not None:
        from .._io import write_json

        write_json(args.json, rows.summary)
    print(f"sweep {' '.join(spec.command)}: {len(rows) - len(rows.failed)} of {len(rows)} runs ok; "
          f"summary {args.out / 'summary.md'}")
    if rows.failed:
        print(f"spiking-bpdl: error: {len(rows.failed)} sweep task(s) failed (see {args.out / 'summary.md'})",
              file=sys.stderr)
        raise SystemExit(1)
    return rows
