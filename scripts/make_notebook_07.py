"""Write notebooks/07_parameter_sweeps.ipynb (no outputs; the test suite executes it)."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = [
    new_markdown_cell("""# 07 · Parameter sweeps and seed intervals on Dask

One simulation is an anecdote. A number you report — a learning rule's error, a fitted time
constant — is a random variable of the seed, and usually a function of parameters you chose.
This notebook runs a small grid of a real project command over several seeds on a Dask
`LocalCluster`, and turns the rows into means with **95 % t-intervals**.

**Learning objectives.** After this notebook you can

1. write a sweep (command, fixed options, grid, seeds) and know that every point is checked by
   the command's own parser before anything starts;
2. run it on a local cluster of worker processes, and know what changes for a real cluster;
3. read `results.csv` / `summary.json`, compute a t-interval yourself and say what it means;
4. form a *paired* ratio per seed, and see why it is tighter than a ratio of means."""),
    new_code_cell("""import os
import tempfile
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from spiking_bpdl import sweep

REDUCED = os.environ.get("SPIKING_BPDL_REDUCED") == "1"
OUT = Path(tempfile.mkdtemp(prefix="sweep_nb_"))
print("results go to", OUT)"""),
    new_markdown_cell("""## 1 · A sweep is a command, a grid and seeds

We train the small layer pair (196 → 64 → 196 LIF rate twin, embedded digits) with the **rate
rule** for a few hundred samples, and vary the nudge β of the target phase (a key of the network
definition, hence the dotted name, which becomes `--set layer_pair.nudge=…`). The rate backend
takes a few seconds per run, so the grid stays small. The same file format runs any command:
`stdp-window`, `stdp-match`, `song-abbott`, `train` (any backend), `generative`, `vpf`.

A sweep over a setting is a **screen**: whatever it shows may be used to choose, so it scores only
the validation digits (the last sixth of the training split). `no-test` makes every run skip the
test digits entirely; the chosen setting is scored on the test set once, later."""),
    new_code_cell("""spec = sweep.parse_sweep({
    "command": "train",
    "args": ["layer_pair_small"],
    "options": {"backend": "rate", "samples": 200 if REDUCED else 600, "no-progress": True, "no-test": True},
    "grid": {"layer_pair.nudge": [2, 6, 12], "seeds": [0, 1, 2]},
    "metrics": ["val_mse"],
    "ratios": {"nudge12_over_nudge2": {"metric": "val_mse", "axis": "layer_pair.nudge",
                                       "numerator": 12, "denominator": 2}},
}, source="notebook")
for task in spec.tasks()[:3]:
    print("spiking-bpdl", " ".join(task.argv), "--seed", task.seed)
print("...", len(spec.tasks()), "tasks")"""),
    new_markdown_cell("""A bad value never reaches a worker: `parse_sweep` parses every (point, seed) with the command's
own argument parser and runs its `validate`. A negative nudge is rejected in one line:"""),
    new_code_cell("""from spiking_bpdl.errors import ConfigError

try:
    sweep.parse_sweep({"command": "train", "args": ["layer_pair_small"],
                       "grid": {"layer_pair.nudge": [6, -1]}}, source="bad sweep")
except ConfigError as exc:
    print("ConfigError:", exc)"""),
    new_markdown_cell("""## 2 · Run it on a LocalCluster

`sweep.run` starts a `dask.distributed.LocalCluster` with one single-threaded worker *process*
per core (here 2), submits one task per (point, seed) and writes a row to `results.csv` as each
task finishes. Each task runs the command in a fresh Python process, in its own folder, with its
own `TMPDIR`, and the Brian2 Cython cache is one per worker process — two Brian2 processes never
share a cache or a standalone build folder. On a real cluster, pass `scheduler="tcp://host:8786"`
instead (workers started with `dask worker tcp://host:8786 --nthreads 1`)."""),
    new_code_cell("""rows = sweep.run(spec, OUT / "nudge", workers=2, log=print)
print(len(rows), "rows;", len(rows.failed), "failed")
print(sorted(rows[0])[:12], "...")"""),
    new_markdown_cell("""## 3 · From rows to intervals

For one grid point with n seeds, the mean is an estimate and its 95 % t-interval is
mean ± t(0.975, n − 1) · sd / √n. With n = 3 the t quantile is 4.30, not 1.96: three seeds
give wide intervals, honestly. The summary computes it for every point and metric:"""),
    new_code_cell("""display(Markdown((OUT / "nudge" / "summary.md").read_text()))"""),
    new_markdown_cell("""Check one cell by hand, with nothing but numpy and scipy:"""),
    new_code_cell("""from scipy import stats

mine = np.array([r["val_mse"] for r in rows if r["layer_pair.nudge"] == 6 and r["status"] == "ok"])
half = stats.t.ppf(0.975, len(mine) - 1) * mine.std(ddof=1) / np.sqrt(len(mine))
point = next(p for p in rows.summary["points"] if p["point"] == {"layer_pair.nudge": 6})
print(f"by hand: {mine.mean():.5f} ± {half:.5f};  summary: {point['metrics']['val_mse']['mean']:.5f}, "
      f"interval {np.round(point['metrics']['val_mse']['ci95'], 5)}")
assert np.isclose(mine.mean() + half, point["metrics"]["val_mse"]["ci95"][1])
assert all(r["test_mse"] is None for r in rows)  # no run of the screen looked at the test digits"""),
    new_markdown_cell("""## 4 · Paired ratios

Runs with the same seed share their initial weights and sample order. A ratio formed **per seed**
and then averaged cancels that shared variation; a ratio of two means does not. The summary's
`ratios` block holds the per-seed ratios:"""),
    new_code_cell("""ratio = rows.summary["ratios"]["nudge12_over_nudge2"]["groups"]["-"]
print("per seed:", np.round(ratio["per_seed"], 4), " mean", round(ratio["mean"], 4), " 95 % CI", np.round(ratio["ci95"], 4))
means = {p["point"]["layer_pair.nudge"]: p["metrics"]["val_mse"] for p in rows.summary["points"]}
print("ratio of means:", round(means[12]["mean"] / means[2]["mean"], 4))"""),
    new_code_cell("""fig = sweep.summary.plot_metric(rows.summary, "val_mse")
plt.show()"""),
    new_markdown_cell("""## Think!

The interval above is over **seeds**: it says how much the result would move with another seed,
for this definition and this amount of training. It says nothing about another dataset, a longer
run, or a parameter that was tuned while looking at these very numbers. Which of the README's
headline numbers would you trust more after a seed sweep, and which question would a seed sweep
*not* answer? (Discussion: a seed interval covers initialisation, sample order and spike-train
noise. It does not cover the choice of hyper-parameters — those must be chosen on validation
digits, and the test set scored once — nor systematic differences between a rate twin and the
spiking network, which no number of seeds averages away.)

**Resume and failures.** `sweep.run(..., resume=True)` (CLI `--resume`) skips (point, seed) rows
already in `results.csv` with status ok. A task that fails is retried once, then recorded with its
error, and the sweep goes on."""),
]

nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
path = Path(__file__).resolve().parents[1] / "notebooks" / "07_parameter_sweeps.ipynb"
nbformat.write(nb, path)
print("wrote", path)
