"""Progress bars of long jobs: a thin layer over tqdm (rate, done/total, current metrics).

``Progress(total, desc).update(n, loss=...)`` advances the bar and shows the metrics as the
bar's postfix; ``close()`` ends it. Whether a bar is drawn is decided once, when it is
created: by default only when the stream is a terminal or the code runs in a Jupyter
notebook (there as a widget, through ``tqdm.auto``), so logs, pipes, sweep workers and CI
output stay free of carriage-return noise; ``enabled="always"`` (the commands' ``--progress``)
draws it anyway and ``enabled=False`` (``--no-progress``) never does.
"""

import sys
import time

__all__ = ["Progress", "PROGRESS_MODES", "progress_mode"]

#: Accepted values of ``enabled`` besides booleans (True means "auto", False "never").
PROGRESS_MODES = ("auto", "always", "never")


def progress_mode(enabled):
    """Normalise ``enabled`` to one of :data:`PROGRESS_MODES`.

    Parameters
    ----------
    enabled : bool or {'auto', 'always', 'never'}
        True (what callers pass for "show progress") means ``auto``; False means ``never``.

    Returns
    -------
    str
    """
    if enabled is True:
        return "auto"
    if enabled is False or enabled is None:
        return "never"
    if enabled in PROGRESS_MODES:
        return enabled
    raise ValueError(f"progress must be True, False or one of {PROGRESS_MODES}, got {enabled!r}")


def _in_notebook():
    """True inside a Jupyter kernel (the test tqdm.autonotebook uses), without importing IPython."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython too old or half-imported: no notebook to draw in
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _format(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class Progress:
    """Progress bar: ``Progress(total, desc).update(n, loss=...)``; ``close()`` at the end.

    Parameters
    ----------
    total : int
        Items to process.
    desc : str
        Label in front of the bar.
    unit : str
        Name of an item (shown as ``unit/s``).
    interval : float
        Minimum seconds between redraws.
    enabled : bool or {'auto', 'always', 'never'}
        ``auto`` (or True): draw when ``stream`` is a terminal or in a notebook; ``always``:
        draw in any case; ``never`` (or False): stay silent.
    stream : file-like, optional
        Where the bar is written (default ``sys.stderr``; in a notebook the default draws a
        widget instead).

    Attributes
    ----------
    done : int
        Items processed so far (may be set, e.g. to the count of a resumed run).
    metrics : dict
        The latest value of each metric passed to :meth:`update`.
    enabled : bool
        Whether a bar is drawn.
    """

    def __init__(self, total, desc="", unit="samples", interval=0.5, enabled=True, stream=None):
        self.total = total
        self.desc = desc
        self.unit = unit
        self.interval = interval
        self.metrics = {}
        self.start = time.perf_counter()
        self._done = 0
        self._initial = 0
        mode = progress_mode(enabled)
        target = stream if stream is not None else sys.stderr
        notebook = stream is None and _in_notebook()
        self.enabled = mode == "always" or (mode == "auto" and (notebook or _isatty(target)))
        self._bar = None
        if self.enabled:
            if notebook:
                from tqdm.auto import tqdm  # a widget where ipywidgets is installed, text otherwise
            else:
                from tqdm import tqdm
            self._bar = tqdm(total=total, desc=desc, unit=unit, mininterval=interval, file=target,
                             dynamic_ncols=True, leave=True)

    @property
    def done(self):
        """Items processed so far."""
        return self._done

    @done.setter
    def done(self, value):
        # a resumed run starts at its checkpoint's count; the rate counts only new items
        self._done = self._initial = int(value)
        if self._bar is not None:
            self._bar.n = self._bar.last_print_n = self._bar.initial = self._done
            self._bar.refresh()

    @property
    def rate(self):
        """Items per second processed since the bar was created (a resumed count excluded)."""
        elapsed = time.perf_counter() - self.start
        return (self._done - self._initial) / elapsed if elapsed > 0 else 0.0

    def update(self, n=1, **metrics):
        """Advance by ``n`` items and record metrics such as ``loss=0.03`` (shown as postfix)."""
        self._done += n
        self.metrics.update(metrics)
        if self._bar is not None:
            if metrics:
                self._bar.set_postfix({k: _format(v) for k, v in self.metrics.items()}, refresh=False)
            self._bar.update(n)

    def close(self):
        """Draw the final state and end the line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
