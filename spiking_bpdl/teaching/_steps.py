"""An exercise checked in several steps, each with its own hint, reported once."""

import contextlib
import io

from . import report
from ._compare import check_close


def check_steps(exercise, steps):
    """Compare the student's answers with the library's step by step; one line when all pass.

    Parameters
    ----------
    exercise : str
        The exercise's name as the notebook shows it.
    steps : list of dict
        Keyword arguments of :func:`~spiking_bpdl.teaching._compare.check_close` (``got``, ``want``,
        ``hint``, ``what``, tolerances), simplest case first, so that the first failing step's hint
        is the one that helps.

    Raises
    ------
    AssertionError
        From the first step whose answer differs.
    """
    # each passing step would print its own "correct": one summary line reads better
    with contextlib.redirect_stdout(io.StringIO()):
        for step in steps:
            check_close(exercise, **step)
    report(exercise, True, "Matches the library on: " + "; ".join(s.get("what", "values") for s in steps) + ".")
