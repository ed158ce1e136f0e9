"""Sweep files: one project command, its fixed options, a grid to vary and the seeds.

A sweep file is TOML::

    command = "stdp-window"          # any spiking-bpdl command; "vpf train" for sub-commands
    args = []                        # positional arguments (e.g. ["layer_pair_small"] for train)
    metrics = ["max_abs_error"]      # optional: the metrics the summary table and figures show

    [options]                        # fixed options, as on the command line without "--"
    rule = "pair"
    target = "numpy"

    [grid]                           # lists; the Cartesian product is taken, first key = x axis
    tau-plus = [10, 20, 40]
    "layer_pair.nudge" = [4, 8]      # a dotted key is a key of the definition (train: --set)
    seeds = [0, 1, 2]                # or top-level; default [0]

    [ratios.spiking_over_rate]       # optional: per-seed ratios between two values of one axis
    metric = "test_mse"
    axis = "backend"
    numerator = "spiking"
    denominator = "rate"
    denominator_metric = "test_mse"  # optional (default: metric)

Every (grid point, seed) is parsed by the command's own parser and checked by its
``validate`` function before any task starts, so a bad value is one line, exit 2, nothing run.
"""

import contextlib
import hashlib
import io
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, SpikingBPDLError

__all__ = ["SweepSpec", "Task", "load_sweep", "parse_sweep", "SWEEP_COMMANDS", "RESERVED_OPTIONS"]

#: Commands a sweep may run (every command of the CLI except ``sweep`` itself).
SWEEP_COMMANDS = ("stdp-window", "stdp-match", "song-abbott", "generative", "vpf", "train")
#: Options that the sweep sets for every task itself.
RESERVED_OPTIONS = ("seed", "out", "json")
_KNOWN_KEYS = {"command", "args", "options", "grid", "seeds", "metrics", "ratios", "description"}


@dataclass(frozen=True)
class Task:
    """One (grid point, seed) of a sweep: what a worker runs.

    Attributes
    ----------
    point : dict
        Grid values of this point (key as in the sweep file -> value).
    point_id : str
        Stable text of the point, e.g. ``"tau-plus=10"`` (``"-"`` for a seeds-only sweep).
    seed : int
    argv : list of str
        The command line after ``spiking-bpdl``, without ``--seed/--out/--json``.
    directory : str
        The task's folder below ``OUT/tasks/``.
    """

    point: dict
    point_id: str
    seed: int
    argv: list
    directory: str

    @property
    def key(self):
        """``(point_id, seed)``: the identity of a row in the results."""
        return (self.point_id, int(self.seed))


def _toml_literal(value):
    """A value as ``--set`` reads it back (TOML): strings quoted, booleans lower-case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def _slug(text, limit=60):
    clean = re.sub(r"[^A-Za-z0-9.=+-]+", "_", text).strip("_") or "point"
    if len(clean) > limit:
        clean = clean[:limit] + "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return clean


def _as_path_if_exists(value, base):
    """Relative paths that exist under ``base`` become absolute (tasks run in their own folder)."""
    if isinstance(value, str) and value and not value.startswith("-"):
        candidate = Path(value).expanduser()
        if not candidate.is_absolute() and (base / candidate).exists():
            return str((base / candidate).resolve())
    return value


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep. Build it with :func:`load_sweep` or :func:`parse_sweep`.

    Attributes
    ----------
    command : tuple of str
        The command words, e.g. ``("stdp-window",)`` or ``("vpf", "train")``.
    args : tuple of str
        Positional arguments.
    options : dict
        Fixed options (name without ``--`` -> value); dotted names are definition keys.
    grid : dict
        Axis name -> list of values, in file order (the first axis is the x axis of the figures).
    seeds : tuple of int
    metrics : tuple of str
        Metrics shown in ``summary.md`` and the figures (empty: every numeric metric that varies).
    ratios : dict
        Name -> ``{metric, axis, numerator, denominator}``.
    base_dir : Path
        Directory against which relative paths in ``args``/``options``/``grid`` are resolved.
    source : str
        Where the sweep came from (for messages).
    """

    command: tuple
    args: tuple = ()
    options: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    seeds: tuple = (0,)
    metrics: tuple = ()
    ratios: dict = field(default_factory=dict)
    base_dir: Path = field(default_factory=Path.cwd)
    source: str = "<sweep>"

    @property
    def axes(self):
        """Names of the grid axes (seeds excluded), in file order."""
        return list(self.grid)

    def points(self):
        """Every grid point as a dict, in the order of the Cartesian product."""
        if not self.grid:
            return [{}]
        keys = list(self.grid)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.grid[k] for k in keys))]

    @staticmethod
    def point_id(point):
        """Stable text of a grid point (``"-"`` when the grid has only seeds)."""
        return ",".join(f"{k}={v}" for k, v in point.items()) or "-"

    def argv(self, point):
        """The command line of ``point`` after ``spiking-bpdl`` (without seed and output options)."""
        argv = [*self.command, *(_as_path_if_exists(a, self.base_dir) for a in self.args)]
        merged = {**self.options, **point}
        for key, value in merged.items():
            if "." in key:
                argv += ["--set", f"{key}={_toml_literal(value)}"]
            elif isinstance(value, bool):
                argv += [f"--{key}"] if value else []
            else:
                argv += [f"--{key}", str(_as_path_if_exists(value, self.base_dir))]
        return argv

    def tasks(self):
        """Every (point, seed) as a :class:`Task`."""
        tasks = []
        for point in self.points():
            pid = self.point_id(point)
            for seed in self.seeds:
                tasks.append(Task(point, pid, int(seed), self.argv(point), f"{_slug(pid)}/seed-{int(seed)}"))
        return tasks

    def to_dict(self):
        """The resolved sweep (written to ``OUT/sweep.json``)."""
        return {"command": " ".join(self.command), "args": list(self.args), "options": dict(self.options),
                "grid": {k: list(v) for k, v in self.grid.items()}, "seeds": list(self.seeds),
                "metrics": list(self.metrics), "ratios": dict(self.ratios), "source": self.source}


def _fail(src, message):
    raise ConfigError(f"{src}: {message}")


def _subparser(parser, words, src):
    """The argparse parser of ``words`` (e.g. ["vpf", "train"]) below the top-level parser."""
    import argparse

    current = parser
    for word in words:
        actions = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions or word not in actions[0].choices:
            choices = sorted(actions[0].choices) if actions else []
            where = " ".join(words[: words.index(word)]) or "spiking-bpdl"
            _fail(src, f"unknown command {' '.join(words)!r}"
                       + (f"; {where} has {', '.join(choices)}" if choices else ""))
        current = actions[0].choices[word]
    # a command that still needs a sub-command (e.g. "vpf" alone) is incomplete
    if any(isinstance(a, argparse._SubParsersAction) for a in current._actions):
        subs = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)][0]
        _fail(src, f"command {' '.join(words)!r} needs one of: {', '.join(sorted(subs.choices))}")
    return current


def _parse_point(parser, argv, src, label):
    """Parse one command line with the CLI's parser; argparse errors become one ConfigError."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stderr(buffer):
            return parser.parse_args(argv)
    except SystemExit:
        message = buffer.getvalue().strip().splitlines()
        text = message[-1] if message else "rejected by the command's parser"
        text = re.sub(r"^spiking-bpdl( [\w-]+)*: error: ", "", text)
        _fail(src, f"point {label}: {text}")


def _check_value(value, where, src):
    if isinstance(value, (dict, list)):
        _fail(src, f"{where}: expected a single value (number, string or boolean), got {type(value).__name__}")
    if isinstance(value, float) and value != value:
        _fail(src, f"{where}: not a number")


def parse_sweep(data, source="<sweep>", base_dir=None, validate=True):
    """Validate a parsed sweep document (dict) into a :class:`SweepSpec`.

    Parameters
    ----------
    data : dict
        The TOML document.
    source : str
        Name of the sweep file, for messages.
    base_dir : Path, optional
        Directory for relative paths (default: the current directory).
    validate : bool
        Parse every (point, seed) with the command's parser and run its ``validate``.

    Returns
    -------
    SweepSpec

    Raises
    ------
    ConfigError
        One line naming the problem.
    """
    from ..cli import build_parser

    src = source
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        _fail(src, f"unknown key {unknown[0]!r}; a sweep file has {', '.join(sorted(_KNOWN_KEYS))}")
    command = data.get("command")
    if not isinstance(command, str) or not command.split():
        _fail(src, "missing 'command' (e.g. command = \"stdp-window\")")
    words = tuple(command.split())
    if words[0] not in SWEEP_COMMANDS:
        _fail(src, f"unknown command {words[0]!r}; choose one of {', '.join(SWEEP_COMMANDS)}")
    args = data.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, (str, int, float)) for a in args):
        _fail(src, "'args' must be a list of positional arguments")
    options = data.get("options", {})
    if not isinstance(options, dict):
        _fail(src, "[options] must be a table")
    grid = data.get("grid")
    if not isinstance(grid, dict) or not grid:
        _fail(src, "empty grid: add a [grid] table with at least one list of values (or seeds)")
    grid = dict(grid)
    seeds = grid.pop("seeds", None)
    if seeds is not None and "seeds" in data:
        _fail(src, "seeds given twice (top level and in [grid])")
    seeds = data.get("seeds", seeds if seeds is not None else [0])
    if (not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                             for s in seeds)):
        _fail(src, "seeds must be a non-empty list of integers")
    if len(set(seeds)) != len(seeds):
        _fail(src, "seeds repeat a value")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            _fail(src, f"empty grid: grid.{key} must be a non-empty list")
        for v in values:
            _check_value(v, f"grid.{key}", src)
        if len(set(map(repr, values))) != len(values):
            _fail(src, f"grid.{key} repeats a value")
    for key, value in options.items():
        _check_value(value, f"options.{key}", src)
        if key in grid:
            _fail(src, f"{key!r} is both a fixed option and a grid axis")
    metrics = data.get("metrics", [])
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        _fail(src, "'metrics' must be a list of metric names")
    ratios = data.get("ratios", {})
    if not isinstance(ratios, dict):
        _fail(src, "[ratios] must be a table of tables")
    for name, r in ratios.items():
        needed = {"metric", "axis", "numerator", "denominator"}
        if not isinstance(r, dict) or not needed <= set(r) or set(r) - needed - {"denominator_metric"}:
            _fail(src, f"ratios.{name} needs metric, axis, numerator and denominator (and optionally "
                       "denominator_metric)")
        if r["axis"] not in grid:
            _fail(src, f"ratios.{name}.axis {r['axis']!r} is not a grid axis")
        for part in ("numerator", "denominator"):
            if r[part] not in grid[r["axis"]]:
                _fail(src, f"ratios.{name}.{part} {r[part]!r} is not a value of grid.{r['axis']}")

    parser = build_parser()
    sub = _subparser(parser, list(words), src)
    known = {s for a in sub._actions for s in a.option_strings}
    for key in [*options, *grid]:
        if key in RESERVED_OPTIONS:
            _fail(src, f"option {key!r} is set by the sweep for every task (seeds, OUT/tasks/...); remove it")
        if "." in key:
            if "--set" not in known:
                _fail(src, f"{key!r} looks like a definition key, but {command!r} has no definition to change")
        elif f"--{key}" not in known:
            _fail(src, f"unknown option {key!r} of {command!r} (see spiking-bpdl {command} --help)")
    spec = SweepSpec(command=words, args=tuple(str(a) for a in args), options=dict(options), grid=grid,
                     seeds=tuple(seeds), metrics=tuple(metrics), ratios={k: dict(v) for k, v in ratios.items()},
                     base_dir=Path(base_dir or Path.cwd()).resolve(), source=src)
    if validate:
        for task in spec.tasks():
            label = f"{task.point_id} seed {task.seed}"
            ns = _parse_point(parser, [*task.argv, "--seed", str(task.seed), "--out", "sweep-validation"], src, label)
            check = getattr(ns._module, "validate", None)
            if check is not None:
                try:
                    check(ns)
                except SpikingBPDLError as exc:
                    _fail(src, f"point {label}: {exc}")
    return spec


def load_sweep(path, validate=True):
    """Read and validate a sweep file (see :func:`parse_sweep`).

    Parameters
    ----------
    path : str or Path
        The TOML file, or the name of a shipped sweep (``networks/sweeps/``; see
        :func:`spiking_bpdl.spec.resolve_definition`).
    validate : bool
        Check every point with the command's own parser and ``validate``.

    Returns
    -------
    SweepSpec
    """
    from ..spec import read_toml, resolve_definition

    p = resolve_definition(path, "sweep")
    return parse_sweep(read_toml(p), source=str(p), validate=validate)
