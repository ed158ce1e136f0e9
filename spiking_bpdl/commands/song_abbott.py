"""Competitive STDP of Song, Miller & Abbott (2000): 1000 Poisson inputs, one neuron, bimodal weights.

Reads a network definition (default networks/song_miller_abbott.toml), runs it in ONE
Brian2 run, and writes the final weights (NPZ), the weight histogram (PNG) and a JSON with
keys: network, duration_s, n_inputs, input_rate_hz, A_plus, A_minus, g_max, frac_low,
frac_high, frac_middle (weights below 10%, above 90% of g_max, in between), the same for
the initial weights (bimodality_init), out_rate_hz (last 20% of the run), wall_s, target.

Example:
  spiking-bpdl song-abbott --out results/song --target cpp_standalone
"""

import time
from pathlib import Path

from . import _common

NAME = "song-abbott"
HELP = "Song-Miller-Abbott competitive STDP network (bimodal weights)"

__all__ = ["NAME", "HELP", "add_arguments", "validate", "run"]


def add_arguments(parser):
    """Options of ``song-abbott``."""
    parser.add_argument("--network", type=Path, default=Path("song_miller_abbott"),
                        help="network definition (file or name in networks/; default song_miller_abbott)")
    parser.add_argument("--duration", type=_common.positive_float, default=None,
                        help="simulated seconds (default: from the definition)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="change a key of the definition before validation, e.g. plasticity.stdp.A_plus=0.004 "
                             "(repeatable)")
    _common.add_common(parser, target=True, data=False)


def validate(args):
    """Load and validate the definition (with ``--set`` overrides); return ``(spec, config)``."""
    from ..experiments.song_abbott import config_from_spec
    from ..spec import load_network

    spec = load_network(args.network, args.overrides)
    return spec, config_from_spec(spec)


def run(args):
    """Load the definition, simulate, write JSON/NPZ/PNG."""
    spec, cfg = validate(args)  # validates before anything is written
    from .._io import save_figure, save_npz
    from ..experiments import stdp_plots
    from ..experiments.song_abbott import run_song_abbott

    t0 = time.perf_counter()
    seed = args.seed if args.seed else None
    res = run_song_abbott(cfg, duration=args.duration, target=args.target, seed=seed)
    wall = time.perf_counter() - t0
    rule = res["rule"]
    result = {
        "network": str(spec.path or spec.name), "duration_s": res["duration"], "n_inputs": res["n_inputs"],
        "input_rate_hz": res["input_rate"], "A_plus": rule.A_plus, "A_minus": rule.A_minus, "g_max": rule.w_max,
        **res["bimodality"], "bimodality_init": res["bimodality_init"], "out_rate_hz": res["out_rate"],
        "wall_s": wall, "target": args.target, "seed": res["seed"],
    }
    out = _common.out_dir(args)
    save_npz(out / "song_abbott.npz", w_init=res["w_init"], w_final=res["w_final"],
             snapshot_t=res["snapshot_t"], snapshots=res["snapshots"])
    save_figure(stdp_plots.plot_weight_histogram(res["w_final"], rule.w_max,
                                                 title=f"after {res['duration']:g} s"), out / "song_abbott_weights.png")
    b = res["bimodality"]
    _common.finish(args, "song_abbott", result,
                   summary=f"song-abbott: {b['frac_low']:.0%} of weights < 0.1 g_max, {b['frac_high']:.0%} > 0.9 g_max, "
                           f"{b['frac_middle']:.0%} in between; output {res['out_rate']:.1f} Hz; wall {wall:.0f} s")
    return result
