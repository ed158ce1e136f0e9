"""Layer-pair experiment: train one backend, return plain results; plots never simulate.

:func:`run_training` trains with :func:`spiking_bpdl.spiking.engine.train_layer_pair`
and adds test reconstructions for the figures. The plotting functions take results
(dicts, arrays) and return matplotlib figures; :func:`save_training_figures` writes the
three figures of ``spiking-bpdl train``.
"""

from pathlib import Path

import numpy as np

from .receptive_fields import plot_receptive_fields

__all__ = [
    "run_training",
    "plot_learning_curves",
    "plot_reconstructions",
    "plot_receptive_fields",
    "save_training_figures",
    "load_curves",
]


def run_training(cfg, backend, samples=None, out=None, seed=0, target=None, resume=False, data_dir=None,
                 progress=True, max_blocks=None, n_examples=8, score_test=True):
    """Train ``backend`` on the layer pair ``cfg`` and return its results.

    Parameters
    ----------
    score_test : bool
        False for screens: the test digits are never loaded (no ``test_mse``), and the example
        figures show validation digits.

    Returns
    -------
    dict
        The engine's result (see :func:`~spiking_bpdl.spiking.engine.train_layer_pair`:
        ``curve`` on validation digits, ``test_mse`` scored once at the end) plus ``examples``:
        ``{'x': test (or validation) digits, 'x_hat': their rate reconstructions}``, and
        ``receptive_fields``: the structure of the encoder's learned change ``W - W0``
        (:func:`~spiking_bpdl.experiments.receptive_fields.structure_summary`).
    """
    from ..rate.lif_layer_pair import forward, load_images, load_splits
    from ..spiking.engine import train_layer_pair
    from .receptive_fields import structure_summary

    result = train_layer_pair(cfg, backend, samples=samples, out=out, seed=seed, target=target, resume=resume,
                              data_dir=data_dir, progress=progress, max_blocks=max_blocks, score_test=score_test)
    if score_test:
        x = load_images(cfg, "test", n_examples, data_dir)
    else:
        x = load_splits(cfg, data_dir, test=False)[1][:n_examples]
    w = result["weights"]
    result["receptive_fields"] = structure_summary(w["W"], result["initial_weights"]["W"])
    result["examples"] = {"x": x, "x_hat": forward(x, w["W"], w["V"], result["config"])}
    if "readout_example" in result:
        result["examples"]["x_spiking"] = result["readout_example"][:n_examples]
    return result


def load_curves(out):
    """Learning curves of every ``train_<run>.json`` in the folder ``out``, keyed by run name
    (the backend, plus ``_frozen-W`` for the frozen-encoder ablation).

    Files written before the validation split (curves of test MSE) are skipped: their curves
    measure something else and must not share a plot with validation curves.
    """
    import json

    curves = {}
    for path in sorted(Path(out).glob("train_*.json")):
        try:
            data = json.loads(path.read_text())
            if all("val_mse" in c for c in data["curve"]):
                curves[data.get("run", data["backend"])] = data
        except (ValueError, KeyError, TypeError, OSError):
            continue
    return curves


def plot_learning_curves(results, baseline=None, ax=None):
    """Validation MSE against training samples, one line per run.

    Parameters
    ----------
    results : dict of str to dict
        Run name (``spiking``, ``rate_frozen-W``, ...) -> result with a ``curve`` list of
        ``{"samples", "val_mse"}``; a dotted line marks the spiking network's own read-out on the
        validation digits. A run with frozen projections is dashed in its backend's colour.
    baseline : float, optional
        The mean-image MSE on the validation digits, drawn as a dashed line.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.5))
    else:
        fig = ax.figure
    styles = {"spiking": "C3", "rate": "C0", "backprop": "C2"}
    for name, res in results.items():
        s = [c["samples"] for c in res["curve"]]
        m = [c["val_mse"] for c in res["curve"]]
        color = styles.get(res.get("backend", name))
        ax.plot(s, m, marker="o", ms=3, color=color, ls="--" if res.get("frozen") else "-", label=name)
        if res.get("val_mse_spiking_readout") is not None:
            ax.axhline(res["val_mse_spiking_readout"], color=color, ls=":", lw=1,
                       label=f"{name} (spiking read-out)")
        baseline = baseline or res.get("baseline_mean_image_val_mse")
    if baseline:
        ax.axhline(baseline, color="gray", ls="--", lw=1, label="mean image")
    ax.set_xlabel("training samples")
    ax.set_ylabel("validation reconstruction MSE")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_reconstructions(x, rows, labels=None):
    """Grid of images: the test digits ``x`` and each array in ``rows`` below them."""
    import matplotlib.pyplot as plt

    arrays = [x] + list(rows)
    labels = ["input"] + list(labels or [f"row {k}" for k in range(len(rows))])
    n = x.shape[0]
    side = int(round(np.sqrt(x.shape[1])))
    fig, axes = plt.subplots(len(arrays), n, figsize=(1.1 * n, 1.2 * len(arrays)), squeeze=False)
    for r, (arr, lab) in enumerate(zip(arrays, labels)):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(np.clip(arr[c].reshape(side, side), 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(lab, fontsize=8)
    fig.tight_layout()
    return fig


def save_training_figures(out, backend, weights, examples, cfg, initial_weights=None):
    """Write ``reconstructions_<run>.png`` and ``receptive_fields_<run>.png`` into ``out``
    (atomically); ``<run>`` is the backend, plus ``_frozen-W`` when ``cfg.frozen`` says so. With
    ``initial_weights`` the receptive fields get a second row: the learned change ``W - W0``."""
    from .._io import save_figure
    from ..checkpoint import run_name

    out = Path(out)
    name = run_name(backend, cfg.frozen)
    rows, labels = [examples["x_hat"]], [f"{name} (rate pass)"]
    if "x_spiking" in examples:
        rows.append(examples["x_spiking"])
        labels.append("spiking read-out")
    save_figure(plot_reconstructions(examples["x"], rows, labels), out / f"reconstructions_{name}.png")
    W0 = None if initial_weights is None else initial_weights["W"]
    save_figure(plot_receptive_fields(weights["W"], W0), out / f"receptive_fields_{name}.png")


def save_learning_curves(out, current=None):
    """Plot every run's curve found in ``out`` (plus ``current``) to ``learning_curves.png``."""
    from .._io import save_figure

    curves = load_curves(out)
    if current is not None:
        curves[current.get("run", current["backend"])] = current
    if curves:
        save_figure(plot_learning_curves(curves), Path(out) / "learning_curves.png")
