"""Network definitions: TOML files users read, copy and edit, validated into dataclasses.

A definition names populations, projections between them, plasticity rules, and any
further tables that an experiment reads (``[run]``, ``[stimulus]``, ``[training]``...).
Quantities are strings with units (``"20 ms"``, ``"15 Hz"``, ``"100 Mohm"``) and become
plain SI floats; a bare number where a unit is required is an error. Every problem is
reported as one :class:`~spiking_bpdl.errors.ConfigError` that names the file and key.

Example::

    [network]
    name = "tiny"

    [populations.inputs]
    kind = "poisson"
    size = 100
    rate = "10 Hz"

    [populations.out]
    kind = "lif"
    size = 1
    tau_m = "20 ms"

    [projections.ff]
    pre = "inputs"
    post = "out"
    weight = { init = "uniform", low = 0.0, high = 0.5 }
    plasticity = "stdp"

    [plasticity.stdp]
    rule = "pair"
    A_plus = 0.01
    A_minus = 0.0105
    tau_plus = "20 ms"
    tau_minus = "20 ms"

    [run]
    duration = "10 s"
"""

import importlib.resources
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

__all__ = [
    "NetworkSpec",
    "PopulationSpec",
    "ProjectionSpec",
    "PlasticitySpec",
    "load_network",
    "parse_network",
    "parse_quantity",
    "POPULATION_KINDS",
    "PLASTICITY_RULES",
    "resolve_network_path",
    "resolve_definition",
    "read_definition",
    "definition_names",
    "definition_dirs",
    "DEFINITION_KINDS",
    "apply_overrides",
    "read_toml",
    "table_values",
]

#: Unit symbols accepted in definitions, with their SI factor and dimension.
_UNITS = {
    "s": (1.0, "time"), "ms": (1e-3, "time"), "us": (1e-6, "time"),
    "Hz": (1.0, "frequency"), "kHz": (1e3, "frequency"),
    "V": (1.0, "voltage"), "mV": (1e-3, "voltage"), "uV": (1e-6, "voltage"),
    "A": (1.0, "current"), "nA": (1e-9, "current"), "pA": (1e-12, "current"),
    "ohm": (1.0, "resistance"), "kohm": (1e3, "resistance"), "Mohm": (1e6, "resistance"),
    "Gohm": (1e9, "resistance"),
    "S": (1.0, "conductance"), "uS": (1e-6, "conductance"), "nS": (1e-9, "conductance"),
    "F": (1.0, "capacitance"), "nF": (1e-9, "capacitance"), "pF": (1e-12, "capacitance"),
}

#: Keys whose values must carry a unit of the given dimension.
DIMENSIONS = {
    **dict.fromkeys(["tau_m", "t_ref", "tau_syn", "tau_e", "tau_i", "tau_plus", "tau_minus", "duration",
                     "dt", "delay", "presentation", "rest", "free_phase", "target_phase", "tau_filter",
                     "warmup", "window"], "time"),
    **dict.fromkeys(["v_threshold", "v_reset", "sigma", "E_L", "E_e", "E_i", "w_unit"], "voltage"),
    **dict.fromkeys(["rate", "max_rate", "min_rate"], "frequency"),
    "R": "resistance", "C": "capacitance", "g_L": "conductance",
    **dict.fromkeys(["I_ext", "bias_current"], "current"),
}
#: Quantities that must be strictly positive (time constants, sizes of things).
_POSITIVE = {"tau_m", "tau_syn", "tau_e", "tau_i", "tau_plus", "tau_minus", "duration", "dt", "presentation",
             "R", "C", "g_L", "tau_filter"}

#: Population kinds a definition may use.
POPULATION_KINDS = ("poisson", "lif", "conductance_lif", "spike_generator", "input")
#: Plasticity rule names a definition may use (experiments may accept a subset).
PLASTICITY_RULES = ("pair", "pair_nearest", "voltage_derivative", "rate")

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]+)\s*$")


def parse_quantity(value, dimension=None, key="value"):
    """Parse ``"20 ms"`` (or a bare number if ``dimension`` is None) into an SI float.

    Parameters
    ----------
    value : str or float
    dimension : str, optional
        Expected dimension (``'time'``, ``'voltage'``, ...); None means dimensionless.
    key : str
        Name used in error messages.

    Returns
    -------
    float
    """
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        if dimension is not None:
            raise ConfigError(f"{key}: needs a unit of {dimension} (e.g. '{value} {_example(dimension)}')")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a number or a quantity string, got {value!r}")
    m = _QUANTITY.match(value)
    if not m:
        raise ConfigError(f"{key}: cannot parse {value!r} as a quantity like '20 ms'")
    number, unit = float(m.group(1)), m.group(2)
    if unit not in _UNITS:
        raise ConfigError(f"{key}: unknown unit {unit!r} in {value!r}")
    factor, dim = _UNITS[unit]
    if dimension is None:
        raise ConfigError(f"{key}: expected a plain number, got {value!r}")
    if dim != dimension:
        raise ConfigError(f"{key}: expected a {dimension}, got {value!r} (a {dim})")
    return number * factor


_EXAMPLE_UNIT = {"time": "ms", "frequency": "Hz", "voltage": "mV", "current": "nA", "resistance": "Mohm",
                 "conductance": "nS", "capacitance": "pF"}


def _example(dimension):
    return _EXAMPLE_UNIT.get(dimension, "")


def _parse_params(table, where):
    """Convert a TOML table's values: known dimensioned keys -> SI floats, others untouched."""
    out = {}
    for key, value in table.items():
        full = f"{where}.{key}"
        if key in DIMENSIONS:
            value = parse_quantity(value, DIMENSIONS[key], full)
            if key in _POSITIVE and not value > 0:
                raise ConfigError(f"{full} must be positive, got {table[key]!r}")
            if key in ("t_ref", "delay", "rest", "sigma", "free_phase", "target_phase", "warmup") and value < 0:
                raise ConfigError(f"{full} must be >= 0, got {table[key]!r}")
        elif isinstance(value, str) and _QUANTITY.match(value) and _QUANTITY.match(value).group(2) in _UNITS:
            unit = _QUANTITY.match(value).group(2)
            value = parse_quantity(value, _UNITS[unit][1], full)
        elif isinstance(value, dict):
            value = _parse_params(value, full)
        out[key] = value
    return out


@dataclass(frozen=True)
class PopulationSpec:
    """A population: ``kind`` (see :data:`POPULATION_KINDS`), ``size`` and parameters in SI."""

    name: str
    kind: str
    size: int
    params: dict = field(default_factory=dict)

    def lif_params(self):
        """The population's :class:`~spiking_bpdl.neurons.LIFParams` (defaults for unset keys)."""
        from .neurons import LIFParams

        known = LIFParams.__dataclass_fields__
        try:
            return LIFParams(**{k: v for k, v in self.params.items() if k in known})
        except ConfigError as exc:
            raise ConfigError(f"populations.{self.name}: {exc}") from None


@dataclass(frozen=True)
class ProjectionSpec:
    """Synapses from population ``pre`` to ``post``."""

    name: str
    pre: str
    post: str
    connectivity: object = "all"
    weight: dict = field(default_factory=dict)
    plasticity: str = None
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PlasticitySpec:
    """A named plasticity rule and its parameters (SI)."""

    name: str
    rule: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class NetworkSpec:
    """A validated network definition.

    Attributes
    ----------
    name, description : str
    populations : dict of str to PopulationSpec
    projections : dict of str to ProjectionSpec
    plasticity : dict of str to PlasticitySpec
    sections : dict
        Every other top-level table (``run``, ``stimulus``, ``training``...), with
        dimensioned values converted to SI floats.
    path : Path or None
    """

    name: str
    description: str
    populations: dict
    projections: dict
    plasticity: dict
    sections: dict
    path: Path = None

    def section(self, name, required=False):
        """A top-level table (e.g. ``'training'``); ``{}`` or ConfigError if missing."""
        if name not in self.sections:
            if required:
                raise ConfigError(f"{self._where()}: missing table [{name}]")
            return {}
        return self.sections[name]

    def _where(self):
        return str(self.path) if self.path else self.name


def _require(table, key, where, kind):
    if key not in table:
        raise ConfigError(f"{where}: missing key {key!r}")
    value = table[key]
    if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
        raise ConfigError(f"{where}.{key}: expected an integer, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def _tables(data, section, src):
    """Yield ``(name, table, where)`` for each sub-table of ``[section]``, checking it is a table."""
    for name, table in data.get(section, {}).items():
        where = f"{src}: {section}.{name}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: expected a table")
        yield name, table, where


def parse_network(data, path=None):
    """Validate a parsed TOML document (dict) into a :class:`NetworkSpec`."""
    src = str(path) if path else "<definition>"
    if not isinstance(data.get("network"), dict):
        raise ConfigError(f"{src}: missing table [network]")
    name = _require(data["network"], "name", f"{src}: network", str)
    pops = {}
    for pname, table, where in _tables(data, "populations", src):
        kind = _require(table, "kind", where, str)
        if kind not in POPULATION_KINDS:
            raise ConfigError(f"{where}.kind: unknown kind {kind!r}; choose one of {', '.join(POPULATION_KINDS)}")
        size = _require(table, "size", where, int)
        if size <= 0:
            raise ConfigError(f"{where}.size must be a positive integer, got {size}")
        params = _parse_params({k: v for k, v in table.items() if k not in ("kind", "size")}, where)
        pops[pname] = PopulationSpec(pname, kind, size, params)
    plast = {}
    for rname, table, where in _tables(data, "plasticity", src):
        rule = _require(table, "rule", where, str)
        if rule not in PLASTICITY_RULES:
            raise ConfigError(f"{where}.rule: unknown rule {rule!r}; choose one of {', '.join(PLASTICITY_RULES)}")
        plast[rname] = PlasticitySpec(rname, rule, _parse_params({k: v for k, v in table.items() if k != "rule"}, where))
    projs = {}
    for jname, table, where in _tables(data, "projections", src):
        pre = _require(table, "pre", where, str)
        post = _require(table, "post", where, str)
        for role, pop in (("pre", pre), ("post", post)):
            if pop not in pops:
                raise ConfigError(f"{where}.{role}: unknown population {pop!r}")
        rule = table.get("plasticity")
        if rule is not None and rule not in plast:
            raise ConfigError(f"{where}.plasticity: no [plasticity.{rule}] table")
        conn = table.get("connectivity", "all")
        if not (conn in ("all", "one_to_one") or (isinstance(conn, float) and 0 < conn <= 1)):
            raise ConfigError(f"{where}.connectivity: expected 'all', 'one_to_one' or a probability in (0, 1]")
        if conn == "one_to_one" and pops[pre].size != pops[post].size:
            raise ConfigError(f"{where}: one_to_one needs equal sizes, got {pops[pre].size} and {pops[post].size}")
        weight = table.get("weight", {})
        if not isinstance(weight, dict):
            raise ConfigError(f"{where}.weight: expected a table like {{ init = 'uniform', low = 0, high = 1 }}")
        extra = {k: v for k, v in table.items() if k not in ("pre", "post", "plasticity", "connectivity", "weight")}
        projs[jname] = ProjectionSpec(jname, pre, post, conn, _parse_params(weight, where + ".weight"), rule,
                                      _parse_params(extra, where))
    known = {"network", "populations", "projections", "plasticity"}
    sections = {}
    for key, table in data.items():
        if key in known:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{src}: top-level key {key!r} must be a table")
        sections[key] = _parse_params(table, f"{src}: {key}")
    return NetworkSpec(name, data["network"].get("description", ""), pops, projs, plast, sections,
                       Path(path) if path else None)


#: Kinds of shipped definitions and their folder under ``networks/``.
DEFINITION_KINDS = {"network": (), "sweep": ("sweeps",)}


def definition_dirs(kind="network"):
    """Folders that hold the shipped definitions of ``kind``, searched in this order.

    The wheel installs ``networks/`` as package data (``spiking_bpdl/networks``); an editable
    install or a source checkout reads the repository's ``networks/`` folder itself, so an
    edited definition takes effect without reinstalling.

    Parameters
    ----------
    kind : {'network', 'sweep'}
        ``network``: ``networks/*.toml`` (layer pairs, Song-Abbott, generative configurations);
        ``sweep``: ``networks/sweeps/*.toml``.

    Returns
    -------
    list of Path
        The folders that exist (possibly none).
    """
    if kind not in DEFINITION_KINDS:
        raise ValueError(f"unknown definition kind {kind!r}; expected one of {sorted(DEFINITION_KINDS)}")
    sub = DEFINITION_KINDS[kind]
    # A zipped install would give a non-filesystem Traversable; wheels install as files.
    shipped = importlib.resources.files(__package__).joinpath("networks", *sub)
    dirs = [Path(shipped)] if isinstance(shipped, Path) and shipped.is_dir() else []
    checkout = Path(__file__).resolve().parents[1]
    # Only a source checkout (pyproject.toml beside the package), never a site-packages
    # folder that happens to hold some other "networks" directory.
    if (checkout / "pyproject.toml").is_file() and checkout.joinpath("networks", *sub).is_dir():
        dirs.append(checkout.joinpath("networks", *sub))
    return dirs


def definition_names(kind="network"):
    """Names of the shipped definitions of ``kind`` (file stems), sorted.

    Parameters
    ----------
    kind : {'network', 'sweep'}

    Returns
    -------
    list of str
    """
    return sorted({p.stem for d in definition_dirs(kind) for p in d.glob("*.toml")})


def resolve_definition(path, kind="network"):
    """Find a definition file: an existing path, else a shipped definition by name.

    ``path`` is taken as a file when it exists. Otherwise a bare name (``layer_pair_small``,
    with or without ``.toml``), or a path written as in the documentation
    (``networks/layer_pair_small.toml``, ``networks/sweeps/stdp_match_seeds.toml``), names
    a shipped definition, found by :func:`definition_dirs`; so the documented commands
    work from any directory once the package is installed. Any other missing path is an
    error rather than a silent substitution.

    Parameters
    ----------
    path : str or Path
    kind : {'network', 'sweep'}

    Returns
    -------
    Path

    Raises
    ------
    ConfigError
        One line naming ``path`` and listing the shipped names.
    """
    p = Path(path)
    if p.is_file():
        return p
    what = "sweep file" if kind == "sweep" else "network definition"
    documented = Path("networks", *DEFINITION_KINDS[kind])
    if p.parent in (Path("."), documented):
        stem = p.name[: -len(".toml")] if p.name.endswith(".toml") else p.name
        for folder in definition_dirs(kind):
            if (folder / f"{stem}.toml").is_file():
                return folder / f"{stem}.toml"
    names = definition_names(kind)
    shipped = f"; shipped {what}s: {', '.join(names)}" if names else f" (no shipped {what}s found)"
    raise ConfigError(f"{what} {path} not found{shipped}")


def resolve_network_path(path):
    """Find a network definition: an existing file or a shipped name (see :func:`resolve_definition`)."""
    return resolve_definition(path, "network")


def _toml_value(text):
    """``"5 ms"`` -> the string, ``0.5`` -> 0.5, ``true`` -> True: a value as TOML would read it.

    Text that is not a TOML value (``5 ms`` without quotes) is taken as a string, so that
    quantities need no quoting on a command line.
    """
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data, overrides, src="<definition>"):
    """Set ``section.key=value`` items in a parsed TOML document (in place) before validation.

    Parameters
    ----------
    data : dict
        The parsed TOML document.
    overrides : iterable of str
        Items ``"dotted.key=value"``, e.g. ``"layer_pair.nudge=8"`` or
        ``"populations.hidden.tau_syn=5 ms"``. The value is read as a TOML value (numbers,
        booleans, quoted strings), else as a string. The table that holds the key must
        exist; the key itself may be new (an optional key of the definition). Nothing after
        the ``=`` (``"projections.G2.plasticity="``) removes the key, which must be there: the
        definition's default applies (for an optional key such as a projection's plasticity
        rule, its absence).
    src : str
        Name of the definition, for error messages.

    Returns
    -------
    dict
        ``data``, changed.
    """
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(f"{src}: override {item!r} is not of the form section.key=value")
        key, text = item.split("=", 1)
        parts = [p.strip() for p in key.split(".")]
        if len(parts) < 2 or not all(parts):
            raise ConfigError(f"{src}: override key {key!r} must name a table and a key, like layer_pair.nudge")
        table = data
        for depth, part in enumerate(parts[:-1]):
            table = table.get(part) if isinstance(table, dict) else None
            if not isinstance(table, dict):
                raise ConfigError(f"{src}: override {key!r}: no table [{'.'.join(parts[:depth + 1])}] in the definition")
        if not text.strip():
            if parts[-1] not in table:
                raise ConfigError(f"{src}: override {key!r}=: no key {parts[-1]!r} to remove in "
                                  f"[{'.'.join(parts[:-1])}]")
            del table[parts[-1]]
            continue
        table[parts[-1]] = _toml_value(text.strip())
    return data


def table_values(data, tables, src):
    """Flatten a definition's ``{table: {key: value}}`` into ``{key: value}``, refusing unknown tables and keys.

    For the definition families whose keys are unique across their tables (the generative model's,
    VPF's); the stack and layer-pair definitions keep their own nested structure.

    Parameters
    ----------
    data : dict
        The parsed TOML document.
    tables : dict of str to sequence of str
        The tables the definition takes and the keys each may hold.
    src : str
        The definition's name, for the one-line errors.

    Returns
    -------
    dict

    Raises
    ------
    ConfigError
        ``"<src>: [t]: unknown table ..."``, ``"<src>: t: expected a table"`` or
        ``"<src>: t.k: unknown key ..."``.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{src}: expected a table of tables")
    values = {}
    for table, content in data.items():
        if table not in tables:
            raise ConfigError(f"{src}: [{table}]: unknown table; this definition takes "
                              f"{', '.join(f'[{t}]' for t in tables)}")
        if not isinstance(content, dict):
            raise ConfigError(f"{src}: {table}: expected a table")
        for key, value in content.items():
            if key not in tables[table]:
                raise ConfigError(f"{src}: {table}.{key}: unknown key; [{table}] takes {', '.join(tables[table])}")
            values[key] = value
    return values


def read_toml(path):
    """Parse a TOML file; an unreadable or malformed file is one ConfigError naming it."""
    try:
        return tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc.__class__.__name__})") from None


def read_definition(path, overrides=()):
    """A definition's path and its TOML document with the overrides applied (not yet validated).

    Parameters
    ----------
    path : str or Path
        A file, or the name of a shipped definition (see :func:`resolve_definition`).
    overrides : iterable of str, optional
        ``section.key=value`` items (see :func:`apply_overrides`).

    Returns
    -------
    tuple
        ``(path, data)``: the resolved :class:`~pathlib.Path` and the document (dict).
    """
    path = resolve_network_path(path)
    data = read_toml(path)
    apply_overrides(data, overrides, str(path))
    return path, data


def load_network(path, overrides=()):
    """Load and validate a TOML network definition.

    Parameters
    ----------
    path : str or Path
        A file, or the name of a shipped definition (see :func:`resolve_definition`).
    overrides : iterable of str, optional
        ``section.key=value`` items applied before validation (see :func:`apply_overrides`).

    Returns
    -------
    NetworkSpec
    """
    path, data = read_definition(path, overrides)
    return parse_network(data, path)
