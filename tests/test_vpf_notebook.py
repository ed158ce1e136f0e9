"""Execute notebooks/05_vpf.ipynb in its reduced configuration."""

import pytest

from notebook_runner import execute_notebook


@pytest.mark.notebook
@pytest.mark.slow
def test_vpf_notebook_runs():
    nb = execute_notebook("05_vpf.ipynb")
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "reduced configuration" in text
    assert "largest relative difference analytic vs finite differences" in text
