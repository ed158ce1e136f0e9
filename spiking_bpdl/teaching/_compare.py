"""Comparing a student's answer with the library's: structure and shapes first, then values."""

import numpy as np

from . import report


def _flatten(got, want, where="the answer"):
    """``(got, want, problem)``: both flattened to 1-D float arrays, or a description of the mismatch.

    ``want`` may be an array or a (nested) list/tuple of arrays of different shapes; ``got`` must
    have the same structure and shapes.
    """
    if isinstance(want, (list, tuple)) and not _uniform(want):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            n = len(got) if isinstance(got, (list, tuple)) else type(got).__name__
            return None, None, f"{where}: expected {len(want)} arrays, got {n}."
        parts = [_flatten(g, w, f"{where}[{i}]") for i, (g, w) in enumerate(zip(got, want))]
        for g, w, problem in parts:
            if problem:
                return None, None, problem
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), ""
    w = np.asarray(want, dtype=np.float64)
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return None, None, f"{where}: {type(got).__name__}, not numbers."
    if g.shape != w.shape:
        return None, None, f"{where}: shape {g.shape}, expected {w.shape}."
    return g.ravel(), w.ravel(), ""


def _uniform(seq):
    """True when a list of arrays has one shape (it is then compared as one array)."""
    if any(isinstance(x, (list, tuple)) for x in seq):
        return False
    return len({np.shape(x) for x in seq}) == 1


def check_close(exercise, got, want, hint, rtol=1e-5, atol=1e-8, what="values"):
    """:func:`report` whether ``got`` has the structure, shapes and (to tolerance) values of ``want``.

    Parameters
    ----------
    exercise : str
        The exercise's name as the notebook shows it.
    got, want : array_like or sequence of array_like
        The student's answer and the library's.
    hint : str
        What to look at when they differ.
    rtol, atol : float
        Tolerances of :func:`numpy.allclose` (float32 arithmetic needs ~1e-5 relative).
    what : str
        What is compared (in the message).

    Raises
    ------
    AssertionError
        When the structure, a shape or the values differ.
    """
    g, w, problem = _flatten(got, want)
    if problem:
        report(exercise, False, f"{what}: {problem}", hint)
    err = float(np.max(np.abs(g - w))) if w.size else 0.0
    ok = bool(np.all(np.isfinite(g))) and np.allclose(g, w, rtol=rtol, atol=atol)
    report(exercise, ok, f"{what} ({w.size} numbers): largest difference from the library's {err:.2g}.", hint)
