"""Train a layer stack classifier or a layer pair with feedback.

A definition with a ``[stack]`` table is a *layer stack* (``networks/classifier_*.toml``): an
MNIST classifier of LIF layers trained on the ``spiking`` backend (Brian2, pair STDP in every
forward projection, the hidden layers' targets sent down through feedback synapses), its ``rate``
twin (target propagation) or by ``backprop``; ``--freeze PROJ`` keeps projections at their initial
weights, ``--baselines`` also trains the frozen-hidden ablation and the rate twin and prints them
next to the run. Writes ``OUT/train_<run>.json`` (``<run>`` is the backend, plus ``_frozen-PROJ``),
``OUT/weights_<run>.npz``, ``OUT/checkpoint_<run>.npz`` (spiking, after every block) and the
figures ``accuracy_curves.png`` (every run in OUT), ``receptive_fields_<run>.png`` and
``confusion_<run>.png``::

    spiking-bpdl train networks/classifier_small.toml --backend spiking --baselines --out results/main
    spiking-bpdl train classifier_mnist --backend spiking --freeze W1 --out results/classifier

Otherwise it is a layer pair (input -> hidden LIF -> reconstruction LIF). Backends: ``spiking`` (Brian2 LIF neurons, pair STDP, one run per block of samples),
``rate`` (the same definition as a rate network, rate rule dW = eta rho_pre d rho_post)
and ``backprop`` (the same rate network, exact gradient). ``test_mse`` is always the
reconstruction MSE of the same deterministic rate forward pass on held-out test digits,
computed from the trained weights, so the backends compare as learning rules.

Example::

    spiking-bpdl train networks/layer_pair_small.toml --backend spiking --out results/lp
    spiking-bpdl train networks/layer_pair_small.toml --backend rate --out results/lp
    spiking-bpdl train networks/layer_pair_small.toml --backend spiking --out results/lp --resume
    spiking-bpdl train layer_pair_small --backend rate --set layer_pair.nudge=8 --out results/nudge8
    spiking-bpdl train layer_pair_mnist --backend spiking --freeze W --out results/lp_mnist

``--freeze W`` keeps the encoder at its initial weights (the ablation that shows whether the hidden
layer's learning matters; ``V`` can be frozen too), ``--baselines`` also trains that ablation and
the rate twin. Writes ``OUT/train_<run>.json`` (or ``--json``; ``<run>`` is the backend, plus
``_frozen-W``), ``OUT/weights_<run>.npz``, ``OUT/checkpoint_<run>.npz`` (after every block) and
the figures ``learning_curves.png`` (every run found in OUT), ``reconstructions_<run>.png`` and
``receptive_fields_<run>.png``.
"""

from pathlib import Path

from . import _common

NAME = "train"
#: Whether this command trains layer-stack definitions (a ``[stack]`` table).
TRAINS_STACKS = True
HELP = "train a layer stack classifier or a layer pair (spiking STDP, rate rule or backprop) and write JSON + figures"


def add_arguments(parser):
    parser.add_argument("network", help="network definition: a TOML file, or the name of a shipped one "
                                        "such as layer_pair_small")
    parser.add_argument("--backend", choices=("spiking", "rate", "backprop"), default="spiking",
                        help="learning backend (default %(default)s)")
    parser.add_argument("--samples", type=_common.positive_int, default=None,
                        help="training samples (default: [training] samples of the definition)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT/checkpoint_<run>.npz")
    _common.add_progress(parser)
    parser.add_argument("--no-test", action="store_true",
                        help="screening run: score validation digits only, never load the test digits "
                             "(test_mse is null); choose settings this way, then score the chosen one on test")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="change a key of the definition before validation, e.g. layer_pair.nudge=8 or "
                             "'populations.hidden.tau_syn=5 ms' (repeatable; KEY= with nothing after the = removes "
                             "the key, e.g. projections.G2.plasticity= leaves G2 without a rule)")
    _common.add_common(parser, target=False, data=True)
    parser.add_argument("--target", choices=("numpy", "cython", "cpp_standalone"), default=None,
                        help="Brian2 target of the spiking backend (default: the definition's [spiking] target, "
                             "or [training] target of a layer pair)")
    parser.add_argument("--freeze", nargs="+", action="extend", default=[], metavar="PROJ",
                        help="keep these projections at their initial weights (a stack's --freeze W1, a layer "
                             "pair's --freeze W: the frozen-hidden ablation)")
    parser.add_argument("--baselines", action="store_true",
                        help="also train the same backend with every hidden projection frozen (a layer pair: W) "
                             "and the rate twin, and report them next to this run")


def is_stack(network, overrides=()):
    """True when the definition (file or shipped name) has a ``[stack]`` table."""
    from ..spec import read_definition

    return "stack" in read_definition(network, overrides)[1]


def validate(args):
    """Load and validate the definition (with ``--set`` overrides) and the options; return the config."""
    from ..errors import ConfigError

    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        from ..errors import DataError

        raise DataError(f"data directory {args.data_dir} does not exist")
    if is_stack(args.network, args.overrides):
        from ..stack.config import check_projection_names, load_stack

        cfg = load_stack(args.network, args.overrides)
        if args.samples is not None:
            if args.samples > cfg.train_pool:
                raise ConfigError(f"--samples {args.samples} exceeds the definition's training digits "
                                  f"(training.train_pool = {cfg.train_pool})")
            import dataclasses

            cfg = dataclasses.replace(cfg, samples=args.samples, passes=1)
        check_projection_names(cfg, args.freeze)
        if args.backend == "spiking":
            from ..stack.engine import stdp_rules
            from ..stack.config import freeze

            stdp_rules(freeze(cfg, args.freeze))  # every learning projection needs an STDP window
        if args.json is not None and args.baselines:
            raise ConfigError("--json names one file; --baselines writes three (use --out)")
        return cfg
    import dataclasses

    from ..rate.lif_layer_pair import load_layer_pair

    cfg = load_layer_pair(args.network, args.overrides)
    unknown = sorted(set(args.freeze) - {"W", "V"})
    if unknown:
        raise ConfigError(f"--freeze: unknown projection(s) {', '.join(unknown)}; a layer pair has W and V")
    if args.json is not None and args.baselines:
        raise ConfigError("--json names one file; --baselines writes three (use --out)")
    return dataclasses.replace(cfg, frozen=tuple(args.freeze))


def run(args):
    cfg = validate(args)  # validates everything before anything is written
    if hasattr(cfg, "layers"):
        return run_stack(args, cfg)
    return run_layer_pair(args, cfg)


def _stack_run(args, cfg, backend, frozen, data):
    """Train one run of a stack, write its JSON, weights and figures; return the result (no arrays)."""
    from .._io import save_npz, write_json
    from ..experiments.stack import run_name, run_stack_training, save_stack_figures
    from ..provenance import provenance

    from ..stack.engine import checkpoint_path

    name = run_name(backend, frozen)
    out = _common.out_dir(args)
    log = (lambda line: print(line, flush=True)) if args.progress != "never" else None
    main_run = (backend, list(frozen)) == (args.backend, sorted(args.freeze))
    # --resume continues the run asked for; a baseline resumes only where it has a checkpoint (it may not
    # have started when the job was stopped)
    resume = args.resume and (main_run or checkpoint_path(out, name).exists())
    result = run_stack_training(cfg, backend, frozen=frozen, out=out, seed=args.seed, target=args.target,
                                resume=resume, progress=args.progress, score_test=not args.no_test, log=log,
                                data=data)
    weights, initial = result.pop("weights"), result.pop("initial_weights")
    save_npz(out / f"weights_{name}.npz", **weights)
    save_stack_figures(out, dict(result, weights=weights, initial_weights=initial), name)
    confusion = result.pop("confusion", None)
    if confusion is not None:
        result["confusion"] = confusion.tolist()
    json_path = args.json if (args.json is not None and main_run) else out / f"train_{name}.json"
    result["json"] = str(json_path)
    result.setdefault("provenance", provenance(args))
    write_json(json_path, result)
    return result


def _accuracy_text(r):
    def pct(v):
        return "n/a" if v is None else f"{100 * v:.2f} %"

    if r["backend"] == "spiking":
        if r.get("test_accuracy") is None:
            return (f"val accuracy {pct(r['val_accuracy_spiking_readout'])} (own spikes), "
                    f"{pct(r['val_accuracy'])} (rate pass); test digits not scored")
        return f"test accuracy {pct(r['test_accuracy_spiking_readout'])} (own spikes), {pct(r['test_accuracy'])} (rate pass)"
    if r.get("test_accuracy") is None:
        return f"val accuracy {pct(r['val_accuracy'])}; test digits not scored"
    return f"test accuracy {pct(r['test_accuracy'])}"


def run_stack(args, cfg):
    """``spiking-bpdl train`` for a layer stack (see the module docstring)."""
    from ..experiments.stack import hidden_projections
    from ..stack.train import load_splits

    data = load_splits(cfg, args.data_dir, test=not args.no_test)
    result = _stack_run(args, cfg, args.backend, sorted(args.freeze), data)
    lines = [f"train {args.backend}{' (' + ', '.join(args.freeze) + ' frozen)' if args.freeze else ''}: "
             f"{result['samples']} samples, {_accuracy_text(result)}, "
             f"{result['samples_per_s']:.0f} samples/s, {result['wall_s']:.0f} s; wrote {result['json']}"]
    if args.baselines:
        hidden = hidden_projections(cfg)
        baselines = {}
        if hidden and sorted(hidden) != sorted(args.freeze):
            frozen = _stack_run(args, cfg, args.backend, sorted(hidden), data)
            baselines["frozen_hidden"] = frozen
            lines.append(f"  hidden frozen ({', '.join(hidden)}): {_accuracy_text(frozen)}")
        if args.backend != "rate" or args.freeze:
            rate = _stack_run(args, cfg, "rate", [], data)
            baselines["rate_twin"] = rate
            lines.append(f"  rate twin: {_accuracy_text(rate)}")
        keys = ("json", "frozen", "val_accuracy", "val_accuracy_spiking_readout", "test_accuracy",
                "test_accuracy_spiking_readout")
        result["baselines"] = {k: {q: v.get(q) for q in keys} for k, v in baselines.items()}
        from .._io import write_json

        write_json(result["json"], result)
    print("\n".join(lines))
    return result


def _layer_pair_run(args, cfg, backend, main_run):
    """Train one run of a layer pair (``cfg.frozen`` says which projections stay at their initial
    weights), write its JSON, weights and figures; return the result (no arrays) and its summary line."""
    from .._io import save_npz
    from ..checkpoint import run_name
    from ..experiments.layer_pair import run_training, save_training_figures
    from ..spiking.engine import checkpoint_path

    name = run_name(backend, cfg.frozen)
    out = _common.out_dir(args)
    resume = args.resume and (main_run or checkpoint_path(out, name).exists())
    result = run_training(cfg, backend, samples=args.samples, out=args.out, seed=args.seed,
                          target=args.target, resume=resume, data_dir=args.data_dir,
                          progress=args.progress, score_test=not args.no_test)
    weights, initial = result.pop("weights"), result.pop("initial_weights")
    result["config"] = cfg.to_dict()  # the resolved definition the run used (overrides applied)
    example = result.pop("examples")
    save_npz(out / f"weights_{name}.npz", W=weights["W"], V=weights["V"], bias_recon=weights["bias_recon"])
    result.pop("readout_example", None)
    json_path = Path(args.json) if (args.json is not None and main_run) else out / f"train_{name}.json"
    result["json"] = str(json_path)
    save_training_figures(out, backend, weights, example, cfg, initial)
    val = f"val_mse {result['val_mse']:.4f}" if result.get("val_mse") is not None else "val_mse n/a"
    test = (f", test_mse {result['test_mse']:.4f} (mean-image baseline {result['baseline_mean_image_mse']:.4f})"
            if result.get("test_mse") is not None else " (screening run: test digits not scored)")
    summary = (f"train {name}: {result['samples']} samples, {val}{test}"
               + (f", spiking read-out {result['test_mse_spiking_readout']:.4f}"
                  if result.get("test_mse_spiking_readout") is not None else "")
               + f", {result['samples_per_s']:.1f} samples/s; wrote {json_path}")
    if not main_run:
        from .._io import write_json
        from ..provenance import provenance

        result.setdefault("provenance", provenance(args))
        write_json(json_path, result)
    return result, summary


def run_layer_pair(args, cfg):
    """``spiking-bpdl train`` for a layer pair (see the module docstring)."""
    import dataclasses

    result, summary = _layer_pair_run(args, cfg, args.backend, main_run=True)
    if args.baselines:
        baselines, lines = {}, []
        if "W" not in cfg.frozen:
            frozen, line = _layer_pair_run(args, dataclasses.replace(cfg, frozen=("W",) + cfg.frozen),
                                           args.backend, main_run=False)
            baselines["frozen_hidden"] = frozen
            lines.append("  " + line)
        if args.backend != "rate" or cfg.frozen:
            rate, line = _layer_pair_run(args, dataclasses.replace(cfg, frozen=()), "rate", main_run=False)
            baselines["rate_twin"] = rate
            lines.append("  " + line)
        keys = ("json", "frozen", "val_mse", "test_mse", "val_mse_spiking_readout", "test_mse_spiking_readout")
        result["baselines"] = {k: {q: v.get(q) for q in keys} for k, v in baselines.items()}
        summary = "\n".join([summary] + lines)
    args.json = Path(result["json"])
    _common.finish(args, NAME, result, summary=summary)
    from ..experiments.layer_pair import save_learning_curves

    save_learning_curves(_common.out_dir(args))  # every run in OUT, this one's JSON now written
    return result
