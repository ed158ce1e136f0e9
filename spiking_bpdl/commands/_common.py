"""Options and helpers shared by every subcommand."""

import argparse
import functools
import shlex
import subprocess
import sys
from pathlib import Path

from .._io import write_json
from ..codegen import DEFAULT_TARGET, TARGETS

__all__ = ["add_common", "positive_float", "positive_int", "nonneg_float", "finish", "out_dir", "provenance"]


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


def out_dir(args):
    """The output directory, created on demand."""
    args.out.mkdir(parents=True, exist_ok=True)
    return args.out


@functools.lru_cache(maxsize=1)
def _git_state():
    """``(commit, dirty)`` of the checkout the package runs from, or ``(None, None)`` outside git."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None, None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status.strip())


def provenance(args):
    """What produced a result: package version, git commit, command line, seed and resolved options.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (every option with its default filled in).

    Returns
    -------
    dict
        ``version``, ``git_commit`` and ``git_dirty`` (None outside a git checkout),
        ``command`` (as typed, shell-quoted), ``seed`` and ``options`` (every parsed option).
    """
    from .. import __version__

    commit, dirty = _git_state()
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if not k.startswith("_")}
    return {"version": __version__, "git_commit": commit, "git_dirty": dirty,
            "command": shlex.join(["spiking-bpdl", *getattr(args, "_argv", sys.argv[1:])]), "python": sys.version.split()[0],
            "seed": getattr(args, "seed", None), "options": options}


def finish(args, name, result, summary=None):
    """Write ``result`` (with its :func:`provenance`) to ``--json`` (or ``OUT/<name>.json``) atomically."""
    path = args.json or (args.out / f"{name}.json")
    result.setdefault("provenance", provenance(args))
    write_json(path, result)
    print(summary or f"{name}: wrote {path}", file=sys.stdout)
    return path
