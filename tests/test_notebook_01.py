import pytest

from notebook_runner import execute_notebook


@pytest.mark.notebook
@pytest.mark.slow
def test_notebook_01_lif_and_stdp_executes():
    nb = execute_notebook("01_lif_and_stdp.ipynb")
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "max relative deviation from the closed form" in text
