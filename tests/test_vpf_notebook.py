"""Execute notebooks/05_vpf.ipynb in its reduced configuration.

The notebook asserts its own claims (a failing cell fails the run); here the printed measurements are
read back and checked against the same bounds, so a notebook that stops computing them fails too.
"""

import re

import pytest

from notebook_runner import execute_notebook


def _numbers(text, label, count):
    match = re.search(re.escape(label) + r"\s*" + r"\D*?".join([r"([-+]?[0-9.]+(?:e[-+]?\d+)?)"] * count), text)
    assert match, f"notebook did not print {label!r}"
    return [float(g) for g in match.groups()]


@pytest.mark.notebook
@pytest.mark.slow
def test_vpf_notebook_runs():
    nb = execute_notebook("05_vpf.ipynb")
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "reduced configuration" in text
    # analytic gradient vs central differences (float64, eps 1e-6: truncation ~1e-12, round-off ~1e-10)
    (worst,) = _numbers(text, "largest relative difference analytic vs finite differences:", 1)
    assert worst < 1e-6
    # the per-synapse loop is the matrix update summed in another order: round-off only
    (loop,) = _numbers(text, "max |per-synapse loop - matrix update| =", 1)
    assert loop < 1e-12
    # AIS (log of an unbiased mean over independent chains) within 4 s.e. + sem^2 of exact log Z
    exact, ais, sem = _numbers(text, "exact log Z =", 3)
    assert abs(ais - exact) < 4 * sem + sem**2
    # trained VPF and CD-1 fill random dropout better than the pixel means by > 4 paired s.e.
    for method in ("vpf", "cd"):
        diff, se = _numbers(text, f"{method} - mean fill, dropout50 MSE:", 2)
        assert diff + 4 * se < 0, (method, diff, se)
