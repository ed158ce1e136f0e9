"""Provenance of a result: package version, git commit, command line, seed and resolved options.

Every command's JSON carries it (``provenance``), so that a number in the README can be traced
to the code and the command that produced it.
"""

import functools
import shlex
import subprocess
import sys
from pathlib import Path

__all__ = ["git_state", "provenance", "script_provenance"]


@functools.lru_cache(maxsize=1)
def git_state():
    """``(commit, dirty)`` of the checkout the package runs from, or ``(None, None)`` outside git."""
    root = Path(__file__).resolve().parents[1]
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
    from . import __version__

    commit, dirty = git_state()
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if not k.startswith("_")}
    return {"version": __version__, "git_commit": commit, "git_dirty": dirty,
            "command": shlex.join(["spiking-bpdl", *getattr(args, "_argv", sys.argv[1:])]), "python": sys.version.split()[0],
            "seed": getattr(args, "seed", None), "options": options}


def script_provenance(args, script, argv=None):
    """:func:`provenance` of a repository script: its command is ``python SCRIPT ARGV`` instead of the
    ``spiking-bpdl`` command line.

    Parameters
    ----------
    args : argparse.Namespace
        The script's parsed command line.
    script : str
        The script's path from the repository root (``scripts/name.py``).
    argv : list of str, optional
        The arguments it was called with (default ``sys.argv[1:]``).

    Returns
    -------
    dict
        As :func:`provenance`.
    """
    argv = sys.argv[1:] if argv is None else argv
    return dict(provenance(args), command=shlex.join(["python", script, *map(str, argv)]))
