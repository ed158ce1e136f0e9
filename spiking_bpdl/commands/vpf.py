"""Variational probability flow (VPF) against CD-1 and PCD on binarised MNIST / Fashion-MNIST.

  spiking-bpdl vpf train    [DEFINITION] [--set TABLE.KEY=VALUE ...] [flags] --out DIR [--json FILE]
  spiking-bpdl vpf evaluate [DEFINITION] [--set TABLE.KEY=VALUE ...] [flags] --out DIR [--json FILE]
  spiking-bpdl vpf compare  [DEFINITION] [--set TABLE.KEY=VALUE ...] [flags] --out docs/results/vpf

The configuration is a definition (a TOML file, or a shipped name; default vpf_mnist, i.e.
networks/vpf_mnist.toml, whose values are the defaults), then its --set items, then the flags
given on the command line (--dataset, --method, --epochs, ...): a flag that is given wins, a
flag that is left out changes nothing. Every result JSON records the resolved configuration,
definition path included, under ``config``.

``train`` tunes the learning rate on validation (same grid for every method), trains,
checkpoints the selected model atomically to OUT/vpf_<dataset>_<method>.ckpt.npz and
evaluates it. ``evaluate`` reloads that checkpoint and evaluates it again. ``compare`` runs
3 methods x 2 datasets and writes a markdown/JSON table plus figures.

JSON keys: dataset, method, recon_mse_dropout50, recon_mse_occlusion, ais_ll (RBM only,
else null), parzen_ll, train_wall_s, config, and more (see docs/vpf.md).
"""

import sys
from dataclasses import replace
from pathlib import Path

from . import _common

NAME = "vpf"
HELP = "VPF vs CD-1/PCD Boltzmann machines on binarised MNIST/Fashion-MNIST"

__all__ = ["NAME", "HELP", "add_arguments", "validate", "run"]

#: Flags that set a configuration field (``args`` attribute -> VPFConfig field); None when not given.
_FLAG_FIELDS = {"dataset": "dataset", "method": "method", "hidden": "hidden", "lateral": "lateral",
                "epochs": "epochs", "lrs": "learning_rates", "batch_size": "batch_size", "n_train": "n_train",
                "n_test": "n_test", "source": "source", "recon_sweeps": "recon_sweeps",
                "ais_chains": "ais_chains", "ais_betas": "ais_betas", "parzen_samples": "parzen_samples",
                "sample_sweeps": "sample_sweeps", "seed": "seed"}

#: How the configuration is resolved; the description of each action's --help.
_RESOLUTION = ("Configuration: DEFINITION (a TOML file or a shipped name; default vpf_mnist, whose values are the "
               "defaults listed below), then its --set items, then the flags given on the command line (a flag "
               "that is given wins; one that is left out changes nothing). The resolved configuration, "
               "definition included, is recorded under 'config' in the result JSON. A bad definition, --set "
               "item or flag prints one line and exits with 2; nothing is written.")


def _lr_list(text):
    import argparse

    try:
        vals = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not vals or any(not v > 0 for v in vals):
        raise argparse.ArgumentTypeError(f"learning rates must be positive, got {text}")
    return vals


def _sizes(text):
    import argparse

    try:
        return tuple(int(h) for h in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated integers, got {text!r}") from None


def _add_definition(p):
    p.add_argument("definition", nargs="?", default=None, metavar="DEFINITION",
                   help="VPF definition: a TOML file, or a shipped name (default vpf_mnist: "
                        "networks/vpf_mnist.toml, whose values are the defaults below)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="TABLE.KEY=VALUE",
                   help="change a key of the definition before validation, e.g. training.epochs=2 or "
                        "model.hidden=[500,200] (repeatable); a flag given on the command line wins over it")


def _add_model_options(p, compare=False):
    g = p.add_argument_group("model and training (each overrides the definition; default: the definition's)")
    if not compare:
        g.add_argument("--dataset", default=None, help="mnist or fashion-mnist (default mnist)")
        g.add_argument("--method", default=None, help="vpf (default), cd (CD-1, RBM only) or pcd")
    g.add_argument("--hidden", type=_sizes, default=None,
                   help="hidden layer sizes, e.g. 500 (RBM) or 500,200 (DBM); default 500")
    g.add_argument("--lateral", action="store_true", default=None,
                   help="add lateral connections inside the hidden layers")
    g.add_argument("--epochs", type=_common.positive_int, default=None, help="epochs per learning rate (default 4)")
    g.add_argument("--lrs", type=_lr_list, default=None,
                   help="learning-rate grid searched on validation (default 0.0003,0.001,0.003,0.01)")
    g.add_argument("--batch-size", type=_common.positive_int, default=None, help="default 100")
    g.add_argument("--n-train", type=_common.positive_int, default=None, help="training images (default 50000)")
    _add_data_options(g)
    _add_eval_options(p)


def _add_data_options(g):
    g.add_argument("--n-test", type=_common.positive_int, default=None, help="test images (default 10000)")
    g.add_argument("--source", choices=["full", "embedded", "auto"], default=None,
                   help="full IDX files (default; missing files are an error), the small embedded subset, or auto")


def _add_eval_options(p):
    g = p.add_argument_group("evaluation (each overrides the definition; default: the definition's)")
    g.add_argument("--recon-sweeps", type=_common.positive_int, default=None,
                   help="Gibbs sweeps averaged per reconstruction (default 50)")
    g.add_argument("--ais-chains", type=_common.positive_int, default=None, help="default 100")
    g.add_argument("--ais-betas", type=_common.positive_int, default=None, help="default 3000")
    g.add_argument("--parzen-samples", type=_common.positive_int, default=None, help="default 10000")
    g.add_argument("--sample-sweeps", type=_common.positive_int, default=None,
                   help="Gibbs sweeps per sample chain (default 100)")
    g.add_argument("--quiet", action="store_true", help="no progress output")


def _add_common(p):
    _common.add_common(p, target=False, data=True, default_out="results/vpf")
    # --seed given on the command line overrides training.seed; left out, the definition's seed (0) is used
    p.set_defaults(seed=None)


def add_arguments(parser):
    """Sub-subcommands ``train``, ``evaluate`` and ``compare``."""
    sub = parser.add_subparsers(dest="vpf_command", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    p = sub.add_parser("train", help="tune, train, checkpoint and evaluate one model", description=_RESOLUTION)
    _add_definition(p)
    _add_model_options(p)
    _add_common(p)
    p = sub.add_parser("evaluate", help="evaluate a checkpoint written by train", description=_RESOLUTION)
    _add_definition(p)
    p.add_argument("--dataset", default=None, help="mnist or fashion-mnist (default: the definition's)")
    p.add_argument("--method", default=None, help="vpf, cd or pcd (default: the definition's)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="checkpoint file (default OUT/vpf_<dataset>_<method>.ckpt.npz)")
    _add_data_options(p)
    _add_eval_options(p)
    _add_common(p)
    p = sub.add_parser("compare", help="3 methods x 2 datasets, table + figures",
                       description=_RESOLUTION + " --datasets and --methods then set each run's dataset and method.")
    _add_definition(p)
    p.add_argument("--datasets", default="mnist,fashion-mnist", help="comma-separated (default mnist,fashion-mnist)")
    p.add_argument("--methods", default="vpf,cd,pcd", help="comma-separated (default vpf,cd,pcd)")
    p.add_argument("--checkpoint-dir", type=Path, default=Path("results/vpf_checkpoints"),
                   help="where the models are checkpointed (default %(default)s; kept out of OUT)")
    p.add_argument("--jobs", type=_common.positive_int, default=1,
                   help="datasets run in parallel processes, one BLAS thread each (default 1)")
    _add_model_options(p, compare=True)
    _add_common(p)


def _config(args, dataset=None, method=None):
    """The resolved configuration: definition, then ``--set``, then the flags given (then ``dataset``/``method``)."""
    from ..experiments.vpf_compare import DEFAULT_DEFINITION, vpf_config_from_definition

    changes = {field: getattr(args, flag) for flag, field in _FLAG_FIELDS.items()
               if getattr(args, flag, None) is not None}
    if args.data_dir is not None:
        changes["data_dir"] = str(args.data_dir)
    changes.update({k: v for k, v in (("dataset", dataset), ("method", method)) if v is not None})
    cfg = vpf_config_from_definition(args.definition or DEFAULT_DEFINITION, args.overrides, changes)
    args.seed = cfg.seed  # the provenance records the seed the run used (same value on a second call)
    return cfg


def _log(args):
    return None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))


def _ckpt_path(directory, dataset, method):
    return Path(directory) / f"vpf_{dataset}_{method}.ckpt.npz"


def _save_run(args, result, model, arrays, ckpt_dir, fig_dir):
    """Checkpoint (with the example arrays) under ``ckpt_dir``; small PNGs under ``fig_dir``."""
    from .._io import save_figure, save_npz
    from ..checkpoint import save_checkpoint
    from ..experiments.vpf_compare import plot_filters, plot_samples

    stem = f"vpf_{result['dataset']}_{result['method']}"
    meta = {k: result[k] for k in ("dataset", "method", "architecture", "lateral", "train_wall_s",
                                   "selected_learning_rate", "selected_epoch", "config")}
    save_checkpoint(_ckpt_path(ckpt_dir, result["dataset"], result["method"]), model.to_arrays(), meta)
    save_npz(Path(ckpt_dir) / f"{stem}_examples.npz", **arrays)
    save_figure(plot_filters(arrays["filters"], f"{stem}: first-layer filters"), Path(fig_dir) / f"{stem}_filters.png", dpi=70)
    save_figure(plot_samples(arrays["samples"], f"{stem}: samples"), Path(fig_dir) / f"{stem}_samples.png", dpi=70)


def _run_train(args):
    from ..experiments.vpf_compare import load_binarised, run_one

    cfg = _config(args)
    data = load_binarised(cfg.dataset, cfg.n_train, cfg.n_val, cfg.n_test, cfg.source, cfg.data_dir)
    result, model, arrays = run_one(cfg, data, log=_log(args))
    out = _common.out_dir(args)
    _save_run(args, result, model, arrays, out, out)
    result["checkpoint"] = str(_ckpt_path(out, cfg.dataset, cfg.method))
    _common.finish(args, f"vpf_{cfg.dataset}_{cfg.method}", result, _summary(result))
    return result


def _summary(r):
    ais = "n/a" if r.get("ais_ll") is None else f"{r['ais_ll']:.1f}"
    return (f"vpf {r['dataset']} {r['method']}: recon MSE dropout50 {r['recon_mse_dropout50']:.4f}, "
            f"occlusion {r['recon_mse_occlusion']:.4f}, AIS LL {ais}, Parzen LL {r['parzen_ll']:.1f}, "
            f"train {r['train_wall_s']:.1f} s")


def _run_evaluate(args):
    from ..checkpoint import load_checkpoint
    from ..errors import CheckpointError, ConfigError
    from ..experiments.vpf_compare import evaluate_model, load_binarised
    from ..models.boltzmann import BoltzmannMachine

    cfg = _config(args)
    path = args.checkpoint or _ckpt_path(args.out, cfg.dataset, cfg.method)
    arrays, meta = load_checkpoint(path, expect_meta={"dataset": cfg.dataset, "method": cfg.method})
    try:
        model = BoltzmannMachine.from_arrays(arrays)
    except ConfigError as exc:
        raise CheckpointError(f"checkpoint {path}: {exc}") from None
    if model.sizes[0] != 784:
        raise CheckpointError(f"checkpoint {path}: visible layer has {model.sizes[0]} units, expected 784")
    # the architecture and the training set (n_train, source: the AIS base rate and the mean-fill baseline
    # come from the training images) are the checkpoint's, whatever the definition says
    trained = {k: v for k, v in (meta.get("config") or {}).items() if k in ("n_train", "source")}
    try:
        cfg = replace(cfg, hidden=tuple(model.sizes[1:]), lateral=model.has_laterals, **trained)
    except ConfigError as exc:
        raise CheckpointError(f"checkpoint {path}: {exc}") from None
    data = load_binarised(cfg.dataset, cfg.n_train, cfg.n_val, cfg.n_test, cfg.source, cfg.data_dir)
    metrics, _ = evaluate_model(cfg, model, data, log=_log(args))
    result = {"dataset": cfg.dataset, "method": cfg.method, "checkpoint": str(path),
              "architecture": list(model.sizes), "lateral": model.has_laterals,
              "train_wall_s": meta.get("train_wall_s"), "selected_learning_rate": meta.get("selected_learning_rate"),
              "selected_epoch": meta.get("selected_epoch"), "config": cfg.to_dict()}
    result.update(metrics)
    _common.out_dir(args)
    _common.finish(args, f"vpf_{cfg.dataset}_{cfg.method}_eval", result, _summary(result))
    return result


def _compare_worker(cfgs, quiet, data=None):
    """Run the (dataset, method) configurations ``cfgs`` in this process; returns (result, model, arrays) tuples."""
    from ..experiments.vpf_compare import load_binarised, run_one

    log = None if quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    data = dict(data or {})
    runs = []
    for cfg in cfgs:
        if cfg.dataset not in data:
            data[cfg.dataset] = load_binarised(cfg.dataset, cfg.n_train, cfg.n_val, cfg.n_test, cfg.source, cfg.data_dir)
        runs.append(run_one(cfg, data[cfg.dataset], log=log))
    return runs


def _run_compare(args):
    import time

    from .._io import atomic_path, save_figure, write_json
    from ..experiments.vpf_compare import (
        load_binarised,
        plot_learning_curves,
        plot_reconstructions,
        results_table_markdown,
    )

    datasets, methods, cfgs = _compare_configs(args)  # validates every combination
    data = {d: load_binarised(d, cfgs[0].n_train, cfgs[0].n_val, cfgs[0].n_test, cfgs[0].source, cfgs[0].data_dir)
            for d in datasets}  # every data file is checked before anything is written
    out = _common.out_dir(args)
    t0 = time.perf_counter()
    results, examples = [], {}
    if args.jobs > 1 and len(datasets) > 1:
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = "1"  # inherited by the spawned workers before they import numpy
        del data
        with ProcessPoolExecutor(min(args.jobs, len(datasets)), mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_compare_worker, [c for c in cfgs if c.dataset == d], args.quiet) for d in datasets]
            runs = [r for f in futures for r in f.result()]
    else:
        runs = _compare_worker(cfgs, args.quiet, data)
    for result, model, arrays in runs:
        _save_run(args, result, model, arrays, args.checkpoint_dir, out)
        result.setdefault("provenance", _common.provenance(args))
        write_json(out / f"vpf_{result['dataset']}_{result['method']}.json", result)
        results.append(result)
        examples.setdefault(result["dataset"], {})[result["method"]] = arrays
    total = time.perf_counter() - t0
    command = "spiking-bpdl " + " ".join(sys.argv[1:]) if sys.argv and "vpf" in sys.argv else None
    table = results_table_markdown(results)
    with atomic_path(out / "vpf_compare.md") as tmp:
        tmp.write_text(f"<!-- written by: {command or 'spiking-bpdl vpf compare'} -->\n\n{table}\n"
                       f"Total wall time of the comparison: {total:.0f} s ({args.jobs} job(s)).\n")
    for ds, per_method in examples.items():
        for corruption in ("dropout50", "occlusion"):
            first = next(iter(per_method.values()))
            fig = plot_reconstructions(first["examples"], first[f"mask_{corruption}"],
                                       {m: a[f"recon_{corruption}"] for m, a in per_method.items()},
                                       f"{ds}: {corruption}")
            save_figure(fig, out / f"vpf_{ds}_recon_{corruption}.png", dpi=80)
    save_figure(plot_learning_curves(results), out / "vpf_learning_curves.png")
    summary = {"command": command, "total_wall_s": total, "results": results}
    _common.finish(args, "vpf_compare", summary, f"vpf compare: {len(results)} runs in {total:.0f} s; table in {out / 'vpf_compare.md'}")
    return summary


def _compare_configs(args):
    from ..errors import ConfigError

    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not datasets or not methods:
        raise ConfigError("--datasets and --methods must not be empty")
    return datasets, methods, [_config(args, d, m) for d in datasets for m in methods]


def validate(args):
    """Check every configuration the action would run (no data is read)."""
    if args.vpf_command == "compare":
        _compare_configs(args)
    else:
        _config(args)


def run(args):
    """Dispatch ``vpf train|evaluate|compare``."""
    return {"train": _run_train, "evaluate": _run_evaluate, "compare": _run_compare}[args.vpf_command](args)
