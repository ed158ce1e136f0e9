import pytest

from notebook_runner import execute_notebook


@pytest.mark.notebook
@pytest.mark.slow
def test_notebook_02_stdp_as_gradient_executes():
    nb = execute_notebook("02_stdp_as_gradient.ipynb")
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "signs correct at every slope: True" in text
    assert "cosine(mean STDP update, -dJ/dW)" in text
    # the reduced part B must pass the rate-theory check: r above its bound and slope CI containing 1
    line = next(s for s in text.splitlines() if s.startswith("analytic check (theory)"))
    assert line.count(": True") == 2, line
