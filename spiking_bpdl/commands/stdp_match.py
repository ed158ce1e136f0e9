"""Measure spiking STDP updates against the rate-based gradient rule (parts B and C).

Part B: N Poisson pre-synaptic neurons (10-80 Hz) and M noisy LIF neurons whose drive
ramps up or down at different speeds (rates between 5 and 55 Hz), replicated --trials
times inside ONE Brian2 network and ONE run. Per synapse, the mean update over trials is
compared with two predictions that show different things (JSON ``comparisons``):
(1) kernel-rate = bookkeeping: the expected update *given the measured post spikes*, which
checks the pair accounting; (2) analytic = the rate theory: the Siegert rate of the imposed
drive in derivative form, nothing measured (``analytic.check``: slope CI contains 1 and r is
above the bound that the trial count allows). Also measured: an unbalanced window (the
rho_pre*rho_post baseline), the box-window edge terms, and the correlation term when the
pre-synaptic neurons drive the post ones.

Part C (--gradient-trials): a wired spiking layer (Poisson inputs -> LIF outputs through
synapses with weights W) learns targets with a teacher current beta (y - rhat) built from
each output's own filtered spikes; cosine between the mean pair-STDP update (contrastive
gating, accumulated apart from W) and -dJ/dW of the rate twin (Siegert), with a bootstrap
CI and two controls (shuffled targets, no nudge) simulated in the same run.

JSON keys: comparisons, kernel_rate and analytic ({pearson_r, slope, slope_ci95, intercept, n};
analytic.check {pearson_r, r_bound, slope_ci95, slope_ok, r_ok, passes}), correlation_term,
n_trials, n_synapses, cosine_gradient, cosine_gradient_ci95, cosine_gradient_control
{shuffled_targets, no_nudge}, gradient_wired, gradient_trials, gradient (details), unbalanced,
edges, convergence, throughput_synapse_trials_per_s, wall_s, target, targets, meets_targets.
Arrays: OUT/stdp_match.npz. Figures: OUT/stdp_match_*.png.

Example:
  spiking-bpdl stdp-match --json results/stdp_match.json --out results
"""

import time

from . import _common

NAME = "stdp-match"
HELP = "spiking STDP vs the rate gradient rule: kernel-rate, analytic, gradient cosine"

__all__ = ["NAME", "HELP", "add_arguments", "validate", "run"]


def add_arguments(parser):
    """Options of ``stdp-match``."""
    parser.add_argument("--rule", choices=("pair", "voltage-derivative"), default="pair",
                        help="plasticity rule (default pair, balanced window, tau 20 ms)")
    parser.add_argument("--trials", type=_common.positive_int, default=300,
                        help="replicas for part B (default 300)")
    parser.add_argument("--gradient-trials", type=int, default=1000,
                        help="replicas per condition for part C (default 1000; 0 skips part C)")
    parser.add_argument("--n-pre", type=_common.positive_int, default=20, help="pre-synaptic neurons (default 20)")
    parser.add_argument("--n-post", type=_common.positive_int, default=20, help="post-synaptic neurons (default 20)")
    parser.add_argument("--window", type=_common.positive_float, default=250.0,
                        help="plasticity window T in ms (default 250)")
    parser.add_argument("--coupling", type=_common.nonneg_float, default=0.5,
                        help="EPSP (mV) of the driven post neurons for the correlation term (default 0.5; 0 = off)")
    _common.add_common(parser, target=True, data=False)


def validate(args):
    """Check what argparse cannot, before any simulation (raises ConfigError)."""
    from ..errors import ConfigError

    if args.gradient_trials < 0 or args.gradient_trials == 1:
        raise ConfigError("--gradient-trials must be 0 (skip) or >= 2")
    if args.trials < 2:
        raise ConfigError("--trials must be >= 2")
    if args.n_pre < 2 or args.n_post < 2:
        raise ConfigError("--n-pre and --n-post must be >= 2 (a regression needs several synapses)")


def run(args):
    """Run parts B and C and write JSON, NPZ and figures."""
    validate(args)
    import numpy as np

    from .._io import save_figure, save_npz
    from ..experiments import stdp_plots
    from ..experiments.stdp_gradient import gradient_experiment
    from ..experiments.stdp_match import default_setup, match_experiment

    t0 = time.perf_counter()
    setup = default_setup(n_pre=args.n_pre, n_post=args.n_post, T=args.window * 1e-3, coupling=args.coupling * 1e-3)
    res = match_experiment(trials=args.trials, rule=args.rule, setup=setup, seed=args.seed, target=args.target)
    summary, arrays = res["summary"], res["arrays"]
    grad = None
    if args.gradient_trials:
        gres = gradient_experiment(trials=args.gradient_trials, seed=args.seed, target=args.target)
        grad = gres["summary"]
        arrays.update({f"gradient_{k}" if k != "gradient" else k: v for k, v in gres["arrays"].items()})
    wall = time.perf_counter() - t0
    kr, an = summary["kernel_rate"], summary["analytic"]
    result = dict(summary)
    result.update({
        "cosine_gradient": None if grad is None else grad["cosine"],
        "cosine_gradient_ci95": None if grad is None else grad["cosine_ci95"],
        "cosine_gradient_control": None if grad is None else grad["control"],
        "gradient_wired": None if grad is None else True,
        "gradient_trials": args.gradient_trials or None,
        "gradient": grad,
        "wall_s": wall, "target": args.target, "seed": args.seed,
        "targets": {"kernel_rate_r": 0.98, "kernel_rate_slope_tolerance": 0.05,
                    "analytic": "slope CI contains 1 and r >= r_bound (analytic.check)", "cosine_gradient": 0.90},
    })
    result["meets_targets"] = {
        "kernel_rate": bool(kr["pearson_r"] >= 0.98 and abs(kr["slope"] - 1) <= 0.05),
        "analytic": bool(an["check"]["passes"]),
        "cosine_gradient": None if grad is None else bool(grad["cosine"] >= 0.90),
    }
    out = _common.out_dir(args)
    save_npz(out / "stdp_match.npz", **{k: np.asarray(v) for k, v in arrays.items()})
    save_figure(stdp_plots.plot_match_scatter(arrays["measured"], arrays["kernel_rate"],
                                              title=f"kernel-rate (bookkeeping): r={kr['pearson_r']:.3f}, "
                                                    f"slope={kr['slope']:.3f}",
                                              xlabel="kernel-rate prediction (1)", sem=arrays["sem"]),
                out / "stdp_match_kernel_rate.png")
    save_figure(stdp_plots.plot_match_scatter(arrays["measured"], arrays["analytic"],
                                              title=f"analytic (theory): r={an['pearson_r']:.3f} "
                                                    f"(bound {an['check']['r_bound']:.3f}), slope={an['slope']:.3f}",
                                              xlabel="analytic prediction (2)", sem=arrays["sem"]),
                out / "stdp_match_analytic.png")
    save_figure(stdp_plots.plot_convergence(arrays["conv_trials"], [arrays["conv_r_kernel"], arrays["conv_r_analytic"]],
                                            labels=["kernel-rate (1)", "analytic (2)"]),
                out / "stdp_match_convergence.png")
    if grad is not None:
        save_figure(stdp_plots.plot_gradient_match(arrays["gradient_update"], arrays["gradient"],
                                                   title=f"wired layer: cosine with -dJ/dW {grad['cosine']:.3f} "
                                                         f"[{grad['cosine_ci95'][0]:.3f}, {grad['cosine_ci95'][1]:.3f}]"),
                    out / "stdp_match_gradient.png")
    thr = summary["throughput_synapse_trials_per_s"]
    gtxt = "n/a" if grad is None else (
        f"{grad['cosine']:.3f} [{grad['cosine_ci95'][0]:.3f}, {grad['cosine_ci95'][1]:.3f}] "
        f"({grad['n_trials']} trials; shuffled {grad['control']['shuffled_targets']['cosine']:.3f}, "
        f"no-nudge norm {grad['control']['no_nudge']['norm_ratio']:.2f})")
    line = (f"stdp-match {args.rule}: kernel-rate (bookkeeping) r={kr['pearson_r']:.4f} slope={kr['slope']:.3f}; "
            f"analytic (theory) r={an['pearson_r']:.4f} (bound {an['check']['r_bound']:.4f}) slope={an['slope']:.3f} "
            f"[{an['slope_ci95'][0]:.3f}, {an['slope_ci95'][1]:.3f}]; cosine_gradient={gtxt}; "
            f"{summary['n_synapses_simulated']} synapse-trials at {thr:,.0f} synapse-trials/s; wall {wall:.0f} s")
    _common.finish(args, "stdp_match", result, summary=line)
    return result
