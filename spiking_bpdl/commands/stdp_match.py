"""Measure spiking STDP updates against the rate-based gradient rule (issue 3, parts B and C).

Part B: N Poisson pre-synaptic neurons (10-80 Hz) and M noisy LIF neurons whose drive
ramps up or down at different speeds (rates between 5 and 55 Hz), replicated --trials
times inside ONE Brian2 network and ONE run. Per synapse, the mean update over trials is
compared with (1) the kernel-rate prediction from the trial-averaged post rate and (2) the
analytic prediction from the LIF (Siegert) transfer function in derivative form. Also
measured: an unbalanced window (the rho_pre*rho_post baseline), the box-window edge
terms, and the correlation term when the pre-synaptic neurons drive the post ones.

Part C: a layer whose output rates are nudged toward targets; cosine similarity between
the mean STDP update matrix and -dJ/dW of the rate model (--gradient-trials).

JSON keys: kernel_rate and analytic ({pearson_r, slope, slope_ci95, intercept, n}),
correlation_term, n_trials, n_synapses, cosine_gradient, gradient {cosine_vs_trials,
trials_needed_095, n_trials}, unbalanced, edges, convergence, throughput_synapse_trials_per_s,
wall_s, target, meets_targets. Arrays: OUT/stdp_match.npz. Figures: OUT/stdp_match_*.png.

Example:
  spiking-bpdl stdp-match --json results/stdp_match.json --out results
"""

import time

from . import _common

NAME = "stdp-match"
HELP = "spiking STDP vs the rate gradient rule: kernel-rate, analytic, gradient cosine"

__all__ = ["NAME", "HELP", "add_arguments", "run"]


def add_arguments(parser):
    """Options of ``stdp-match``."""
    parser.add_argument("--rule", choices=("pair", "voltage-derivative"), default="pair",
                        help="plasticity rule (default pair, balanced window, tau 20 ms)")
    parser.add_argument("--trials", type=_common.positive_int, default=300,
                        help="replicas for part B (default 300)")
    parser.add_argument("--gradient-trials", type=int, default=1000,
                        help="replicas for part C (default 1000; 0 skips part C)")
    parser.add_argument("--n-pre", type=_common.positive_int, default=20, help="pre-synaptic neurons (default 20)")
    parser.add_argument("--n-post", type=_common.positive_int, default=20, help="post-synaptic neurons (default 20)")
    parser.add_argument("--window", type=_common.positive_float, default=250.0,
                        help="plasticity window T in ms (default 250)")
    parser.add_argument("--coupling", type=_common.nonneg_float, default=0.5,
                        help="EPSP (mV) of the driven post neurons for the correlation term (default 0.5; 0 = off)")
    _common.add_common(parser, target=True, data=False)


def run(args):
    """Run parts B and C and write JSON, NPZ and figures."""
    from ..errors import ConfigError

    if args.gradient_trials < 0 or args.gradient_trials == 1:
        raise ConfigError("--gradient-trials must be 0 (skip) or >= 2")
    if args.trials < 2:
        raise ConfigError("--trials must be >= 2")
    import numpy as np

    from .._io import save_figure, save_npz
    from ..experiments import stdp_plots
    from ..experiments.stdp_match import default_setup, gradient_experiment, match_experiment

    t0 = time.perf_counter()
    setup = default_setup(n_pre=args.n_pre, n_post=args.n_post, T=args.window * 1e-3, coupling=args.coupling * 1e-3)
    res = match_experiment(trials=args.trials, rule=args.rule, setup=setup, seed=args.seed, target=args.target)
    summary, arrays = res["summary"], res["arrays"]
    grad = None
    if args.gradient_trials:
        grad = gradient_experiment(trials=args.gradient_trials, seed=args.seed, target=args.target, rule=args.rule)
        arrays.update(gradient_update=grad["update"], gradient=grad["gradient"], gradient_W=grad["W"],
                      gradient_x=grad["x"], gradient_y=grad["y"], gradient_rho=grad["rho"],
                      gradient_conv_trials=grad["cosine_vs_trials"]["trials"],
                      gradient_conv_cosine=grad["cosine_vs_trials"]["cosine"])
    wall = time.perf_counter() - t0
    kr, an = summary["kernel_rate"], summary["analytic"]
    result = dict(summary)
    result.update({
        "cosine_gradient": None if grad is None else grad["cosine"],
        "gradient": None if grad is None else {
            "n_trials": grad["n_trials"], "cosine_vs_trials": grad["cosine_vs_trials"],
            "trials_needed_095": grad["trials_needed_095"], "beta_mV_per_10Hz": grad["beta_mV_per_10Hz"],
            "n_in": int(grad["W"].shape[1]), "n_out": int(grad["W"].shape[0]), "sim_wall_s": grad["wall_s"]},
        "wall_s": wall, "target": args.target, "seed": args.seed,
        "targets": {"kernel_rate_r": 0.98, "kernel_rate_slope_tolerance": 0.05, "analytic_r": 0.95,
                    "cosine_gradient": 0.95},
    })
    result["meets_targets"] = {
        "kernel_rate": bool(kr["pearson_r"] >= 0.98 and abs(kr["slope"] - 1) <= 0.05),
        "analytic": bool(an["pearson_r"] >= 0.95),
        "cosine_gradient": None if grad is None else bool(grad["cosine"] >= 0.95),
    }
    out = _common.out_dir(args)
    save_npz(out / "stdp_match.npz", **{k: np.asarray(v) for k, v in arrays.items()})
    save_figure(stdp_plots.plot_match_scatter(arrays["measured"], arrays["kernel_rate"],
                                              title=f"kernel-rate: r={kr['pearson_r']:.3f}, slope={kr['slope']:.3f}",
                                              xlabel="kernel-rate prediction (1)", sem=arrays["sem"]),
                out / "stdp_match_kernel_rate.png")
    save_figure(stdp_plots.plot_match_scatter(arrays["measured"], arrays["analytic"],
                                              title=f"analytic: r={an['pearson_r']:.3f}, slope={an['slope']:.3f}",
                                              xlabel="analytic prediction (2)", sem=arrays["sem"]),
                out / "stdp_match_analytic.png")
    save_figure(stdp_plots.plot_convergence(arrays["conv_trials"], [arrays["conv_r_kernel"], arrays["conv_r_analytic"]],
                                            labels=["kernel-rate (1)", "analytic (2)"]),
                out / "stdp_match_convergence.png")
    if grad is not None:
        save_figure(stdp_plots.plot_gradient_match(grad["update"], grad["gradient"],
                                                   title=f"cosine with -dJ/dW: {grad['cosine']:.3f}"),
                    out / "stdp_match_gradient.png")
    thr = summary["throughput_synapse_trials_per_s"]
    line = (f"stdp-match {args.rule}: kernel-rate r={kr['pearson_r']:.4f} slope={kr['slope']:.3f} "
            f"[{kr['slope_ci95'][0]:.3f}, {kr['slope_ci95'][1]:.3f}]; analytic r={an['pearson_r']:.4f} "
            f"slope={an['slope']:.3f}; cosine_gradient="
            f"{'n/a' if grad is None else format(grad['cosine'], '.3f')}; "
            f"{summary['n_synapses_simulated']} synapse-trials at {thr:,.0f} synapse-trials/s; wall {wall:.0f} s")
    _common.finish(args, "stdp_match", result, summary=line)
    return result
