"""The paper's deep generative model (Bengio et al. 2015, Algorithm 2) on MNIST.

Sub-commands:
  train     TRAIN with local targets; a checkpoint after every epoch (--resume continues),
            the epoch with the best cheap validation Parzen score is kept; fits p(h2)
  sample    GENERATE (and directed) samples from a trained model -> NPZ + PNG grid
  inpaint   fill the missing half of test digits (Fig. 5) -> NPZ + PNG
  evaluate  Parzen log-likelihood on the test set (sigma chosen on validation), the
            real-data ceiling, the paper's table, and the log p(x,h) curve (Fig. 4)

Example (the full run, then its evaluation):
  spiking-bpdl generative train --out results/generative
  spiking-bpdl generative evaluate --out results/generative
"""

import argparse
from pathlib import Path

from . import _common

NAME = "generative"
HELP = "target-prop generative model: train, sample, inpaint, evaluate (Parzen)"

__all__ = ["NAME", "HELP", "add_arguments", "validate", "run"]


def _nonneg_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _model_options(p):
    p.add_argument("--config", type=Path, default=None,
                   help="TOML configuration: a file, or a shipped name such as generative_small "
                        "(default: the paper's, networks/generative_mnist.toml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="change a key of the configuration before validation, e.g. training.epochs=2 or "
                        "inference.inference_steps=20 (repeatable; applies to --config, default generative_mnist)")
    p.add_argument("--data-source", choices=("auto", "full", "embedded"), default="auto",
                   help="MNIST files (full), the packaged 2000/500 subset (embedded) or auto (default)")


def _trained_options(p):
    p.add_argument("--model", type=Path, default=None,
                   help="trained model (default OUT/generative_model.npz)")


def add_arguments(parser):
    """Register ``train``, ``sample``, ``inpaint`` and ``evaluate``."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    p = sub.add_parser("train", help="train with Algorithm 2 (checkpoint every epoch)",
                       description="Train the model; writes OUT/generative_model.npz and OUT/train.json.")
    _model_options(p)
    p.add_argument("--epochs", type=_common.positive_int, default=None, help="epochs (default: from config, 20)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/generative_checkpoint.npz")
    p.add_argument("--select", choices=("validation", "last"), default="validation",
                   help="keep the epoch with the best cheap validation Parzen score (default) or the last one")
    _common.add_progress(p)
    _common.add_common(p, target=False, data=True, default_out="results/generative")

    p = sub.add_parser("sample", help="GENERATE samples from a trained model",
                       description="Write OUT/samples.npz and OUT/samples.png.")
    _trained_options(p)
    p.add_argument("--n", type=_common.positive_int, default=100, help="number of samples (default 100)")
    p.add_argument("--rounds", type=_nonneg_int, default=None, help="INFERENCE rounds (default 3; 0 = directed only)")
    _common.add_common(p, target=False, data=True, default_out="results/generative")

    p = sub.add_parser("inpaint", help="in-paint the missing half of test digits",
                       description="Write OUT/inpaint.npz and OUT/inpaint.png.")
    _trained_options(p)
    _model_options(p)
    p.add_argument("--n", type=_common.positive_int, default=10, help="test digits (default 10)")
    p.add_argument("--steps", type=_common.positive_int, default=20, help="in-painting steps (default 20)")
    p.add_argument("--side", choices=("bottom", "top", "left", "right"), default="bottom",
                   help="missing half (default bottom)")
    _common.add_common(p, target=False, data=True, default_out="results/generative")

    p = sub.add_parser("evaluate", help="Parzen log-likelihood, ceiling, log p(x,h) curve",
                       description="Write OUT/evaluate.json (parzen_ll, parzen_sem, sigma, parzen_ll_directed, "
                                   "n_samples, n_test, ceiling, paper table) and figures.")
    _trained_options(p)
    _model_options(p)
    p.add_argument("--n-samples", type=_common.positive_int, default=10000,
                   help="generated samples for the Parzen window (default 10000)")
    p.add_argument("--no-ceiling", action="store_true", help="skip the real-data ceiling")
    p.add_argument("--screen-priors", action="store_true",
                   help="also choose a better prior p(h2) on the validation set (full covariance, mixtures) "
                        "and evaluate it on the test set (parzen_ll_best_prior)")
    p.add_argument("--curve-steps", type=_common.positive_int, default=20,
                   help="INFERENCE iterations of the log p(x,h) curve (default 20)")
    _common.add_common(p, target=False, data=True, default_out="results/generative")


def _config(args):
    from ..models.targetprop import TargetPropConfig, load_config

    overrides = getattr(args, "overrides", [])
    if getattr(args, "config", None) or overrides:
        cfg = load_config(args.config or "generative_mnist", overrides)
    else:
        cfg = TargetPropConfig()
    changes = {}
    if getattr(args, "epochs", None):
        changes["epochs"] = args.epochs
    if args.seed != cfg.seed:
        changes["seed"] = args.seed
    return cfg.replace(**changes) if changes else cfg


def _model_path(args):
    from ..errors import CheckpointError

    path = args.model or (args.out / "generative_model.npz")
    if not Path(path).exists():
        raise CheckpointError(f"no trained model at {path}; run `spiking-bpdl generative train` first")
    return path


def validate(args):
    """Check the configuration (``train``, or ``--config`` of the others) and that a model to read exists."""
    if args.action == "train" or getattr(args, "config", None):
        _config(args)
    if args.action != "train":
        _model_path(args)


def run(args):
    """Dispatch to the chosen action; returns the result dict written to JSON."""
    import numpy as np

    from .. import _io
    from ..experiments import generative as exp

    if args.action == "train":
        cfg = _config(args)  # validates before anything is written
        if args.resume and not (args.out / exp.CHECKPOINT_NAME).exists():
            from ..errors import CheckpointError

            raise CheckpointError(f"--resume: no checkpoint {args.out / exp.CHECKPOINT_NAME}")
        splits = exp.load_splits(cfg, args.data_dir, args.data_source)
        out = _common.out_dir(args)
        model, history = exp.train(cfg, splits, out, resume=args.resume, progress=args.progress,
                                   select=args.select)
        result = {"config": cfg.to_dict(), "data_source": splits.source, "n_train": len(splits.train),
                  "n_validation": len(splits.validation), "history": history,
                  "train_seconds": float(sum(history["seconds"])), "model": str(out / exp.MODEL_NAME)}
        _io.save_figure(exp.plot_training_history(history), out / "training_history.png")
        _common.finish(args, "train", result,
                       f"generative train: {len(history['epoch'])} epochs in {result['train_seconds']:.0f} s, "
                       f"selected epoch {history['selected_epoch']}; model {result['model']}")
        return result

    path = _model_path(args)
    model, meta = exp.load_model(path)
    if args.action == "sample":
        out = _common.out_dir(args)
        rng = np.random.default_rng(args.seed)
        samples, directed = model.generate(args.n, rng, rounds=args.rounds, return_directed=True)
        _io.save_npz(out / "samples.npz", samples=samples, directed=directed)
        _io.save_figure(exp.plot_samples(samples[:100], title="GENERATE"), out / "samples.png")
        _io.save_figure(exp.plot_samples(directed[:100], title="directed only"), out / "samples_directed.png")
        result = {"n": args.n, "model": str(path), "samples": str(out / "samples.npz"),
                  "min": float(samples.min()), "max": float(samples.max()), "mean": float(samples.mean())}
        _common.finish(args, "sample", result)
        return result

    cfg = model.config.replace(n_train=0) if not args.config else _config(args)
    splits = exp.load_splits(cfg, args.data_dir, args.data_source)
    out = _common.out_dir(args)
    if args.action == "inpaint":
        res = exp.inpainting(model, splits.test[: args.n], n_steps=args.steps, side=args.side, seed=args.seed)
        _io.save_npz(out / "inpaint.npz", **{k: res[k] for k in ("original", "corrupted", "filled", "mask")})
        _io.save_figure(exp.plot_inpainting(res, n_show=min(args.n, 10)), out / "inpaint.png")
        result = {"n": args.n, "steps": args.steps, "side": args.side, "mse_missing_per_step": res["mse_per_step"],
                  "mse_start": res["mse_start"], "mse_end": res["mse_end"]}
        _common.finish(args, "inpaint", result)
        return result

    # evaluate
    result, samples = exp.evaluate(model, splits, n_samples=args.n_samples, seed=args.seed,
                                   ceiling=not args.no_ceiling, screen_priors=args.screen_priors,
                                   screen_prior_samples=min(20000, len(splits.train)),
                                   screen_samples=min(2000, args.n_samples))
    best_samples = result.pop("_best_prior_samples", None)
    if best_samples is not None:
        _io.save_figure(exp.plot_samples(best_samples[:100], title=f"GENERATE, {result['best_prior']}"),
                        out / "samples_best_prior.png")
    curve = exp.inference_curve(model, splits.test, n_steps=args.curve_steps)
    result.update({"model": str(path), "selected_epoch": meta.get("epoch"), "data_source": splits.source,
                   "log_p_curve": curve})
    _io.save_figure(exp.plot_samples(samples[:100], title="GENERATE samples"), out / "samples.png")
    _io.save_figure(exp.plot_inference_curve(curve), out / "log_p_curve.png")
    res = exp.inpainting(model, splits.test[:10], seed=args.seed)
    _io.save_figure(exp.plot_inpainting(res, n_show=10), out / "inpaint.png")
    result["inpaint_mse_start"], result["inpaint_mse_end"] = res["mse_start"], res["mse_end"]
    ceiling = (f", real-data ceiling {result['ceiling_real_data_ll']:.1f}" if "ceiling_real_data_ll" in result else "")
    _common.finish(args, "evaluate", result,
                   f"generative evaluate: Parzen LL {result['parzen_ll']:.1f} +- {result['parzen_sem']:.1f} "
                   f"(sigma {result['sigma']}), directed {result['parzen_ll_directed']:.1f}{ceiling}; "
                   f"paper 236 / 126"
                   + (f"; best prior ({result['best_prior']}) {result['parzen_ll_best_prior']:.1f}"
                      if "parzen_ll_best_prior" in result else ""))
    return result
