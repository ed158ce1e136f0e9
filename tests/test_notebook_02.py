import re

import numpy as np
import pytest

from notebook_runner import NOTEBOOKS, check_stubs_fail, execute_notebook
from spiking_bpdl.teaching import solution_sources, stdp_as_gradient


@pytest.mark.notebook
@pytest.mark.slow
def test_notebook_02_stdp_as_gradient_executes():
    """The notebook with its exercises solved runs; its own asserts hold and its measurements are printed."""
    nb = execute_notebook("02_stdp_as_gradient.ipynb")
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    for n in ("Exercise 1 (rate drift): correct", "Exercise 2 (pair sum): correct", "Exercise 3 (cosine): correct"):
        assert n in text
    # warm-up: mean pair sum of independent trains against the rate rule, three conditions, < 4 s.e. each
    ratios = [float(v) for v in re.findall(r"\|difference\| / s\.e\. = ([0-9.]+)", text)]
    assert len(ratios) == 3 and max(ratios) < 4, ratios
    assert "signs correct at every slope: True" in text
    assert "cosine(mean STDP update, -dJ/dW)" in text
    # the reduced part B must pass the rate-theory check: r above its bound and slope CI containing 1
    line = next(s for s in text.splitlines() if s.startswith("analytic check (theory)"))
    assert line.count(": True") == 2, line


def test_notebook_02_stubs_fail():
    """Every exercise, as the student first sees it, raises NotImplementedError through its check."""
    assert check_stubs_fail("02_stdp_as_gradient.ipynb", stdp_as_gradient) == ["rate_drift", "pair_sum",
                                                                               "update_cosine"]


def _drift_without_pre(rho_pre, rho_post, drho_post_dt, int_K, int_sK):
    return int_K * rho_post + int_sK * drho_post_dt


def _drift_sign_error(rho_pre, rho_post, drho_post_dt, int_K, int_sK):
    return rho_pre * (int_K * rho_post - int_sK * drho_post_dt)


def _drift_baseline_only(rho_pre, rho_post, drho_post_dt, int_K, int_sK):
    return rho_pre * int_K * rho_post


def _pair_sum_reversed(pre_times, post_times, window):
    return float(np.sum(window(np.asarray(pre_times)[:, None] - np.asarray(post_times)[None, :])))


def _pair_sum_nearest(pre_times, post_times, window):
    # only the nearest post spike of each pre spike: a nearest-neighbour rule, not all-to-all
    post = np.asarray(post_times)
    return float(sum(window(post[np.argmin(np.abs(post - t))] - t) for t in pre_times))


def _cosine_unnormalised(a, b):
    return float(np.sum(np.asarray(a) * np.asarray(b)))


def _cosine_one_norm(a, b):
    return float(np.sum(a * b) / np.sum(a * a))


@pytest.mark.parametrize("check, wrong, hint", [
    ("check_rate_drift", _drift_without_pre, "rho_pre"),
    ("check_rate_drift", _drift_sign_error, "derivative term"),
    ("check_rate_drift", _drift_baseline_only, "derivative term"),
    ("check_pair_sum", _pair_sum_reversed, "s = t_post - t_pre > 0"),
    ("check_pair_sum", _pair_sum_nearest, "All-to-all"),
    ("check_update_cosine", _cosine_unnormalised, "both norms"),
    ("check_update_cosine", _cosine_one_norm, "Exercise 3 (cosine): not yet right"),
])
def test_notebook_02_checks_reject_wrong_answers(check, wrong, hint):
    """A plausible mistake fails its check with the hint that addresses it (several random draws)."""
    for seed in range(5):
        with pytest.raises(AssertionError, match=re.escape(hint)):
            getattr(stdp_as_gradient, check)(wrong, seed=seed)


@pytest.mark.parametrize("name", ["rate_drift", "pair_sum", "update_cosine"])
def test_notebook_02_checks_pass_the_solutions(name):
    """The solutions file passes every check, on several random draws."""
    ns = {}
    exec(solution_sources(NOTEBOOKS / "solutions" / "02_stdp_as_gradient.py")[name], ns)
    for seed in range(3):
        getattr(stdp_as_gradient, f"check_{name}")(ns[name], seed=seed)
