"""``spiking-bpdl sweep``: Dask LocalCluster end to end, resume, retries, failures, bad files.

The sweeps run real project commands (the pair-STDP window on numpy, the rate layer pair) as
subprocesses of real Dask worker processes; nothing is mocked.
"""

import csv
import os
import shutil
import signal
import textwrap
import threading
import time
from pathlib import Path

import pytest

from spiking_bpdl.cli import main
from spiking_bpdl.plasticity import PairSTDP
from spiking_bpdl.sweep import interval, load_sweep, run

pytestmark = pytest.mark.slow

WINDOW_SWEEP = """
command = "stdp-window"
[options]
rule = "pair"
target = "numpy"
dt-step = 5
[grid]
tau-plus = [10, 40]
seeds = [0, 1]
"""


def _write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def _rows(out):
    with open(out / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def window_sweep(tmp_path_factory):
    """The window sweep run once through the CLI on a 2-process LocalCluster."""
    base = tmp_path_factory.mktemp("sweep")
    spec = _write(base / "sweep.toml", WINDOW_SWEEP)
    out = base / "out"
    status = main(["sweep", str(spec), "--out", str(out), "--workers", "2"])
    return spec, out, status


def test_local_cluster_runs_every_point_and_seed(window_sweep):
    spec, out, status = window_sweep
    assert status == 0
    rows = _rows(out)
    assert sorted((r["tau-plus"], r["seed"]) for r in rows) == [("10", "0"), ("10", "1"), ("40", "0"), ("40", "1")]
    assert {r["status"] for r in rows} == {"ok"}
    for r in rows:
        # the grid value reached the command: its JSON reports it, and the window integral is the closed form
        tau = float(r["tau-plus"]) * 1e-3
        rule = PairSTDP(A_plus=0.01, A_minus=0.01 * tau / 33.7e-3, tau_plus=tau, tau_minus=33.7e-3, w_max=1.0)
        assert float(r["tau_plus_ms"]) == float(r["tau-plus"])
        assert float(r["integral_sK"]) == pytest.approx(rule.integral_sK(), rel=1e-12)
        assert float(r["max_abs_error"]) < 1e-12
        assert r["version"] and float(r["task_wall_s"]) > 0
    # every task ran in its own folder; Cython caches are one per worker process, never shared by two
    dirs = {r["task_dir"] for r in rows}
    assert len(dirs) == 4 and all((out / d / "result.json").exists() for d in dirs)
    workers = {r["worker"] for r in rows}
    assert {p.name for p in (out / "cache").iterdir()} == {f"worker-{w}" for w in workers}
    assert len(workers) == 2  # both processes took tasks
    assert (out / "summary.md").exists() and (out / "figures" / "integral_sK.png").exists()
    # the Parquet copy holds the same table (pyarrow is a dev dependency, so this always runs here)
    import pyarrow.parquet as pq

    table = pq.read_table(out / "results.parquet").to_pylist()
    assert [(t["point"], int(t["seed"]), t["integral_sK"]) for t in table] == \
        [(r["point"], int(r["seed"]), float(r["integral_sK"])) for r in rows]


def test_summary_intervals_are_t_intervals(window_sweep):
    _, out, _ = window_sweep
    import json

    summary = json.loads((out / "summary.json").read_text())
    rows = [r for r in _rows(out) if r["tau-plus"] == "10"]
    walls = [float(r["task_wall_s"]) for r in rows]
    stat = next(p for p in summary["points"] if p["point"] == {"tau-plus": 10})["metrics"]["task_wall_s"]
    expected = interval(walls)
    assert stat["n"] == 2 and stat["mean"] == pytest.approx(sum(walls) / 2)
    assert stat["ci95"] == pytest.approx(expected["ci95"])
    # t(0.975, 2) = 4.303: mean 2, sd 1, n 3 -> half-width 4.303 / sqrt(3)
    assert interval([1.0, 2.0, 3.0])["ci95"] == pytest.approx([2 - 2.4841, 2 + 2.4841], abs=1e-4)
    assert interval([5.0])["ci95"] is None


def test_resume_skips_rows_that_are_done(window_sweep, tmp_path):
    spec, out0, _ = window_sweep
    out = tmp_path / "out"
    shutil.copytree(out0, out)
    rows = _rows(out)
    dropped = rows.pop()
    with open(out / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    before = {p: sorted(os.listdir(p)) for p in (out / "tasks").glob("*/seed-*")}
    # without --resume an existing results table is never overwritten
    assert main(["sweep", str(spec), "--out", str(out)]) == 2
    assert main(["sweep", str(spec), "--out", str(out), "--resume", "--workers", "1"]) == 0
    after = {p: sorted(os.listdir(p)) for p in (out / "tasks").glob("*/seed-*")}
    grown = [p for p in after if after[p] != before[p]]
    assert [p.relative_to(out).as_posix() for p in grown] == [Path(dropped["task_dir"]).parent.as_posix()]
    final = _rows(out)
    assert len(final) == 4 and len({(r["point"], r["seed"]) for r in final}) == 4
    # nothing left to do: no task runs at all
    assert main(["sweep", str(spec), "--out", str(out), "--resume"]) == 0
    assert {p: sorted(os.listdir(p)) for p in (out / "tasks").glob("*/seed-*")} == after


def test_a_killed_worker_leads_to_one_retry_and_no_duplicate_row(tmp_path):
    import dask
    from distributed import LocalCluster

    spec = load_sweep(_write(tmp_path / "sweep.toml", """
        command = "stdp-window"
        [options]
        target = "numpy"
        dt-step = 0.5
        [grid]
        tau-plus = [10, 20]
        seeds = [0]
        """))
    out = tmp_path / "out"
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    try:
        result = {}
        thread = threading.Thread(target=lambda: result.setdefault("rows", run(spec, out, scheduler=cluster.scheduler_address,
                                                                                  log=lambda m: None)))
        thread.start()
        marker = out / "tasks" / "tau-plus=10" / "seed-0" / "attempt-1" / "attempt.json"
        deadline = time.time() + 60
        while not marker.exists() or not marker.read_text().strip().endswith("}"):
            assert time.time() < deadline, "the task never started"
            time.sleep(0.05)
        import json

        os.kill(json.loads(marker.read_text())["pid"], signal.SIGKILL)  # the worker process, mid-task
        thread.join(timeout=120)
        assert not thread.is_alive()
    finally:
        cluster.close()
    rows = _rows(out)
    assert len(rows) == 2 and len({r["point"] for r in rows}) == 2
    assert {r["status"] for r in rows} == {"ok"}
    killed = next(r for r in rows if r["point"] == "tau-plus=10")
    assert killed["attempts"] == "2" and killed["task_dir"].endswith("attempt-2")
    assert next(r for r in rows if r["point"] == "tau-plus=20")["attempts"] == "1"


def test_a_failing_point_is_recorded_and_the_exit_status_is_nonzero(tmp_path, capsys):
    empty = tmp_path / "no_data"
    empty.mkdir()
    spec = _write(tmp_path / "sweep.toml", f"""
        command = "train"
        args = ["layer_pair_small"]
        [options]
        backend = "rate"
        samples = 100
        data-dir = "{empty}"
        [grid]
        "data.source" = ["embedded", "full"]
        seeds = [3]
        """)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "2"]) == 1
    rows = {r["data.source"]: r for r in _rows(out)}
    assert rows["embedded"]["status"] == "ok" and float(rows["embedded"]["test_mse"]) > 0
    assert rows["embedded"]["config.source"] == "embedded" if "config.source" in rows["embedded"] else True
    failed = rows["full"]
    assert failed["status"] == "failed" and failed["attempts"] == "2"  # retried once
    assert "not found" in failed["error"]
    assert "full seed 3" in (out / "summary.md").read_text()
    assert "1 sweep task(s) failed" in capsys.readouterr().err


@pytest.mark.parametrize("text, message", [
    ('command = "stdp-windoe"\n[grid]\nseeds=[0]', "unknown command 'stdp-windoe'"),
    ('command = "stdp-window"\n[grid]\ntau-pluss = [1]', "unknown option 'tau-pluss'"),
    ('command = "stdp-window"\n[options]\nrule="pair"', "empty grid"),
    ('command = "stdp-window"\n[grid]\ntau-plus = []', "empty grid"),
    ('command = "stdp-window"\n[grid]\ntau-plus = [10, -1]', "point tau-plus=-1 seed 0: argument --tau-plus: must be > 0"),
    ('command = "stdp-window"\n[grid]\ndt-step = [500]', "--dt-step must not exceed --dt-max"),
    ('command = "stdp-window"\n[options]\nseed = 3\n[grid]\ntau-plus = [10]', "set by the sweep"),
    ('command = "stdp-window"\n[grid]\n"layer_pair.nudge" = [1]', "no definition to change"),
    ('command = "train"\nargs = ["layer_pair_small"]\n[grid]\n"layer_pair.nudgee" = [1]', "layer_pair"),
    ('command = "train"\nargs = ["layer_pair_small"]\n[grid]\n"training.samples" = [-5]', "training.samples"),
    ('command = "vpf"\n[grid]\nseeds = [0]', "needs one of"),
    ('command = "stdp-window"\n[grid]\nseeds = [0, 0]', "seeds repeat"),
    ('command = "stdp-window"\ngrid = 3', "empty grid"),
    ('command = "stdp-window"\n[grid\n', "malformed TOML"),
])
def test_bad_sweep_files_exit_2_with_one_line_and_start_nothing(tmp_path, capsys, text, message):
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not out.exists()


def test_missing_sweep_file_and_workers_with_scheduler(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
    spec = _write(tmp_path / "s.toml", WINDOW_SWEEP)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:1",
                 "--workers", "2"]) == 2
    assert not (tmp_path / "o").exists()


def test_shipped_sweep_files_are_valid():
    shipped = sorted((Path(__file__).resolve().parents[1] / "networks" / "sweeps").glob("*.toml"))
    assert shipped
    for path in shipped:
        spec = load_sweep(path)
        assert spec.tasks()


def test_ratios_are_formed_per_seed_and_may_use_another_metric():
    from spiking_bpdl.sweep import parse_sweep, summarize

    spec = parse_sweep({"command": "train", "args": ["layer_pair_small"],
                        "grid": {"backend": ["spiking", "rate"], "seeds": [0, 1, 2]},
                        "ratios": {"r": {"metric": "readout", "denominator_metric": "test_mse", "axis": "backend",
                                         "numerator": "spiking", "denominator": "rate"}}},
                       source="test", validate=False)
    rate = {0: 1.0, 1: 2.0, 2: 4.0}
    rows = [{"point": "backend=rate", "backend": "rate", "seed": s, "status": "ok", "test_mse": v, "readout": 99.0}
            for s, v in rate.items()]
    rows += [{"point": "backend=spiking", "backend": "spiking", "seed": s, "status": "ok", "test_mse": 0.0,
              "readout": 1.5 * v} for s, v in rate.items()]
    ratio = summarize(spec, rows)["ratios"]["r"]["groups"]["-"]
    # per seed the readout is exactly 1.5 x the rate twin's test_mse: no spread, although both vary 4-fold
    assert ratio["per_seed"] == pytest.approx([1.5, 1.5, 1.5]) and ratio["std"] == pytest.approx(0.0)
    assert ratio["ci95"] == pytest.approx([1.5, 1.5])


def test_an_unreachable_scheduler_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch):
    from spiking_bpdl.sweep import runner

    monkeypatch.setattr(runner, "SCHEDULER_TIMEOUT", "2s")
    spec = _write(tmp_path / "s.toml", WINDOW_SWEEP)
    out = tmp_path / "o"
    assert main(["sweep", str(spec), "--out", str(out), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach the Dask scheduler tcp://127.0.0.1:9" in err[0]
    assert not out.exists()


def test_stop_commands_ends_the_whole_process_group(tmp_path):
    import json
    import socket
    import subprocess

    from spiking_bpdl.sweep.task import stop_commands

    # a command that started a child of its own, as a command starts a standalone binary
    proc = subprocess.Popen(["bash", "-c", "sleep 60 & echo $! > child; wait"], cwd=tmp_path, start_new_session=True)
    attempt = tmp_path / "tasks" / "p" / "seed-0" / "attempt-1"
    attempt.mkdir(parents=True)
    (attempt / "command.json").write_text(json.dumps({"host": socket.gethostname(), "pgid": proc.pid}))
    deadline = time.time() + 10
    while not (tmp_path / "child").exists() or not (tmp_path / "child").read_text().strip():
        assert time.time() < deadline
        time.sleep(0.05)
    child = int((tmp_path / "child").read_text())
    assert stop_commands(tmp_path, ["p/seed-0", "other/seed-1"]) == 1
    assert proc.wait(timeout=10) != 0
    deadline = time.time() + 10
    while True:  # the grandchild is gone too (it may linger a moment as a zombie of init)
        try:
            os.kill(child, 0)
            state = Path(f"/proc/{child}/stat").read_text().split()[2]
        except (ProcessLookupError, FileNotFoundError):
            break
        if state == "Z":
            break
        assert time.time() < deadline, "the command's child survived"
        time.sleep(0.05)


def test_an_interrupted_sweep_keeps_its_rows_and_ends_the_running_commands(tmp_path):
    import json

    spec = load_sweep(_write(tmp_path / "sweep.toml", """
        command = "song-abbott"
        [options]
        target = "numpy"
        [grid]
        duration = [0.5, 400]
        seeds = [0]
        """))
    out = tmp_path / "out"
    slow = out / "tasks" / "duration=400" / "seed-0"  # minutes of simulation: still running when stopped

    def interrupt_after_the_first_row(message):
        if message.startswith("[1/2]"):
            deadline = time.time() + 60
            while not list(slow.glob("attempt-*/command.json")):  # the slow command is running
                assert time.time() < deadline
                time.sleep(0.05)
            interrupt_after_the_first_row.pgid = json.loads(next(slow.glob("attempt-*/command.json")).read_text())["pgid"]
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(spec, out, workers=2, log=interrupt_after_the_first_row)
    rows = _rows(out)
    assert [r["point"] for r in rows] == ["duration=0.5"] and rows[0]["status"] == "ok"
    with pytest.raises(ProcessLookupError):
        os.killpg(interrupt_after_the_first_row.pgid, 0)
    assert not list(slow.glob("attempt-*/result.json"))
