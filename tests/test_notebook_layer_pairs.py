"""Execute notebooks/03_layer_pairs.ipynb in reduced size."""

import pytest


@pytest.mark.notebook
@pytest.mark.slow
def test_layer_pairs_notebook_runs():
    from notebook_runner import execute_notebook

    execute_notebook("03_layer_pairs.ipynb")
