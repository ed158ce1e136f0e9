"""Execute a teaching notebook with nbclient, in reduced size, and check its hygiene."""

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def execute_notebook(name, timeout=600, reduced=True):
    """Run ``notebooks/<name>`` top to bottom; returns the executed notebook.

    ``SPIKING_BPDL_REDUCED=1`` tells the notebook to use its small configuration.
    The stored notebook must have no outputs (kept clean in the repository).
    """
    path = NOTEBOOKS / name
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{name}: stored notebook has outputs; clear them"
            assert cell.get("execution_count") is None, f"{name}: stored notebook has execution counts"
    if reduced:
        os.environ["SPIKING_BPDL_REDUCED"] = "1"
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    return nb
