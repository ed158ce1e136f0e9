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
