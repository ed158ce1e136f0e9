"""Sphinx extension: the teaching notebooks, with their exercises solved, as pages of the site.

At ``builder-inited`` every ``notebooks/*.ipynb`` is copied to ``docs/tutorials/_generated/``
(git-ignored) with its exercise cells replaced by the solutions in
``notebooks/solutions/<stem>.py`` (:func:`spiking_bpdl.teaching.solved_notebook`), and with one
hidden first cell that puts the kernel where the notebook expects to run: in ``notebooks/``
(the notebooks read ``../networks`` and write ``../results``), in reduced size
(``SPIKING_BPDL_REDUCED=1``), with figures shown inline (``MPLBACKEND=Agg``, which the tests and CI
export, would otherwise swallow them). myst-nb then executes the copies while it reads them.
"""

import os
from pathlib import Path

import nbformat
from docutils import nodes
from sphinx.util import logging

from spiking_bpdl.teaching import exercise_cells, solved_notebook

#: myst-nb drops cells with this tag from the page (the code and its outputs).
HIDDEN_TAG = "remove-cell"
#: Where the solved copies go, relative to the documentation source folder.
GENERATED = Path("tutorials") / "_generated"

logger = logging.getLogger(__name__)


def setup_cell(run_dir):
    """The hidden first cell: reduced size, the notebook's own directory, inline figures.

    Parameters
    ----------
    run_dir : str
        The directory the notebook runs in, relative to the generated copy's directory.

    Returns
    -------
    nbformat.NotebookNode
    """
    source = ("import os\n"
              "os.environ['SPIKING_BPDL_REDUCED'] = '1'\n"
              f"os.chdir({run_dir!r})\n"
              "%matplotlib inline")
    # a fixed id keeps the copy byte-identical while its notebook is unchanged
    return nbformat.v4.new_code_cell(source, id="docs-setup", metadata={"tags": [HIDDEN_TAG]})


def generate(notebooks, out):
    """Write the solved, reduced-size copy of every notebook in ``notebooks`` to ``out``.

    A file is rewritten only when its content changes, and copies of notebooks that no longer
    exist are removed, so ``out`` always mirrors ``notebooks``.

    Parameters
    ----------
    notebooks : Path
        ``notebooks/`` (with ``solutions/<stem>.py`` beside the notebooks).
    out : Path
        The generated folder.

    Returns
    -------
    list of str
        The stems written, sorted.
    """
    out.mkdir(parents=True, exist_ok=True)
    run_dir = os.path.relpath(notebooks, out)
    stems = []
    for path in sorted(notebooks.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        solutions = notebooks / "solutions" / f"{path.stem}.py"
        # a notebook whose solutions file is not written yet is copied as the student sees it
        if exercise_cells(nb) and solutions.exists():
            nb = solved_notebook(nb, solutions)
        nb.cells.insert(0, setup_cell(run_dir))
        text = nbformat.writes(nb)
        target = out / path.name
        if not target.exists() or target.read_text() != text:
            tmp = target.with_suffix(".ipynb.tmp")
            tmp.write_text(text)
            tmp.replace(target)
        stems.append(path.stem)
    for stale in out.glob("*.ipynb"):
        if stale.stem not in stems:
            stale.unlink()
    return stems


def _builder_inited(app):
    root = Path(app.srcdir).parent
    generate(root / "notebooks", Path(app.srcdir) / GENERATED)


def _doctree_read(app, doctree):
    """Warn (an error under ``-W``) when an executed notebook's page shows no figure.

    Every teaching notebook draws figures; a page without any means that they were lost on the
    way (for instance a library call that switched matplotlib to the Agg backend in the kernel).
    """
    if app.config.nb_execution_mode == "off" or not app.env.docname.startswith(GENERATED.as_posix() + "/"):
        return
    if not any(True for _ in doctree.findall(nodes.image)):
        logger.warning("the executed notebook shows no figure (were they drawn on a non-inline matplotlib "
                       "backend?)", location=app.env.docname)


def setup(app):
    """Register the hooks (Sphinx extension entry point)."""
    app.connect("builder-inited", _builder_inited)
    app.connect("doctree-read", _doctree_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
