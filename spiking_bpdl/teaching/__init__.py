"""Teaching support for the notebooks: exercise checks, solutions, sliders.

Every teaching notebook follows one pattern (in the style of the Neuromatch Academy tutorials):

* an **exercise cell** defines one function whose body the student writes; until then it raises
  ``NotImplementedError``. The cell's metadata names the function: ``{"exercise": "<name>"}``.
* the **check cell** right after it calls ``check_<name>(<name>)`` from the notebook's module in
  this package (for example :mod:`spiking_bpdl.teaching.lif_and_stdp`). A check compares the
  student's function with the library's own implementation on fresh inputs and prints
  ``Exercise ...: correct`` or raises ``AssertionError`` with a hint, so a wrong answer cannot
  pass silently.
* the **solutions** live in ``notebooks/solutions/<notebook stem>.py``: one function per exercise,
  with the same name. :func:`solved_notebook` returns the notebook with every exercise cell
  replaced by its solution; the test suite and the documentation site execute that version, and
  the suite also checks that every stub fails its check.

:func:`slider` shows a parameter's effect: a static row of figures (what an executed notebook, the
documentation site and a plain ``jupyter nbconvert`` show) and, in a live Jupyter session with
``ipywidgets`` installed, an interactive slider.
"""

import ast
import copy
from pathlib import Path

__all__ = ["report", "exercise_cells", "solution_sources", "solved_notebook", "stub_function", "slider"]


def report(exercise, ok, detail="", hint=""):
    """Print that ``exercise`` is correct, or raise ``AssertionError`` with ``hint``.

    Parameters
    ----------
    exercise : str
        The exercise's name as the notebook shows it (``"Exercise 1"``).
    ok : bool
        Whether the student's answer passed.
    detail : str
        What was compared (printed either way).
    hint : str
        What to look at when the answer is wrong.

    Raises
    ------
    AssertionError
        When ``ok`` is False.
    """
    if ok:
        print(f"{exercise}: correct. {detail}".rstrip())
        return
    raise AssertionError(f"{exercise}: not yet right. {detail} {hint}".strip())


def exercise_cells(nb):
    """The exercise cells of a notebook: ``[(index, function name), ...]``.

    Parameters
    ----------
    nb : nbformat.NotebookNode

    Returns
    -------
    list of (int, str)
    """
    return [(i, c.metadata["exercise"]) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and "exercise" in c.get("metadata", {})]


def solution_sources(path):
    """Source of every top-level function in a solutions file, by name.

    Parameters
    ----------
    path : str or Path
        ``notebooks/solutions/<notebook stem>.py``.

    Returns
    -------
    dict
        ``{function name: source text}``; the module's imports are prepended to each, so a
        solution cell runs on its own.
    """
    text = Path(path).read_text()
    tree = ast.parse(text)
    imports = [ast.get_source_segment(text, n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    header = "\n".join(imports) + ("\n\n" if imports else "")
    return {n.name: header + ast.get_source_segment(text, n) + "\n"
            for n in tree.body if isinstance(n, ast.FunctionDef)}


def solved_notebook(nb, solutions):
    """A copy of ``nb`` with every exercise cell replaced by its solution.

    Parameters
    ----------
    nb : nbformat.NotebookNode
    solutions : str or Path
        The notebook's solutions file.

    Returns
    -------
    nbformat.NotebookNode

    Raises
    ------
    KeyError
        When an exercise has no solution.
    """
    sources = solution_sources(solutions)
    out = copy.deepcopy(nb)
    for i, name in exercise_cells(out):
        if name not in sources:
            raise KeyError(f"no solution for exercise {name!r} in {solutions}")
        out.cells[i].source = sources[name]
    return out


def stub_function(nb, name, namespace=None):
    """Execute an exercise cell as the student sees it and return its (unfinished) function.

    Parameters
    ----------
    nb : nbformat.NotebookNode
    name : str
        The exercise's function name.
    namespace : dict, optional
        Globals for the cell (numpy is imported as ``np`` when not given).

    Returns
    -------
    callable
    """
    import numpy as np

    ns = {"np": np} if namespace is None else namespace
    for i, n in exercise_cells(nb):
        if n == name:
            exec(compile(nb.cells[i].source, f"<exercise {name}>", "exec"), ns)
            return ns[name]
    raise KeyError(f"no exercise {name!r} in the notebook")


def slider(plot, values, name, label=None, description=None):
    """Show how a parameter changes a figure: a static row always, a slider when interactive.

    Parameters
    ----------
    plot : callable
        ``plot(value, ax)`` draws one panel on a matplotlib axis.
    values : sequence of float
        The values shown side by side in the static figure; the slider runs from the first to
        the last.
    name : str
        The parameter's name (the panel titles and the slider's label).
    label : callable, optional
        ``label(value) -> str`` for the panel titles (default ``f"{name} = {value:g}"``).
    description : str, optional
        The slider's description.

    Returns
    -------
    matplotlib.figure.Figure
        The static figure.
    """
    import matplotlib.pyplot as plt

    label = label or (lambda v: f"{name} = {v:g}")
    fig, axes = plt.subplots(1, len(values), figsize=(3.2 * len(values), 2.8), sharey=True, squeeze=False)
    for v, ax in zip(values, axes[0]):
        plot(v, ax)
        ax.set_title(label(v))
    fig.tight_layout()
    plt.show()
    if _interactive():
        import ipywidgets

        def _draw(value):
            f, ax = plt.subplots(figsize=(4.5, 3.2))
            plot(value, ax)
            ax.set_title(label(value))
            plt.show()

        lo, hi = min(values), max(values)
        ipywidgets.interact(_draw, value=ipywidgets.FloatSlider(value=values[len(values) // 2], min=lo, max=hi,
                                                                step=(hi - lo) / 50, description=description or name,
                                                                continuous_update=False))
    return fig


def _interactive():
    """True in a live Jupyter kernel with ipywidgets installed (not under nbclient or the docs build)."""
    import os

    if os.environ.get("SPIKING_BPDL_REDUCED") or os.environ.get("SPIKING_BPDL_STATIC"):
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
