"""Import a repository script (``scripts/*.py``, ``benchmarks/*.py``) as a module, for its tests."""

import importlib.util
from pathlib import Path


def load_script(path):
    """The script at ``path`` executed as a module named after its file (its ``main`` not called).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    module
    """
    path = Path(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
