"""Receptive fields: what a hidden layer's input weights learned, drawn and measured.

The initial weights are spatially white noise, so a figure of ``W`` after a short run shows noise
even when learning worked; the learned part is ``W - W0``. Two numbers say whether that part has
the structure of features (strokes, blobs) or of a random walk:

* :func:`neighbour_correlation` -- the correlation of horizontally and vertically adjacent pixels
  of each hidden neuron's field (its mean removed). Independent per-synapse noise, e.g. the pairing
  noise of STDP, gives 0 whatever its spatial envelope (neighbouring pixels have independent spike
  trains); smooth features give values near 1. :func:`shuffled_control` is the same statistic with
  each field's pixels permuted: what chance gives for these very values.
* :func:`common_fraction` -- the share of the change's energy along one shape shared by every neuron
  (the mean field over neurons, at each neuron's own amplitude and sign). A common-mode drift (every
  neuron gaining a multiple of the same mean-digit shape) is spatially smooth too, so it passes the
  first test; this one measures it, and the neighbour correlation of what remains once that shape
  is projected out of every field (``specific_neighbour_correlation``) says whether what differs
  between neurons is structured too (distinct features) or noise.

Used by the layer pair and the layer stacks (``spiking-bpdl train`` records both numbers in its
JSON under ``receptive_fields``).
"""

import numpy as np

__all__ = ["neighbour_correlation", "shuffled_control", "common_fraction", "specific_part", "structure_summary",
           "plot_receptive_fields"]


def _fields(M):
    """Columns of ``M`` (n_input, n_hidden) as square images, each with its mean removed."""
    M = np.asarray(M, dtype=np.float64)
    side = int(round(np.sqrt(M.shape[0])))
    if side * side != M.shape[0]:
        raise ValueError(f"{M.shape[0]} inputs are not a square image")
    img = M.T.reshape(-1, side, side)
    return img - img.mean(axis=(1, 2), keepdims=True)


def neighbour_correlation(M):
    """Pearson correlation of adjacent pixels (horizontal and vertical pairs) pooled over all fields.

    Parameters
    ----------
    M : ndarray (n_input, n_hidden)
        Weights (or weight changes) with a square number of inputs.

    Returns
    -------
    float
        In [-1, 1]; about 0 (standard error ``1/sqrt(pairs)``) for spatially independent values.
    """
    img = _fields(M)
    a = np.concatenate([img[:, :, :-1].ravel(), img[:, :-1, :].ravel()])
    b = np.concatenate([img[:, :, 1:].ravel(), img[:, 1:, :].ravel()])
    denom = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / denom) if denom > 0 else 0.0


def shuffled_control(M, seed=0):
    """:func:`neighbour_correlation` of ``M`` with each column's entries permuted (the chance level)."""
    rng = np.random.default_rng(seed)
    M = np.asarray(M, dtype=np.float64)
    return neighbour_correlation(np.stack([rng.permutation(c) for c in M.T], axis=1))


def _common_direction(M):
    """The mean column of ``M``, normalised (None when it is zero)."""
    m = M.mean(axis=1)
    norm = np.linalg.norm(m)
    return m / norm if norm > 0 else None


def common_fraction(M):
    """Share of ``sum ||M[:, i]||^2`` along the mean column's direction: 1 when every neuron's field is a
    multiple of one shape, about ``1/n_hidden`` for independent fields."""
    M = np.asarray(M, dtype=np.float64)
    total = float(np.sum(M * M))
    u = _common_direction(M)
    if total == 0 or u is None:
        return 0.0
    return float(np.sum((u @ M) ** 2) / total)


def specific_part(M):
    """``M`` with the common shape (the mean column's direction) projected out of every column."""
    M = np.asarray(M, dtype=np.float64)
    u = _common_direction(M)
    return M if u is None else M - np.outer(u, u @ M)


def structure_summary(W, W0):
    """The numbers of the module docstring for the learned change ``W - W0`` and for ``W0``.

    Returns
    -------
    dict
        ``neighbour_correlation`` (of ``W - W0``), ``shuffled_control`` (the same values permuted),
        ``initial_neighbour_correlation`` (of ``W0``), ``common_fraction`` (of ``W - W0``),
        ``specific_neighbour_correlation`` (of :func:`specific_part` of ``W - W0``: what differs
        between neurons once the common shape is projected out) and ``change_norm_ratio`` (``||W - W0|| / ||W0||``).
    """
    W, W0 = np.asarray(W, dtype=np.float64), np.asarray(W0, dtype=np.float64)
    dW = W - W0
    n0 = float(np.linalg.norm(W0))
    return {
        "neighbour_correlation": neighbour_correlation(dW),
        "shuffled_control": shuffled_control(dW),
        "initial_neighbour_correlation": neighbour_correlation(W0),
        "common_fraction": common_fraction(dW),
        "specific_neighbour_correlation": neighbour_correlation(specific_part(dW)),
        "change_norm_ratio": float(np.linalg.norm(dW)) / n0 if n0 > 0 else None,
    }


def plot_receptive_fields(W, W0=None, n=20):
    """The first ``n`` hidden neurons' input weights as images; with ``W0`` also what they learned (``W - W0``).

    Parameters
    ----------
    W : ndarray (n_input, n_hidden)
    W0 : ndarray, optional
        The initial weights: a second row of panels shows ``W - W0`` (the learned part, where the
        structure is: the initial weights are noise).
    n : int
        Neurons shown.
    """
    import matplotlib.pyplot as plt

    side = int(round(np.sqrt(W.shape[0])))
    n = min(n, W.shape[1])
    rows = [("weights", W)] + ([("learned change", W - W0)] if W0 is not None else [])
    fig, axes = plt.subplots(len(rows), n, figsize=(n * 0.6, 0.75 * len(rows) + 0.3), squeeze=False,
                             layout="constrained")
    for r, (title, M) in enumerate(rows):
        for j in range(n):
            img = M[:, j].reshape(side, side)
            lim = np.max(np.abs(img)) or 1.0
            ax = axes[r, j]
            ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(title, fontsize=6)
    return fig
