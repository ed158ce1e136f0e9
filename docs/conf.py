"""Sphinx configuration of the spiking_bpdl documentation site.

Build (from the repository root; warnings are errors, unresolved cross-references fail)::

    .venv/bin/python -m sphinx -W --keep-going -n -b html docs docs/_build/html

The teaching notebooks are executed during the build (reduced size, exercises solved; see
``_ext/tutorials.py``). ``-D nb_execution_mode=off`` skips the execution while editing the text.
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

from spiking_bpdl import __version__  # noqa: E402

project = "spiking_bpdl"
author = "spiking_bpdl contributors"
copyright = "spiking_bpdl contributors"
version = release = __version__

extensions = [
    "myst_nb",               # Markdown pages (MyST) and executed notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",              # the docstrings' Parameters/Returns sections
    "tutorials",             # _ext/tutorials.py: solved copies of notebooks/*.ipynb
    "cli_reference",         # _ext/cli_reference.py: the command line, from its argparse parsers
]

exclude_patterns = [
    "_build",
    "jupyter_execute",  # myst-nb's executed copies, beside the output folder when it is docs/<name>
    "api/_templates",
    # stored results: read as files (JSON, PNG, tables), not pages of the site
    "results",
    "**.ipynb_checkpoints",
]
templates_path = ["api/_templates"]

# ---- MyST and notebooks ----
myst_heading_anchors = 3
nb_execution_mode = "force"      # every build runs the notebooks
nb_execution_timeout = 600       # seconds per cell (nbclient has no per-notebook limit), as the notebook tests
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# ---- API reference ----
autosummary_generate = True
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_preserve_defaults = True  # show `variants=GENERATION_VARIANTS`, not the tuple's value
numpydoc_show_class_members = False
numpydoc_validation_checks = set()

# ---- cross-references: unresolved ones are errors (-n) ----
nitpicky = True
# Types of other packages, named in docstrings and signatures; they have no pages here (the build is
# offline, so there is no intersphinx).
nitpick_ignore_regex = [
    ("py:.*", r"(numpy|np|brian2|scipy|matplotlib|dask|distributed|nbformat|pathlib|argparse)(\..*)?"),
]

# ---- HTML ----
html_theme = "alabaster"
html_title = f"spiking_bpdl {version}"
html_static_path = []
# wide enough for the 100-column --help texts of the command-line reference
html_theme_options = {"page_width": "1240px", "sidebar_width": "260px", "fixed_sidebar": True,
                      "description": "Biologically plausible deep learning with spiking neurons"}
