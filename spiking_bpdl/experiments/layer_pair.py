"""Layer-pair experiment: train one backend, return plain results; plots never simulate.

:func:`run_training` trains with :func:`spiking_bpdl.spiking.engine.train_layer_pair`
and adds test reconstructions for the figures. The plotting functions take results
(dicts, arrays) and return matplotlib figures; :func:`save_training_figures` writes the
three figures of ``spiking-bpdl train``.
"""

from pathlib import Path

import numpy as np

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
        ``{'x': test (or validation) digits, 'x_hat': their rate reconstructions}``.
    """
    from ..rate.lif_layer_pair import forward, load_images, load_splits
    from ..spiking.engine import train_layer_pair

    result = train_layer_pair(cfg, backend, samples=samples, out=out, seed=seed, target=target, resume=resume,
                              data_dir=data_dir, progress=progress, max_blocks=max_blocks, score_test=score_test)
    if score_test:
        x = load_images(cfg, "test", n_examples, data_dir)
    else:
        x = load_splits(cfg, data_dir, test=False)[1][:n_examples]
    w = result["weights"]
    result["examples"] = {"x": x, "x_hat": forward(x, w["W"], w["V"], result["config"])}
    if "readout_example" in result:
        result["examples"]["x_spiking"] = result["readout_example"][:n_examples]
    return result


def load_curves(out):
    """Learning curves of every ``train_<backend>.json`` in the folder ``out``.

    Files written before the validation split (curves of test MSE) are skipped: their curves
    measure something else and must not share a plot with validation curves.
    """
    import json

    curves = {}
    for path in sorted(Path(out).glob("train_*.json")):
        try:
            data = json.loads(path.read_text())
            if all("val_mse" in c for c in data["curve"]):
                curves[data["backend"]] = data
        except (ValueError, KeyError, TypeError, OSError):
            continue
    return curves


def plot_learning_curves(results, baseline=None, ax=None):
    """Validation MSE against training samples, one line per backend.

    Parameters
    ----------
    results : dict of str to dict
        Backend name -> result with a ``curve`` list of ``{"samples", "val_mse"}``; a dotted
        line marks the spiking network's own read-out on the validation digits.
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
        ax.plot(s, m, marker="o", ms=3, color=styles.get(name), label=name)
        if res.get("val_mse_spiking_readout") is not None:
            ax.axhline(res["val_mse_spiking_readout"], color=styles.get(name), ls=":", lw=1,
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


def plot_receptive_fields(W, n=32):
    """The first ``n`` columns of ``W`` (input -> hidden) as images (receptive fields)."""
    import matplotlib.pyplot as plt

    n = min(n, W.shape[1])
    side = int(round(np.sqrt(W.shape[0])))
    cols = 8
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols, 1.1 * rows), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if k < n:
            w = W[:, k]
            lim = np.abs(w).max() or 1.0
            ax.imshow(w.reshape(side, side), cmap="RdBu_r", vmin=-lim, vmax=lim)
        else:
            ax.axis("off")
    fig.tight_layout()
    return fig


def save_training_figures(out, backend, weights, examples, cfg):
    """Write ``learning_curves.png``, ``reconstructions_<backend>.png`` and
    ``receptive_fields_<backend>.png`` into ``out`` (atomically)."""
    from .._io import save_figure

    out = Path(out)
    rows, labels = [examples["x_hat"]], [f"{backend} (rate pass)"]
    if "x_spiking" in examples:
        rows.append(examples["x_spiking"])
        labels.append("spiking read-out")
    save_figure(plot_reconstructions(examples["x"], rows, labels), out / f"reconstructions_{backend}.png")
    save_figure(plot_receptive_fields(weights["W"]), out / f"receptive_fields_{backend}.png")


def save_learning_curves(out, current=None):
    """Plot every backend's curve found in ``out`` (plus ``current``) to ``learning_curves.png``."""
    from .._io import save_figure

    curves = load_curves(out)
    if current is not None:
        curves[current["backend"]] = current
    if curves:
        save_figure(plot_learning_curves(curves), Path(out) / "learning_curves.png")
