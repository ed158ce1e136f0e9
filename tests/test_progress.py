"""Progress bars: silent off a terminal, forced on with --progress, metrics shown as postfix."""

import argparse
import io
import time

import pytest

from spiking_bpdl.commands import _common
from spiking_bpdl.progress import Progress, progress_mode


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _run(stream, enabled=True, **metrics):
    bar = Progress(10, desc="train spiking", stream=stream, enabled=enabled, interval=0)
    bar.update(4, **metrics)
    bar.update(6, **metrics)
    bar.close()
    return bar


def test_silent_when_the_stream_is_not_a_terminal():
    stream = io.StringIO()
    bar = _run(stream, loss=0.5)
    assert not bar.enabled and stream.getvalue() == ""
    assert bar.done == 10 and bar.metrics == {"loss": 0.5}  # still counts, only draws nothing


def test_drawn_on_a_terminal_by_default():
    stream = _Terminal()
    assert _run(stream).enabled
    assert "train spiking" in stream.getvalue() and "10/10" in stream.getvalue()


@pytest.mark.parametrize("enabled", [False, "never"])
def test_never_is_silent_even_on_a_terminal(enabled):
    stream = _Terminal()
    assert not _run(stream, enabled=enabled).enabled and stream.getvalue() == ""


def test_forced_on_writes_to_a_non_terminal_stream():
    stream = io.StringIO()
    bar = _run(stream, enabled="always")
    text = stream.getvalue()
    assert bar.enabled and "train spiking" in text and "10/10" in text and "samples/s" in text
    assert text.endswith("\n")  # close() ends the line


def test_metrics_appear_as_postfix_with_four_significant_digits():
    stream = io.StringIO()
    _run(stream, enabled="always", loss=0.031234567, val_mse=0.25, step=7)
    last = stream.getvalue().strip().split("\r")[-1]
    assert "loss=0.03123" in last and "val_mse=0.25" in last and "step=7" in last, last


def test_resumed_count_starts_the_bar_and_is_not_counted_in_the_rate():
    stream = io.StringIO()
    bar = Progress(100, desc="resume", stream=stream, enabled="always", interval=0)
    bar.done = 40
    bar.update(10)
    bar.close()
    assert bar.done == 50 and "50/100" in stream.getvalue()
    before = time.perf_counter() - bar.start
    rate = bar.rate
    after = time.perf_counter() - bar.start
    assert 10 / after <= rate <= 10 / before  # 10 new items, not the 50 of the count


def test_bad_mode_is_an_error():
    with pytest.raises(ValueError, match="progress must be"):
        progress_mode("sometimes")


def test_progress_options_of_the_commands():
    parser = argparse.ArgumentParser()
    _common.add_progress(parser)
    assert parser.parse_args([]).progress == "auto"
    assert parser.parse_args(["--progress"]).progress == "always"
    assert parser.parse_args(["--no-progress"]).progress == "never"
    with pytest.raises(SystemExit):
        parser.parse_args(["--progress", "--no-progress"])


@pytest.mark.slow
def test_train_draws_the_bar_only_when_asked(tmp_path, capsys):
    from spiking_bpdl.cli import main

    common = ["train", "layer_pair_small", "--backend", "rate", "--samples", "100", "--no-test"]
    assert main([*common, "--out", str(tmp_path / "quiet")]) == 0
    assert "100/100" not in capsys.readouterr().err  # captured stderr is not a terminal
    assert main([*common, "--out", str(tmp_path / "forced"), "--progress"]) == 0
    err = capsys.readouterr().err
    assert "train rate" in err and "100/100" in err and "val_mse=" in err, err
    with pytest.raises(SystemExit) as exit_:
        main([*common, "--out", str(tmp_path / "both"), "--progress", "--no-progress"])
    assert exit_.value.code == 2 and not (tmp_path / "both").exists()
    assert "not allowed with argument" in capsys.readouterr().err
