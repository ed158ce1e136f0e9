"""Execute a teaching notebook with nbclient, in reduced size, and check its hygiene.

The notebook runs with its exercises solved (``notebooks/solutions/<stem>.py``, through
``spiking_bpdl.teaching.solved_notebook``); ``check_stubs_fail`` checks the other half of the
pattern: every exercise as the student first sees it fails its own check.
"""

import contextlib
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from spiking_bpdl.teaching import exercise_cells, solved_notebook, stub_function

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@contextlib.contextmanager
def _env(**values):
    """Set environment variables for the duration of a block, then restore what was there."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def read_notebook(name):
    """The stored notebook; it must have no outputs (kept clean in the repository)."""
    path = NOTEBOOKS / name
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{name}: stored notebook has outputs; clear them"
            assert cell.get("execution_count") is None, f"{name}: stored notebook has execution counts"
    return nb


def execute_notebook(name, timeout=600, reduced=True, solutions=True):
    """Run ``notebooks/<name>`` top to bottom; returns the executed notebook.

    ``SPIKING_BPDL_REDUCED=1`` tells the notebook to use its small configuration (set only while
    the notebook runs). With ``solutions`` the exercise cells are replaced by their solutions first.
    """
    nb = read_notebook(name)
    solution_file = NOTEBOOKS / "solutions" / (Path(name).stem + ".py")
    if solutions and exercise_cells(nb):
        nb = solved_notebook(nb, solution_file)
    env = {"SPIKING_BPDL_REDUCED": "1"} if reduced else {}
    with _env(**env):
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(NOTEBOOKS)}})
        client.execute()
    return nb


def check_stubs_fail(name, checks):
    """Every exercise of ``notebooks/<name>``, as the student first sees it, fails its check.

    ``checks`` is the notebook's module in ``spiking_bpdl.teaching``; exercise ``f`` is checked by
    ``checks.check_f``. Returns the exercise names (a notebook must have at least two).
    """
    import pytest

    nb = read_notebook(name)
    names = [n for _, n in exercise_cells(nb)]
    assert len(names) >= 2, f"{name}: fewer than two exercises"
    for n in names:
        stub = stub_function(nb, n)
        with pytest.raises(NotImplementedError):
            getattr(checks, f"check_{n}")(stub)
    return names
