import re

import numpy as np
import pytest

from notebook_runner import check_stubs_fail, execute_notebook
from spiking_bpdl.teaching import lif_and_stdp


def _number(text, label):
    """The number printed after ``label`` (the notebook's own measurement)."""
    match = re.search(re.escape(label) + r"\s*([-+0-9.eE]+)", text)
    assert match, f"notebook did not print {label!r}"
    return float(match.group(1))


@pytest.mark.notebook
@pytest.mark.slow
def test_notebook_01_lif_and_stdp_executes():
    """The notebook (exercises solved) asserts its own claims (cells fail otherwise); here the printed
    measurements are checked against the same bounds, so a notebook that stops computing them fails too."""
    nb = execute_notebook("01_lif_and_stdp.ipynb")
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    # every exercise's check ran on the solution and passed
    for n in ("Exercise 1 (LIF rate): correct", "Exercise 2 (STDP window): correct",
              "Exercise 3 (window integrals): correct"):
        assert n in text
    # f-I curve: a periodic neuron's interval is late by < dt = 0.1 ms, < 1.3 % of the shortest (7.75 ms)
    assert _number(text, "max relative error where the neuron fires:") < 0.02
    # Siegert: every level within 4 s.e. (sd/sqrt(n_per)) + 1 % of the theory, i.e. ratio <= 1
    assert _number(text, "largest |simulation - Siegert| / tolerance:") <= 1.0
    # Poisson encoding: count per Hz within 5 standard errors (s.e. derived from Poisson counts) of 0.1 s
    slope = _number(text, "count per Hz of rate:")
    se = _number(text, "(expected 0.1000, s.e.")
    assert abs(slope - 0.1) < 5 * se
    # the closed-form int sK agrees with the numerical integral of the window (both printed, 3 digits)
    closed = re.search(r"^int K = \S+\s+int sK = (\S+) s\^2", text, re.M)
    numeric = re.search(r"^numerically: int K = \S+\s+int sK = (\S+) s\^2", text, re.M)
    assert closed and numeric, "notebook did not print both integrals"
    assert np.isclose(float(closed.group(1)), float(numeric.group(1)), rtol=2e-3)
    # event-driven STDP reproduces the closed-form window to float round-off
    assert _number(text, "max relative deviation from the closed form:") < 1e-6


def test_notebook_01_stubs_fail():
    """Every exercise, as the student first sees it, raises NotImplementedError through its check."""
    assert check_stubs_fail("01_lif_and_stdp.ipynb", lif_and_stdp) == ["lif_rate_hz", "stdp_window",
                                                                       "window_integrals"]


def _lif_rate_without_refractory(current, params):
    drive = np.asarray(current, dtype=float) * params.R
    rate = np.zeros_like(drive)
    above = drive > params.v_threshold
    d = drive[above]
    rate[above] = 1.0 / (params.tau_m * np.log((d - params.v_reset) / (d - params.v_threshold)))
    return rate


def _lif_rate_default_params(current, params):
    from spiking_bpdl.neurons import LIFParams, lif_rate

    return lif_rate(current, LIFParams())      # ignores the parameters it is given


def _window_positive_depression(s, A_plus, A_minus, tau_plus, tau_minus):
    return np.where(s >= 0, A_plus * np.exp(-s / tau_plus), A_minus * np.exp(s / tau_minus))


def _window_zero_depresses(s, A_plus, A_minus, tau_plus, tau_minus):
    return np.where(s > 0, A_plus * np.exp(-s / tau_plus), -A_minus * np.exp(s / tau_minus))


def _window_swapped_taus(s, A_plus, A_minus, tau_plus, tau_minus):
    return np.where(s >= 0, A_plus * np.exp(-s / tau_minus), -A_minus * np.exp(s / tau_plus))


def _integrals_sign_error(A_plus, A_minus, tau_plus, tau_minus):
    return A_plus * tau_plus - A_minus * tau_minus, A_plus * tau_plus**2 - A_minus * tau_minus**2


def _integrals_single_tau(A_plus, A_minus, tau_plus, tau_minus):
    return A_plus * tau_plus - A_minus * tau_minus, A_plus * tau_plus + A_minus * tau_minus


@pytest.mark.parametrize("check, wrong, hint", [
    ("check_lif_rate_hz", _lif_rate_without_refractory, "t_ref"),
    ("check_lif_rate_hz", _lif_rate_default_params, "Exercise 1 (LIF rate): not yet right"),
    ("check_stdp_window", _window_positive_depression, "negative"),
    ("check_stdp_window", _window_zero_depresses, "K(0) = +A_plus"),
    ("check_stdp_window", _window_swapped_taus, "s > 0"),
    ("check_window_integrals", _integrals_sign_error, "+A_minus tau_minus^2"),
    ("check_window_integrals", _integrals_single_tau, "tau^2"),
])
def test_notebook_01_checks_reject_wrong_answers(check, wrong, hint):
    """A plausible mistake fails its check with the hint that addresses it (several random draws)."""
    for seed in range(5):
        with pytest.raises(AssertionError, match=re.escape(hint)):
            getattr(lif_and_stdp, check)(wrong, seed=seed)


@pytest.mark.parametrize("check", ["check_lif_rate_hz", "check_stdp_window", "check_window_integrals"])
def test_notebook_01_checks_pass_the_solutions(check):
    """The solutions file passes every check, on fresh inputs each time."""
    from notebook_runner import NOTEBOOKS
    from spiking_bpdl.teaching import solution_sources

    ns = {}
    name = check[len("check_"):]
    exec(solution_sources(NOTEBOOKS / "solutions" / "01_lif_and_stdp.py")[name], ns)
    for seed in range(3):
        getattr(lif_and_stdp, check)(ns[name], seed=seed)
