"""Run a sweep on Dask: a LocalCluster that lives as long as the sweep, or an existing scheduler."""

import contextlib
import os
import sys
import time
from pathlib import Path

from .._io import read_json, write_json
from ..errors import ConfigError
from .spec import SweepSpec, load_sweep
from .store import ResultStore
from .summary import write_summary
from .task import attempt_count, flatten_scalars, run_task, stop_commands

__all__ = ["run", "SweepOutcome", "SCHEDULER_TIMEOUT"]

#: How long to try to reach a scheduler given with ``--scheduler`` before giving up.
SCHEDULER_TIMEOUT = "20s"


class SweepOutcome(list):
    """The rows of a sweep (a list of dicts) with ``failed`` (rows whose status is not ok) and ``summary``."""

    summary = None

    @property
    def failed(self):
        return [r for r in self if r.get("status") != "ok"]


@contextlib.contextmanager
def _client(scheduler, workers, log):
    import logging

    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler {scheduler} ({exc.__class__.__name__})") from None
        try:
            log(f"sweep: Dask scheduler {scheduler}; dashboard {client.dashboard_link}")
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    # A task whose worker dies is tried once more, then recorded as failed (KilledWorker).
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.CRITICAL)  # failures are rows, not log noise
        client = Client(cluster)
        try:
            log(f"sweep: LocalCluster with {n} single-threaded worker process(es); dashboard {client.dashboard_link}")
            yield client
        finally:
            client.close()
            cluster.close()


def _row(task, outcome=None, error=None, attempts=0):
    row = {"point": task.point_id, **task.point, "seed": task.seed}
    if outcome is not None:
        flat = flatten_scalars(outcome["result"])
        row.update({"status": "ok", "attempts": outcome["attempt"], "task_wall_s": round(outcome["wall_s"], 3),
                    "worker": outcome["worker"], "error": None, "task_dir": outcome["task_dir"]})
        for key, value in flat.items():
            row.setdefault(key, value)  # grid values and the sweep's seed win over the result's copies
    else:
        row.update({"status": "failed", "attempts": attempts, "error": error})
    return row


def _error_line(exc):
    text = " ".join(str(exc).split())
    return f"{exc.__class__.__name__}: {text}"[:400]


def run(spec, out, scheduler=None, workers=None, resume=False, log=None):
    """Run every (grid point, seed) of a sweep on Dask and write its results.

    Parameters
    ----------
    spec : SweepSpec or str or Path
        The sweep, or the path of its TOML file (validated first).
    out : str or Path
        Output folder: ``results.csv`` (+ ``results.parquet``), ``summary.json``,
        ``summary.md``, ``figures/``, ``sweep.json`` and ``tasks/`` (one folder per attempt).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``). Without it a
        ``LocalCluster`` with ``workers`` single-threaded processes starts and stops here.
    workers : int, optional
        Worker processes of the LocalCluster (default: one per core).
    resume : bool
        Keep the rows of ``OUT/results.csv`` whose status is ok and run only the rest.
    log : callable, optional
        Receives progress lines (default: print to stderr).

    Returns
    -------
    SweepOutcome
        The rows (list of dicts, one per (point, seed)), with ``.failed`` and ``.summary``.
        ``pandas.DataFrame(rows)`` makes a table of it.

    Raises
    ------
    ConfigError
        Bad sweep file, or ``OUT`` holds another sweep / results without ``resume``.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec)
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    out = Path(out).resolve()
    store = ResultStore(out, spec.axes)
    record = out / "sweep.json"
    if store.rows and not resume:
        raise ConfigError(f"{store.path} exists: pass --resume to continue that sweep, or choose another --out")
    if resume and record.exists():
        before = read_json(record)
        mine = spec.to_dict()
        for key in ("command", "args", "options"):
            if before.get(key) != mine[key]:
                raise ConfigError(f"--resume: {key} differ from the sweep started in {out} ({record})")
    store.drop_failed()
    done = store.done()
    todo = [t for t in spec.tasks() if t.key not in done]
    skipped = len(spec.tasks()) - len(todo)
    plan = f"sweep: {len(todo)} task(s) to run" + (f", {skipped} already done" if skipped else "") + f" -> {out}"
    if todo:
        from distributed import as_completed

        # the cluster comes first: a scheduler that cannot be reached leaves nothing behind
        with _client(scheduler, workers, log) as client:
            log(plan)
            out.mkdir(parents=True, exist_ok=True)
            write_json(record, spec.to_dict())
            futures = {}
            for task in todo:
                payload = {"argv": task.argv, "seed": task.seed, "directory": task.directory}
                fut = client.submit(run_task, payload, str(out), key=f"sweep-{task.directory}-{time.time_ns()}",
                                    retries=1, pure=False)
                futures[fut] = task
            finished, pending = 0, dict(futures)
            try:
                for fut in as_completed(futures):
                    task = pending.pop(fut)
                    try:
                        row = _row(task, fut.result())
                    except Exception as exc:  # a failed task is a row, not the end of the sweep
                        row = _row(task, error=_error_line(exc),
                                   attempts=attempt_count(out / "tasks" / task.directory))
                    store.add(row)
                    finished += 1
                    log(f"[{finished}/{len(todo)}] {task.point_id} seed {task.seed}: {row['status']}"
                        + (f" ({row['task_wall_s']:.1f} s)" if row["status"] == "ok" else f" - {row['error']}"))
            except BaseException:  # Ctrl-C or a crash of this process: end what is still running
                for fut in pending:
                    fut.cancel()
                stopped = stop_commands(out, [t.directory for t in pending.values()])
                log(f"sweep: stopped; {stopped} running command(s) ended, {len(store.rows)} row(s) kept "
                    "(--resume continues)")
                raise
    else:
        log(plan)
        out.mkdir(parents=True, exist_ok=True)
        write_json(record, spec.to_dict())
        if not store.path.exists():
            store.write()
    outcome = SweepOutcome(store.rows)
    outcome.summary = write_summary(out, spec, store.rows)
    log(f"sweep: {len(store.rows) - len(outcome.failed)} ok, {len(outcome.failed)} failed; "
        f"{out / 'results.csv'}, {out / 'summary.md'}")
    return outcome
