"""``spiking-bpdl``: the command line. Each subcommand lives in ``spiking_bpdl.commands``.

A subcommand module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> dict``. The returned dict is written to ``--json`` (default
``<out>/<NAME>.json``) and a one-line summary is printed. Heavy imports (Brian2) happen
inside ``run`` so that ``--help`` and input validation are instant.

User errors (:class:`spiking_bpdl.errors.SpikingBPDLError`, bad arguments) print one
line on stderr and exit with status 2; nothing is written.
"""

import argparse
import importlib
import sys

from .errors import SpikingBPDLError

__all__ = ["main", "build_parser", "COMMAND_MODULES"]

#: Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES = [
    "stdp_window",
    "stdp_match",
    "song_abbott",
    "generative",
    "vpf",
    "train",
    "sweep",
    "reproduce",
]


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; we print the error alone, on one line."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser():
    """Build the argument parser with every subcommand registered."""
    parser = _OneLineParser(
        prog="spiking-bpdl",
        description="Biologically plausible deep learning with spiking neurons (Brian2).",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"spiking-bpdl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    sub.required = True
    for modname in COMMAND_MODULES:
        mod = importlib.import_module(f".commands.{modname}", __package__)
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_module=mod)
    return parser


def main(argv=None):
    """Entry point of the ``spiking-bpdl`` console script. Returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args._argv = argv  # recorded in every result's provenance
    try:
        args._module.run(args)
    except SpikingBPDLError as exc:
        print(f"spiking-bpdl: error: {exc}", file=sys.stderr)
        return 2
    except (OverflowError, FloatingPointError) as exc:
        # an extreme but finite option (say --tau-plus 1e308) overflowed in the computation
        print(f"spiking-bpdl: error: a parameter is out of the representable range ({exc}); "
              "use values of a physical size", file=sys.stderr)
        return 2
    except SystemExit as exc:  # a command's own exit status (sweep: 1 when a task failed)
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        print("spiking-bpdl: interrupted (checkpoints, if any, are intact)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
