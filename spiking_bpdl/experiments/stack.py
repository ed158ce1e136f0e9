"""Layer-stack classifier experiment: train one backend (optionally with projections frozen), score it.

:func:`run_stack_training` trains a classifier stack on one of three backends and returns a plain
result dict: ``spiking`` (Brian2, STDP, :func:`spiking_bpdl.stack.engine.train_spiking`),
``rate`` (the rate twin's target propagation) and ``backprop`` (the same rate network, exact
gradient; :func:`spiking_bpdl.stack.train.train`). All three start from the same initial weights
(drawn from the seed), choose nothing on test digits, and score the test digits once at the end:
``test_accuracy`` is the rate forward pass of the learned weights (the same deterministic
read-out for every backend, so the backends compare as learning rules) and, for the spiking
backend, ``test_accuracy_spiking_readout`` is the network's own output spike counts (the honest
figure of a spiking network). The plotting functions take results and never simulate.
"""

import time
from pathlib import Path

import numpy as np

from ..checkpoint import run_name
from ..errors import ConfigError
from .receptive_fields import plot_receptive_fields, structure_summary

__all__ = [
    "BACKENDS",
    "run_name",
    "hidden_projections",
    "run_stack_training",
    "confusion_matrix",
    "plot_accuracy_curves",
    "plot_receptive_fields",
    "plot_confusion",
    "load_stack_curves",
    "save_stack_figures",
]

#: Backends of ``spiking-bpdl train`` for a stack, and the training method of :mod:`spiking_bpdl.stack.train`
#: each maps to.
BACKENDS = {"spiking": None, "rate": "target_prop", "backprop": "backprop"}


def hidden_projections(cfg):
    """What the frozen-hidden ablation freezes: the forward projections into hidden layers (``f_1 ..
    f_(n-1)``) and the feedback projections into them that learn (reciprocal feedback).

    The feedback exists to train the hidden layers; left learning next to a frozen hidden layer, a
    reciprocal ``g_2`` grows toward ``f_2^T`` and closes a free-phase loop output -> hidden -> output that
    the frozen layer cannot compensate (measured on MNIST: the own read-out falls to 15 %,
    ``docs/stacks.md``), which would make the ablation a broken network rather than a network
    without hidden learning. Fixed feedback is not listed (freezing it changes nothing).
    """
    hidden = [cfg.forward(l).name for l in range(1, cfg.depth)]
    feedback = [g.name for l in range(1, cfg.depth) if (g := cfg.feedback_into(l)) is not None and g.plastic]
    return hidden + feedback


def confusion_matrix(labels, predictions, n_classes=10):
    """Counts ``C[true, predicted]``."""
    c = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(c, (np.asarray(labels, dtype=int), np.asarray(predictions, dtype=int)), 1)
    return c


def run_stack_training(cfg, backend, frozen=(), out=None, seed=None, target=None, resume=False, data_dir=None,
                       progress=True, score_test=True, max_blocks=None, log=None, data=None):
    """Train ``backend`` on the classifier stack ``cfg`` and return its results.

    Parameters
    ----------
    cfg : StackConfig
        A classifier (``stack.target = 'label'``).
    backend : {'spiking', 'rate', 'backprop'}
    frozen : iterable of str
        Projections kept at their initial weights (checked: an unknown name is a ConfigError).
    out : str or Path, optional
        Folder for the spiking backend's checkpoint.
    seed : int, optional
        Default ``[training] seed``.
    target : str, optional
        Brian2 target of the spiking backend (default ``[spiking] target``).
    resume : bool
        Spiking backend: continue from the checkpoint in ``out``.
    data_dir : str, optional
        Folder of the MNIST IDX files (default: ``$SPIKING_BPDL_DATA`` / the package's data).
    progress : bool or str
    score_test : bool
        False for screens: the test digits are never loaded (``test_accuracy`` is None).
    max_blocks : int, optional
        Spiking backend: stop after this many blocks (``complete`` False; nothing scored on test).
    log : callable, optional
        Receives one line per validation point.
    data : dict, optional
        Splits from :func:`spiking_bpdl.stack.train.load_splits` (loaded here otherwise).

    Returns
    -------
    dict
        ``backend, frozen, samples, complete, val_accuracy, curve [{samples, val_accuracy, ...}],
        test_accuracy, samples_per_s, wall_s, train_s, seed, config``; the spiking backend adds
        ``val_accuracy_spiking_readout``, ``test_accuracy_spiking_readout``, ``synaptic_events``,
        ``target``; a rate twin with ``stack.twin_loop = 'settled'`` is scored from its settled free
        phase and adds ``test_accuracy_feedforward`` (the feed-forward pass of its weights); plus, for
        the figures and the weights file, ``weights`` (arrays),
        ``initial_weights`` and ``confusion`` (test digits; none in a screen); ``receptive_fields``: the
        structure of the first hidden layer's learned change
        (:func:`~spiking_bpdl.experiments.receptive_fields.structure_summary`).
    """
    from ..stack import twin
    from ..stack.config import check_projection_names, freeze
    from ..stack.train import load_splits, train

    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if cfg.target != "label":
        raise ConfigError(f"{cfg.path}: spiking-bpdl train runs classifier stacks (stack.target = 'label'); "
                          f"got {cfg.target!r}")
    frozen = sorted(set(check_projection_names(cfg, frozen)))
    seed = cfg.seed if seed is None else int(seed)
    run_cfg = freeze(cfg, frozen) if frozen else cfg
    if data is None:
        data = load_splits(cfg, data_dir, test=score_test)
    initial = twin.init_weights(cfg, np.random.default_rng(seed), np.float64)
    x_test, l_test = (data["x_test"], data["l_test"]) if score_test else (None, None)
    t0 = time.perf_counter()
    result = {"backend": backend, "frozen": frozen, "seed": seed, "test_samples": len(l_test) if score_test else 0}
    if backend == "spiking":
        from ..stack.engine import train_spiking

        r = train_spiking(run_cfg, data, seed=seed, out=out, resume=resume, progress=progress, target=target,
                          max_blocks=max_blocks, log=log, final_readout={"test": x_test} if score_test else None,
                          name=run_name("spiking", frozen))
        result.update({k: r[k] for k in ("samples", "complete", "curve", "train_s", "synaptic_events", "target",
                                         "readout_samples")})
        weights = r["weights"]
        result["val_accuracy_spiking_readout"] = r["curve"][-1]["val_accuracy_spiking_readout"]
        if r["complete"] and "test" in r["final_readout"]:
            predictions, _ = r["final_readout"]["test"]
            read = l_test[:len(predictions)]  # whole blocks
            result["test_accuracy_spiking_readout"] = float(np.mean(predictions == read))
            result["confusion"] = confusion_matrix(read, predictions)
        result.setdefault("test_accuracy_spiking_readout", None)
    else:
        r = train(run_cfg, BACKENDS[backend], data, seed=seed, log=log)
        weights = {k: np.asarray(v, dtype=np.float64) for k, v in r["weights"].items()}
        result.update(samples=r["samples"], complete=True, train_s=r["wall_s"],
                      curve=[{"samples": c["samples"], "val_accuracy": c["val"]} for c in r["curve"]])
    result["val_accuracy"] = result["curve"][-1]["val_accuracy"]
    result["test_accuracy"] = None
    if score_test and result["complete"]:
        # The twin with a settled loop is read from its settled free phase, and its weights' feed-forward
        # pass is recorded next to it (the figure a spiking run's rate pass is); every other read-out is
        # the feed-forward pass.
        settled = backend == "rate" and cfg.twin_loop == "settled"
        rate_pred = twin.predict(cfg, weights, x_test, settled=settled)
        result["test_accuracy"] = float(np.mean(rate_pred == l_test))
        if settled:
            result["test_accuracy_feedforward"] = float(np.mean(twin.predict(cfg, weights, x_test, settled=False)
                                                                == l_test))
        result.setdefault("confusion", confusion_matrix(l_test, rate_pred))
    result["wall_s"] = time.perf_counter() - t0
    result["samples_per_s"] = result["samples"] / result["train_s"] if result["train_s"] > 0 else None
    result["config"] = cfg.to_dict()
    first = cfg.forward(1).name
    if cfg.depth > 1:  # what the first hidden layer learned (experiments/receptive_fields.py)
        result["receptive_fields"] = dict(structure_summary(weights[first], initial[first]), projection=first)
    result["weights"], result["initial_weights"] = weights, initial
    return result


# ---------------------------------------------------------------------- figures
_STYLE = {"spiking": ("C0", "spiking STDP"), "rate": ("C1", "rate twin"), "backprop": ("C2", "backprop")}


def plot_accuracy_curves(results, ax=None):
    """Validation accuracy against training samples for several runs on one plot.

    Parameters
    ----------
    results : dict of str to dict
        Run name -> result (``curve`` with ``val_accuracy``; spiking runs also
        ``val_accuracy_spiking_readout``, drawn solid; their rate pass is dashed). Frozen runs
        are drawn thin, each set of frozen projections with its own marker (a deep stack's ablations).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    else:
        fig = ax.figure
    frozen_sets = sorted({tuple(r.get("frozen") or ()) for r in results.values()} - {()})
    markers = {(): "o", **{f: "xs^vdP"[i % 6] for i, f in enumerate(frozen_sets)}}
    for name, r in sorted(results.items()):
        color, label = _STYLE.get(r["backend"], ("C7", r["backend"]))
        frozen = tuple(r.get("frozen") or ())
        if frozen:
            label += f", {'+'.join(frozen)} frozen"
        lw = 1.0 if frozen else 2.0
        s = [c["samples"] for c in r["curve"]]
        if r["backend"] == "spiking":
            ax.plot(s, [c["val_accuracy_spiking_readout"] for c in r["curve"]], "-", color=color, lw=lw,
                    marker=markers[frozen], ms=3, label=label + " (own spikes)")
            ax.plot(s, [c["val_accuracy"] for c in r["curve"]], "--", color=color, lw=lw, label=label + " (rate pass)")
        else:
            ax.plot(s, [c["val_accuracy"] for c in r["curve"]], "-" if not frozen else ":", color=color, lw=lw,
                    marker=markers[frozen] if frozen else None, ms=3, label=label)
    ax.set_xlabel("training samples")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def plot_confusion(C, title=""):
    """A confusion matrix (rows: true class, columns: predicted), counts annotated."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 3.8), layout="constrained")
    ax.imshow(C, cmap="Blues")
    for i in range(C.shape[0]):
        for j in range(C.shape[1]):
            if C[i, j]:
                ax.text(j, i, str(C[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if C[i, j] > C.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_xticks(range(C.shape[1]))
    ax.set_yticks(range(C.shape[0]))
    ax.set_title(title, fontsize=8)
    return fig


def load_stack_curves(out):
    """Every classifier result ``train_*.json`` in ``out`` (files of other experiments are skipped)."""
    import json

    found = {}
    for path in sorted(Path(out).glob("train_*.json")):
        try:
            data = json.loads(path.read_text())
            if all("val_accuracy" in c for c in data["curve"]):
                found[path.stem[len("train_"):]] = data
        except (ValueError, KeyError, TypeError, OSError):
            continue
    return found


def save_stack_figures(out, result, name):
    """Write ``accuracy_curves.png`` (every run in ``out``), ``receptive_fields_<name>.png`` and
    ``confusion_<name>.png`` (atomically)."""
    from .._io import save_figure

    out = Path(out)
    cfg = result["config"]
    first = next(p["name"] for p in cfg["projections"] if p["role"] == "forward")
    save_figure(plot_receptive_fields(result["weights"][first], result["initial_weights"][first]),
                out / f"receptive_fields_{name}.png")
    if "confusion" in result:
        how = "own output spikes" if result["backend"] == "spiking" else "rate pass"
        save_figure(plot_confusion(np.asarray(result["confusion"]), f"{name}: test digits, {how}"),
                    out / f"confusion_{name}.png")
    runs = load_stack_curves(out)
    runs[name] = result
    save_figure(plot_accuracy_curves(runs), out / "accuracy_curves.png")
