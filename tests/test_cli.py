"""The command line as a whole: help everywhere, one-line errors with exit code 2."""

import subprocess
import sys

import pytest

from spiking_bpdl import cli


def _subcommands():
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def _leaf_parsers(parser, prefix=()):
    subs = [a for a in parser._actions if isinstance(a.choices, dict) and a.dest != "help"]
    if not subs:
        yield " ".join(prefix), parser
        return
    for name, sub in subs[0].choices.items():
        yield from _leaf_parsers(sub, prefix + (name,))


def test_every_subcommand_has_help_and_common_options():
    subs = _subcommands()
    assert len(subs) == len(cli.COMMAND_MODULES)
    for name, sub in subs.items():
        for leaf_name, leaf in _leaf_parsers(sub, (name,)):
            text = leaf.format_help()
            for option in ("--seed", "--out", "--json"):
                assert option in text, f"{leaf_name} lacks {option}"


def test_top_level_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "spiking_bpdl.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for name in _subcommands():
        assert name in out.stdout


@pytest.mark.parametrize("argv", [["no-such-command"], []])
def test_bad_command_is_one_line_exit_2(argv):
    out = subprocess.run([sys.executable, "-m", "spiking_bpdl.cli", *argv], capture_output=True, text=True)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "error" in out.stderr
    assert "Traceback" not in out.stderr
