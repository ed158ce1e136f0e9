"""Parameter sweeps and seed intervals on Dask (``spiking-bpdl sweep``).

A sweep runs one project command over a grid of options (or definition keys) and seeds, each
(point, seed) as a Dask task in its own process and folder, and summarises every metric of the
command's JSON with a 95 % t-interval over seeds::

    from spiking_bpdl import sweep
    rows = sweep.run("networks/sweeps/stdp_window_tau.toml", "results/sweep")       # LocalCluster
    rows = sweep.run(spec, "results/sweep", scheduler="tcp://scheduler:8786")       # a real cluster

Modules: :mod:`~spiking_bpdl.sweep.spec` (sweep files), :mod:`~spiking_bpdl.sweep.task` (what a
worker runs), :mod:`~spiking_bpdl.sweep.store` (results table), :mod:`~spiking_bpdl.sweep.summary`
(statistics and figures), :mod:`~spiking_bpdl.sweep.runner` (Dask).
"""

from .runner import SweepOutcome, run
from .spec import SweepSpec, Task, load_sweep, parse_sweep
from .summary import interval, summarize

__all__ = ["run", "SweepOutcome", "SweepSpec", "Task", "load_sweep", "parse_sweep", "interval", "summarize"]
