"""The results table of a sweep: one row per (grid point, seed), rewritten atomically per row.

``OUT/results.csv`` is the record (and ``OUT/results.parquet`` when pyarrow is installed).
Each finished task rewrites the whole file through a temporary file and a rename, so a
killed sweep leaves the table as it was after the last finished task.
"""

import csv
import io
import math
from pathlib import Path

from .._io import atomic_path

__all__ = ["ResultStore", "FIXED_COLUMNS", "coerce"]

#: Columns every row has, after the grid axes.
FIXED_COLUMNS = ("seed", "status", "attempts", "task_wall_s", "worker", "error", "task_dir", "version", "git_commit")


def coerce(text):
    """A CSV cell back to a Python value: '' -> None, numbers -> int/float, True/False -> bool."""
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


class ResultStore:
    """Rows of a sweep in memory and on disk.

    Parameters
    ----------
    out : Path
        The sweep's output folder.
    axes : list of str
        Grid axis names (they come first in the CSV, after ``point``).
    """

    def __init__(self, out, axes):
        self.out = Path(out)
        self.axes = list(axes)
        self.rows = []
        self.path = self.out / "results.csv"
        if self.path.exists():
            with open(self.path, newline="") as fh:
                self.rows = [{k: coerce(v) for k, v in row.items()} for row in csv.DictReader(fh)]
            for row in self.rows:
                row["point"] = str(row["point"])  # a one-axis point such as "1" must stay text

    def done(self):
        """Keys ``(point, seed)`` of the rows with status ok."""
        return {(str(r["point"]), int(r["seed"])) for r in self.rows if r.get("status") == "ok"}

    def drop_failed(self):
        """Forget failed rows (a resumed sweep runs them again)."""
        self.rows = [r for r in self.rows if r.get("status") == "ok"]

    def columns(self):
        """Column order: point, grid axes, fixed columns, then the metrics in sorted order."""
        first = ["point", *self.axes, *FIXED_COLUMNS]
        rest = sorted({k for r in self.rows for k in r} - set(first))
        return first + rest

    def add(self, row):
        """Append ``row`` (replacing an earlier row of the same key) and rewrite the files."""
        key = (str(row["point"]), int(row["seed"]))
        self.rows = [r for r in self.rows if (str(r["point"]), int(r["seed"])) != key] + [row]
        self.write()

    def write(self):
        """Write ``results.csv`` (and ``results.parquet``) atomically."""
        cols = self.columns()
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in cols})
        with atomic_path(self.path) as tmp:
            tmp.write_text(buffer.getvalue())
        self._write_parquet(cols)

    def _write_parquet(self, cols):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            return
        table = {}
        for c in cols:
            values = [r.get(c) for r in self.rows]
            present = [v for v in values if v is not None]
            if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
                table[c] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
                            for v in values]
            elif present and all(isinstance(v, bool) for v in present):
                table[c] = values
            else:
                table[c] = [None if v is None else str(v) for v in values]
        with atomic_path(self.out / "results.parquet") as tmp:
            pq.write_table(pa.table(table), tmp)
