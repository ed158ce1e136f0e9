"""Regenerate the figures and tables of the seed papers into one report (``spiking-bpdl reproduce``).

A *part* is one block of the report (the STDP window, STDP against the rate rule, the layer
pairs, the classifier, the generative model, VPF). Each part runs existing commands of this
package in subprocesses (``python -m spiking_bpdl.cli ...``), reads the JSON they write and
turns it into *rows*: our number next to the paper's (or the claim the paper makes, where it
gives no number), the exact command, its wall time and status. Nothing here computes science;
it only runs commands and reads their results.

Two sizes:

* ``quick``: reduced sizes on the embedded data (offline), every part in one go.
* ``full``: the README's headline runs. Parts whose headline numbers come from a sweep run that
  sweep with ``--resume`` into its results folder (by default the committed
  ``docs/results/sweeps/<name>/``), so rows already there are not run again.

Resumability: each part writes ``OUT/parts/<part>/part.json`` with a hash of its configuration
(mode, seed, the command lines with ``OUT`` abstracted away). A later run with the same
configuration reuses the part instead of running it; ``force`` reruns it.

Output: ``OUT/report.md``, ``OUT/report.html`` (self-contained: figures embedded) and
``OUT/report.json`` (every row, machine-readable).
"""

import base64
import hashlib
import html
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from ._io import atomic_path, read_json, write_json
from .checkpoint import run_name
from .errors import ConfigError
from .provenance import git_state

__all__ = [
    "PART_NAMES", "MODES", "QUICK", "CLASSIFIER_DEFINITION", "DIEHL_COOK_ACCURACY", "Step", "Part",
    "build_parts", "config_hash", "run_report", "render_markdown", "render_html", "format_row", "md_cell",
]

#: Parts in report order.
PART_NAMES = ("window", "stdp_match", "layer_pairs", "classifier", "generative", "vpf")
MODES = ("quick", "full")

#: Root of the checkout (docs/results/ lives there; definitions are found by name, so an installed
#: wheel, which has no checkout, runs every part too).
ROOT = Path(__file__).resolve().parents[1]
#: The classifier definition's name; the part runs ``train`` on it when a shipped definition has it.
CLASSIFIER_DEFINITION = "classifier_mnist.toml"
#: Diehl & Cook (2015), unsupervised STDP network on MNIST: test accuracy in %.
DIEHL_COOK_ACCURACY = 95.0
#: Where ``full`` resumes the committed sweeps (override with ``sweeps_dir``); without a checkout
#: (an installed wheel) the sweeps run into ``OUT/sweeps``.
DEFAULT_SWEEPS_DIR = ROOT / "docs" / "results" / "sweeps"

#: Sizes of ``quick`` (chosen so that all parts together take a few minutes on 2 cores).
QUICK = {
    "window_trials": 200,
    "match_trials": 300,
    "match_gradient_trials": 1000,
    "layer_pair_samples": 2000,
    "generative_epochs": 4,
    "generative_samples": 1000,
    "vpf": ["--hidden", "100", "--epochs", "8", "--lrs", "0.01", "--batch-size", "20", "--n-train", "1500", "--n-test", "500",
            "--recon-sweeps", "10", "--ais-chains", "20", "--ais-betas", "300", "--parzen-samples", "500",
            "--sample-sweeps", "20"],
    "classifier_samples": 1000,
    # the embedded 2,000 training digits split as classifier_small splits them, the 500 embedded test digits
    "classifier_embedded": ["--set", "data.source=embedded", "--set", "training.train_pool=1667",
                            "--set", "training.validation_samples=333", "--set", "training.test_samples=500",
                            "--set", "training.eval_every=500", "--set", "spiking.readout_samples=300"],
}

#: Trials per slope of the emergent window under ``full`` (the README's and docs/stdp.md's run).
FULL_WINDOW_TRIALS = 300

BENGIO = "Bengio et al. 2015"
PAPER_TABLE_SOURCE = "Bengio et al. 2015, Table 1 (Parzen LL, nats)"
STATUS_OK, STATUS_FAILED, STATUS_ABSENT = "ok", "failed", "not in this version"


@dataclass
class Step:
    """One command of a part: ``spiking-bpdl ARGV``, writing the JSON ``json``."""

    name: str
    argv: list
    json: Path
    sweep: bool = False

    @property
    def command(self):
        """The command line as typed (shell-quoted)."""
        return shlex.join(["spiking-bpdl", *map(str, self.argv)])


@dataclass
class Part:
    """A block of the report: its steps, how to read their results, and its figures."""

    name: str
    title: str
    paper: str
    steps: list
    rows: object  # callable(part, results: dict step name -> dict) -> list of row dicts
    figures: list = field(default_factory=list)  # (caption, path)
    absent: str = ""  # why the part does not exist in this version ("" = it does)
    note: str = ""


# ----------------------------------------------------------------------------- reading results

def _get(data, dotted, default=None):
    cur = data
    for key in dotted.split("."):
        if not isinstance(cur, dict) or key not in cur:
            return default
        cur = cur[key]
    return cur


def _half(ci):
    if not ci or len(ci) != 2 or ci[0] is None or ci[1] is None:
        return None
    return (ci[1] - ci[0]) / 2


def _sweep_metric(summary, point, metric):
    """(mean, 95 % half-width, n) of ``metric`` at the grid point ``point`` of a sweep summary."""
    for p in summary.get("points", []):
        if p.get("point") == point:
            m = p.get("metrics", {}).get(metric)
            if m:
                return m.get("mean"), _half(m.get("ci95")), m.get("n")
    return None, None, 0


def _sweep_ratio(summary, name):
    group = next(iter(_get(summary, f"ratios.{name}.groups", {}).values()), None) or {}
    return group.get("mean"), _half(group.get("ci95")), group.get("n")


def _paired_ratio(num_summary, den_summary, point, metric):
    """(mean, 95 % half-width, n) of ``metric`` at ``point`` of one sweep over the same at ``point`` of
    another, formed seed for seed (the seeds both sweeps finished)."""
    from .sweep.summary import interval

    def per_seed(summary):
        for p in summary.get("points", []):
            if p.get("point") == point:
                return p.get("metrics", {}).get(metric, {}).get("per_seed", {})
        return {}

    num, den = per_seed(num_summary), per_seed(den_summary)
    ratios = [num[k] / den[k] for k in sorted(set(num) & set(den), key=int) if den[k]]
    if not ratios:
        return None, None, 0
    iv = interval(ratios)
    return iv.get("mean"), _half(iv.get("ci95")), iv.get("n")


def _row(quantity, ours, paper=None, *, half=None, n=None, step=None, source="", note="", kind="number", digits=None):
    """One report row; ``digits`` fixes the decimals shown for both numbers (else 4 significant)."""
    return {"quantity": quantity, "ours": ours, "ours_half_width": half, "n_seeds": n, "paper": paper, "digits": digits,
            "paper_source": source, "note": note, "step": step.name if step else None, "kind": kind}


# ----------------------------------------------------------------------------- parts

def _window(ctx):
    d = ctx.part_dir("window")
    vd = ["stdp-window", "--rule", "voltage-derivative", "--seed", ctx.seed, "--out", d / "voltage_derivative",
          "--json", d / "voltage_derivative.json"]
    # full: the README's headline run of the emergent window (docs/stdp.md, part A) used 300 trials
    vd[3:3] = ["--trials", QUICK["window_trials"] if ctx.mode == "quick" else FULL_WINDOW_TRIALS]
    pair = ["stdp-window", "--rule", "pair", "--seed", ctx.seed, "--out", d / "pair", "--json", d / "pair.json"]
    steps = [Step("voltage-derivative", vd, d / "voltage_derivative.json"), Step("pair", pair, d / "pair.json")]

    def rows(part, res):
        v, p = res["voltage-derivative"], res["pair"]
        s_vd, s_pair = part.steps
        src = "Bi & Poo 1998 (Bengio et al. 2015, Fig. 1)"
        return [
            _row("emergent window τ+ (ms)", _get(v, "fit.tau_plus_ms"), 16.8, step=s_vd, source=src,
                 note=f"fit r² {_get(v, 'fit.r2_plus', float('nan')):.3f}; slopes "
                      f"{_get(v, 'slope_range_per_ms', ['?', '?'])[0]}–{_get(v, 'slope_range_per_ms', ['?', '?'])[1]} θ/ms"),
            _row("emergent window τ− (ms)", _get(v, "fit.tau_minus_ms"), 33.7, step=s_vd, source=src,
                 note=f"fit r² {_get(v, 'fit.r2_minus', float('nan')):.3f}"),
            _row("pair STDP: max |Δw − K(Δt)| against the closed form", p.get("max_abs_error"), 0.0, step=s_pair,
                 source="closed form A±·e^(∓Δt/τ±)"),
        ]

    figs = [("Emergent window (Fig. 1)", d / "voltage_derivative" / "stdp_window_voltage_derivative.png"),
            ("Pair-STDP window", d / "pair" / "stdp_window_pair.png")]
    return Part("window", "STDP window", "Bengio et al. 2015, Fig. 1 (Bi & Poo 1998 fit)", steps, rows, figs)


def _match_rows_single(part, res):
    m = res["stdp-match"]
    s = part.steps[0]
    claim = "claim: STDP = rate rule ρ_pre·dρ_post/dt (r → 1)"
    rows = [
        _row("analytic (theory): Pearson r", _get(m, "analytic.pearson_r"), claim, step=s, source=BENGIO,
             note=f"bound for {m.get('n_trials')} trials {_get(m, 'analytic.check.r_bound', float('nan')):.4f}; "
                  f"check passes: {_get(m, 'analytic.check.passes')}"),
        _row("analytic (theory): slope, no fitted scale", _get(m, "analytic.slope"), 1.0, step=s, source=BENGIO,
             half=_half(_get(m, "analytic.slope_ci95")), note="bootstrap 95 % CI over trials"),
        _row("kernel-rate (bookkeeping): Pearson r", _get(m, "kernel_rate.pearson_r"), 1.0, step=s,
             source="bookkeeping check (not a theory)"),
        _row("kernel-rate (bookkeeping): slope", _get(m, "kernel_rate.slope"), 1.0, step=s,
             half=_half(_get(m, "kernel_rate.slope_ci95")), source="bookkeeping check (not a theory)"),
    ]
    if m.get("cosine_gradient") is not None:
        ci = m.get("cosine_gradient_ci95")
        rows += [
            _row("part C, wired layer: cosine(STDP update, −∂J/∂W)", m.get("cosine_gradient"),
                 "claim: STDP follows the gradient (cosine → 1)", step=s, source="Bengio, Mesnard et al. 2017",
                 note=f"{m.get('gradient_trials')} trials per condition; bootstrap 95 % CI "
                      f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""),
            _row("control: shuffled targets, cosine", _get(m, "cosine_gradient_control.shuffled_targets.cosine"),
                 0.0, step=s, source="expected ≈ 0"),
            _row("control: no nudge, ‖update‖ / nudged", _get(m, "cosine_gradient_control.no_nudge.norm_ratio"),
                 "noise floor", step=s, source="pairing noise only",
                 note=f"noise floor {_get(m, 'cosine_gradient_control.no_nudge.noise_floor_ratio', float('nan')):.2f}"),
        ]
    return rows


def _match_rows_sweep(part, res):
    sm = res["stdp_match_seeds"]
    s = part.steps[0]

    def r(q, metric, paper, source, note=""):
        mean, half, n = _sweep_metric(sm, {}, metric)
        return _row(q, mean, paper, half=half, n=n, step=s, source=source, note=note)

    claim = "claim: STDP = rate rule ρ_pre·dρ_post/dt (r → 1)"
    return [
        r("analytic (theory): Pearson r", "analytic.pearson_r", claim, BENGIO),
        r("analytic (theory): slope, no fitted scale", "analytic.slope", 1.0, BENGIO),
        r("kernel-rate (bookkeeping): Pearson r", "kernel_rate.pearson_r", 1.0, "bookkeeping check (not a theory)"),
        r("kernel-rate (bookkeeping): slope", "kernel_rate.slope", 1.0, "bookkeeping check (not a theory)"),
        r("part C, wired layer: cosine(STDP update, −∂J/∂W)", "cosine_gradient",
          "claim: STDP follows the gradient (cosine → 1)", "Bengio, Mesnard et al. 2017"),
        r("control: shuffled targets, cosine", "cosine_gradient_control.shuffled_targets.cosine", 0.0, "expected ≈ 0"),
        r("control: no nudge, ‖update‖ / nudged", "cosine_gradient_control.no_nudge.norm_ratio", "noise floor",
          "pairing noise only"),
    ]


def _sweep_step(ctx, part, sweep_name, folder):
    spec = sweep_name  # the sweep command finds a shipped sweep file by name
    js = ctx.part_dir(part) / f"{sweep_name}.summary.json"
    return Step(sweep_name, ["sweep", spec, "--out", ctx.sweeps_dir / folder, "--resume", "--json", js], js, sweep=True)


def _stdp_match(ctx):
    d = ctx.part_dir("stdp_match")
    if ctx.mode == "quick":
        argv = ["stdp-match", "--trials", QUICK["match_trials"], "--gradient-trials", QUICK["match_gradient_trials"],
                "--seed", ctx.seed, "--out", d, "--json", d / "stdp_match.json"]
        steps, rows = [Step("stdp-match", argv, d / "stdp_match.json")], _match_rows_single
        figs = [(c, d / f) for c, f in (("Measured vs analytic (theory)", "stdp_match_analytic.png"),
                                         ("Measured vs kernel-rate (bookkeeping)", "stdp_match_kernel_rate.png"),
                                         ("Convergence with trials", "stdp_match_convergence.png"),
                                         ("Part C: wired layer", "stdp_match_gradient.png"))]
    else:
        steps, rows = [_sweep_step(ctx, "stdp_match", "stdp_match_seeds", "stdp_match")], _match_rows_sweep
        figs = [(f"{m} over seeds", ctx.sweeps_dir / "stdp_match" / "figures" / f"{m}.png")
                for m in ("analytic.pearson_r", "analytic.slope", "cosine_gradient")]
    return Part("stdp_match", "STDP ⇄ rate statistics", "Bengio et al. 2015; Bengio, Mesnard et al. 2017",
                steps, rows, figs)


_LP_TARGETS = {"spiking / rate": "≤ 1.3 (project target)", "rate / backprop": "≤ 1.15 (project target)",
               "learning / frozen": "≤ 0.9 (project target)"}
_NO_PAPER = "— (no number in the paper)"


def _layer_pairs(ctx):
    d = ctx.part_dir("layer_pairs")
    if ctx.mode == "quick":
        steps = []
        for b, frozen in (("spiking", ()), ("rate", ()), ("backprop", ()), ("spiking", ("W",)), ("rate", ("W",))):
            name = run_name(b, frozen)
            argv = ["train", "layer_pair_small", "--backend", b, "--samples", QUICK["layer_pair_samples"],
                    *(["--freeze", *frozen] if frozen else []),
                    "--no-progress", "--seed", ctx.seed, "--out", d, "--json", d / f"train_{name}.json"]
            steps.append(Step(name, argv, d / f"train_{name}.json"))

        def rows(part, res):
            sp, ra, bp = (res[b] for b in ("spiking", "rate", "backprop"))
            s = {st.name: st for st in part.steps}
            out = [
                _row("layer_pair_small, spiking: test MSE (rate pass of its weights)", sp.get("test_mse"), _NO_PAPER,
                     step=s["spiking"]),
                _row("layer_pair_small, spiking: its own spike read-out", sp.get("test_mse_spiking_readout"),
                     _NO_PAPER, step=s["spiking"]),
                _row("layer_pair_small, rate twin: test MSE", ra.get("test_mse"), _NO_PAPER, step=s["rate"]),
                _row("layer_pair_small, backprop: test MSE", bp.get("test_mse"), _NO_PAPER, step=s["backprop"]),
            ]
            if sp.get("test_mse") and ra.get("test_mse") and bp.get("test_mse"):
                out += [
                    _row("spiking / rate", sp["test_mse"] / ra["test_mse"], _LP_TARGETS["spiking / rate"],
                         step=s["spiking"], source="this project's target"),
                    _row("spiking read-out / rate", (sp.get("test_mse_spiking_readout") or float("nan")) / ra["test_mse"],
                         _NO_PAPER, step=s["spiking"]),
                    _row("rate / backprop", ra["test_mse"] / bp["test_mse"], _LP_TARGETS["rate / backprop"],
                         step=s["rate"], source="this project's target"),
                ]
            for b, label in (("spiking", "spiking"), ("rate", "rate twin")):
                learn, frozen = res[b].get("test_mse"), res[f"{b}_frozen-W"].get("test_mse")
                out.append(_row(f"layer_pair_small, {label}, W frozen: test MSE", frozen, _NO_PAPER,
                                step=s[f"{b}_frozen-W"]))
                if learn and frozen:
                    out.append(_row(f"{label}: W learning / W frozen", learn / frozen, _LP_TARGETS["learning / frozen"],
                                    step=s[f"{b}_frozen-W"], source="this project's target (on layer_pair_mnist)"))
            return out

        figs = [("Learning curves (validation digits)", d / "learning_curves.png"),
                ("Reconstructions, spiking", d / "reconstructions_spiking.png"),
                ("Receptive fields, spiking", d / "receptive_fields_spiking.png")]
        note = f"layer_pair_small on the embedded digits, {QUICK['layer_pair_samples']} samples, one seed"
    else:
        steps = [_sweep_step(ctx, "layer_pairs", "layer_pair_small_seeds", "layer_pair_small"),
                 _sweep_step(ctx, "layer_pairs", "layer_pair_mnist_seeds", "layer_pair_mnist"),
                 _sweep_step(ctx, "layer_pairs", "layer_pair_mnist_frozen_seeds", "layer_pair_mnist_frozen")]

        def rows(part, res):
            out = []
            for st in part.steps[:2]:
                sm, label = res[st.name], st.name.replace("_seeds", "")
                for b, q in (("spiking", "spiking: test MSE (rate pass of its weights)"), ("rate", "rate twin: test MSE"),
                             ("backprop", "backprop: test MSE")):
                    mean, half, n = _sweep_metric(sm, {"backend": b}, "test_mse")
                    out.append(_row(f"{label}, {q}", mean, _NO_PAPER, half=half, n=n, step=st))
                    if b == "spiking":
                        mean, half, n = _sweep_metric(sm, {"backend": b}, "test_mse_spiking_readout")
                        out.append(_row(f"{label}, spiking: its own spike read-out", mean, _NO_PAPER, half=half, n=n,
                                        step=st))
                for name, q, paper in (("spiking_over_rate", "spiking / rate", _LP_TARGETS["spiking / rate"]),
                                       ("spiking_readout_over_rate", "spiking read-out / rate", _NO_PAPER),
                                       ("rate_over_backprop", "rate / backprop", _LP_TARGETS["rate / backprop"])):
                    mean, half, n = _sweep_ratio(sm, name)
                    out.append(_row(f"{label}, {q} (per seed)", mean, paper, half=half, n=n, step=st,
                                    source="this project's target" if paper != _NO_PAPER else ""))
            # the encoder ablation: the same seeds with W frozen, paired seed for seed with the learning runs
            learning, frozen_step = res[part.steps[1].name], part.steps[2]
            frozen = res[frozen_step.name]
            for b, metric, q in (("spiking", "test_mse", "spiking"),
                                 ("spiking", "test_mse_spiking_readout", "spiking, its own spike read-out"),
                                 ("rate", "test_mse", "rate twin")):
                mean, half, n = _sweep_metric(frozen, {"backend": b}, metric)
                out.append(_row(f"layer_pair_mnist, {q}, W frozen: test MSE", mean, _NO_PAPER, half=half, n=n,
                                step=frozen_step))
                mean, half, n = _paired_ratio(learning, frozen, {"backend": b}, metric)
                out.append(_row(f"layer_pair_mnist, {q}: W learning / W frozen (per seed)", mean,
                                _LP_TARGETS["learning / frozen"], half=half, n=n, step=frozen_step,
                                source="this project's target"))
            return out

        figs = [(f"{f} over seeds: {m}", ctx.sweeps_dir / f / "figures" / f"{m}.png")
                for f in ("layer_pair_small", "layer_pair_mnist") for m in ("test_mse",)]
        note = "seeds 0, 1, 2; mean ± 95 % half-width"
    return Part("layer_pairs", "Layer pairs: spiking / rate / backprop",
                "Bengio et al. 2015 (layer pairs with feedback; no MSE reported)", steps, rows, figs, note=note)


def _shipped(name):
    """The shipped definition ``name`` (a path that may not exist: absent definitions are reported)."""
    from .spec import definition_dirs

    path = Path(name)
    if path.is_absolute() or path.exists():
        return path
    for folder in definition_dirs("network"):
        if (Path(folder) / name).exists():
            return Path(folder) / name
    return path


def _is_stack(path):
    """True for a readable definition with a ``[stack]`` table (an unreadable one is left to ``train`` to report)."""
    from .errors import ConfigError
    from .spec import read_toml

    try:
        return "stack" in read_toml(path)
    except ConfigError:
        return False


def _spiking_stack_absent(definition):
    """Why the spiking backend cannot train the shipped stack classifier yet (None when it can)."""
    from .commands import train
    from .stack.config import load_stack
    from .stack.engine import stdp_rules

    if not train.TRAINS_STACKS:
        return (f"{definition.name} is a layer stack; `spiking-bpdl train` does not train stacks in this version "
                "(the rate twin's results: docs/stacks.md)")
    try:
        stdp_rules(load_stack(definition))
    except ConfigError:
        return (f"{definition.name} has no spiking configuration in this version (its forward projections learn "
                "by rate rules; the rate twin's results: docs/stacks.md)")
    return None


def _classifier(ctx):
    d = ctx.part_dir("classifier")
    definition = _shipped(CLASSIFIER_DEFINITION)
    paper_src = "Diehl & Cook 2015 (unsupervised STDP, MNIST test accuracy)"
    absent = None
    if not definition.exists():
        absent = f"no classifier definition ({definition.name}) in this version"
    elif _is_stack(definition):
        absent = _spiking_stack_absent(definition)
    if absent:
        def rows(part, res):
            return [_row("MNIST test accuracy (%)", None, DIEHL_COOK_ACCURACY, source=paper_src, digits=1,
                         note=absent, kind="absent")]
        return Part("classifier", "Classifier", paper_src, [], rows, [], absent=absent)
    # a shipped definition by its name (as the generative part): the command reads the same from a wheel
    name = definition.stem if definition == _shipped(definition.name) else definition
    argv = ["train", name, "--backend", "spiking", "--no-progress", "--seed", ctx.seed, "--out", d,
            "--json", d / "train.json"]
    note = ""
    if ctx.mode == "quick":
        # samples through --set: the definition's 50,000 would not pass validation against the smaller pool
        argv[4:4] = [*QUICK["classifier_embedded"], "--set", f"training.samples={QUICK['classifier_samples']}"]
        note = (f"the full-size network on the embedded digits, {QUICK['classifier_samples']} samples, "
                "500 test digits: not the paper's protocol")
    steps = [Step("train", argv, d / "train.json")]

    def rows(part, res):
        t = res["train"]

        def percent(key):
            v = t.get(key)
            return 100.0 * v if isinstance(v, (int, float)) else None

        # the spiking network's own read-out is the figure compared with Diehl & Cook's spiking network; the
        # rate pass of its weights (every backend's test_accuracy) is shown next to it
        own = percent("test_accuracy_spiking_readout")
        out = [_row("MNIST test accuracy (%)", own if own is not None else percent("test_accuracy"),
                    DIEHL_COOK_ACCURACY, step=part.steps[0], source=paper_src, digits=1)]
        if own is not None:
            out.append(_row("MNIST test accuracy (%), rate pass of the learned weights", percent("test_accuracy"),
                            None, step=part.steps[0], source=paper_src, digits=1))
        return out
    return Part("classifier", "Classifier", paper_src, steps, rows, [], note=note)


def _generative(ctx):
    d = ctx.part_dir("generative")
    train = ["generative", "train", "--no-progress", "--seed", ctx.seed, "--out", d, "--json", d / "train.json"]
    evaluate = ["generative", "evaluate", "--seed", ctx.seed, "--out", d, "--json", d / "evaluate.json"]
    if ctx.mode == "quick":
        train[2:2] = ["--config", "generative_small", "--data-source", "embedded",
                      "--epochs", QUICK["generative_epochs"]]
        evaluate[2:2] = ["--data-source", "embedded", "--n-samples", QUICK["generative_samples"], "--no-ceiling",
                         "--curve-steps", 10]
        note = ("small model (784-100-10) on the embedded 2,000/500 digits, "
                f"{QUICK['generative_samples']} samples: not comparable with the paper's numbers")
    else:
        evaluate[2:2] = ["--screen-priors"]
        note = "784-1000-100 on full MNIST, 10,000 samples, the paper's protocol"
    steps = [Step("train", train, d / "train.json"), Step("evaluate", evaluate, d / "evaluate.json")]

    def rows(part, res):
        e = res["evaluate"]
        s = part.steps[1]
        out = [
            _row("Parzen LL, GENERATE (this model)", e.get("parzen_ll"), 236.0, half=_sem95(e.get("parzen_sem")),
                 step=s, source=PAPER_TABLE_SOURCE, note=f"σ {e.get('sigma')}; ± 1.96 s.e.m."),
            _row("Parzen LL, directed sampling only", e.get("parzen_ll_directed"), 126.0,
                 half=_sem95(e.get("parzen_sem_directed")), step=s, source=PAPER_TABLE_SOURCE),
        ]
        if e.get("parzen_ll_best_prior") is not None:
            out.append(_row("Parzen LL, GENERATE with a prior chosen on validation", e["parzen_ll_best_prior"], _NO_PAPER,
                            half=_sem95(e.get("parzen_sem_best_prior")), step=s, note=str(e.get("best_prior"))))
        if e.get("ceiling_real_data_ll") is not None:
            out.append(_row("ceiling: real training digits as samples", e["ceiling_real_data_ll"], _NO_PAPER,
                            half=_sem95(e.get("ceiling_real_data_sem")), step=s))
        for name, value in (("DBN", 138.0), ("Stacked CAE", 121.0), ("Deep GSN", 214.0), ("GAN", 225.0)):
            out.append(_row(f"comparison row: {name}", None, value, source=PAPER_TABLE_SOURCE, kind="paper only"))
        curve = e.get("log_p_curve") or {}
        if curve.get("mean"):
            steps = curve.get("step") or [len(curve["mean"]) - 1]
            out.append(_row(f"Fig. 4: change of log p(x, h) over {steps[-1]} INFERENCE iterations (nats)",
                            curve["mean"][-1] - curve["mean"][0], "rises", step=s, source="Bengio et al. 2015, Fig. 4",
                            note=f"data term log p(x|h1) {curve['log_px_h1'][-1] - curve['log_px_h1'][0]:+.2f}; "
                                 f"fraction of digits whose total rose {curve.get('fraction_increased')}"
                            if curve.get("log_px_h1") else ""))
        out.append(_row("Fig. 5: in-painting, MSE of the missing half after in-painting", e.get("inpaint_mse_end"),
                        "figure only", step=s, source="Bengio et al. 2015, Fig. 5",
                        note=f"before in-painting {_fmt(e.get('inpaint_mse_start'))}"))
        return out

    figs = [("Fig. 4: GENERATE samples", d / "samples.png"), ("Fig. 4: log p(x, h) during inference",
                                                                 d / "log_p_curve.png"),
            ("Fig. 5: in-painting", d / "inpaint.png"), ("Training history", d / "training_history.png")]
    return Part("generative", "Deep generative model (Algorithm 2)", "Bengio et al. 2015, Algorithm 2, Table 1, "
                "Figs. 4–5", steps, rows, figs, note=note)


def _sem95(sem):
    return None if sem is None else 1.96 * sem


_METHOD = {"vpf": "VPF", "cd": "CD-1", "pcd": "PCD"}


def _vpf(ctx):
    d = ctx.part_dir("vpf")
    claim = "< 1 (claim: VPF reconstructs better)"
    src = "Liu, Quek & Lin 2018 (claim, no number)"
    if ctx.mode == "quick":
        argv = ["vpf", "compare", "--datasets", "mnist", "--source", "embedded", *QUICK["vpf"], "--quiet",
                "--checkpoint-dir", d / "checkpoints", "--seed", ctx.seed, "--out", d, "--json", d / "vpf_compare.json"]
        steps = [Step("compare", argv, d / "vpf_compare.json")]

        def rows(part, res):
            c, s = res["compare"], part.steps[0]
            by = {(r.get("dataset"), r.get("method")): r for r in _compare_rows(c)}
            out = []
            for m in ("vpf", "cd", "pcd"):
                r = by.get(("mnist", m), {})
                out += [_row(f"MNIST {_METHOD[m]}: MSE, 50 % pixels unknown", r.get("recon_mse_dropout50"), _NO_PAPER,
                             step=s),
                        _row(f"MNIST {_METHOD[m]}: MSE, bottom half occluded", r.get("recon_mse_occlusion"), _NO_PAPER,
                             step=s)]
            v, cd = by.get(("mnist", "vpf"), {}), by.get(("mnist", "cd"), {})
            for key, q in (("recon_mse_occlusion", "VPF / CD-1, bottom half occluded"),
                           ("recon_mse_dropout50", "VPF / CD-1, 50 % pixels unknown")):
                ratio = v[key] / cd[key] if v.get(key) and cd.get(key) else None
                out.append(_row(q, ratio, claim, step=s, source=src))
            return out

        figs = [(f"Reconstructions: {c}", d / f"vpf_mnist_recon_{c}.png") for c in ("dropout50", "occlusion")]
        note = (f"784-{QUICK['vpf'][1]} RBM on the embedded digits, {QUICK['vpf'][3]} epochs, reduced evaluation, "
                "one seed")
    else:
        steps = [_sweep_step(ctx, "vpf", "vpf_mnist_seeds", "vpf_mnist")]

        def rows(part, res):
            sm, s = res["vpf_mnist_seeds"], part.steps[0]
            out = []
            for m in ("vpf", "cd", "pcd"):
                for key, q in (("recon_mse_dropout50", "50 % pixels unknown"), ("recon_mse_occlusion",
                                                                                "bottom half occluded")):
                    mean, half, n = _sweep_metric(sm, {"method": m}, key)
                    out.append(_row(f"MNIST {_METHOD[m]}: MSE, {q}", mean, _NO_PAPER, half=half, n=n, step=s))
            for name, q in (("vpf_over_cd_occlusion", "VPF / CD-1, bottom half occluded (per seed)"),
                            ("vpf_over_cd_dropout50", "VPF / CD-1, 50 % pixels unknown (per seed)")):
                mean, half, n = _sweep_ratio(sm, name)
                out.append(_row(q, mean, claim, half=half, n=n, step=s, source=src))
            return out

        figs = [(f"{m} over seeds", ctx.sweeps_dir / "vpf_mnist" / "figures" / f"{m}.png")
                for m in ("recon_mse_occlusion", "recon_mse_dropout50")]
        note = "784-500 RBM, MNIST, seeds 0, 1, 2; mean ± 95 % half-width"
    return Part("vpf", "VPF vs CD-1 / PCD", "Liu, Quek & Lin 2018", steps, rows, figs, note=note)


def _compare_rows(result):
    """The per-(dataset, method) results of a ``vpf compare`` JSON."""
    return [r for r in result.get("results", []) if isinstance(r, dict)]


_BUILDERS = {"window": _window, "stdp_match": _stdp_match, "layer_pairs": _layer_pairs,
             "classifier": _classifier, "generative": _generative, "vpf": _vpf}


class _Context:
    def __init__(self, mode, out, seed, sweeps_dir):
        self.mode, self.out, self.seed = mode, Path(out), int(seed)
        default = DEFAULT_SWEEPS_DIR if DEFAULT_SWEEPS_DIR.is_dir() else self.out / "sweeps"
        self.sweeps_dir = Path(sweeps_dir) if sweeps_dir else default

    def part_dir(self, name):
        return self.out / "parts" / name


def build_parts(mode, out, seed=0, sweeps_dir=None, names=PART_NAMES):
    """The parts of a report, with their command lines (nothing runs).

    Parameters
    ----------
    mode : {'quick', 'full'}
        Reduced sizes on the embedded data, or the README's headline runs.
    out : str or Path
        The report folder (each part works in ``OUT/parts/<part>/``).
    seed : int
        Seed of the single commands (the sweeps take theirs from their sweep files).
    sweeps_dir : str or Path, optional
        Folder with the sweeps' results (``full``; default ``docs/results/sweeps`` of the checkout).
    names : sequence of str
        Which parts.

    Returns
    -------
    list of Part
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    unknown = [n for n in names if n not in _BUILDERS]
    if unknown:
        raise ConfigError(f"unknown part {unknown[0]!r} (parts: {', '.join(PART_NAMES)})")
    ctx = _Context(mode, out, seed, sweeps_dir)
    return [_BUILDERS[n](ctx) for n in names]


def _named_definitions(argv):
    """SHA-256 of the text of every shipped definition (network or sweep) an argument names, by name.

    A command line that names a definition (``classifier_mnist``, ``networks/x.toml``, a sweep) runs
    what that file says, so an edited definition is a changed configuration. Names are resolved as the
    commands resolve them (:func:`spiking_bpdl.spec.resolve_definition`); only a ``.toml`` path or a
    bare name can name one (never an option or an output path).
    """
    from .spec import resolve_definition

    found = {}
    for a in map(str, argv):
        if a.startswith("-") or not (a.endswith(".toml") or Path(a).name == a):
            continue
        for kind in ("network", "sweep"):
            try:
                found[a] = hashlib.sha256(resolve_definition(a, kind).read_bytes()).hexdigest()
                break
            except ConfigError:
                continue
    return found


def config_hash(part, mode, out):
    """Hash of a part's configuration: mode, command lines (the report folder abstracted) and the
    text of every shipped definition they name.

    Two runs with the same hash would run the same commands on the same definitions, so the second one
    reuses the first's results. The code version is not part of it (it is recorded in the provenance).
    """
    prefix = str(Path(out))
    lines = [[str(a).replace(prefix, "$OUT", 1) if str(a).startswith(prefix) else str(a) for a in s.argv]
             for s in part.steps]
    definitions = {k: v for s in part.steps for k, v in _named_definitions(s.argv).items()}
    text = json.dumps({"part": part.name, "mode": mode, "steps": lines, "absent": part.absent,
                       "definitions": definitions}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- running

def _last_line(text):
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:400] if lines else ""


def _run_step(step, log_path, env):
    """Run one command in a subprocess; returns its record (status, wall time, error line)."""
    argv = [sys.executable, "-m", "spiking_bpdl.cli", *map(str, step.argv)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log_path, "w") as fh:
        proc = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, env=env)
    wall = time.perf_counter() - t0
    record = {"name": step.name, "command": step.command, "argv": [str(a) for a in step.argv],
              "json": str(step.json), "log": str(log_path), "returncode": proc.returncode, "wall_s": round(wall, 2),
              "sweep": step.sweep}
    if proc.returncode == 0 and not step.json.exists():
        record.update(status=STATUS_FAILED, error=f"the command wrote no {step.json.name}")
    elif proc.returncode != 0:
        record.update(status=STATUS_FAILED, error=_last_line(log_path.read_text(errors="replace"))
                      or f"exit status {proc.returncode}")
    else:
        record.update(status=STATUS_OK, error=None)
    if step.sweep and step.json.exists():
        record["task_time_s"] = _sweep_task_time(step)
    return record


def _sweep_task_time(step):
    """Sum of the task wall times in the sweep's results.csv (what the rows cost when they ran)."""
    import csv

    folder = Path(step.argv[step.argv.index("--out") + 1])
    try:
        with open(folder / "results.csv", newline="") as fh:
            return round(sum(float(r.get("task_wall_s") or 0) for r in csv.DictReader(fh)), 1)
    except (OSError, ValueError):
        return None


def _extract(part, steps_by_name):
    """Rows of a part from its steps' JSON; an error while reading becomes the part's error."""
    results = {}
    for step in part.steps:
        results[step.name] = read_json(step.json)
    rows = part.rows(part, results)
    for row in rows:
        rec = steps_by_name.get(row["step"]) if row["step"] else None
        # a resumed sweep's call takes seconds; what its numbers cost is the summed time of its tasks
        wall = (rec.get("task_time_s") if rec.get("sweep") else rec["wall_s"]) if rec else None
        row.update(part=part.name, command=rec["command"] if rec else None, wall_s=wall,
                   json=rec["json"] if rec else None)
    return rows


def _run_part(part, mode, out, env, force, log):
    pdir = Path(out) / "parts" / part.name
    record_path = pdir / "part.json"
    digest = config_hash(part, mode, out)
    if part.absent:
        pdir.mkdir(parents=True, exist_ok=True)
        record = {"part": part.name, "title": part.title, "mode": mode, "status": STATUS_ABSENT, "error": None,
                  "note": part.absent, "config_hash": digest, "steps": [], "wall_s": 0.0, "reused": False}
        record["rows"] = [dict(r, part=part.name, command=None, wall_s=None, json=None) for r in part.rows(part, {})]
        record["provenance"] = _provenance({"mode": mode, "steps": []})
        write_json(record_path, record)
        log(f"reproduce: {part.name}: {part.absent} (not a failure)")
        return record
    if record_path.exists() and not force:
        try:
            before = read_json(record_path)
        except (OSError, ValueError):
            before = {}
        if (before.get("config_hash") == digest and before.get("status") == STATUS_OK
                and all(s.json.exists() for s in part.steps)):
            steps = {s["name"]: s for s in before.get("steps", [])}
            try:
                rows = _extract(part, steps)
            except Exception as exc:  # a result that no longer reads: run the part again
                log(f"reproduce: {part.name}: earlier results do not read ({exc}); running again")
            else:
                log(f"reproduce: {part.name}: same configuration as the earlier run (hash {digest}); reused")
                return dict(before, rows=rows, reused=True)
    if pdir.exists():  # a rerun starts clean (train and generative train refuse stale checkpoints)
        shutil.rmtree(pdir)
    pdir.mkdir(parents=True)
    t0 = time.perf_counter()
    records, error = [], None
    for i, step in enumerate(part.steps, 1):
        log(f"reproduce: {part.name}: step {i}/{len(part.steps)} {step.name}: {step.command}")
        rec = _run_step(step, pdir / "logs" / f"{step.name}.log", env)
        records.append(rec)
        log(f"reproduce: {part.name}: step {step.name} {rec['status']} in {rec['wall_s']:.1f} s"
            + (f" - {rec['error']}" if rec["error"] else ""))
        if rec["status"] != STATUS_OK:
            error = f"{step.name}: {rec['error']}"
            break
    rows = []
    if error is None:
        try:
            rows = _extract(part, {r["name"]: r for r in records})
        except Exception as exc:  # the command ran but its JSON lacks what the report reads
            error = f"reading the results: {exc.__class__.__name__}: {exc}"
    record = {"part": part.name, "title": part.title, "mode": mode, "status": STATUS_OK if error is None else
              STATUS_FAILED, "error": error, "note": part.note, "config_hash": digest, "steps": records,
              "wall_s": round(time.perf_counter() - t0, 2), "reused": False, "rows": rows}
    record["provenance"] = _provenance({"mode": mode, "steps": [r["argv"] for r in records]})
    write_json(record_path, record)
    return record


def _provenance(config):
    commit, dirty = git_state()
    return {"version": __version__, "git_commit": commit, "git_dirty": dirty, "python": sys.version.split()[0],
            "config": config}


def run_report(mode, out, parts=None, force=(), seed=0, sweeps_dir=None, data_dir=None, argv=None, log=None):
    """Run (or reuse) the selected parts and write ``report.md``, ``report.html`` and ``report.json``.

    Parameters
    ----------
    mode : {'quick', 'full'}
        Reduced sizes on the embedded data, or the README's headline runs.
    out : str or Path
        Report folder.
    parts : sequence of str, optional
        Parts to run (default all). Parts not selected appear in the report from an earlier run
        in ``out`` when there is one.
    force : sequence of str
        Parts to run again even when their configuration is unchanged.
    seed : int
        Seed of the single commands.
    sweeps_dir : str or Path, optional
        Sweep results folder for ``full`` (default the committed ``docs/results/sweeps``).
    data_dir : str or Path, optional
        Dataset folder, given to every command as ``$SPIKING_BPDL_DATA``.
    argv : list of str, optional
        The ``reproduce`` command line (recorded in the report).
    log : callable, optional
        Progress lines (default: stderr).

    Returns
    -------
    dict
        The report (``parts``, ``rows``, ``failed``, timing and load), as written to ``report.json``.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    selected = list(parts or PART_NAMES)
    built = build_parts(mode, out, seed=seed, sweeps_dir=sweeps_dir)
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "Agg")
    if data_dir is not None:
        env["SPIKING_BPDL_DATA"] = str(data_dir)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    load_before = _loadavg()
    t0 = time.perf_counter()
    records = {}
    todo = [p for p in built if p.name in selected]
    for i, part in enumerate(todo, 1):
        log(f"reproduce: [{i}/{len(todo)}] {part.name} ({mode})")
        records[part.name] = _run_part(part, mode, out, env, part.name in force, log)
        records[part.name]["figures"] = [{"caption": c, "path": str(p), "exists": Path(p).exists()}
                                         for c, p in part.figures]
    for part in built:  # parts not selected: shown from an earlier run of the same mode, if any
        if part.name in records:
            continue
        rec_path = out / "parts" / part.name / "part.json"
        rec = None
        if rec_path.exists():
            try:
                rec = read_json(rec_path)
            except (OSError, ValueError):
                rec = None
        if rec and rec.get("mode") == mode:
            rec.update(earlier_run=True, figures=[{"caption": c, "path": str(p), "exists": Path(p).exists()}
                                                   for c, p in part.figures])
            records[part.name] = rec
        else:
            records[part.name] = {"part": part.name, "title": part.title, "status": "not run", "rows": [],
                                  "steps": [], "figures": [], "error": None, "note": "not selected (--only)"}
    wall = time.perf_counter() - t0
    failed = [n for n in selected if records[n]["status"] == STATUS_FAILED]
    commit, dirty = git_state()
    report = {
        "mode": mode, "seed": seed, "selected": selected, "forced": list(force), "failed": failed,
        "wall_s": round(wall, 1), "cpu_count": os.cpu_count(), "load_average_start": load_before,
        "load_average_end": _loadavg(), "sweeps_dir": str(Path(sweeps_dir) if sweeps_dir else DEFAULT_SWEEPS_DIR)
        if mode == "full" else None,
        "parts": {n: {k: v for k, v in records[n].items() if k != "rows"} for n in PART_NAMES},
        "rows": [r for n in PART_NAMES for r in records[n].get("rows", [])],
        "provenance": {"version": __version__, "git_commit": commit, "git_dirty": dirty,
                       "command": shlex.join(["spiking-bpdl", *(argv or ["reproduce", f"--{mode}", "--out", str(out)])]),
                       "python": sys.version.split()[0]},
    }
    for n in PART_NAMES:
        path = out / "parts" / n / "part.json"
        report["parts"][n]["json"] = str(path) if path.exists() else None
    write_json(out / "report.json", report)
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(render_markdown(report, out))
    with atomic_path(out / "report.html") as tmp:
        tmp.write_text(render_html(report, out))
    log(f"reproduce: {len(selected) - len(failed)} of {len(selected)} part(s) ok in {wall:.0f} s; "
        f"{out / 'report.md'}, {out / 'report.html'}, {out / 'report.json'}")
    return report


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ----------------------------------------------------------------------------- rendering

def _fmt(x, half=None, digits=None):
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return str(x)
    if x != x:
        return "—"
    if digits is not None:
        text = f"{x:.{digits}f}"
    else:
        text = f"{x:.3e}" if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5) else f"{x:.4g}"
    if half is not None:
        text += f" ± {half:.2g}"
    return text


def format_row(row):
    """Our number and the paper's of one report row, as text.

    Parameters
    ----------
    row : dict
        A row of ``report.json`` (``ours``, ``ours_half_width``, ``n_seeds``, ``paper``, ``digits``).

    Returns
    -------
    tuple of str
        ``(ours, paper)``, e.g. ``("0.0399 ± 0.00076 (n=3)", "—")``; the report and
        ``scripts/readme_tables.py`` both write them this way.
    """
    digits = row.get("digits")
    ours = _fmt(row.get("ours"), row.get("ours_half_width"), digits)
    if row.get("n_seeds"):
        ours += f" (n={row['n_seeds']})"
    return ours, _fmt(row.get("paper"), digits=digits)


def _rel(path, out):
    try:
        return os.path.relpath(Path(path).resolve(), Path(out).resolve())
    except ValueError:
        return str(path)


def _part_header(rec):
    status = rec.get("status")
    extra = []
    if rec.get("reused"):
        extra.append("reused: same configuration as an earlier run")
    if rec.get("earlier_run"):
        extra.append("from an earlier run (not selected this time)")
    wall = rec.get("wall_s")
    return status, (f"{wall:.1f} s" if isinstance(wall, (int, float)) else "—"), "; ".join(extra)


_COLUMNS = ("quantity", "ours", "paper", "paper source", "note", "command", "wall time")


def _cells(row):
    """The texts of one report row, in the order of ``_COLUMNS``."""
    ours, paper = format_row(row)
    wall = f"{row['wall_s']:.1f} s" if isinstance(row.get("wall_s"), (int, float)) else "—"
    return [row["quantity"], ours, paper, row.get("paper_source") or "", row.get("note") or "",
            row.get("command") or "—", wall]


def md_cell(text):
    """``text`` as one Markdown table cell (pipes escaped, on one line)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report, out):
    """The report as Markdown.

    Parameters
    ----------
    report : dict
        The report as returned by :func:`run_report` (and written to ``report.json``).
    out : str or Path
        The report folder: figures and part JSON files are linked relative to it.

    Returns
    -------
    str
    """
    lines = [f"# spiking-bpdl reproduce ({report['mode']})", "",
             f"Command: `{report['provenance']['command']}`; version {report['provenance']['version']}, commit "
             f"{report['provenance']['git_commit']}{' (dirty)' if report['provenance']['git_dirty'] else ''}; "
             f"total wall time {report['wall_s']:.0f} s on {report['cpu_count']} CPU(s), load average "
             f"{report['load_average_start']} at the start, {report['load_average_end']} at the end.", "",
             "| part | status | wall time | note |", "|---|---|---|---|"]
    for n in PART_NAMES:
        rec = report["parts"][n]
        status, wall, extra = _part_header(rec)
        note = "; ".join(x for x in (rec.get("error") or "", rec.get("note") or "", extra) if x)
        lines.append(f"| [{n}](#{n}) | {status} | {wall} | {md_cell(note)} |")
    lines.append("")
    for n in PART_NAMES:
        rec = report["parts"][n]
        status, wall, extra = _part_header(rec)
        lines += [f"## {n}", "", f"**{rec.get('title', n)}** — status **{status}**, {wall}"
                  + (f" ({extra})" if extra else "") + (f"; resolved configuration and provenance: "
                  f"[{_rel(rec['json'], out)}]({_rel(rec['json'], out)})" if rec.get("json") else ""), ""]
        if rec.get("note"):
            lines += [f"_{rec['note']}_", ""]
        if rec.get("error"):
            lines += [f"**Error:** `{rec['error']}`", ""]
        rows = [r for r in report["rows"] if r["part"] == n]
        if rows:
            lines += ["| " + " | ".join(_COLUMNS) + " |", "|---|---:|---:|---|---|---|---:|"]
            for r in rows:
                cells = [md_cell(c) for c in _cells(r)]
                cells[5] = f"`{cells[5]}`" if r.get("command") else cells[5]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
        for st in rec.get("steps", []):
            if st.get("sweep"):
                lines.append(f"* sweep `{st['name']}`: task time of its rows {st.get('task_time_s')} s "
                             f"(this call {st['wall_s']:.1f} s)")
        for fig in rec.get("figures", []):
            if fig["exists"]:
                lines += [f"![{fig['caption']}]({_rel(fig['path'], out)})", ""]
        lines.append("")
    return "\n".join(lines) + "\n"


def _img_data(path):
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f"data:image/png;base64,{data}"


def render_html(report, out):
    """The report as one self-contained HTML page.

    Parameters
    ----------
    report : dict
        The report as returned by :func:`run_report`.
    out : str or Path
        The report folder (the part JSON files are linked relative to it; figures are embedded
        as data URIs, so the page works on its own).

    Returns
    -------
    str
    """
    e = html.escape
    css = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;}table{border-collapse:collapse;"
           "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}"
           ".ok{color:#060}.failed{color:#a00;font-weight:bold}code{font-size:90%}img{max-width:560px;margin:4px}")
    p = report["provenance"]
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>spiking-bpdl reproduce "
             f"({e(report['mode'])})</title><style>{css}</style></head><body>",
             f"<h1>spiking-bpdl reproduce ({e(report['mode'])})</h1>",
             f"<p>Command: <code>{e(p['command'])}</code>; version {e(str(p['version']))}, commit "
             f"{e(str(p['git_commit']))}; total wall time {report['wall_s']:.0f} s on {report['cpu_count']} CPU(s), "
             f"load average {e(str(report['load_average_start']))} → {e(str(report['load_average_end']))}.</p>",
             "<table><tr><th>part</th><th>status</th><th>wall time</th><th>note</th></tr>"]
    for n in PART_NAMES:
        rec = report["parts"][n]
        status, wall, extra = _part_header(rec)
        note = "; ".join(x for x in (rec.get("error") or "", rec.get("note") or "", extra) if x)
        cls = "failed" if status == STATUS_FAILED else "ok" if status == STATUS_OK else ""
        parts.append(f"<tr><td><a href='#{n}'>{n}</a></td><td class='{cls}'>{e(str(status))}</td><td>{wall}</td>"
                     f"<td>{e(note)}</td></tr>")
    parts.append("</table>")
    for n in PART_NAMES:
        rec = report["parts"][n]
        status, wall, extra = _part_header(rec)
        rel = _rel(rec["json"], out) if rec.get("json") else None
        link = f"; configuration and provenance: <a href='{e(rel)}'>{e(rel)}</a>" if rel else ""
        parts.append(f"<h2 id='{n}'>{n}: {e(rec.get('title', n))}</h2><p>status <b>{e(str(status))}</b>, {wall}"
                     f"{(' (' + e(extra) + ')') if extra else ''}{link}</p>")
        if rec.get("note"):
            parts.append(f"<p><i>{e(rec['note'])}</i></p>")
        if rec.get("error"):
            parts.append(f"<p class='failed'>Error: <code>{e(rec['error'])}</code></p>")
        rows = [r for r in report["rows"] if r["part"] == n]
        if rows:
            parts.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in _COLUMNS) + "</tr>")
            for r in rows:
                cells = [e(c) for c in _cells(r)]
                cells[5] = f"<code>{cells[5]}</code>"
                parts.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            parts.append("</table>")
        for fig in rec.get("figures", []):
            if fig["exists"]:
                parts.append(f"<figure style='display:inline-block'><img src='{_img_data(fig['path'])}' "
                             f"alt='{e(fig['caption'])}'><figcaption>{e(fig['caption'])}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
