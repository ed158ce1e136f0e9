"""The LIF layer pair as a rate network: its definition, the rate rule and exact backprop.

One *definition* (``networks/layer_pair_*.toml``, parsed by :func:`load_layer_pair`)
serves three backends:

* ``spiking`` (:mod:`spiking_bpdl.spiking.layer_pair`): LIF neurons in Brian2, trained by
  all-to-all pair STDP;
* ``rate`` (:func:`rate_rule_updates`): the same network with each LIF population
  replaced by its transfer function (Siegert rate of the noisy LIF neuron), trained with
  the rate rule ``dW = eta_eff * rho_pre * d rho_post``;
* ``backprop`` (:func:`backprop_gradients`): the same rate network, trained by the exact
  gradient of the squared reconstruction error.

The network (all rates in Hz, drives ``u`` in units of the threshold ``theta``)::

    input      rho_in = r_max * x~                        x~: corrupted image in [0, 1]
    hidden     rho_h  = phi(b_h + tau_m [(1-gamma) rho_in W + gamma rho_r W])
    recon      rho_r  = phi(b_r + tau_m rho_h V  [+ beta (x - rho_r / r_max)  target phase])
    output     x^ = rho_r / r_max

``phi`` is the LIF transfer function (:func:`transfer`): a weight ``w`` is the jump
``w * theta`` of the membrane per pre-synaptic spike, so a pre-synaptic rate ``rho``
contributes ``tau_m * w * rho`` to the mean drive. ``W`` (``n_in x n_h``) are the forward
synapses, ``V`` (``n_h x n_in``) the feedback synapses. The term ``gamma rho_r W`` is the
reconstruction *fed back through f*: the same forward weights carry the reconstruction to
the hidden layer (a copy of ``W``; spiking backend: refreshed once per block).

Learning (one presentation = free phase, then target phase)::

    free phase    rho_h, rho_r at their fixed point (nudge off)
    target phase  the teacher current beta (x - rho_r'/r_max) nudges the reconstruction
                  toward the clean image; rho_r -> rho_r', and through the gamma-pathway
                  the hidden rates move rho_h -> rho_h' (target propagation)
    rate rule     dV = eta_V * mean(rho_h, rho_h') (rho_r' - rho_r)
                  dW = eta_W * rho_in (rho_h' - rho_h)

For a small nudge, ``rho_r' - rho_r = beta phi'(u_r) (x - x^)`` and ``dV`` is exactly
``-eta_V * beta * r_max / tau_m`` times the gradient of ``J = 1/2 ||x - x^||^2`` with
respect to ``V`` (tested by finite differences). The encoder receives ``W^T`` instead of
``V`` as its error pathway (target propagation through f), which equals the gradient when
``W^T`` and ``V`` are aligned.

``eta = int s K(s) ds = A_plus tau_plus^2 + A_minus tau_minus^2`` of the balanced STDP
window (derived in ``docs/stdp.md``), so the rate backend and the spiking backend use the same
numbers from the same file.
"""

import functools
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import ConfigError

__all__ = [
    "LayerPairConfig",
    "load_layer_pair",
    "config_from_spec",
    "transfer",
    "transfer_derivative",
    "init_weights",
    "forward",
    "free_phase",
    "target_phase",
    "rate_rule_updates",
    "reconstruction_loss",
    "backprop_gradients",
    "corrupt",
    "load_images",
    "load_splits",
    "with_mean_bias",
    "RateTrainer",
]


@dataclass(frozen=True)
class LayerPairConfig:
    """A validated layer-pair definition (SI units; weights dimensionless, in ``theta``).

    See ``networks/layer_pair_small.toml`` for every key with its meaning.
    """

    name: str
    n_in: int
    n_hidden: int
    # neurons (shared by hidden and reconstruction populations)
    tau_m: float = 20e-3
    v_threshold: float = 20e-3
    v_reset: float = 0.0
    t_ref: float = 2e-3
    sigma: float = 4e-3
    tau_syn: float = 0.0  # spiking: synaptic current time constant (0: delta synapses); same mean drive
    bias_hidden: float = 0.6
    bias_recon: object = 0.6  # a number, 'mean', or one value per pixel (tuple)
    # input encoding
    max_rate: float = 100.0
    encoder: str = "poisson"
    # synapses and plasticity
    w_init_std: float = 0.05
    v_init_std: float = 0.0
    A_plus_W: float = 1e-4
    A_plus_V: float = 1e-4
    A_minus_W: object = None  # None: balanced window (A_minus tau_minus = A_plus tau_plus)
    A_minus_V: object = None
    tau_plus: float = 20e-3
    tau_minus: float = 20e-3
    # learning scheme
    free_phase: float = 40e-3
    target_phase: float = 60e-3
    plasticity_onset: float = 20e-3
    nudge: float = 0.5
    feedback_gain: float = 0.2
    tau_filter: float = 20e-3
    v_window: str = "contrastive"
    cycles: int = 1
    weight_updates: str = "online"  # spiking: "online" or "per_sample" (changes expressed at the next sample)
    rate_eta: str = "window"  # the rate rule's step: "window" (int s K) or "gated" (what the gates realize)
    trace_reset: str = "none"  # spiking: "sample" zeroes the STDP traces when a sample starts (no cross-sample pairs)
    dt: float = 0.5e-3
    # data
    dataset: str = "mnist"
    source: str = "auto"
    downsample: int = 1
    corruption: str = "none"
    corruption_level: float = 0.0
    # training schedule
    samples: int = 2000
    block: int = 100
    minibatch: int = 10
    eval_every: int = 500
    test_samples: int = 500
    readout_samples: int = 100
    train_pool: int = 2000
    validation_samples: object = None  # int; None: a sixth of the training split (MNIST: 10,000 of 60,000)
    target: str = "cython"
    backprop_lr_W: float = 0.0
    backprop_lr_V: float = 0.0
    lr_decay_samples: float = 0.0
    frozen: tuple = ()  # projections kept at their initial weights on every backend ("W", "V"): the ablation

    def __post_init__(self):
        # Checked here, not only in the CLI, so dataclasses.replace cannot build a pair that trains a
        # projection it does not have.
        unknown = sorted(set(self.frozen) - {"W", "V"})
        if unknown:
            raise ConfigError(f"unknown projection(s) to freeze: {', '.join(unknown)}; a layer pair has W and V")
        object.__setattr__(self, "frozen", tuple(sorted(set(self.frozen))))

    # ------------------------------------------------------------------ derived numbers
    @property
    def eta_W(self):
        """The rate rule's step on ``W`` (s^2): see :meth:`eta`."""
        return self.eta("W")

    @property
    def eta_V(self):
        """The rate rule's step on ``V`` (s^2): see :meth:`eta`."""
        return self.eta("V")

    def eta(self, which):
        """Step ``eta`` of the rate rule ``dW = eta rho_pre d rho_post`` for ``'W'`` or ``'V'`` (s^2).

        ``rate_eta = "window"``: ``int s K = A_plus tau_plus^2 + A_minus tau_minus^2``, the step of
        ungated pair STDP for slowly changing rates (``docs/stdp.md``).
        ``rate_eta = "gated"``: what the spiking backend's gated pairings realize for a step of the
        post-synaptic rate at the switch, ``L (A_plus tau_plus - A_minus tau_minus)
        + A_minus tau_minus^2 (1 - exp(-L / tau_minus))`` with ``L = plasticity_window``
        (docs/layer_pairs.md; measured by ``scripts/layer_pair_alignment.py``); with
        ``trace_reset = "sample"`` the pairs that would reach back before the sample start are
        missing: ``- A_plus tau_plus^2 exp(-free_phase / tau_plus) (1 - exp(-L / tau_plus))``.
        """
        A, Am = (self.A_plus_W if which == "W" else self.A_plus_V), self.A_minus(which)
        if self.rate_eta == "gated":
            L = self.plasticity_window
            eta = L * (A * self.tau_plus - Am * self.tau_minus) + Am * self.tau_minus**2 * -np.expm1(-L / self.tau_minus)
            if self.trace_reset == "sample":
                eta -= A * self.tau_plus**2 * np.exp(-self.free_phase / self.tau_plus) * -np.expm1(-L / self.tau_plus)
            return eta
        return A * self.tau_plus**2 + Am * self.tau_minus**2

    @property
    def b_r(self):
        """Reconstruction bias as an array (scalar or one per pixel)."""
        if isinstance(self.bias_recon, str):
            raise ConfigError("bias = 'mean' must be resolved with with_mean_bias(cfg, images) first")
        return np.asarray(self.bias_recon, dtype=np.float64)

    @property
    def presentation(self):
        """One sample's presentation (s): the first free phase and target phase, then
        ``cycles - 1`` more (free, target) pairs of ``target_phase`` each."""
        return self.free_phase + self.target_phase + (self.cycles - 1) * 2 * self.target_phase

    @property
    def plasticity_window(self):
        """``L``: the gated stretch at the end of each free phase and the start of each target phase (s)."""
        return min(self.free_phase - self.plasticity_onset, self.target_phase)

    def phases(self):
        """The presentation's phases as ``(start, end, is_target)`` tuples (s)."""
        out = [(0.0, self.free_phase, False)]
        t = self.free_phase
        for k in range(self.cycles):
            if k:
                out.append((t, t + self.target_phase, False))
                t += self.target_phase
            out.append((t, t + self.target_phase, True))
            t += self.target_phase
        return out

    @property
    def image_side(self):
        return int(round(np.sqrt(self.n_in)))

    def lr_scale(self, samples_done):
        """Learning-rate factor after ``samples_done`` training samples, the same for every
        backend: ``1 / (1 + samples_done / lr_decay_samples)`` (1 when the decay is 0)."""
        if self.lr_decay_samples <= 0:
            return 1.0
        return 1.0 / (1.0 + samples_done / self.lr_decay_samples)

    def A_minus(self, which):
        """Depression amplitude of ``'W'`` or ``'V'`` (derived for a balanced window)."""
        A = self.A_plus_W if which == "W" else self.A_plus_V
        am = self.A_minus_W if which == "W" else self.A_minus_V
        return A * self.tau_plus / self.tau_minus if am is None else float(am)

    def stdp_rule(self, which):
        """The :class:`~spiking_bpdl.plasticity.PairSTDP` window of ``'W'`` or ``'V'`` (balanced unless
        the definition sets ``A_minus``). With ``rate_eta = "window"`` its ``integral_sK()`` is
        ``eta_W`` or ``eta_V``; with ``"gated"`` the step is the gated expectation instead."""
        from ..plasticity import PairSTDP

        A = self.A_plus_W if which == "W" else self.A_plus_V
        return PairSTDP(A_plus=A, A_minus=self.A_minus(which), tau_plus=self.tau_plus, tau_minus=self.tau_minus,
                        w_max=1e9)

    def lif_params(self):
        """:class:`~spiking_bpdl.neurons.LIFParams` of the hidden and reconstruction neurons."""
        from ..neurons import LIFParams

        return LIFParams(tau_m=self.tau_m, v_threshold=self.v_threshold, v_reset=self.v_reset,
                         t_ref=self.t_ref, sigma=self.sigma, tau_syn=self.tau_syn, R=1.0)

    def to_dict(self):
        return asdict(self)


def _get(table, key, default, where, kind=float, positive=False, nonneg=False):
    value = table.get(key, default)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}.{key}: expected an integer, got {value!r}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}.{key}: expected a number, got {value!r}")
        value = float(value)
    elif kind is str and not isinstance(value, str):
        raise ConfigError(f"{where}.{key}: expected a string, got {value!r}")
    if positive and not value > 0:
        raise ConfigError(f"{where}.{key} must be positive, got {value!r}")
    if nonneg and not value >= 0:
        raise ConfigError(f"{where}.{key} must be >= 0, got {value!r}")
    return value


def _bias(table, where):
    value = table.get("bias", 0.6)
    if value == "mean":
        return value
    return _get(table, "bias", 0.6, where)


def with_mean_bias(cfg, x_train):
    """Resolve ``bias = "mean"`` of the reconstruction: one drive per pixel such that the
    free reconstruction with ``V = 0`` is the training set's mean image (decoder started at
    the mean, as in ``docs/generative.md``). Numbers are returned unchanged."""
    if not isinstance(cfg.bias_recon, str):
        return cfg
    grid, rate, _ = _table(cfg.tau_m, cfg.t_ref, cfg.sigma / cfg.v_threshold, cfg.v_reset / cfg.v_threshold, cfg.dt)
    target = np.asarray(x_train, dtype=np.float64).mean(axis=0) * cfg.max_rate
    keep = np.concatenate([[True], np.diff(rate) > 0])
    u = np.interp(target, rate[keep], grid[keep])
    from dataclasses import replace

    return replace(cfg, bias_recon=tuple(float(v) for v in np.maximum(u, 0.0)))


#: The keys each table of a layer-pair definition may hold (everything config_from_spec reads).
_SECTION_KEYS = {
    "layer_pair": {"dt", "free_phase", "target_phase", "plasticity_onset", "nudge", "feedback_gain", "tau_filter",
                   "v_window", "cycles", "rate_eta", "weight_updates", "trace_reset"},
    "data": {"dataset", "source", "downsample", "corruption", "corruption_level"},
    "training": {"samples", "block", "minibatch", "eval_every", "test_samples", "readout_samples", "train_pool",
                 "validation_samples", "target", "backprop_lr_W", "backprop_lr_V", "lr_decay_samples"},
}


def config_from_spec(spec):
    """Validate a :class:`~spiking_bpdl.spec.NetworkSpec` as a layer pair.

    The definition needs populations ``input`` (poisson), ``hidden`` and ``recon`` (lif,
    identical neuron parameters), projections ``W`` (input -> hidden) and ``V``
    (hidden -> recon) with ``rule = "pair"`` plasticity, and the tables ``[layer_pair]``,
    ``[data]`` and ``[training]``.

    Raises
    ------
    ConfigError
        With one line naming the file and the problem.
    """
    src = str(spec.path) if spec.path else spec.name
    pops = spec.populations
    for name, kind in (("input", "poisson"), ("hidden", "lif"), ("recon", "lif")):
        if name not in pops:
            raise ConfigError(f"{src}: a layer pair needs a population [populations.{name}]")
        if pops[name].kind != kind:
            raise ConfigError(f"{src}: populations.{name}.kind must be {kind!r}, got {pops[name].kind!r}")
    if pops["input"].size != pops["recon"].size:
        raise ConfigError(f"{src}: input ({pops['input'].size}) and recon ({pops['recon'].size}) sizes must match")
    for name, (pre, post) in (("W", ("input", "hidden")), ("V", ("hidden", "recon"))):
        if name not in spec.projections:
            raise ConfigError(f"{src}: a layer pair needs a projection [projections.{name}] ({pre} -> {post})")
        proj = spec.projections[name]
        if (proj.pre, proj.post) != (pre, post):
            raise ConfigError(f"{src}: projections.{name} must go {pre} -> {post}, got {proj.pre} -> {proj.post}")
        if proj.connectivity != "all":
            raise ConfigError(f"{src}: projections.{name}.connectivity must be 'all'")
        if proj.plasticity is None:
            raise ConfigError(f"{src}: projections.{name} needs a plasticity rule")
        rule = spec.plasticity[proj.plasticity]
        if rule.rule != "pair":
            raise ConfigError(f"{src}: plasticity.{rule.name}.rule must be 'pair' (all-to-all pair STDP) "
                              f"for a layer pair, got {rule.rule!r}")
    hid, rec = pops["hidden"].lif_params(), pops["recon"].lif_params()
    if hid.replace(R=1.0) != rec.replace(R=1.0):
        raise ConfigError(f"{src}: hidden and recon must share neuron parameters in this version")
    lp, data, train = spec.section("layer_pair"), spec.section("data"), spec.section("training")
    where = f"{src}: "
    for section, table in (("layer_pair", lp), ("data", data), ("training", train)):
        unknown = sorted(set(table) - _SECTION_KEYS[section])
        if unknown:  # a misspelt key would otherwise be ignored silently and its default used
            raise ConfigError(f"{where}{section}.{unknown[0]}: unknown key; [{section}] takes "
                              f"{', '.join(sorted(_SECTION_KEYS[section]))}")
    kw = {}

    def rule_params(name):
        r = spec.plasticity[spec.projections[name].plasticity]
        p = r.params
        A = _get(p, "A_plus", 1e-4, f"{where}plasticity.{r.name}", positive=True)
        tp = p.get("tau_plus", 20e-3)
        tm = p.get("tau_minus", 20e-3)
        am = None
        if "A_minus" in p:
            am = _get(p, "A_minus", 0, f"{where}plasticity.{r.name}", nonneg=True)
        return A, am, tp, tm

    (aw, amw, tpw, tmw), (av, amv, tpv, tmv) = rule_params("W"), rule_params("V")
    if (tpw, tmw) != (tpv, tmv):
        raise ConfigError(f"{src}: W and V must use the same tau_plus/tau_minus in this version")
    inp = pops["input"].params
    cfg = LayerPairConfig(
        name=spec.name,
        n_in=pops["input"].size,
        n_hidden=pops["hidden"].size,
        tau_m=hid.tau_m, v_threshold=hid.v_threshold, v_reset=hid.v_reset, t_ref=hid.t_ref, sigma=hid.sigma,
        tau_syn=hid.tau_syn,
        bias_hidden=_get(pops["hidden"].params, "bias", 0.6, f"{where}populations.hidden"),
        bias_recon=_bias(pops["recon"].params, f"{where}populations.recon"),
        max_rate=_get(inp, "max_rate", 100.0, f"{where}populations.input", positive=True),
        encoder=_get(inp, "encoder", "poisson", f"{where}populations.input", kind=str),
        w_init_std=_get(spec.projections["W"].weight, "std", 0.05, f"{where}projections.W.weight", nonneg=True),
        v_init_std=_get(spec.projections["V"].weight, "std", 0.0, f"{where}projections.V.weight", nonneg=True),
        A_plus_W=aw, A_plus_V=av, A_minus_W=amw, A_minus_V=amv, tau_plus=tpw, tau_minus=tmw,
        free_phase=_get(lp, "free_phase", 40e-3, f"{where}layer_pair", positive=True),
        target_phase=_get(lp, "target_phase", 60e-3, f"{where}layer_pair", positive=True),
        plasticity_onset=_get(lp, "plasticity_onset", 20e-3, f"{where}layer_pair", nonneg=True),
        nudge=_get(lp, "nudge", 0.5, f"{where}layer_pair", positive=True),
        feedback_gain=_get(lp, "feedback_gain", 0.2, f"{where}layer_pair", nonneg=True),
        tau_filter=_get(lp, "tau_filter", 20e-3, f"{where}layer_pair", positive=True),
        v_window=_get(lp, "v_window", "contrastive", f"{where}layer_pair", kind=str),
        cycles=_get(lp, "cycles", 1, f"{where}layer_pair", kind=int, positive=True),
        rate_eta=_get(lp, "rate_eta", "window", f"{where}layer_pair", kind=str),
        weight_updates=_get(lp, "weight_updates", "online", f"{where}layer_pair", kind=str),
        trace_reset=_get(lp, "trace_reset", "none", f"{where}layer_pair", kind=str),
        dt=_get(lp, "dt", 0.5e-3, f"{where}layer_pair", positive=True),
        dataset=_get(data, "dataset", "mnist", f"{where}data", kind=str),
        source=_get(data, "source", "auto", f"{where}data", kind=str),
        downsample=_get(data, "downsample", 1, f"{where}data", kind=int, positive=True),
        corruption=_get(data, "corruption", "none", f"{where}data", kind=str),
        corruption_level=_get(data, "corruption_level", 0.0, f"{where}data", nonneg=True),
        samples=_get(train, "samples", 2000, f"{where}training", kind=int, positive=True),
        block=_get(train, "block", 100, f"{where}training", kind=int, positive=True),
        minibatch=_get(train, "minibatch", 10, f"{where}training", kind=int, positive=True),
        eval_every=_get(train, "eval_every", 500, f"{where}training", kind=int, positive=True),
        test_samples=_get(train, "test_samples", 500, f"{where}training", kind=int, positive=True),
        readout_samples=_get(train, "readout_samples", 100, f"{where}training", kind=int, positive=True),
        train_pool=_get(train, "train_pool", 2000, f"{where}training", kind=int, positive=True),
        validation_samples=(_get(train, "validation_samples", None, f"{where}training", kind=int, positive=True)
                            if "validation_samples" in train else None),
        target=_get(train, "target", "cython", f"{where}training", kind=str),
        backprop_lr_W=_get(train, "backprop_lr_W", 0.0, f"{where}training", nonneg=True),
        backprop_lr_V=_get(train, "backprop_lr_V", 0.0, f"{where}training", nonneg=True),
        lr_decay_samples=_get(train, "lr_decay_samples", 0.0, f"{where}training", nonneg=True),
    )
    if cfg.plasticity_onset >= cfg.free_phase:
        raise ConfigError(f"{where}layer_pair.plasticity_onset must be shorter than free_phase")
    if cfg.v_window not in ("contrastive", "target"):
        raise ConfigError(f"{where}layer_pair.v_window must be 'contrastive' or 'target', got {cfg.v_window!r}")
    if cfg.weight_updates not in ("online", "per_sample"):
        raise ConfigError(f"{where}layer_pair.weight_updates must be 'online' or 'per_sample', got {cfg.weight_updates!r}")
    if cfg.trace_reset not in ("none", "sample"):
        raise ConfigError(f"{where}layer_pair.trace_reset must be 'none' or 'sample', got {cfg.trace_reset!r}")
    if cfg.rate_eta not in ("window", "gated"):
        raise ConfigError(f"{where}layer_pair.rate_eta must be 'window' or 'gated', got {cfg.rate_eta!r}")
    if cfg.rate_eta == "gated" and cfg.cycles > 1:
        raise ConfigError(f"{where}layer_pair.rate_eta = 'gated' is derived for one switch per sample (cycles = 1)")
    if cfg.encoder not in ("poisson", "regular"):
        raise ConfigError(f"{where}populations.input.encoder must be 'poisson' or 'regular', got {cfg.encoder!r}")
    if cfg.corruption not in ("none", "dropout", "gaussian"):
        raise ConfigError(f"{where}data.corruption must be 'none', 'dropout' or 'gaussian', got {cfg.corruption!r}")
    if cfg.corruption == "dropout" and not cfg.corruption_level < 1:
        raise ConfigError(f"{where}data.corruption_level must be < 1 for dropout")
    if 28 % cfg.downsample:
        raise ConfigError(f"{where}data.downsample must divide 28, got {cfg.downsample}")
    if cfg.n_in != (28 // cfg.downsample) ** 2:
        raise ConfigError(f"{where}input size {cfg.n_in} does not match {28 // cfg.downsample}x"
                          f"{28 // cfg.downsample} images (data.downsample = {cfg.downsample})")
    for key in ("free_phase", "target_phase", "plasticity_onset"):
        steps = getattr(cfg, key) / cfg.dt
        if abs(steps - round(steps)) > 1e-6:
            raise ConfigError(f"{where}layer_pair.{key} must be a multiple of dt")
    if cfg.max_rate * cfg.dt > 0.5:
        raise ConfigError(f"{where}max_rate*dt must stay below 0.5 for the Poisson encoder")
    from ..codegen import check_target

    check_target(cfg.target)
    return cfg


def load_layer_pair(path, overrides=()):
    """Load ``networks/layer_pair_*.toml`` (a path or a name in ``networks/``) as a config.

    ``overrides`` are ``section.key=value`` items applied before validation
    (:func:`spiking_bpdl.spec.apply_overrides`).
    """
    from ..spec import load_network

    return config_from_spec(load_network(path, overrides))


# ---------------------------------------------------------------------- transfer function
@functools.lru_cache(maxsize=16)
def _table(tau_m, t_ref, sigma_rel, reset_rel, dt):
    from ..neurons import LIFParams, siegert_rate

    u = np.concatenate([np.linspace(-3.0, 6.0, 901), np.linspace(6.05, 40.0, 200)])
    p = LIFParams(tau_m=tau_m, v_threshold=1.0, v_reset=reset_rel, t_ref=t_ref, sigma=sigma_rel, R=1.0)
    if sigma_rel > 0:
        rate = np.asarray(siegert_rate(u, p, dt=dt), dtype=np.float64)
    else:
        from ..neurons import lif_rate

        rate = np.asarray(lif_rate(u, p))
    rate = np.maximum.accumulate(np.nan_to_num(rate))
    slope = np.gradient(rate, u)
    return u, rate, slope


def transfer(u, cfg):
    """LIF rate (Hz) at drive ``u`` (units of the threshold): Siegert for ``sigma > 0``.

    The Siegert rate includes the first-order correction for the simulation step ``dt``
    of the spiking backend (:func:`spiking_bpdl.neurons.siegert_rate`).

    Tabulated once per neuron parameter set and linearly interpolated; the table's
    derivative (:func:`transfer_derivative`) is used for backprop and the tests.
    """
    grid, rate, _ = _table(cfg.tau_m, cfg.t_ref, cfg.sigma / cfg.v_threshold, cfg.v_reset / cfg.v_threshold, cfg.dt)
    return np.interp(u, grid, rate)


def transfer_derivative(u, cfg):
    """``d phi / d u`` (Hz per threshold unit) of :func:`transfer`.

    The slope of the interpolating segment, so that backprop is the exact gradient of
    the network as computed (checked by finite differences).
    """
    grid, rate, _ = _table(cfg.tau_m, cfg.t_ref, cfg.sigma / cfg.v_threshold, cfg.v_reset / cfg.v_threshold,
                           cfg.dt)
    idx = np.clip(np.searchsorted(grid, u, side="right") - 1, 0, grid.size - 2)
    slope = (rate[idx + 1] - rate[idx]) / (grid[idx + 1] - grid[idx])
    return np.where((u < grid[0]) | (u > grid[-1]), 0.0, slope)


# ---------------------------------------------------------------------- network
def init_weights(cfg, rng):
    """Initial ``W`` (normal, std ``w_init_std``) and ``V`` (normal, std ``v_init_std``)."""
    W = rng.normal(0.0, cfg.w_init_std, (cfg.n_in, cfg.n_hidden))
    V = rng.normal(0.0, cfg.v_init_std, (cfg.n_hidden, cfg.n_in)) if cfg.v_init_std > 0 else np.zeros(
        (cfg.n_hidden, cfg.n_in))
    return W, V


def forward(x, W, V, cfg):
    """The deterministic rate forward pass used to score every backend.

    ``x^ = phi(b_r + tau_m phi(b_h + tau_m r_max x W) V) / r_max`` (no corruption, no
    feedback loop, no nudge).

    Returns
    -------
    x_hat : ndarray (n, n_in)
    """
    h = transfer(cfg.bias_hidden + cfg.tau_m * cfg.max_rate * (x @ W), cfg)
    return transfer(cfg.b_r + cfg.tau_m * (h @ V), cfg) / cfg.max_rate


def reconstruction_loss(x, W, V, cfg):
    """Mean squared reconstruction error of :func:`forward` (per pixel)."""
    return float(np.mean((forward(x, W, V, cfg) - x) ** 2))


def _hidden(rho_in, rho_r, W, cfg):
    g = cfg.feedback_gain
    return transfer(cfg.bias_hidden + cfg.tau_m * (((1 - g) * rho_in + g * rho_r) @ W), cfg)


def free_phase(x_in, W, V, cfg, iterations=4):
    """Free-phase fixed point of hidden and reconstruction rates (Hz).

    Parameters
    ----------
    x_in : ndarray (n, n_in)
        The (corrupted) input image in [0, 1].

    Returns
    -------
    rho_h, rho_r : ndarray
    """
    rho_in = cfg.max_rate * x_in
    rho_h = transfer(cfg.bias_hidden + cfg.tau_m * (rho_in @ W), cfg)
    rho_r = transfer(cfg.b_r + cfg.tau_m * (rho_h @ V), cfg)
    for _ in range(iterations if cfg.feedback_gain > 0 else 0):
        rho_h = _hidden(rho_in, rho_r, W, cfg)
        rho_r = transfer(cfg.b_r + cfg.tau_m * (rho_h @ V), cfg)
    return rho_h, rho_r


def _nudged(a, x, cfg, iterations=6):
    """Solve ``r = phi(a + beta (x - r/r_max))`` per unit by Newton's method.

    ``g(r) = r - phi(a + beta (x - r/r_max))`` is increasing (``g' >= 1``), so the root is
    unique; Newton from ``phi(a)`` converges in a few steps (clipped to ``r >= 0``).
    """
    k = cfg.nudge / cfg.max_rate
    r = transfer(a, cfg)
    for _ in range(iterations):
        u = a + cfg.nudge * x - k * r
        g = r - transfer(u, cfg)
        r = np.maximum(r - g / (1.0 + k * transfer_derivative(u, cfg)), 0.0)
    return r


def target_phase(x_in, x_clean, rho_h, W, V, cfg, iterations=4):
    """Target-phase rates: the reconstruction nudged toward ``x_clean``, the hidden layer
    following through the feedback-through-f pathway.

    Returns
    -------
    rho_h_t, rho_r_t : ndarray
    """
    rho_in = cfg.max_rate * x_in
    rho_h_t = rho_h
    for _ in range(iterations if cfg.feedback_gain > 0 else 1):
        rho_r_t = _nudged(cfg.b_r + cfg.tau_m * (rho_h_t @ V), x_clean, cfg)
        if cfg.feedback_gain > 0:
            rho_h_t = _hidden(rho_in, rho_r_t, W, cfg)
    return rho_h_t, rho_r_t


def rate_rule_updates(x_in, x_clean, W, V, cfg):
    """Weight changes of the rate rule for a batch (summed over its rows).

    ``dV = eta_V * mean(rho_h, rho_h') (rho_r' - rho_r)`` and
    ``dW = eta_W * rho_in (rho_h' - rho_h)``: the expected effect of balanced pair STDP
    across the free -> target transition (``docs/stdp.md``).

    Returns
    -------
    dW, dV : ndarray
    info : dict
        The phase rates (``rho_h``, ``rho_r``, ``rho_h_t``, ``rho_r_t``).
    """
    rho_h, rho_r = free_phase(x_in, W, V, cfg)
    rho_h_t, rho_r_t = target_phase(x_in, x_clean, rho_h, W, V, cfg)
    rho_in = cfg.max_rate * x_in
    dV = cfg.eta_V * (0.5 * (rho_h + rho_h_t)).T @ (rho_r_t - rho_r)
    dW = cfg.eta_W * rho_in.T @ (rho_h_t - rho_h)
    return dW, dV, {"rho_h": rho_h, "rho_r": rho_r, "rho_h_t": rho_h_t, "rho_r_t": rho_r_t}


def backprop_gradients(x_in, x_clean, W, V, cfg):
    """Exact gradients of ``J = 1/2 sum ||x_clean - forward(x_in)||^2`` (summed over rows).

    Returns
    -------
    gW, gV : ndarray
    loss : float
    """
    a_h = cfg.bias_hidden + cfg.tau_m * cfg.max_rate * (x_in @ W)
    h = transfer(a_h, cfg)
    a_r = cfg.b_r + cfg.tau_m * (h @ V)
    x_hat = transfer(a_r, cfg) / cfg.max_rate
    err = x_hat - x_clean
    d_ar = err * transfer_derivative(a_r, cfg) / cfg.max_rate
    gV = cfg.tau_m * h.T @ d_ar
    d_ah = (d_ar @ V.T) * cfg.tau_m * transfer_derivative(a_h, cfg)
    gW = cfg.tau_m * cfg.max_rate * x_in.T @ d_ah
    return gW, gV, 0.5 * float(np.sum(err**2))


def corrupt(x, cfg, rng):
    """Corrupted copy of images ``x``: inverted pixel dropout, or clipped Gaussian noise."""
    if cfg.corruption == "dropout" and cfg.corruption_level > 0:
        keep = rng.random(x.shape) >= cfg.corruption_level
        return np.minimum(x * keep / (1 - cfg.corruption_level), 1.0)
    if cfg.corruption == "gaussian" and cfg.corruption_level > 0:
        return np.clip(x + rng.normal(0, cfg.corruption_level, x.shape), 0.0, 1.0)
    return x.copy()


def load_images(cfg, split, limit, data_dir=None, source=None):
    """Images of the definition's dataset, average-pooled by ``downsample``, float64 (n, n_in)."""
    from ..data import load_dataset

    ds = load_dataset(cfg.dataset, split, data_dir_=data_dir, source=source or cfg.source, download=False,
                      limit=limit)
    return _pooled(ds.images, cfg)


def load_splits(cfg, data_dir=None, test=True):
    """Training, validation and test images of the definition (pooled as :func:`load_images`).

    The validation digits are the *last* ``validation_samples`` of the dataset's training split
    (MNIST: the last 10,000 of 60,000, as the generative model's split); the training digits are
    the first ``train_pool`` of the rest (fewer when fewer remain); the test digits are the first
    ``test_samples`` of the test split. ``validation_samples = None`` takes a sixth of the
    training split, MNIST's proportion (the embedded subset: 333 of its 2,000 digits).

    Parameters
    ----------
    cfg : LayerPairConfig
    data_dir : str or Path, optional
    test : bool
        Load the test digits (False: ``x_test`` is None, for screens that must not see them).

    Returns
    -------
    x_train, x_val, x_test : ndarray (n, n_in) or None

    Raises
    ------
    ConfigError
        When the validation set would leave no training digits.
    """
    from ..data import load_dataset

    ds = load_dataset(cfg.dataset, "train", data_dir_=data_dir, source=cfg.source, download=False)
    n = ds.images.shape[0]
    n_val = n // 6 if cfg.validation_samples is None else int(cfg.validation_samples)
    if n_val >= n:
        raise ConfigError(f"training.validation_samples = {n_val} leaves no training digits "
                          f"({n} in the {ds.source} {cfg.dataset} training split)")
    x_train = _pooled(ds.images[:min(cfg.train_pool, n - n_val)], cfg)
    x_val = _pooled(ds.images[n - n_val:], cfg)
    x_test = load_images(cfg, "test", cfg.test_samples, data_dir) if test else None
    return x_train, x_val, x_test


def _pooled(images, cfg):
    x = np.asarray(images, dtype=np.float64)
    k = cfg.downsample
    if k > 1:
        side = 28 // k
        x = x.reshape(-1, side, k, side, k).mean(axis=(2, 4)).reshape(-1, side * side)
    return x


class RateTrainer:
    """Train the rate twin with the rate rule (``'rate'``) or exact backprop (``'backprop'``).

    Backprop uses plain SGD with its own learning rates ``backprop_lr_W`` and
    ``backprop_lr_V`` from ``[training]`` (chosen by a sweep, see docs/layer_pairs.md, so
    the reference is a strong one); when they are 0 it uses the rate rule's effective
    learning rates (``eta_V beta r_max / tau_m`` for ``V``, ``eta_W beta gamma r_max^2 /
    tau_m`` for ``W``).
    """

    def __init__(self, cfg, backend):
        if backend not in ("rate", "backprop"):
            raise ConfigError(f"unknown rate backend {backend!r}")
        self.cfg, self.backend = cfg, backend

    @property
    def learning_rates(self):
        c = self.cfg
        lr_V = c.backprop_lr_V or c.eta_V * c.nudge * c.max_rate / c.tau_m
        lr_W = c.backprop_lr_W or c.eta_W * c.nudge * c.feedback_gain * c.max_rate**2 / c.tau_m
        return lr_W, lr_V

    def train_block(self, x_in, x_clean, W, V, lr_scale=1.0):
        """Train on the rows of one block in minibatches; returns new ``W, V`` and the mean loss.

        ``lr_scale`` multiplies every step (the definition's learning-rate schedule)."""
        W, V = W.copy(), V.copy()
        mb = self.cfg.minibatch
        losses = []
        for s in range(0, x_in.shape[0], mb):
            xi, xc = x_in[s:s + mb], x_clean[s:s + mb]
            if self.backend == "rate":
                dW, dV, info = rate_rule_updates(xi, xc, W, V, self.cfg)
                losses.append(float(np.mean((info["rho_r"] / self.cfg.max_rate - xc) ** 2)))
                if "W" not in self.cfg.frozen:
                    W += lr_scale * dW
                if "V" not in self.cfg.frozen:
                    V += lr_scale * dV
            else:
                gW, gV, loss = backprop_gradients(xi, xc, W, V, self.cfg)
                lr_W, lr_V = self.learning_rates
                losses.append(2 * loss / xi.size)
                if "W" not in self.cfg.frozen:
                    W -= lr_scale * lr_W * gW
                if "V" not in self.cfg.frozen:
                    V -= lr_scale * lr_V * gV
        return W, V, float(np.mean(losses))
