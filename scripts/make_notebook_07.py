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
3. read `results.csv` / `summary.json`, compute a t-interval yourself (Exercise 1) and say what
   it means — and why three seeds give a wide one;
4. form a *paired* ratio per seed (Exercise 2), and see why it is tighter than a ratio of means.

**How the exercises work.** An exercise cell defines one function with a gap; until you fill it,
it raises `NotImplementedError`. The cell after it checks your function against the library's own
implementation on fresh numbers and says `correct` or what to look at. Solutions:
`notebooks/solutions/07_parameter_sweeps.py`."""),
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
    new_markdown_cell("""### Exercise 1 · The t-interval of a mean over seeds

Write `t_interval(values)`: the mean of the values (one per seed) and its 95 % t-interval
`(mean, low, high)`. The half-width is t(0.975, n − 1) · sd / √n, with the *sample* standard
deviation (`ddof=1`) and the quantile from `scipy.stats.t.ppf`."""),
    new_code_cell("""from scipy import stats


def t_interval(values):
    \"\"\"Mean and 95 % t-interval of a mean over seeds.

    Parameters
    ----------
    values : array_like
        One number per seed (at least two).

    Returns
    -------
    mean, low, high : float
    \"\"\"
    values = np.asarray(values, dtype=float)
    n = len(values)
    #################################################################
    # Fill in the half-width, then remove this line
    raise NotImplementedError("Exercise 1: compute the half-width of the t-interval")
    #################################################################
    half = ...  # t(0.975, n - 1) * sd / sqrt(n)
    return values.mean(), values.mean() - half, values.mean() + half""", metadata={"exercise": "t_interval"}),
    new_code_cell("""from spiking_bpdl.teaching.sweeps import check_t_interval

check_t_interval(t_interval)"""),
    new_markdown_cell("""Now check one cell of the summary by hand, with your function:"""),
    new_code_cell("""mine = np.array([r["val_mse"] for r in rows if r["layer_pair.nudge"] == 6 and r["status"] == "ok"])
mean, low, high = t_interval(mine)
point = next(p for p in rows.summary["points"] if p["point"] == {"layer_pair.nudge": 6})
print(f"by hand: {mean:.5f} ± {high - mean:.5f};  summary: {point['metrics']['val_mse']['mean']:.5f}, "
      f"interval {np.round(point['metrics']['val_mse']['ci95'], 5)}")
assert np.isclose(high, point["metrics"]["val_mse"]["ci95"][1])
assert all(r["test_mse"] is None for r in rows)  # no run of the screen looked at the test digits"""),
    new_markdown_cell("""**How many seeds?** The t quantile is the price of estimating the spread from the same few
seeds. Below, imaginary sweeps of *n* seeds are drawn from a normal distribution with this
point's mean and spread, and each gets your t-interval (black; red where it misses the true
mean) and, for comparison, the interval with 1.96 in place of the t quantile (cyan); 40 of them
are drawn, and the label counts 2,000. Move *n*: the t-intervals cover the mean about 95 % of the
time at every *n*, at the price of width; the 1.96 intervals are too narrow for a few seeds."""),
    new_code_cell("""from spiking_bpdl.teaching import slider

true_mean, true_sd = mine.mean(), max(mine.std(ddof=1), 1e-6)


def coverage(n, ax, shown=40, repeats=2000):
    n = int(round(n))
    draws = np.random.default_rng(n).normal(true_mean, true_sd, (repeats, n))
    t_hits = z_hits = 0
    for i, d in enumerate(draws):
        m, lo, hi = t_interval(d)
        z = 1.96 * d.std(ddof=1) / np.sqrt(n)
        t_hits += lo <= true_mean <= hi
        z_hits += abs(m - true_mean) <= z
        if i < shown:
            ax.plot([lo, hi], [i, i], color="k" if lo <= true_mean <= hi else "r", lw=1)
            ax.plot([m - z, m + z], [i + 0.4, i + 0.4], color="tab:cyan", lw=1)
    ax.axvline(true_mean, color="tab:blue", lw=1)
    ax.set_xlim(true_mean - 8 * true_sd, true_mean + 8 * true_sd)
    ax.set_xticks([]); ax.set_yticks([])
    ax.set_xlabel(f"cover the mean: t {100 * t_hits / repeats:.0f} %, 1.96 {100 * z_hits / repeats:.0f} %", fontsize=8)


slider(coverage, [2, 3, 5, 10], "n", label=lambda n: f"n = {int(round(n))} seeds", description="seeds");"""),
    new_markdown_cell("""## 4 · Paired ratios

Runs with the same seed share their initial weights and sample order. A ratio formed **per seed**
and then averaged cancels that shared variation; a ratio of two means does not.

### Exercise 2 · Per-seed ratios

Write `paired_ratios(numerator, denominator)`: both arguments map a seed to that run's value
(`None` when the run failed). Return the list of `numerator[s] / denominator[s]` in seed order,
for the seeds where both runs have a value and the denominator is not zero — a failed run on
either side removes that seed from the pairs, it does not shift them."""),
    new_code_cell("""def paired_ratios(numerator, denominator):
    \"\"\"Per-seed ratios of one metric between two grid points.

    Parameters
    ----------
    numerator, denominator : dict
        seed -> value, or None where that run failed.

    Returns
    -------
    list of float
        numerator[s] / denominator[s] in seed order, where both exist and the denominator is not 0.
    \"\"\"
    #################################################################
    # Fill in the list, then remove this line
    raise NotImplementedError("Exercise 2: form the ratio seed by seed")
    #################################################################
    return [... for s in sorted(numerator) if ...]""", metadata={"exercise": "paired_ratios"}),
    new_code_cell("""from spiking_bpdl.teaching.sweeps import check_paired_ratios

check_paired_ratios(paired_ratios)"""),
    new_markdown_cell("""Your function on this sweep's rows, next to the summary's `ratios` block (which holds the per-seed
ratios the same way) and the ratio of the two means:"""),
    new_code_cell("""def by_seed(nudge):
    return {r["seed"]: (r["val_mse"] if r["status"] == "ok" else None) for r in rows if r["layer_pair.nudge"] == nudge}


per_seed = paired_ratios(by_seed(12), by_seed(2))
ratio = rows.summary["ratios"]["nudge12_over_nudge2"]["groups"]["-"]
assert np.allclose(per_seed, ratio["per_seed"])
mean, low, high = t_interval(per_seed)
print("per seed:", np.round(per_seed, 4), " mean", round(mean, 4), " 95 % CI", np.round([low, high], 4))
assert np.allclose([low, high], ratio["ci95"])
means = {p["point"]["layer_pair.nudge"]: p["metrics"]["val_mse"] for p in rows.summary["points"]}
print("ratio of means:", round(means[12]["mean"] / means[2]["mean"], 4))"""),
    new_code_cell("""fig = sweep.summary.plot_metric(rows.summary, "val_mse")
plt.show()"""),
    new_markdown_cell("""## Think!

The interval above is over **seeds**: it says how much the result would move with another seed,
for this definition and this amount of training. Which of the README's headline numbers would you
trust more after a seed sweep, and which question would a seed sweep *not* answer? Write down
your answer before you open the discussion.

<details>
<summary>Discussion</summary>

A seed interval covers what the seed controls: initialisation, sample order and spike-train
noise. It says nothing about another dataset or a longer run, and nothing about a parameter that
was tuned while looking at these very numbers — hyper-parameters must be chosen on validation
digits (as this screen does, with `no-test`) and the test set scored once, afterwards. Nor does it
cover systematic differences between a rate twin and the spiking network, which no number of
seeds averages away. And a paired ratio is tighter than a ratio of means only because the two
sides share their seeds: pair runs that do not share anything and the advantage is gone.

</details>

**Resume and failures.** `sweep.run(..., resume=True)` (CLI `--resume`) skips (point, seed) rows
already in `results.csv` with status ok. A task that fails is retried once, then recorded with its
error, and the sweep goes on."""),
]

# ids by position: regenerating an unchanged script then gives an unchanged file (nbformat draws random ones)
for i, cell in enumerate(cells):
    cell.id = f"cell-{i:02d}"
nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
path = Path(__file__).resolve().parents[1] / "notebooks" / "07_parameter_sweeps.ipynb"
nbformat.write(nb, path)
print("wrote", path)
