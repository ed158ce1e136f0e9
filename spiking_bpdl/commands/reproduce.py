"""Regenerate the figures and tables of the seed papers into one report.

Parts (report order; --only and --force take these names, space- or comma-separated):
  window       the emergent STDP window (Bengio et al. 2015, Fig. 1; Bi & Poo 16.8 / 33.7 ms)
               and the pair window against its closed form (stdp-window)
  stdp_match   STDP against the rate rule: analytic r and slope (the theory test), kernel-rate
               (bookkeeping), the wired layer's gradient cosine with CI and controls (stdp-match)
  layer_pairs  the layer pair on three backends: spiking (with its own read-out), rate, backprop (train)
  classifier   train --backend spiking on networks/classifier_mnist.toml: its own spike read-out
               against Diehl & Cook 2015 (95.0 %), the rate pass of its weights next to it
  generative   Algorithm 2: Parzen table (236 for this model; DBN 138, stacked CAE 121, deep GSN 214,
               GAN 225, directed only 126), Fig. 4 samples, Fig. 5 in-painting (generative)
  vpf          VPF against CD-1 and PCD: reconstruction of corrupted digits (vpf)

--quick runs reduced sizes on the embedded digits (offline, a few minutes on 2 cores). --full
runs the README's headline runs: stdp_match, layer_pairs and vpf run their sweeps
(networks/sweeps/*_seeds.toml) with --resume into --sweeps-dir (default the committed
docs/results/sweeps/<name>/, so rows already there are not run again; the sweep rewrites its
summary and figures there); window and generative run their commands.

Every part runs the existing commands in subprocesses and writes OUT/parts/<part>/part.json
(status, commands, wall times, rows, provenance, a hash of its configuration). A later run with
the same configuration reuses a part that succeeded; --force PART runs it again. A failing part
is reported with its error and the others still run; the exit status is then 1.

Writes OUT/report.md, OUT/report.html (self-contained) and OUT/report.json (also to --json).

Examples:
  spiking-bpdl reproduce --quick --out results/report
  spiking-bpdl reproduce --quick --out results/report --only window stdp_match
  spiking-bpdl reproduce --full --out results/report_full --force generative
"""

import sys
from pathlib import Path

NAME = "reproduce"
HELP = "rerun the papers' figures and tables into one report (Markdown, HTML, JSON)"

__all__ = ["NAME", "HELP", "add_arguments", "validate", "run"]


def _part_list(text):
    return [p.strip() for p in text.split(",") if p.strip()]


def add_arguments(parser):
    """Options of ``reproduce``."""
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_const", const="quick", dest="mode",
                      help="reduced sizes on the embedded data (offline)")
    mode.add_argument("--full", action="store_const", const="full", dest="mode",
                      help="the README's headline runs (sweeps resumed into --sweeps-dir)")
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    parser.add_argument("--only", nargs="+", type=_part_list, action="extend", default=None, metavar="PART",
                        help="run only these parts (others appear from an earlier run in OUT, if any)")
    parser.add_argument("--force", nargs="+", type=_part_list, action="extend", default=None, metavar="PART",
                        help="run these parts again even when their configuration is unchanged")
    parser.add_argument("--seed", type=int, default=0, help="seed of the single commands (default 0; the sweeps "
                        "take theirs from their sweep files)")
    parser.add_argument("--json", type=Path, default=None, help="also write report.json here")
    parser.add_argument("--sweeps-dir", type=Path, default=None,
                        help="--full: folder of the sweeps' results (default docs/results/sweeps of the checkout)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="dataset folder for every command (as $SPIKING_BPDL_DATA)")


def _flatten(groups):
    return [p for g in (groups or []) for p in g]


def validate(args):
    """Check part names and paths before anything is written (raises ConfigError)."""
    from ..errors import ConfigError
    from ..reproduce import PART_NAMES

    only, force = _flatten(args.only), _flatten(args.force)
    if args.only is not None and not only:
        raise ConfigError("--only needs at least one part name")
    for opt, names in (("--only", only), ("--force", force)):
        for name in names:
            if name not in PART_NAMES:
                raise ConfigError(f"{opt}: unknown part {name!r} (parts: {', '.join(PART_NAMES)})")
    if only:
        outside = [n for n in force if n not in only]
        if outside:
            raise ConfigError(f"--force {outside[0]} is not among the parts of --only")
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {args.out} exists and is not a folder")
    blocking = next((p for p in args.out.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ConfigError(f"--out {args.out}: {blocking} is a file, not a folder")
    if args.json is not None and args.json.is_dir():
        raise ConfigError(f"--json {args.json} is a folder")
    if args.sweeps_dir is not None:
        if args.mode != "full":
            raise ConfigError("--sweeps-dir applies to --full only")
        if args.sweeps_dir.exists() and not args.sweeps_dir.is_dir():
            raise ConfigError(f"--sweeps-dir {args.sweeps_dir} exists and is not a folder")
    if args.data_dir is not None and not args.data_dir.is_dir():
        raise ConfigError(f"--data-dir {args.data_dir} is not a folder")
    return only or list(PART_NAMES), force


def run(args):
    """Run the parts, write the report; exit status 1 when a part failed."""
    parts, force = validate(args)
    from .._io import write_json
    from ..reproduce import run_report

    report = run_report(args.mode, args.out, parts=parts, force=force, seed=args.seed, sweeps_dir=args.sweeps_dir,
                        data_dir=args.data_dir, argv=getattr(args, "_argv", None))
    if args.json is not None:
        write_json(args.json, report)
    print(f"reproduce {args.mode}: {len(parts) - len(report['failed'])} of {len(parts)} part(s) ok; "
          f"{args.out / 'report.md'}")
    if report["failed"]:
        print(f"spiking-bpdl: error: part(s) failed: {', '.join(report['failed'])} (see {args.out / 'report.md'})",
              file=sys.stderr)
        raise SystemExit(1)
    return report
