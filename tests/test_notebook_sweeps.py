"""Notebook 07 (parameter sweeps): it executes with its exercises solved, every stub fails its
check, and each check rejects a plausible wrong answer."""

import runpy
from pathlib import Path

import numpy as np
import pytest

from spiking_bpdl.teaching import sweeps as checks

NAME = "07_parameter_sweeps.ipynb"
SOLUTIONS = Path(__file__).resolve().parents[1] / "notebooks" / "solutions" / "07_parameter_sweeps.py"


@pytest.mark.notebook
@pytest.mark.slow
def test_sweeps_notebook_runs_and_its_interval_check_holds():
    from notebook_runner import execute_notebook

    nb = execute_notebook(NAME)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    # the notebook's own assertions compared the student's interval and per-seed ratios with the
    # summary's; the negative nudge was rejected before any task ran, and all nine runs finished
    assert "ConfigError:" in text and "layer_pair.nudge" in text
    assert "9 rows; 0 failed" in text
    assert "Exercise 1 (t_interval): correct" in text and "Exercise 2 (paired_ratios): correct" in text


def test_sweeps_notebook_stubs_fail_and_solutions_pass():
    from notebook_runner import check_stubs_fail

    names = check_stubs_fail(NAME, checks)
    assert names == ["t_interval", "paired_ratios"]
    solutions = runpy.run_path(str(SOLUTIONS))
    for name in names:
        getattr(checks, f"check_{name}")(solutions[name])


def _normal_interval(values):
    """Wrong: 1.96 in place of the t quantile (too narrow for a few seeds)."""
    v = np.asarray(values, dtype=float)
    half = 1.96 * v.std(ddof=1) / np.sqrt(len(v))
    return v.mean(), v.mean() - half, v.mean() + half


def _biased_sd_interval(values):
    """Wrong: the population sd (ddof=0)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, len(v) - 1) * v.std() / np.sqrt(len(v))
    return v.mean(), v.mean() - half, v.mean() + half


def _ratio_of_means(numerator, denominator):
    """Wrong: one ratio of the two means instead of one ratio per seed."""
    num = [v for v in numerator.values() if v is not None]
    den = [v for v in denominator.values() if v]
    return [np.mean(num) / np.mean(den)]


def _unpaired(numerator, denominator):
    """Wrong: drops the failed runs from each side separately, so later seeds pair with the wrong partner."""
    num = [v for v in numerator.values() if v is not None]
    den = [v for v in denominator.values() if v]
    return [a / b for a, b in zip(num, den)]


@pytest.mark.parametrize("check, wrong", [
    (checks.check_t_interval, _normal_interval),
    (checks.check_t_interval, _biased_sd_interval),
    (checks.check_paired_ratios, _ratio_of_means),
    (checks.check_paired_ratios, _unpaired),
], ids=lambda f: f.__name__)
def test_sweeps_checks_reject_wrong_answers(check, wrong):
    with pytest.raises(AssertionError, match="not yet right"):
        check(wrong)
