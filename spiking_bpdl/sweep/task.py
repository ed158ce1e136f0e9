"""What a Dask worker runs for one (grid point, seed): the project command in a fresh process.

Each attempt gets its own folder ``OUT/tasks/<point>/seed-<s>/attempt-<n>/``: it is the
command's working directory, its ``--out`` (so a ``cpp_standalone`` project is built there) and
its ``TMPDIR``. The Brian2 Cython cache is one per worker process (``OUT/cache/worker-<name>``):
tasks of one worker run one after another, so they can share compiled code, while parallel
workers never share a cache. A separate process per task keeps Brian2's global device state,
a crash or a leak of one task away from the worker and from the other tasks.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["run_task", "TaskFailed", "attempt_count", "flatten_scalars", "stop_commands"]


class TaskFailed(RuntimeError):
    """The command exited with a non-zero status (its last line of output is the message)."""


def _worker_name():
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except (ImportError, ValueError):
        return f"local-{os.getpid()}"


def attempt_count(task_dir):
    """Number of attempts made so far in ``task_dir`` (folders ``attempt-<n>``)."""
    path = Path(task_dir)
    return len(list(path.glob("attempt-*"))) if path.is_dir() else 0


def _new_attempt(task_dir):
    task_dir.mkdir(parents=True, exist_ok=True)
    n = attempt_count(task_dir) + 1
    while True:  # exclusive mkdir: two attempts never share a folder
        path = task_dir / f"attempt-{n}"
        try:
            path.mkdir()
            return n, path
        except FileExistsError:
            n += 1


def _last_line(log_path):
    try:
        lines = [ln.strip() for ln in Path(log_path).read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no output"
    return lines[-1][:300] if lines else "no output"


def flatten_scalars(result, prefix=""):
    """Every scalar of a result dict, nested dicts flattened with dots; lists are left out.

    Parameters
    ----------
    result : dict
    prefix : str

    Returns
    -------
    dict
        ``{"fit.tau_plus_ms": 20.1, ...}``; the ``provenance`` block contributes only its
        ``version`` and ``git_commit``.
    """
    flat = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if not prefix and key == "provenance" and isinstance(value, dict):
            flat["version"] = value.get("version")
            flat["git_commit"] = value.get("git_commit")
        elif isinstance(value, dict):
            flat.update(flatten_scalars(value, prefix=f"{name}."))
        elif value is None or isinstance(value, (bool, int, float, str)):
            flat[name] = value
    return flat


def run_task(task, out_root, python=None):
    """Run one task's command in a fresh process; return its result.

    Parameters
    ----------
    task : dict
        ``argv`` (after ``spiking-bpdl``), ``seed`` and ``directory`` (below ``OUT/tasks``).
    out_root : str
        The sweep's output folder (absolute).
    python : str, optional
        Interpreter to run (default: the worker's own).

    Returns
    -------
    dict
        ``result`` (the command's JSON), ``wall_s``, ``attempt``, ``worker``, ``task_dir``.

    Raises
    ------
    TaskFailed
        When the command exits with a non-zero status (Dask then retries the task once).
    """
    out_root = Path(out_root)
    attempt, path = _new_attempt(out_root / "tasks" / task["directory"])
    worker = _worker_name()
    cache = out_root / "cache" / ("worker-" + re.sub(r"[^A-Za-z0-9.-]+", "_", worker))
    tmp = path / "tmp"
    tmp.mkdir()
    (path / "attempt.json").write_text(json.dumps(
        {"worker": worker, "pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
         "argv": task["argv"], "seed": task["seed"]}, indent=2))
    env = dict(os.environ, SPIKING_BPDL_CACHE=str(cache), TMPDIR=str(tmp), MPLBACKEND="Agg",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    json_path = path / "result.json"
    cmd = [python or sys.executable, "-m", "spiking_bpdl.cli", *task["argv"], "--seed", str(task["seed"]),
           "--out", str(path), "--json", str(json_path)]
    t0 = time.perf_counter()
    running = path / "command.json"
    with open(path / "log.txt", "w") as log:
        # its own process group: a stopped sweep can end the command and what it started (a standalone
        # binary), which would otherwise run on after the worker is gone
        proc = subprocess.Popen(cmd, cwd=path, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        running.write_text(json.dumps({"host": socket.gethostname(), "pgid": proc.pid}))
        try:
            proc.wait()
        finally:
            running.unlink(missing_ok=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise TaskFailed(f"exit status {proc.returncode}: {_last_line(path / 'log.txt')}")
    try:
        result = json.loads(json_path.read_text())
    except (OSError, ValueError) as exc:
        raise TaskFailed(f"no readable result JSON ({exc.__class__.__name__})") from None
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return {"result": result, "wall_s": wall, "attempt": attempt, "worker": worker,
            "task_dir": str(path.relative_to(out_root))}


def stop_commands(out_root, directories):
    """End the commands still running for these task folders (on this host); return how many.

    Each running attempt leaves ``command.json`` (host and process group) while its command runs;
    the whole group gets SIGTERM, so a standalone binary the command started ends too.

    Parameters
    ----------
    out_root : str or Path
        The sweep's output folder.
    directories : iterable of str
        Task folders below ``OUT/tasks`` (``Task.directory``).
    """
    import signal

    stopped = 0
    for directory in directories:
        for marker in sorted((Path(out_root) / "tasks" / directory).glob("attempt-*/command.json")):
            try:
                info = json.loads(marker.read_text())
            except (OSError, ValueError):
                continue
            if info.get("host") != socket.gethostname():
                continue  # a remote worker's process: its own cluster ends it
            try:
                os.killpg(int(info["pgid"]), signal.SIGTERM)
                stopped += 1
            except (ProcessLookupError, PermissionError):
                pass
    return stopped
