"""Sphinx extension: the command-line reference, generated from the argparse parsers.

The ``spiking-bpdl-cli`` directive walks ``spiking_bpdl.cli.build_parser()`` and writes one section
per command and subcommand holding exactly what ``spiking-bpdl ... --help`` prints. The help texts
are plain terminal text (``|dt|``, ``*.gz``), so they go into literal blocks rather than through the
reStructuredText or Markdown parsers, which would read them as markup.
"""

import argparse
import os

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

#: Width of the rendered help, in characters (argparse reads it from COLUMNS).
HELP_WIDTH = 100


def command_parsers(parser, prog=None):
    """Every parser below ``parser``, depth first, as ``[(command line, one-line help, parser)]``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The top-level parser (``spiking_bpdl.cli.build_parser()``).
    prog : str, optional
        Its command name (default ``parser.prog``).

    Returns
    -------
    list of (str, str, argparse.ArgumentParser)
    """
    prog = prog or parser.prog
    out = [(prog, parser.description or "", parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                rest = command_parsers(sub, f"{prog} {name}")
                out.append((rest[0][0], helps.get(name, ""), sub))
                out.extend(rest[1:])
    return out


def help_text(parser):
    """What ``--help`` prints for ``parser``, at :data:`HELP_WIDTH` columns."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_WIDTH)
    try:
        return parser.format_help()
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


class CommandLineReference(SphinxDirective):
    """``spiking-bpdl-cli``: one section per command with its ``--help`` text."""

    has_content = False

    def run(self):
        from spiking_bpdl.cli import build_parser

        result = []
        for prog, summary, parser in command_parsers(build_parser()):
            section = nodes.section(ids=[nodes.make_id(prog)], names=[nodes.fully_normalize_name(prog)])
            section += nodes.title(prog, "", nodes.literal(prog, prog))
            if summary and prog != "spiking-bpdl":
                section += nodes.paragraph(summary, summary.split("\n\n")[0])
            text = help_text(parser)
            block = nodes.literal_block(text, text)
            block["language"] = "text"
            section += block
            self.state.document.note_implicit_target(section, section)
            result.append(section)
        return result


def setup(app):
    """Register the directive (Sphinx extension entry point)."""
    app.add_directive("spiking-bpdl-cli", CommandLineReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
