"""Notebook 06 (from the delta rule to target propagation in spikes): it executes with its exercises
solved, every stub fails its check, and each check rejects a plausible wrong answer."""

import re
import runpy
from pathlib import Path

import numpy as np
import pytest

from spiking_bpdl.teaching import deep_stdp as checks

NAME = "06_deep_stdp.ipynb"
SOLUTIONS = Path(__file__).resolve().parents[1] / "notebooks" / "solutions" / "06_deep_stdp.py"


@pytest.mark.notebook
@pytest.mark.slow
def test_deep_stdp_notebook_runs():
    from notebook_runner import execute_notebook

    nb = execute_notebook(NAME)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "Exercise 1 (delta rule): correct" in text and "Exercise 2 (x_tar): correct" in text
    assert "Exercise 3 (mirrored window): correct" in text
    # the alignment table (both projections, feedback on and cut) and both training runs were printed
    assert text.count("W1          on") == 1 and text.count("W2          cut") == 1
    assert "spiking_frozen-W1" in text and "test, rate pass: hidden learning" in text
    # the reciprocal run: the mirror's bookkeeping (dG2 = dW2^T to float32 rounding) and the cosines
    mirror = re.search(r"max \|dG2 - dW2\^T\| = (\S+) against max \|dW2\| = (\S+)", text)
    assert mirror and float(mirror[1]) <= 1e-5 * float(mirror[2]) and float(mirror[2]) > 0
    # the measurement: the learning G2 comes into line with W2^T beyond chance (3 standard errors of the
    # cosine of independent random matrices, 1/sqrt(n)), and further than the fixed one
    chance = float(re.search(r"chance \+-(\S+) for n", text)[1])
    after = {kind: float(re.search(kind + r" feedback: +\S+ at the start -> (\S+) after training", text)[1])
             for kind in ("reciprocal", "fixed random")}
    assert after["reciprocal"] > 3 * chance and after["reciprocal"] - after["fixed random"] > 3 * chance
    # the rate regulator: with the hidden bias lowered, about half the layer starts silent and (without the
    # regulator) stays so; with it the silent share falls. On 100 hidden neurons a share's standard error
    # is at most 0.05, so the two ends must differ by far more than that
    shares = {float(m[1]): [float(v) for v in m[2].split(",")]
              for m in re.finditer(r"eta_h = (\S+): silent share per block \[([^\]]*)\]", text)}
    assert set(shares) == {0.0, 3e-4}
    assert shares[0.0][0] > 0.3 and shares[0.0][-1] > 0.3
    assert shares[3e-4][-1] < shares[0.0][-1] - 6 * 0.05


def test_deep_stdp_notebook_stubs_fail_and_solutions_pass():
    from notebook_runner import check_stubs_fail

    names = check_stubs_fail(NAME, checks)
    assert names == ["delta_rule", "x_tar", "mirrored_window"]
    solutions = runpy.run_path(str(SOLUTIONS))
    for name in names:
        getattr(checks, f"check_{name}")(solutions[name])


def _centred_delta_rule(rho_pre, rho_free, rho_target, eta):
    """Wrong: centres the pre-synaptic rates, as only the hidden projections do."""
    rho_pre = np.asarray(rho_pre)
    return eta * (rho_pre - rho_pre.mean(axis=0)).T @ (rho_target - rho_free)


def _averaged_delta_rule(rho_pre, rho_free, rho_target, eta):
    """Wrong: the mean over the batch instead of the sum."""
    return eta * np.asarray(rho_pre).T @ (rho_target - rho_free) / len(rho_pre)


def _transposed_delta_rule(rho_pre, rho_free, rho_target, eta):
    """Wrong: (n_out, n_hidden), the feedback's shape."""
    return eta * (np.asarray(rho_target) - rho_free).T @ rho_pre


def _x_tar_free_window(A_plus, A_minus, tau_minus, m, free_phase, target_phase, onset):
    """Wrong: the free phase's plastic part as the window, whichever phase is shorter."""
    return A_minus * tau_minus**2 * m / (A_plus * (free_phase - onset))


def _x_tar_unsquared(A_plus, A_minus, tau_minus, m, free_phase, target_phase, onset):
    """Wrong: tau_minus instead of tau_minus squared (the integral of s K(s), not of K)."""
    return A_minus * tau_minus * m / (A_plus * min(free_phase - onset, target_phase))


def _x_tar_swapped(A_plus, A_minus, tau_minus, m, free_phase, target_phase, onset):
    """Wrong: the amplitudes swapped."""
    return A_plus * tau_minus**2 * m / (A_minus * min(free_phase - onset, target_phase))


def _unmirrored_window(rule, s):
    """Wrong: the forward window at the feedback's own interval."""
    return rule.window(s)


def _negated_window(rule, s):
    """Wrong: the forward window with its sign flipped."""
    return -rule.window(s)


def _acausal_at_zero(rule, s):
    """Wrong everywhere but at s = 0: a simultaneous pair depresses instead of potentiating."""
    s = np.asarray(s, dtype=float)
    return np.where(s < 0, rule.A_plus * np.exp(s / rule.tau_plus), -rule.A_minus * np.exp(-s / rule.tau_minus))


@pytest.mark.parametrize("check, wrong", [
    (checks.check_delta_rule, _centred_delta_rule),
    (checks.check_delta_rule, _averaged_delta_rule),
    (checks.check_delta_rule, _transposed_delta_rule),
    (checks.check_x_tar, _x_tar_free_window),
    (checks.check_x_tar, _x_tar_unsquared),
    (checks.check_x_tar, _x_tar_swapped),
    (checks.check_mirrored_window, _unmirrored_window),
    (checks.check_mirrored_window, _negated_window),
    (checks.check_mirrored_window, _acausal_at_zero),
], ids=lambda f: f.__name__)
def test_deep_stdp_checks_reject_wrong_answers(check, wrong):
    with pytest.raises(AssertionError, match="not yet right"):
        check(wrong)
