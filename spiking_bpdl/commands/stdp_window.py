"""Measure an STDP window in Brian2 and write its points (JSON) and figure (PNG).

Rules:
  pair                event-driven pair STDP (spiking_bpdl.plasticity.PairSTDP): one
                      isolated pre/post pair per synapse for dt = -100..+100 ms; compared
                      with the closed form K(dt)
  voltage-derivative  the window that emerges from w += eta dV/dt at pre spikes
                      (Bengio et al. 2015, Fig. 1): post LIF neurons whose free membrane
                      ramps at slopes of both signs, one pre spike in the middle of the run;
                      one point (mean dT, mean dW) per slope, one exponential fitted per side

JSON keys: rule, A_plus, A_minus, tau_plus_ms, tau_minus_ms, points (list of
{dt_ms, dw} sorted by dt). pair adds max_abs_error (against the closed form).
voltage-derivative adds fit {tau_plus_ms, tau_minus_ms, r2_plus, r2_minus, a_plus, a_minus},
slope_range_per_ms (theta/ms), membrane, tau_m_ms, trials, n_valid, sem_dt_ms, sem_dw and
bi_poo {tau_plus_ms: 16.8, tau_minus_ms: 33.7}; for this rule A_plus/A_minus/tau_*_ms are
the fitted amplitudes and time constants.

Examples:
  spiking-bpdl stdp-window --rule pair --json results/window.json --out results
  spiking-bpdl stdp-window --rule voltage-derivative --out results --trials 500
"""

import time

from . import _common

NAME = "stdp-window"
HELP = "measure an STDP window (pair rule or the emergent voltage-derivative window)"

__all__ = ["NAME", "HELP", "add_arguments", "validate", "run"]

RULES = ("pair", "voltage-derivative")


def add_arguments(parser):
    """Options of ``stdp-window``."""
    parser.add_argument("--rule", choices=RULES, default="pair", help="plasticity rule (default pair)")
    g = parser.add_argument_group("pair rule")
    g.add_argument("--tau-plus", type=_common.positive_float, default=16.8, help="tau+ in ms (default 16.8)")
    g.add_argument("--tau-minus", type=_common.positive_float, default=33.7, help="tau- in ms (default 33.7)")
    g.add_argument("--a-plus", type=_common.nonneg_float, default=0.01, help="A+ (default 0.01)")
    g.add_argument("--a-minus", type=_common.nonneg_float, default=None,
                   help="A- magnitude (default: balanced, A+ tau+ / tau-)")
    g.add_argument("--nearest", action="store_true", help="nearest-spike instead of all-to-all pairing")
    g.add_argument("--dt-max", type=_common.positive_float, default=100.0, help="largest |dt| in ms (default 100)")
    g.add_argument("--dt-step", type=_common.positive_float, default=1.0, help="dt step in ms (default 1)")
    g = parser.add_argument_group("voltage-derivative rule")
    g.add_argument("--trials", type=_common.positive_int, default=500, help="neurons per slope (default 500)")
    g.add_argument("--n-slopes", type=_common.positive_int, default=8, help="slope magnitudes per sign (default 8)")
    g.add_argument("--slope-min", type=_common.positive_float, default=0.01,
                   help="smallest |slope| of the free membrane, threshold/ms (default 0.01)")
    g.add_argument("--slope-max", type=_common.positive_float, default=0.05,
                   help="largest |slope|, threshold/ms (default 0.05)")
    g.add_argument("--tau-m", type=_common.positive_float, default=20.0, help="membrane time constant, ms (default 20)")
    g.add_argument("--noise", type=_common.nonneg_float, default=0.02,
                   help="OU noise std of the drive, in units of the threshold (default 0.02)")
    g.add_argument("--membrane", choices=("free", "real"), default="free",
                   help="derivative of the reset-free membrane U (default) or of the real v")
    _common.add_common(parser, target=True, data=False)


def validate(args):
    """Check the option combinations argparse cannot (raises ConfigError)."""
    from ..errors import ConfigError

    if args.rule == "voltage-derivative":
        if not args.slope_min < args.slope_max:
            raise ConfigError(f"--slope-min ({args.slope_min}) must be below --slope-max ({args.slope_max})")
        if args.n_slopes < 2:
            raise ConfigError("--n-slopes must be >= 2")
    if args.dt_step > args.dt_max:
        raise ConfigError("--dt-step must not exceed --dt-max")


def run(args):
    """Run the protocol, write JSON + PNG, return the result dict."""
    validate(args)
    from .._io import save_figure
    from ..experiments import stdp_plots
    from ..experiments.stdp_window import BI_POO_TAU_MINUS_MS, BI_POO_TAU_PLUS_MS, pair_window, voltage_derivative_window
    from ..neurons import LIFParams
    from ..plasticity import PairSTDP

    t0 = time.perf_counter()
    if args.rule == "pair":
        a_minus = args.a_minus if args.a_minus is not None else args.a_plus * args.tau_plus / args.tau_minus
        rule = PairSTDP(A_plus=args.a_plus, A_minus=a_minus, tau_plus=args.tau_plus * 1e-3,
                        tau_minus=args.tau_minus * 1e-3, w_max=1.0, nearest=args.nearest)
        res = pair_window(rule, dt_max=args.dt_max * 1e-3, dt_step=args.dt_step * 1e-3, target=args.target)
        points = [{"dt_ms": float(d * 1e3), "dw": float(w)} for d, w in zip(res["dt"], res["dw"])]
        err = float(abs(res["dw"] - res["expected"]).max())
        result = {
            "rule": "pair", "A_plus": rule.A_plus, "A_minus": rule.A_minus,
            "tau_plus_ms": args.tau_plus, "tau_minus_ms": args.tau_minus, "nearest": rule.nearest,
            "integral_K": rule.integral_K(), "integral_sK": rule.integral_sK(),
            "points": points, "max_abs_error": err, "target": args.target, "seed": args.seed,
        }
        fig = stdp_plots.plot_pair_window(res)
        summary = f"stdp-window pair: {len(points)} points, max |dw - K(dt)| = {err:.2e}"
    else:
        params = LIFParams(tau_m=args.tau_m * 1e-3)
        res = voltage_derivative_window(params, slope_min=args.slope_min, slope_max=args.slope_max,
                                        n_slopes=args.n_slopes, trials=args.trials, noise_sigma=args.noise,
                                        membrane=args.membrane, seed=args.seed, target=args.target)
        import numpy as np

        ok = np.isfinite(res["mean_dt"])
        order = np.argsort(res["mean_dt"][ok])
        points = [{"dt_ms": float(d * 1e3), "dw": float(w)}
                  for d, w in zip(res["mean_dt"][ok][order], res["mean_dw"][ok][order])]
        fit = res["fit"]
        fit_ms = {"tau_plus_ms": fit["tau_plus"] * 1e3, "tau_minus_ms": fit["tau_minus"] * 1e3,
                  "r2_plus": fit["r2_plus"], "r2_minus": fit["r2_minus"], "a_plus": fit["a_plus"],
                  "a_minus": fit["a_minus"]}
        result = {
            "rule": "voltage-derivative", "A_plus": fit["a_plus"], "A_minus": fit["a_minus"],
            "tau_plus_ms": fit_ms["tau_plus_ms"], "tau_minus_ms": fit_ms["tau_minus_ms"],
            "points": points, "fit": fit_ms, "slope_range_per_ms": res["slope_range_per_ms"],
            "slopes_per_ms": res["slopes_per_ms"][ok][order], "sem_dt_ms": res["sem_dt"][ok][order] * 1e3,
            "sem_dw": res["sem_dw"][ok][order], "n_valid": res["n_valid"][ok][order],
            "membrane": res["membrane"], "tau_m_ms": args.tau_m, "trials": args.trials,
            "noise": args.noise, "bi_poo": {"tau_plus_ms": BI_POO_TAU_PLUS_MS, "tau_minus_ms": BI_POO_TAU_MINUS_MS},
            "dw_unit": "eta * dV/dt with eta = 1 ms / v_threshold (dW in threshold per ms)",
            "target": args.target, "seed": args.seed,
        }
        fig = stdp_plots.plot_voltage_derivative_window(res)
        summary = (f"stdp-window voltage-derivative: tau+ {fit_ms['tau_plus_ms']:.1f} ms (r2 {fit_ms['r2_plus']:.3f}), "
                   f"tau- {fit_ms['tau_minus_ms']:.1f} ms (r2 {fit_ms['r2_minus']:.3f}) for slopes "
                   f"{args.slope_min:g}-{args.slope_max:g} threshold/ms [Bi & Poo: 16.8 / 33.7 ms]")
    result["wall_s"] = time.perf_counter() - t0
    out = _common.out_dir(args)
    save_figure(fig, out / f"stdp_window_{args.rule.replace('-', '_')}.png")
    _common.finish(args, "stdp_window", result, summary=summary)
    return result
