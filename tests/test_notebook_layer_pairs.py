"""Notebook 03 (layer pairs): it executes in reduced size with its exercises solved, every stub fails
its check, and the checks reject plausible wrong answers."""

import re

import numpy as np
import pytest

from notebook_runner import NOTEBOOKS, check_stubs_fail, execute_notebook
from spiking_bpdl.teaching import layer_pairs, solution_sources


@pytest.mark.notebook
@pytest.mark.slow
def test_layer_pairs_notebook_runs():
    """The notebook asserts its own claims (small-nudge rate rule = gradient, the student's score = the
    reported test MSE, rate rule and backprop beat the mean image, a descent direction at every nudge);
    here the printed numbers are read back, so a notebook that stops computing them fails too."""
    nb = execute_notebook("03_layer_pairs.ipynb")
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    for n in ("Exercise 1 (delta rule): correct", "Exercise 2 (reconstruction MSE): correct"):
        assert n in text
    assert float(re.search(r"cosine\(rate rule dV, -gradient\) = ([0-9.]+)\n", text).group(1)) > 0.999
    scores = re.findall(r"(\w+)\s+your test MSE ([0-9.]+)\s+reported ([0-9.]+)", text)
    assert {s[0] for s in scores} == {"backprop", "rate", "spiking"}
    assert all(s[1] == s[2] for s in scores)
    by_beta = [float(v) for v in re.findall(r"beta = +\S+: cosine\(rate rule dV, -gradient\) = ([-0-9.]+)", text)]
    assert len(by_beta) == 4 and min(by_beta) > 0
    # the frozen-encoder ablation ran, and the learned change W - W0 was measured against its shuffled control
    assert re.search(r"rate twin: W learning [0-9.]+, W frozen [0-9.]+, ratio [0-9.]+", text)
    nc = float(re.search(r"'neighbour_correlation': ([-0-9.]+)", text).group(1))
    ctrl = float(re.search(r"'shuffled_control': ([-0-9.]+)", text).group(1))
    assert nc > ctrl + 0.1


def test_layer_pairs_stubs_fail():
    """Every exercise, as the student first sees it, raises NotImplementedError through its check."""
    assert check_stubs_fail("03_layer_pairs.ipynb", layer_pairs) == ["delta_rule_dV", "reconstruction_mse"]


def _dV_sign_error(h, r_target, r_free, eta):
    return eta * h.T @ (r_free - r_target)


def _dV_missing_eta(h, r_target, r_free, eta):
    return h.T @ (r_target - r_free)


def _dV_transposed(h, r_target, r_free, eta):
    return eta * (r_target - r_free).T @ h


def _dV_batch_mean(h, r_target, r_free, eta):
    return eta * h.T @ (r_target - r_free) / h.shape[0]


def _mse_sum(x, x_hat):
    return float(np.sum((x_hat - x) ** 2))


def _mse_root(x, x_hat):
    return float(np.sqrt(np.mean((x_hat - x) ** 2)))


def _mse_per_image(x, x_hat):
    return np.mean((x_hat - x) ** 2, axis=1)


@pytest.mark.parametrize("check, wrong", [
    ("check_delta_rule_dV", _dV_sign_error),
    ("check_delta_rule_dV", _dV_missing_eta),
    ("check_delta_rule_dV", _dV_transposed),
    ("check_delta_rule_dV", _dV_batch_mean),
    ("check_reconstruction_mse", _mse_sum),
    ("check_reconstruction_mse", _mse_root),
    ("check_reconstruction_mse", _mse_per_image),
])
def test_layer_pairs_checks_reject_wrong_answers(check, wrong):
    """A plausible mistake fails its check with the exercise's hint (several random layer pairs)."""
    hint = {"check_delta_rule_dV": "eta * h.T @ (r_target - r_free)",
            "check_reconstruction_mse": "mean over images AND pixels"}[check]
    for seed in range(3):
        with pytest.raises(AssertionError, match=re.escape(hint)):
            getattr(layer_pairs, check)(wrong, seed=seed)


@pytest.mark.parametrize("name", ["delta_rule_dV", "reconstruction_mse"])
def test_layer_pairs_checks_pass_the_solutions(name):
    """The solutions file passes every check, on several random layer pairs."""
    ns = {}
    exec(solution_sources(NOTEBOOKS / "solutions" / "03_layer_pairs.py")[name], ns)
    for seed in range(3):
        getattr(layer_pairs, f"check_{name}")(ns[name], seed=seed)
