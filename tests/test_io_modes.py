"""Result files get the usual permissions; extreme numeric options are one-line errors."""

import os
import stat

import pytest

from spiking_bpdl._io import write_json
from spiking_bpdl.cli import main


def test_atomic_writes_get_the_umask_mode_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o644
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def _status(argv):
    """main's exit status, whether argparse (SystemExit) or the command (return value) rejects."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize("value", ["1e308", "inf", "-inf", "nan"])
def test_extreme_numeric_options_are_one_line_errors(tmp_path, capsys, value):
    out = tmp_path / "out"
    assert _status(["stdp-window", "--target", "numpy", f"--tau-plus={value}", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert ("finite" in err) if value != "1e308" else ("out of the representable range" in err)
    assert not out.exists()


def test_a_result_json_records_its_provenance(tmp_path):
    import json
    import subprocess

    from spiking_bpdl import __version__

    argv = ["stdp-window", "--target", "numpy", "--dt-step", "20", "--tau-plus", "12.5", "--seed", "7",
            "--out", str(tmp_path)]
    assert main(argv) == 0
    prov = json.loads((tmp_path / "stdp_window.json").read_text())["provenance"]
    assert prov["version"] == __version__ and prov["seed"] == 7
    assert prov["command"].split()[1:4] == ["stdp-window", "--target", "numpy"]
    assert prov["options"]["tau_plus"] == 12.5 and prov["options"]["dt_step"] == 20.0
    repo = __import__("pathlib").Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:  # a checkout (CI's clean clone is one): the commit is the one checked out
        assert prov["git_commit"] == head.stdout.strip()
    else:
        assert prov["git_commit"] is None


def test_a_script_result_records_the_script_command():
    import argparse

    from spiking_bpdl.provenance import script_provenance

    args = argparse.Namespace(seed=3, out=__import__("pathlib").Path("r/x.json"))
    prov = script_provenance(args, "scripts/hidden_drift.py", ["--block", 100, "--out", "r/x.json"])
    assert prov["command"] == "python scripts/hidden_drift.py --block 100 --out r/x.json"
    assert prov["seed"] == 3 and prov["options"]["out"] == "r/x.json"
