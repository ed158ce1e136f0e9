"""Train a layer pair with feedback (input -> hidden LIF -> reconstruction LIF).

Backends: ``spiking`` (Brian2 LIF neurons, pair STDP, one run per block of samples),
``rate`` (the same definition as a rate network, rate rule dW = eta rho_pre d rho_post)
and ``backprop`` (the same rate network, exact gradient). ``test_mse`` is always the
reconstruction MSE of the same deterministic rate forward pass on held-out test digits,
computed from the trained weights, so the backends compare as learning rules.

Example::

    spiking-bpdl train networks/layer_pair_small.toml --backend spiking --out results/lp
    spiking-bpdl train networks/layer_pair_small.toml --backend rate --out results/lp
    spiking-bpdl train networks/layer_pair_small.toml --backend spiking --out results/lp --resume
    spiking-bpdl train layer_pair_small --backend rate --set layer_pair.nudge=8 --out results/nudge8

Writes ``OUT/train_<backend>.json`` (or ``--json``), ``OUT/weights_<backend>.npz``,
``OUT/checkpoint_<backend>.npz`` (after every block) and the figures
``learning_curves.png`` (every backend found in OUT), ``reconstructions_<backend>.png`` and
``receptive_fields_<backend>.png``.
"""

from pathlib import Path

from . import _common

NAME = "train"
#: Whether this command trains layer-stack definitions (a ``[stack]`` table) yet. The stack's
#: definitions, rate twin, backprop and Brian2 network exist (``spiking_bpdl.stack``), its block
#: engine does not; ``spiking-bpdl reproduce`` reports the classifier as not in this version until then.
TRAINS_STACKS = False
HELP = "train a layer pair (spiking STDP, rate rule or backprop) and write JSON + figures"


def add_arguments(parser):
    parser.add_argument("network", help="network definition: a TOML file, or the name of a shipped one "
                                        "such as layer_pair_small")
    parser.add_argument("--backend", choices=("spiking", "rate", "backprop"), default="spiking",
                        help="learning backend (default %(default)s)")
    parser.add_argument("--samples", type=_common.positive_int, default=None,
                        help="training samples (default: [training] samples of the definition)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT/checkpoint_<backend>.npz")
    _common.add_progress(parser)
    parser.add_argument("--no-test", action="store_true",
                        help="screening run: score validation digits only, never load the test digits "
                             "(test_mse is null); choose settings this way, then score the chosen one on test")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="change a key of the definition before validation, e.g. layer_pair.nudge=8 or "
                             "'populations.hidden.tau_syn=5 ms' (repeatable)")
    _common.add_common(parser, target=False, data=True)
    parser.add_argument("--target", choices=("numpy", "cython", "cpp_standalone"), default=None,
                        help="Brian2 target of the spiking backend (default: [training] target of the definition)")


def validate(args):
    """Load and validate the definition (with ``--set`` overrides) and the options; return the config."""
    from ..rate.lif_layer_pair import load_layer_pair

    cfg = load_layer_pair(args.network, args.overrides)
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        from ..errors import DataError

        raise DataError(f"data directory {args.data_dir} does not exist")
    return cfg


def run(args):
    from .._io import save_npz
    from ..experiments.layer_pair import run_training, save_learning_curves, save_training_figures

    cfg = validate(args)  # validates everything before anything is written
    result = run_training(cfg, args.backend, samples=args.samples, out=args.out, seed=args.seed,
                          target=args.target, resume=args.resume, data_dir=args.data_dir,
                          progress=args.progress, score_test=not args.no_test)
    weights = result.pop("weights")
    result["config"] = cfg.to_dict()  # the resolved definition the run used (overrides applied)
    example = result.pop("examples")
    out = _common.out_dir(args)
    save_npz(out / f"weights_{args.backend}.npz", W=weights["W"], V=weights["V"], bias_recon=weights["bias_recon"])
    result.pop("readout_example", None)
    json_path = args.json or (out / f"train_{args.backend}.json")
    result["json"] = str(json_path)
    args.json = json_path
    save_training_figures(out, args.backend, weights, example, cfg)
    val = f"val_mse {result['val_mse']:.4f}" if result.get("val_mse") is not None else "val_mse n/a"
    test = (f", test_mse {result['test_mse']:.4f} (mean-image baseline {result['baseline_mean_image_mse']:.4f})"
            if result.get("test_mse") is not None else " (screening run: test digits not scored)")
    summary = (f"train {args.backend}: {result['samples']} samples, {val}{test}"
               + (f", spiking read-out {result['test_mse_spiking_readout']:.4f}"
                  if result.get("test_mse_spiking_readout") is not None else "")
               + f", {result['samples_per_s']:.1f} samples/s; wrote {json_path}")
    _common.finish(args, NAME, result, summary=summary)
    save_learning_curves(out, current=result)
    return result
