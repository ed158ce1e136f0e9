"""A dependency-free progress bar for long jobs (stderr, rate and current loss)."""

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Progress bar: ``Progress(total, desc).update(n, loss=...)``; ``close()`` at the end.

    Prints to stderr at most every ``interval`` seconds, showing done/total, items per
    second and any keyword metrics. Silent when ``enabled`` is False.
    """

    def __init__(self, total, desc="", unit="samples", interval=0.5, enabled=True, stream=None):
        self.total = total
        self.desc = desc
        self.unit = unit
        self.interval = interval
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.done = 0
        self.start = time.perf_counter()
        self._last = 0.0
        self.metrics = {}

    @property
    def rate(self):
        """Items per second since the bar was created."""
        elapsed = time.perf_counter() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def update(self, n=1, **metrics):
        """Advance by ``n`` items and record metrics such as ``loss=0.03``."""
        self.done += n
        self.metrics.update(metrics)
        now = time.perf_counter()
        if self.enabled and (now - self._last >= self.interval or self.done >= self.total):
            self._last = now
            self._draw()

    def _draw(self):
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(25 * frac) + "-" * (25 - int(25 * frac))
        extra = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.metrics.items())
        self.stream.write(f"\r{self.desc} [{bar}] {self.done}/{self.total} {self.rate:.1f} {self.unit}/s {extra}   ")
        self.stream.flush()

    def close(self):
        """Draw the final state and end the line."""
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
