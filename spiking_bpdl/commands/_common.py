"""Options and helpers shared by every subcommand."""

import argparse
import sys
from pathlib import Path

from .._io import write_json
from ..provenance import provenance
from ..codegen import DEFAULT_TARGET, TARGETS

__all__ = ["add_common", "add_progress", "positive_float", "positive_int", "nonneg_float", "finish", "out_dir", "provenance"]


def _finite(text):
    """A finite float, or an argparse error (inf and nan are never a meaningful parameter)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def positive_float(text):
    """argparse type: a float > 0."""
    value = _finite(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def nonneg_float(text):
    """argparse type: a float >= 0."""
    value = _finite(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive_int(text):
    """argparse type: an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def add_common(parser, target=True, data=False, default_out=None):
    """Add ``--seed``, ``--out``, ``--json`` (and ``--target``, ``--data-dir``) to ``parser``."""
    g = parser.add_argument_group("common options")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--out", type=Path, default=Path(default_out or "results"),
                   help="output directory for JSON, NPZ and PNG files (default %(default)s)")
    g.add_argument("--json", type=Path, default=None,
                   help="write the JSON result here (default OUT/<command>.json)")
    if target:
        g.add_argument("--target", choices=TARGETS, default=DEFAULT_TARGET,
                       help="Brian2 code-generation target (default %(default)s)")
    if data:
        g.add_argument("--data-dir", type=Path, default=None,
                       help="folder with <dataset>/*.gz IDX files (default $SPIKING_BPDL_DATA or ~/.cache/spiking_bpdl/data)")


def add_progress(parser):
    """Add ``--progress`` / ``--no-progress``: ``args.progress`` is ``auto``, ``always`` or ``never``.

    The value goes straight to :class:`spiking_bpdl.progress.Progress` (``enabled=``): by
    default a bar is drawn only on a terminal or in a notebook.
    """
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_const", const="always", default="auto",
                   help="draw the progress bar even when stderr is not a terminal (default: only on a terminal)")
    g.add_argument("--no-progress", dest="progress", action="store_const", const="never", help="no progress bar")


def out_dir(args):
    """The output directory, created on demand."""
    args.out.mkdir(parents=True, exist_ok=True)
    return args.out


def finish(args, name, result, summary=None):
    """Write ``result`` (with its :func:`provenance`) to ``--json`` (or ``OUT/<name>.json``) atomically."""
    path = args.json or (args.out / f"{name}.json")
    result.setdefault("provenance", provenance(args))
    write_json(path, result)
    print(summary or f"{name}: wrote {path}", file=sys.stdout)
    return path
