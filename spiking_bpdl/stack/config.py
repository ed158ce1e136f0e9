"""Layer-stack definitions: populations ``L0`` to ``Ln``, forward and feedback projections, phases.

A stack is read from a TOML network definition (:mod:`spiking_bpdl.spec`) that holds, next to
the usual ``[populations.*]``, ``[projections.*]`` and ``[plasticity.*]`` tables, a ``[stack]``
table naming the layers in order and the learning scheme, a ``[data]`` table and a
``[training]`` table. ``networks/classifier_mnist_rate.toml`` shows every key with its meaning;
``docs/stacks.md`` lists them.

Projections are classified by the layers they join: ``pre = L(l-1), post = L(l)`` is the
*forward* projection ``f_l`` (one per layer), ``pre = L(l+1), post = L(l)`` is the *feedback*
projection ``g_(l+1)`` of difference target propagation (one per hidden layer whose forward
projection learns). Anything else is an error.

:class:`StackConfig` is validated in one place, its ``__post_init__``: a config built by the
loader, by hand, or by ``dataclasses.replace`` goes through the same checks, each of which
raises one :class:`~spiking_bpdl.errors.ConfigError` naming the file and the TOML key.
"""

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

__all__ = [
    "LayerSpec",
    "ProjSpec",
    "StackConfig",
    "load_stack",
    "stack_from_data",
    "stack_from_layer_pair",
    "check_projection_names",
    "freeze",
    "fixed_feedback",
    "with_added_defaults",
    "TARGETS",
    "FEEDBACK_MODES",
    "HIDDEN_TARGETS",
    "CENTERING",
    "SPIKING_FEEDBACK",
    "WEIGHT_UPDATES",
    "TOP_WINDOWS",
    "TRACE_RESETS",
]

#: What the top layer is taught: the clean input (auto-encoder) or the one-hot class (classifier).
TARGETS = ("input", "label")
#: Feedback ``g``: trained as a denoising inverse of ``f`` (difference target propagation), fixed random,
#: trained as a mirror of ``f`` (noise-driven, ``G -> f^T`` up to scale), or the transpose of ``f``
#: (weight transport: a control that is not biologically plausible, which makes
#: ``hidden_target = 'current'`` backprop to first order in the nudge), or -- an auto-encoder pair only --
#: the encoder ``f_1`` itself applied to the reconstruction (the layer pair's scheme: the hidden target is
#: ``f`` of the reconstruction, so no second set of weights is needed), or ``reciprocal``: ``g_(l+1)`` learns
#: with the forward update of ``f_(l+1)`` transposed (Kolen & Pollack 1994; Akrout et al. 2019), which each
#: feedback synapse computes from its own pre and post activity, so ``G - f^T`` stays at its initial value
#: while the learnt part of ``f`` is carried into ``G``.
FEEDBACK_MODES = ("trained", "random", "mirror", "transposed", "encoder", "reciprocal")
#: How a hidden layer's target is formed from the feedback: in rate space (Lee et al. 2015) or as a current.
HIDDEN_TARGETS = ("rate", "current")
#: Hidden forward updates: plain rate rule, or a covariance rule centred on the pre- or post-synaptic side.
CENTERING = ("none", "pre", "post")
#: Phases in which the feedback reaches the layer below (``[stack] feedback_phases``).
FEEDBACK_PHASES = ("both", "target")
#: How the rate twin treats the loop through ``f`` and ``g`` that feedback in both phases closes
#: (``[stack] twin_loop``): ``open`` (only the feedback of the change above reaches a layer, the
#: linearised scheme) or ``settled`` (both phases solved with the feedback's whole drive, as the
#: spiking network runs them).
TWIN_LOOPS = ("open", "settled")
#: Feedback weights on the spiking backend (``[spiking] feedback``): the fixed initial ``g`` (feedback
#: alignment), the transpose of the forward weights above, refreshed every block (weight transport), or
#: (an auto-encoder pair) the encoder's own weights ``f_1``, refreshed every block: the reconstruction is
#: encoded again, and the hidden drive is ``(1 - gamma) f_1(input) + gamma f_1(reconstruction)``; or
#: ``reciprocal``: the feedback synapses learn by their forward projection's pair STDP with the window
#: mirrored in time, gated by the forward's gate, so every spike pair changes ``g[j, i]`` exactly as it
#: changes ``f[i, j]`` (no weight transport: each synapse sees only its own pre and post spikes).
#: The denoising (``trained``) and noise-driven (``mirror``) feedback rules are rate-twin only.
SPIKING_FEEDBACK = ("random", "transposed", "encoder", "reciprocal")
#: When a sample's STDP changes reach the weights (``[spiking] weight_updates``): when the next sample
#: starts (a change cannot move the rates its own sample's pairings read), or at once, spike by spike.
WEIGHT_UPDATES = ("per_sample", "online")
#: The sign windows of the top projection (``[spiking] top_window``): contrastive (``-1`` at the end of the
#: free phase, ``+1`` at the start of the target phase, as every hidden projection) or ``+1`` after the
#: switch only (then the causal term of stationary pairings is not cancelled).
TOP_WINDOWS = ("contrastive", "target")
#: When the STDP traces restart from zero (``[spiking] trace_reset``).
TRACE_RESETS = ("sample", "onset", "none")
_BRIAN_TARGETS = ("numpy", "cython", "cpp_standalone")
#: The rate twin's feedback modes in which a feedback projection's plasticity rule is read.
_LEARNING_FEEDBACK = ("trained", "mirror", "reciprocal")
_WEIGHT_INITS = ("normal", "zero", "uniform")
_ENCODERS = ("poisson", "regular")
_DATASETS = ("mnist", "fashion-mnist")
_SOURCES = ("auto", "full", "embedded")
_CORRUPTIONS = ("none", "dropout", "gaussian")
_N_CLASSES = 10

# Keys each table may hold, with the dimension of its value (None: a plain number or a string).
_STACK_KEYS = {"layers": None, "target": None, "nudge": None, "target_rate": "frequency", "feedback": None,
               "feedback_noise": "frequency", "feedback_decay": None, "hidden_target": None, "centering": None,
               "feedback_gain": None, "feedback_phases": None, "dt": "time", "free_phase": "time", "target_phase": "time",
               "plasticity_onset": "time", "cycles": None, "twin_loop": None, "homeostasis": None,
               "homeostasis_rate": "frequency"}
_DATA_KEYS = {"dataset", "source", "downsample", "corruption", "corruption_level"}
_TRAINING_KEYS = {"samples", "passes", "minibatch", "eval_every", "train_pool", "validation_samples",
                  "test_samples", "backprop_lr", "lr_decay_samples", "seed"}
_INPUT_KEYS = {"max_rate", "encoder"}
_LIF_KEYS = {"tau_m", "v_threshold", "v_reset", "t_ref", "sigma", "tau_syn", "bias"}
_PROJ_EXTRA = {"bias", "mirror_scale"}
_SPIKING_KEYS = {"feedback": None, "tau_filter": "time", "block": None, "target": None, "readout_samples": None,
                 "centring_mean": None, "centring_scale": None, "trace_reset": None, "weight_updates": None,
                 "top_window": None}
_RULE_KEYS = {"pair": {"A_plus", "A_minus", "tau_plus", "tau_minus"}, "rate": {"eta"}}


@dataclass(frozen=True)
class LayerSpec:
    """One population ``L_l`` of a stack (SI units; ``bias`` in units of the threshold).

    The input layer (``kind = 'poisson'``) uses ``max_rate`` and ``encoder``; LIF layers use the
    neuron parameters. The object doubles as the parameter set of
    :func:`spiking_bpdl.rate.lif_layer_pair.transfer` (``tau_m``, ``t_ref``, ``sigma``,
    ``v_threshold``, ``v_reset``, ``dt``).

    Attributes
    ----------
    bias : float, tuple of float or str
        Constant drive; a tuple gives one value per neuron; ``'mean'`` (top layer of an
        auto-encoder only) is resolved by the caller from training images.
    """

    name: str
    kind: str
    size: int
    tau_m: float = 20e-3
    v_threshold: float = 20e-3
    v_reset: float = 0.0
    t_ref: float = 2e-3
    sigma: float = 2e-3
    tau_syn: float = 0.0
    bias: object = 0.0
    max_rate: float = 0.0
    encoder: str = "regular"
    dt: float = 0.5e-3


@dataclass(frozen=True)
class ProjSpec:
    """A projection of a stack.

    Attributes
    ----------
    role : {'forward', 'feedback'}
        ``forward``: ``f_l`` from ``L(l-1)`` to ``L(l)``; ``feedback``: ``g_(l+1)`` from ``L(l+1)`` to ``L(l)``.
    init, std, low, high : initial weights (``normal`` with ``std``, ``uniform`` in [low, high), ``zero``).
    plasticity : str or None
        Name of the ``[plasticity.*]`` table; None: the projection is frozen.
    rule : str or None
        ``'pair'`` (step derived from the STDP window) or ``'rate'`` (step given as ``eta``).
    eta : float
        Step of the rate rule ``dW = eta rho_pre (rho_post^target - rho_post)`` (s^2); 0 when frozen.
    bias : float or None
        Feedback only: constant drive of the units that compute ``g`` (None: the post layer's bias).
    stdp : tuple or None
        A ``'pair'`` rule's window as ``(A_plus, A_minus, tau_plus, tau_minus)`` (SI units; ``A_minus``
        balanced, ``A_plus tau_plus / tau_minus``, unless the table sets it): what the spiking backend runs.
    mirror_scale : float
        Reciprocal feedback only: ``kappa`` of ``dG = kappa dF^T``, the share of its forward projection's
        change that the feedback takes (in Brian2: the mirrored window's amplitudes times ``kappa``). 1
        copies the change at the forward's scale; a forward projection whose weights are far larger than
        the feedback's (a hidden-to-hidden ``f``) would then grow the feedback to its own scale.
    """

    name: str
    pre: str
    post: str
    role: str = "forward"
    init: str = "normal"
    std: float = 0.0
    low: float = 0.0
    high: float = 0.0
    plasticity: object = None
    rule: object = None
    eta: float = 0.0
    bias: object = None
    stdp: object = None
    mirror_scale: float = 1.0

    @property
    def plastic(self):
        """True when the projection learns (it has a plasticity rule; frozen ones have none)."""
        return self.plasticity is not None


@dataclass(frozen=True)
class StackConfig:
    """A validated layer-stack definition (SI units; weights dimensionless, in units of the threshold).

    Every field is checked in ``__post_init__``, so ``dataclasses.replace`` cannot build an
    invalid config. Errors are one-line :class:`~spiking_bpdl.errors.ConfigError` naming
    ``path`` and the TOML key.

    Attributes
    ----------
    layers : tuple of LayerSpec
        ``L0`` (the input encoder) .. ``Ln`` (the top layer).
    projections : tuple of ProjSpec
    target : {'input', 'label'}
    nudge : float
        ``beta``: the top layer's teacher current ``beta (y - rho_top / target_rate)`` in threshold units.
    target_rate : float
        Rate (Hz) of a top neuron that codes 1 (``y = 1``).
    feedback : str
        One of ``FEEDBACK_MODES`` (the rate twin's feedback).
    hidden_target : {'rate', 'current'}
        ``rate``: ``rho_l^ = rho_l + g(rho_(l+1)^) - g(rho_(l+1))`` (Lee et al. 2015); ``current``: the
        difference of the feedback units' input currents is injected into layer ``l``,
        ``rho_l^ = phi_l(a_l + gamma tau_m (rho_(l+1)^ - rho_(l+1)) G)`` (see :mod:`spiking_bpdl.stack.twin`).
    feedback_gain : float
        ``gamma``: the factor on the feedback's drive into the layer below (in the Brian2 network,
        on every feedback spike's jump; in the rate twin, on the injected current). A property of
        the network, so every backend that has feedback reads it.
    feedback_phases : {'both', 'target'}
        The feedback reaches the layer below in every phase (its rate change then carries the
        feedback of the top layer's rate *change*: ``hidden_target = 'current'`` above), or only
        in the target phases (the hidden layer's free rate has no feedback, its target-phase drive
        is ``a_l + gamma tau_m rho_(l+1)^ G``: direct random target projection when ``G`` is fixed
        and random). ``'target'`` needs ``hidden_target = 'current'``.
    twin_loop : {'open', 'settled'}
        The rate twin's treatment of the loop layer ``l`` -> ``f`` -> layer ``l+1`` -> ``g`` -> layer ``l``
        that feedback in both phases closes. ``open`` (default): the free phase is feed-forward and
        only the feedback of the change above reaches a layer (``hidden_target = 'current'``).
        ``settled``: the free and the target phase are each solved with the feedback's whole drive,
        ``a_l + gamma tau_m rho_(l+1) G``, by damped fixed-point iteration
        (:func:`spiking_bpdl.stack.twin.settle`), as the Brian2 network runs them; the twin's
        accuracy is then read from its settled free phase. Needs ``hidden_target = 'current'`` and
        ``feedback_phases = 'both'``. Only the rate twin reads it.
    feedback_noise : float
        Standard deviation (Hz) of the noise added to ``h_l`` when ``g_(l+1)`` learns (denoising inverse or mirror).
    centering : {'none', 'pre', 'post'}
        Hidden layers' forward updates: ``eta rho_pre (rho^ - rho)`` (``none``), or with the pre-synaptic
        rates (``pre``) or the rate changes (``post``) taken relative to their mean over the minibatch
        (a covariance rule; the mean stands for a slow running average of the rate).
    homeostasis : float
        ``eta_h``: every hidden neuron's incoming forward weights move together by
        ``eta_h (homeostasis_rate T - n)`` per sample, where ``n`` is the neuron's spike count in the
        free-phase window ``[plasticity_onset, free_phase)`` of length ``T`` (in the rate twin ``n =
        rho T`` with the free-phase rate ``rho``): a homeostatic regulator of each hidden neuron's rate
        that needs no calibration against the STDP pairings and revives a neuron that fell silent
        (``docs/stacks.md``, "A regulator of the hidden rates"). 0 (default): none. Hidden forward
        projections only; a reciprocal feedback does not copy it (it is not a spike pairing).
    homeostasis_rate : float
        The rate (Hz) that ``homeostasis`` holds every hidden neuron at, on average over the digits.
    feedback_decay : float
        ``lambda`` of the mirror rule ``dG = eta_g (dh_(l+1)^T eps - lambda G)`` (per sample; sets the scale of ``G``).
    spiking_feedback : {'random', 'transposed', 'encoder', 'reciprocal'}
        ``[spiking] feedback``: the feedback weights of the Brian2 network (``SPIKING_FEEDBACK``).
    tau_filter : float
        ``[spiking] tau_filter`` (s): time constant of the top layer's filtered rate in its teacher current.
    block : int
        ``[spiking] block``: samples per Brian2 run (and per checkpoint).
    brian_target : {'numpy', 'cython', 'cpp_standalone'}
        ``[spiking] target``: Brian2's code-generation target.
    readout_samples : int
        ``[spiking] readout_samples``: validation digits scored by the spiking network's own output
        counts at every curve point (a multiple of ``block``; the rate pass scores all of them).
    centring_mean : {'layer', 'neuron'}
        ``[spiking] centring_mean``, with ``centering = 'pre'``: the pre-centred STDP offset uses the
        mean rate of the whole pre-synaptic layer (one offset per projection), or each pre-synaptic
        neuron's own mean rate (one offset per input, as the rate twin centres each input by its own
        mean). Both means are taken over the first 1,000 training digits.
    centring_scale : float
        ``[spiking] centring_scale``: factor on the pre-centred STDP offset ``x_tar`` (default 1, the
        offset :func:`spiking_bpdl.stack.engine.centring_offset` derives; 0 removes it). The derivation
        takes the STDP traces as stationary at the phase switch; after a ``trace_reset = 'onset'`` they
        are not, and the pairings' contrast is multiplied by ``1 - exp(-L / tau)`` (``docs/stacks.md``,
        "The hidden layer falls silent", where the factor is screened).
    trace_reset : {'sample', 'onset', 'none'}
        ``[spiking] trace_reset``: when the STDP traces of every layer restart from zero, at each
        sample's start (no pairing spans two digits), at the plasticity onset of each sample (the
        traces then carry nothing of the onset transient into the first window either), or never.
    weight_updates : {'per_sample', 'online'}
        ``[spiking] weight_updates`` (``WEIGHT_UPDATES``).
    top_window : {'contrastive', 'target'}
        ``[spiking] top_window``: the sign windows of the top projection (``TOP_WINDOWS``).
    """

    name: str
    layers: tuple
    projections: tuple
    target: str = "label"
    nudge: float = 1.0
    target_rate: float = 100.0
    feedback: str = "trained"
    feedback_noise: float = 5.0
    hidden_target: str = "rate"
    feedback_decay: float = 1.0
    centering: str = "none"
    feedback_gain: float = 1.0
    feedback_phases: str = "both"
    twin_loop: str = "open"
    homeostasis: float = 0.0
    homeostasis_rate: float = 10.0
    dt: float = 0.5e-3
    free_phase: float = 100e-3
    target_phase: float = 100e-3
    plasticity_onset: float = 50e-3
    cycles: int = 1
    dataset: str = "mnist"
    source: str = "auto"
    downsample: int = 1
    corruption: str = "none"
    corruption_level: float = 0.0
    samples: int = 50000
    passes: int = 1
    minibatch: int = 100
    eval_every: int = 5000
    train_pool: int = 50000
    validation_samples: int = 10000
    test_samples: int = 10000
    backprop_lr: object = 0.0
    lr_decay_samples: float = 0.0
    seed: int = 0
    spiking_feedback: str = "random"
    tau_filter: float = 40e-3
    block: int = 100
    brian_target: str = "cpp_standalone"
    readout_samples: int = 1000
    centring_mean: str = "layer"
    centring_scale: float = 1.0
    trace_reset: str = "sample"
    weight_updates: str = "per_sample"
    top_window: str = "contrastive"
    path: str = "<definition>"

    # ------------------------------------------------------------------ validation
    def __post_init__(self):
        src = self.path

        def bad(key, msg):
            raise ConfigError(f"{src}: {key}: {msg}")

        def number(key, value, lo=None, strict=False, integer=False):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                bad(key, f"expected a number, got {value!r}")
            if integer and not isinstance(value, int):
                bad(key, f"expected an integer, got {value!r}")
            if not math.isfinite(value):
                bad(key, f"must be finite, got {value!r}")
            if lo is not None and (value <= lo if strict else value < lo):
                bad(key, f"must be {'>' if strict else '>='} {lo}, got {value!r}")

        def choice(key, value, options):
            if value not in options:
                bad(key, f"unknown value {value!r}; choose one of {', '.join(options)}")

        if not isinstance(self.layers, tuple) or len(self.layers) < 2:
            bad("stack.layers", "needs at least two populations (an input and one LIF layer)")
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            bad("stack.layers", f"a population appears twice in {names}")
        for i, layer in enumerate(self.layers):
            where = f"populations.{layer.name}"
            number(f"{where}.size", layer.size, 1, integer=True)
            if i == 0:
                if layer.kind != "poisson":
                    bad(f"{where}.kind", f"the input layer L0 must be 'poisson', got {layer.kind!r}")
                number(f"{where}.max_rate", layer.max_rate, 0, strict=True)
                choice(f"{where}.encoder", layer.encoder, _ENCODERS)
                if layer.max_rate * self.dt > 0.5:
                    bad(f"{where}.max_rate", "max_rate * dt must stay below 0.5")
                continue
            if layer.kind != "lif":
                bad(f"{where}.kind", f"layer L{i} must be 'lif', got {layer.kind!r}")
            number(f"{where}.tau_m", layer.tau_m, 0, strict=True)
            for key in ("t_ref", "sigma", "tau_syn"):
                number(f"{where}.{key}", getattr(layer, key), 0)
            number(f"{where}.v_threshold", layer.v_threshold)
            number(f"{where}.v_reset", layer.v_reset)
            if not layer.v_threshold > layer.v_reset:
                bad(f"{where}.v_threshold", f"must be above v_reset ({layer.v_reset}), got {layer.v_threshold}")
            if layer.dt != self.dt:
                bad(f"{where}", f"carries dt = {layer.dt}, the stack's dt is {self.dt}")
            self._check_bias(f"{where}.bias", layer.bias, layer.size, top=i == len(self.layers) - 1, bad=bad,
                             number=number)

        choice("stack.target", self.target, TARGETS)
        top = self.layers[-1]
        if self.target == "label" and top.size % _N_CLASSES:
            bad(f"populations.{top.name}.size", f"a classifier's top layer needs a multiple of {_N_CLASSES} "
                f"neurons (one population per class), got {top.size}")
        if self.target == "input" and top.size != self.layers[0].size:
            bad(f"populations.{top.name}.size", f"an auto-encoder's top layer must match the input "
                f"({self.layers[0].size}), got {top.size}")
        number("stack.nudge", self.nudge, 0, strict=True)
        number("stack.target_rate", self.target_rate, 0, strict=True)
        choice("stack.feedback", self.feedback, FEEDBACK_MODES)
        number("stack.feedback_noise", self.feedback_noise, 0)
        choice("stack.hidden_target", self.hidden_target, HIDDEN_TARGETS)
        number("stack.feedback_decay", self.feedback_decay, 0)
        choice("stack.centering", self.centering, CENTERING)
        number("stack.feedback_gain", self.feedback_gain, 0)
        choice("stack.feedback_phases", self.feedback_phases, FEEDBACK_PHASES)
        if self.hidden_target == "rate" and self.feedback_gain != 1:
            bad("stack.feedback_gain", "must be 1 with stack.hidden_target = 'rate' (the difference form's feedback "
                f"units carry their scale in G), got {self.feedback_gain}")
        choice("stack.twin_loop", self.twin_loop, TWIN_LOOPS)
        number("stack.homeostasis", self.homeostasis, 0)
        number("stack.homeostasis_rate", self.homeostasis_rate, 0, strict=True)
        if self.twin_loop == "settled" and (self.hidden_target != "current" or self.feedback_phases != "both"):
            bad("stack.twin_loop", "'settled' needs stack.hidden_target = 'current' and stack.feedback_phases = "
                "'both' (the schemes whose free phase carries the feedback's drive)")
        if self.feedback_phases == "target" and self.hidden_target != "current":
            bad("stack.feedback_phases", "'target' needs stack.hidden_target = 'current' (a feedback current "
                "in the target phase only has no difference form)")
        number("stack.dt", self.dt, 0, strict=True)
        number("stack.free_phase", self.free_phase, 0, strict=True)
        number("stack.target_phase", self.target_phase, 0, strict=True)
        number("stack.plasticity_onset", self.plasticity_onset, 0)
        number("stack.cycles", self.cycles, 1, integer=True)
        if self.plasticity_onset >= self.free_phase:
            bad("stack.plasticity_onset", "must be shorter than free_phase")
        for key in ("free_phase", "target_phase", "plasticity_onset"):
            steps = getattr(self, key) / self.dt
            if abs(steps - round(steps)) > 1e-6:
                bad(f"stack.{key}", "must be a multiple of dt")

        self._check_projections(names, bad, number, choice)

        choice("data.dataset", self.dataset, _DATASETS)
        choice("data.source", self.source, _SOURCES)
        number("data.downsample", self.downsample, 1, integer=True)
        if 28 % self.downsample:
            bad("data.downsample", f"must divide 28, got {self.downsample}")
        side = 28 // self.downsample
        if self.layers[0].size != side * side:
            bad(f"populations.{self.layers[0].name}.size", f"{self.layers[0].size} does not match "
                f"{side}x{side} images (data.downsample = {self.downsample})")
        choice("data.corruption", self.corruption, _CORRUPTIONS)
        number("data.corruption_level", self.corruption_level, 0)
        if self.corruption == "dropout" and not self.corruption_level < 1:
            bad("data.corruption_level", "must be < 1 for dropout")

        for key in ("samples", "minibatch", "eval_every", "train_pool", "validation_samples", "test_samples"):
            number(f"training.{key}", getattr(self, key), 1, integer=True)
        number("training.passes", self.passes, 1, integer=True)
        if self.passes > 3:
            bad("training.passes", f"at most 3 passes over the training digits, got {self.passes}")
        if self.samples > self.train_pool:
            bad("training.samples", f"{self.samples} exceeds train_pool ({self.train_pool}): a pass has no "
                "more distinct digits")
        if isinstance(self.backprop_lr, tuple):
            forward_names = [p.name for p in self.projections if p.role == "forward"]
            for item in self.backprop_lr:
                if not (isinstance(item, tuple) and len(item) == 2 and item[0] in forward_names):
                    bad("training.backprop_lr", f"{item!r}: expected a forward projection's name and a step "
                        f"(forward projections: {', '.join(forward_names)})")
                number(f"training.backprop_lr.{item[0]}", item[1], 0)
        else:
            number("training.backprop_lr", self.backprop_lr, 0)
        number("training.lr_decay_samples", self.lr_decay_samples, 0)
        number("training.seed", self.seed, 0, integer=True)

        choice("spiking.feedback", self.spiking_feedback, SPIKING_FEEDBACK)
        number("spiking.tau_filter", self.tau_filter, 0, strict=True)
        number("spiking.block", self.block, 1, integer=True)
        choice("spiking.target", self.brian_target, _BRIAN_TARGETS)
        number("spiking.readout_samples", self.readout_samples, 1, integer=True)
        choice("spiking.centring_mean", self.centring_mean, ("layer", "neuron"))
        number("spiking.centring_scale", self.centring_scale, 0)
        choice("spiking.trace_reset", self.trace_reset, TRACE_RESETS)
        choice("spiking.weight_updates", self.weight_updates, WEIGHT_UPDATES)
        choice("spiking.top_window", self.top_window, TOP_WINDOWS)
        for key, mode in (("stack.feedback", self.feedback), ("spiking.feedback", self.spiking_feedback)):
            if mode == "encoder" and not (self.target == "input" and self.depth == 2):
                bad(key, "'encoder' feedback (the encoder applied to the reconstruction) needs an auto-encoder "
                    "pair: stack.target = 'input' and two LIF layers")
        if "reciprocal" in (self.feedback, self.spiking_feedback):
            # the feedback's update is its forward projection's, transposed: one rule for both
            for g_name, f_name in self.reciprocal_pairs().items():
                g, f = self.projection(g_name), self.projection(f_name)
                if g.plasticity != f.plasticity:
                    bad(f"projections.{g.name}.plasticity", f"reciprocal feedback learns by the rule of {f.name}: "
                        f"name its table ({f.plasticity!r}) or leave {g.name} frozen, got {g.plasticity!r}")
        if not (self.feedback in _LEARNING_FEEDBACK or self.spiking_feedback == "reciprocal"):
            # A feedback rule that no backend would read is a definition error, not a silent no-op: a
            # reader of the file would take the feedback for learning.
            for g in self.projections:
                if g.role == "feedback" and g.plastic:
                    bad(f"projections.{g.name}.plasticity", f"names a rule, but no backend trains feedback here "
                        f"(stack.feedback = {self.feedback!r}, spiking.feedback = {self.spiking_feedback!r}; "
                        f"feedback learns with stack.feedback in {', '.join(map(repr, _LEARNING_FEEDBACK))} or "
                        f"spiking.feedback = 'reciprocal'): remove the key, e.g. "
                        f"--set projections.{g.name}.plasticity=")
        if self.readout_samples % self.block:
            bad("spiking.readout_samples", f"must be a multiple of spiking.block ({self.block}), "
                f"got {self.readout_samples}")

    @staticmethod
    def _check_bias(key, bias, size, top, bad, number):
        if isinstance(bias, str):
            if bias != "mean" or not top:
                bad(key, f"expected a number (or 'mean' for an auto-encoder's top layer), got {bias!r}")
            return
        if isinstance(bias, tuple):
            if len(bias) != size:
                bad(key, f"{len(bias)} values for {size} neurons")
            for v in bias:
                number(key, v)
            return
        number(key, bias)

    def _check_projections(self, names, bad, number, choice):
        index = {n: i for i, n in enumerate(names)}
        forward, feedback = {}, {}
        seen = set()
        for p in self.projections:
            where = f"projections.{p.name}"
            if p.name in seen:
                bad(where, "defined twice")
            seen.add(p.name)
            for role, pop in (("pre", p.pre), ("post", p.post)):
                if pop not in index:
                    bad(f"{where}.{role}", f"unknown population {pop!r} (stack.layers: {', '.join(names)})")
            i, j = index[p.pre], index[p.post]
            role = "forward" if j == i + 1 else "feedback" if i == j + 1 else None
            if role is None or role != p.role:
                bad(where, f"{p.pre} -> {p.post} is neither forward (L(l-1) -> L(l)) nor feedback "
                    "(L(l+1) -> L(l)) in stack.layers" if role is None else
                    f"role {p.role!r} does not match {p.pre} -> {p.post} ({role})")
            if role == "feedback" and j == 0:
                bad(where, "feedback into the input layer is not part of the scheme")
            (forward if role == "forward" else feedback).setdefault(j, []).append(p.name)
            choice(f"{where}.weight.init", p.init, _WEIGHT_INITS)
            number(f"{where}.weight.std", p.std, 0)
            number(f"{where}.weight.low", p.low)
            number(f"{where}.weight.high", p.high)
            if p.init == "uniform" and not p.high > p.low:
                bad(f"{where}.weight.high", f"must be above low ({p.low}), got {p.high}")
            if p.plasticity is None:
                if p.eta:
                    bad(f"{where}.plasticity", "a frozen projection has no step")
            else:
                number(f"plasticity.{p.plasticity} (step eta of projections.{p.name})", p.eta, 0, strict=True)
            if p.rule not in (None, "pair", "rate"):
                bad(f"plasticity.{p.plasticity}.rule", f"a stack takes 'pair' or 'rate', got {p.rule!r}")
            if p.bias is not None:
                if role != "feedback":
                    bad(f"{where}.bias", "only feedback projections carry a bias")
                number(f"{where}.bias", p.bias)
            number(f"{where}.mirror_scale", p.mirror_scale, 0, strict=True)
            if p.mirror_scale != 1.0:
                if role != "feedback":
                    bad(f"{where}.mirror_scale", "only feedback projections take a mirror_scale")
                elif "reciprocal" not in (self.feedback, self.spiking_feedback):
                    bad(f"{where}.mirror_scale", "scales reciprocal feedback only: set stack.feedback or "
                        "spiking.feedback to 'reciprocal'")
        for j in range(1, len(names)):
            if len(forward.get(j, [])) != 1:
                bad("projections", f"layer {names[j]} needs exactly one forward projection from {names[j - 1]}, "
                    f"got {forward.get(j, [])}")
            if len(feedback.get(j, [])) > 1:
                bad("projections", f"layer {names[j]} has several feedback projections {feedback[j]}")
        # A hidden layer whose forward projection learns needs its target, i.e. a feedback projection.
        for j in range(1, len(names) - 1):
            f = self.forward(j)
            if f.plastic and j not in feedback:
                bad(f"projections.{f.name}", f"hidden layer {names[j]} learns but has no feedback projection "
                    f"from {names[j + 1]} (add one, or freeze {f.name})")

    # ------------------------------------------------------------------ access
    @property
    def depth(self):
        """Number of LIF layers (``n`` of ``L0 .. Ln``)."""
        return len(self.layers) - 1

    @property
    def free_window(self):
        """Seconds of the free-phase count window ``[plasticity_onset, free_phase)`` (the spiking read-out of
        the free rates, and the window of the rate regulator ``homeostasis``)."""
        return self.free_phase - self.plasticity_onset

    @property
    def n_classes(self):
        """Classes of a classifier (10), None for an auto-encoder."""
        return _N_CLASSES if self.target == "label" else None

    @property
    def per_class(self):
        """Top neurons per class (a classifier's population size per class)."""
        return self.layers[-1].size // _N_CLASSES

    @property
    def projection_names(self):
        """Names of every projection, in definition order."""
        return tuple(p.name for p in self.projections)

    def projection(self, name):
        """The :class:`ProjSpec` called ``name`` (ConfigError listing the names otherwise)."""
        check_projection_names(self, [name])
        return next(p for p in self.projections if p.name == name)

    def forward(self, l):
        """The forward projection ``f_l`` into layer ``l`` (1 .. n)."""
        post = self.layers[l].name
        return next(p for p in self.projections if p.role == "forward" and p.post == post)

    def reciprocal_pairs(self):
        """``{g_(l+1): f_(l+1)}`` by name for every plastic feedback projection whose forward projection
        above learns: the feedback that learns under ``feedback = 'reciprocal'`` (in the twin, or with
        ``[spiking] feedback`` in Brian2). A frozen feedback, or one whose forward projection is frozen
        (no update to carry), keeps its weights."""
        pairs = {}
        for l in range(1, self.depth):
            g, f = self.feedback_into(l), self.forward(l + 1)
            if g is not None and g.plastic and f.plastic:
                pairs[g.name] = f.name
        return pairs

    def feedback_into(self, l):
        """The feedback projection ``g_(l+1)`` into hidden layer ``l``, or None."""
        post = self.layers[l].name
        return next((p for p in self.projections if p.role == "feedback" and p.post == post), None)

    def feedback_bias(self, l):
        """Drive (threshold units) of the units that compute ``g_(l+1)`` into layer ``l``."""
        g = self.feedback_into(l)
        return self.layers[l].bias if g is None or g.bias is None else g.bias

    def backprop_step(self, name):
        """SGD step of the backprop reference on projection ``name`` (``training.backprop_lr``: one
        number for all, or a table with one per forward projection, missing ones 0)."""
        if isinstance(self.backprop_lr, tuple):
            return dict(self.backprop_lr).get(name, 0.0)
        return self.backprop_lr

    def lr_scale(self, samples_done):
        """Learning-rate factor ``1 / (1 + samples_done / lr_decay_samples)`` (1 without decay)."""
        return 1.0 if self.lr_decay_samples <= 0 else 1.0 / (1.0 + samples_done / self.lr_decay_samples)

    def to_dict(self):
        """Every field as plain JSON-able values (the resolved config of a result file)."""
        d = dataclasses.asdict(self)
        d["layers"] = [dataclasses.asdict(x) for x in self.layers]
        d["projections"] = [dataclasses.asdict(x) for x in self.projections]
        return d


def with_added_defaults(config):
    """A recorded configuration (:meth:`StackConfig.to_dict`, as JSON) with the keys added since it was
    written set to their defaults.

    Every key that joined the stack definition after its first version defaults to the behaviour
    before it (``trace_reset = 'sample'``, ``homeostasis = 0``, a projection's ``mirror_scale = 1``, ...),
    so a configuration recorded without it ran as the default does. This is what lets a checkpoint
    written by an earlier version resume, and a result file be compared with a definition loaded
    today.

    Parameters
    ----------
    config : dict
        A resolved configuration as a result file or a checkpoint's metadata records it.

    Returns
    -------
    dict
        A copy, with the missing fields of the stack, its layers and its projections at their
        defaults (as JSON values).
    """
    from .._io import to_jsonable

    def fill(record, cls):
        out = dict(record)
        for field in dataclasses.fields(cls):
            if field.name not in out and field.default is not dataclasses.MISSING:
                out[field.name] = to_jsonable(field.default)
        return out

    config = fill(config, StackConfig)
    config["layers"] = [fill(x, LayerSpec) for x in config.get("layers", [])]
    config["projections"] = [fill(x, ProjSpec) for x in config.get("projections", [])]
    return config


def check_projection_names(cfg, names):
    """Validate projection names (e.g. of a ``--freeze PROJ`` option).

    Parameters
    ----------
    cfg : StackConfig
    names : iterable of str

    Returns
    -------
    list of str
        ``names``, as a list.

    Raises
    ------
    ConfigError
        ``unknown projection 'X' (projections: W1, W2, G2)`` for the first unknown name.
    """
    names = list(names)
    known = cfg.projection_names
    for n in names:
        if n not in known:
            raise ConfigError(f"{cfg.path}: unknown projection {n!r} (projections: {', '.join(known)})")
    return names


def freeze(cfg, names):
    """Copy of ``cfg`` with the named projections frozen (no plasticity, step 0).

    Freezing a hidden layer's forward projection makes its feedback projection useless for
    learning but it is kept (it costs nothing in the rate twin and keeps names stable).

    Parameters
    ----------
    cfg : StackConfig
    names : iterable of str

    Returns
    -------
    StackConfig
    """
    return dataclasses.replace(cfg, projections=_without_rules(cfg, check_projection_names(cfg, names)))


def _without_rules(cfg, names):
    """``cfg``'s projections, those in ``names`` with no plasticity rule and step 0."""
    names = set(names)
    return tuple(dataclasses.replace(p, plasticity=None, rule=None, eta=0.0, stdp=None) if p.name in names else p
                 for p in cfg.projections)


def fixed_feedback(cfg, mode="random"):
    """Copy of ``cfg`` whose rate twin reads its feedback as fixed weights: ``stack.feedback = mode``
    (``'random'``: the feedback projections' own weights; ``'transposed'``: the forward weights above)
    and every feedback projection without a rule (fixed feedback does not read one, and a definition
    that names one unread is refused).

    Parameters
    ----------
    cfg : StackConfig
    mode : {'random', 'transposed'}

    Returns
    -------
    StackConfig
    """
    if mode not in ("random", "transposed"):
        raise ValueError(f"fixed feedback is 'random' or 'transposed', got {mode!r}")
    feedback = [p.name for p in cfg.projections if p.role == "feedback"]
    # both changes in one replace: validation sees the mode only with the rules it would refuse gone
    return dataclasses.replace(cfg, projections=_without_rules(cfg, feedback), feedback=mode)


# ---------------------------------------------------------------------- loading
def _raw(table, key, dimension, where, default):
    """A value of a table as written, converted with its unit (ConfigError on a wrong or missing unit)."""
    from ..spec import parse_quantity

    if key not in table:
        return default
    value = table[key]
    if dimension is None:
        return value
    return parse_quantity(value, dimension, f"{where}.{key}")


def _unknown(table, allowed, where):
    extra = sorted(set(table) - set(allowed))
    if extra:
        raise ConfigError(f"{where}.{extra[0]}: unknown key; this table takes {', '.join(sorted(allowed))}")


def _eta(rule, where):
    """The rate rule's step (s^2) of a ``[plasticity.*]`` table: ``eta``, or ``int s K(s) ds`` of a
    balanced pair-STDP window ``A_plus tau_plus^2 + A_minus tau_minus^2`` (``docs/stdp.md``)."""
    _unknown(rule.params, _RULE_KEYS.get(rule.rule, set()), where)
    p = rule.params
    if rule.rule == "rate":
        if "eta" not in p:
            raise ConfigError(f"{where}: missing key 'eta'")
        return p["eta"]
    for key in ("A_plus", "tau_plus", "tau_minus"):
        if key not in p:
            raise ConfigError(f"{where}: missing key {key!r}")
    a_plus = p["A_plus"]
    if isinstance(a_plus, bool) or not isinstance(a_plus, (int, float)):
        raise ConfigError(f"{where}.A_plus: expected a number, got {a_plus!r}")
    a_minus = p.get("A_minus", a_plus * p["tau_plus"] / p["tau_minus"])
    if isinstance(a_minus, bool) or not isinstance(a_minus, (int, float)):
        raise ConfigError(f"{where}.A_minus: expected a number, got {a_minus!r}")
    return a_plus * p["tau_plus"] ** 2 + a_minus * p["tau_minus"] ** 2


def stack_from_data(data, path=None):
    """Validate a parsed TOML document as a :class:`StackConfig`.

    Parameters
    ----------
    data : dict
        The document (after :func:`spiking_bpdl.spec.apply_overrides`).
    path : str or Path, optional
        The file, for error messages.

    Returns
    -------
    StackConfig
    """
    from ..spec import parse_network

    spec = parse_network(data, path)
    src = str(path) if path else "<definition>"
    for table in ("stack", "data", "training", "spiking"):
        if table in data and not isinstance(data[table], dict):
            raise ConfigError(f"{src}: {table}: expected a table")
    if "stack" not in data:
        raise ConfigError(f"{src}: missing table [stack]")
    extra = sorted(set(spec.sections) - {"stack", "data", "training", "spiking"})
    if extra:
        raise ConfigError(f"{src}: {extra[0]}: unknown table; a stack takes [stack], [data], [training] and [spiking]")
    st, dat, tr, sp = data["stack"], data.get("data", {}), data.get("training", {}), data.get("spiking", {})
    _unknown(st, _STACK_KEYS, f"{src}: stack")
    _unknown(sp, _SPIKING_KEYS, f"{src}: spiking")
    _unknown(dat, _DATA_KEYS, f"{src}: data")
    _unknown(tr, _TRAINING_KEYS, f"{src}: training")
    order = st.get("layers")
    if not isinstance(order, list) or not all(isinstance(n, str) for n in order):
        raise ConfigError(f"{src}: stack.layers: expected a list of population names, got {order!r}")
    unused = sorted(set(spec.populations) - set(order))
    if unused:
        raise ConfigError(f"{src}: populations.{unused[0]}: not in stack.layers {order}")
    dt = _raw(st, "dt", "time", f"{src}: stack", StackConfig.dt)
    layers = []
    for i, name in enumerate(order):
        if name not in spec.populations:
            raise ConfigError(f"{src}: stack.layers: unknown population {name!r} "
                              f"(populations: {', '.join(spec.populations)})")
        pop = spec.populations[name]
        raw = data["populations"][name]
        where = f"{src}: populations.{name}"
        params = {k: v for k, v in raw.items() if k not in ("kind", "size")}
        if i == 0:
            _unknown(params, _INPUT_KEYS, where)
            layers.append(LayerSpec(name, pop.kind, pop.size,
                                    max_rate=_raw(params, "max_rate", "frequency", where, 100.0),
                                    encoder=params.get("encoder", "regular"), dt=dt))
            continue
        _unknown(params, _LIF_KEYS, where)
        kw = {k: pop.params[k] for k in ("tau_m", "v_threshold", "v_reset", "t_ref", "sigma", "tau_syn")
              if k in pop.params}
        bias = params.get("bias", 0.0)
        if isinstance(bias, list):
            bias = tuple(bias)
        layers.append(LayerSpec(name, pop.kind, pop.size, bias=bias, dt=dt, **kw))
    projs = []
    index = {n: i for i, n in enumerate(order)}
    for name, p in spec.projections.items():
        where = f"{src}: projections.{name}"
        _unknown(p.params, _PROJ_EXTRA, where)
        _unknown(p.weight, {"init", "std", "low", "high"}, where + ".weight")
        if p.connectivity != "all":
            raise ConfigError(f"{where}.connectivity: a stack's projections are all-to-all")
        role = "feedback" if p.pre in index and p.post in index and index[p.pre] == index[p.post] + 1 else "forward"
        rule = spec.plasticity[p.plasticity] if p.plasticity else None
        if rule is not None and rule.rule not in ("pair", "rate"):
            raise ConfigError(f"{src}: plasticity.{rule.name}.rule: a stack takes 'pair' or 'rate', got {rule.rule!r}")
        eta = _eta(rule, f"{src}: plasticity.{rule.name}") if rule else 0.0
        stdp = None
        if rule is not None and rule.rule == "pair":
            q = rule.params
            stdp = (q["A_plus"], q.get("A_minus", q["A_plus"] * q["tau_plus"] / q["tau_minus"]), q["tau_plus"],
                    q["tau_minus"])
        w = p.weight
        projs.append(ProjSpec(name, p.pre, p.post, role, init=w.get("init", "normal"), std=w.get("std", 0.0),
                              low=w.get("low", 0.0), high=w.get("high", 0.0), plasticity=p.plasticity,
                              rule=rule.rule if rule else None, eta=eta, bias=p.params.get("bias"), stdp=stdp,
                              mirror_scale=p.params.get("mirror_scale", 1.0)))
    # only the keys the file sets: every default lives once, on the StackConfig field
    kw = {k: _raw(st, k, dim, f"{src}: stack", None) for k, dim in _STACK_KEYS.items() if k != "layers" and k in st}
    kw["dt"] = dt
    if "target_rate" not in kw and kw.get("target") == "input":
        kw["target_rate"] = layers[0].max_rate  # an auto-encoder's top codes a white pixel as the input does
    renamed = {"feedback": "spiking_feedback", "target": "brian_target"}
    for key, dim in _SPIKING_KEYS.items():
        if key in sp:
            kw[renamed.get(key, key)] = _raw(sp, key, dim, f"{src}: spiking", None)
    kw.update({k: dat[k] for k in _DATA_KEYS if k in dat})
    kw.update({k: tr[k] for k in _TRAINING_KEYS if k in tr})
    if isinstance(kw.get("backprop_lr"), dict):
        kw["backprop_lr"] = tuple(sorted(kw["backprop_lr"].items()))
    return StackConfig(spec.name, tuple(layers), tuple(projs), path=src, **kw)


def load_stack(path, overrides=()):
    """Load a stack definition (a path or the name of a shipped definition).

    Parameters
    ----------
    path : str or Path
    overrides : iterable of str
        ``section.key=value`` items applied before validation (:func:`spiking_bpdl.spec.apply_overrides`),
        e.g. ``"stack.nudge=2"`` or ``"plasticity.rate_W1.eta=1e-6"``.

    Returns
    -------
    StackConfig
    """
    from ..spec import read_definition

    path, data = read_definition(path, overrides)
    return stack_from_data(data, path)


def stack_from_layer_pair(pair, overrides=()):
    """A layer pair as the stack ``input -> hidden -> recon`` that the Brian2 network runs.

    The layer pair is an auto-encoder stack: forward projections ``W`` (the encoder ``f``) and ``V``
    (the decoder), and the feedback ``Wfb`` (recon -> hidden) that carries the encoder's own weights
    (``feedback = "encoder"``), so the hidden drive is ``(1 - gamma) f(input) + gamma f(recon)``. Every
    spiking setting of the pair maps to the stack's key of the same meaning (``v_window`` to
    ``[spiking] top_window``); a frozen projection of the pair is frozen in the stack.

    Parameters
    ----------
    pair : LayerPairConfig or str or Path
        A validated layer pair (:func:`spiking_bpdl.rate.lif_layer_pair.load_layer_pair`), or its
        definition (a path or the name of a shipped one).
    overrides : iterable of str
        With a definition: ``section.key=value`` items applied before validation.

    Returns
    -------
    StackConfig
        A ``bias = "mean"`` of the pair stays unresolved until the pair's is
        (:func:`spiking_bpdl.rate.lif_layer_pair.with_mean_bias`).
    """
    from ..rate.lif_layer_pair import LayerPairConfig, load_layer_pair

    if not isinstance(pair, LayerPairConfig):
        pair = load_layer_pair(pair, overrides)
    neuron = dict(tau_m=pair.tau_m, v_threshold=pair.v_threshold, v_reset=pair.v_reset, t_ref=pair.t_ref,
                  sigma=pair.sigma, tau_syn=pair.tau_syn, dt=pair.dt)
    bias_recon = pair.bias_recon
    if not isinstance(bias_recon, (str, int, float)):
        bias_recon = tuple(float(b) for b in np.ravel(bias_recon))
    layers = (LayerSpec("input", "poisson", pair.n_in, max_rate=pair.max_rate, encoder=pair.encoder, dt=pair.dt),
              LayerSpec("hidden", "lif", pair.n_hidden, bias=pair.bias_hidden, **neuron),
              LayerSpec("recon", "lif", pair.n_in, bias=bias_recon, **neuron))

    def forward(name, pre, post, std):
        learns = name not in pair.frozen
        return ProjSpec(name, pre, post, "forward", init="normal" if std > 0 else "zero", std=std,
                        plasticity=f"stdp_{name}" if learns else None, rule="pair" if learns else None,
                        eta=pair.eta(name) if learns else 0.0,
                        stdp=(pair.A_plus_W if name == "W" else pair.A_plus_V, pair.A_minus(name), pair.tau_plus,
                              pair.tau_minus) if learns else None)

    projections = (forward("W", "input", "hidden", pair.w_init_std), forward("V", "hidden", "recon", pair.v_init_std),
                   ProjSpec("Wfb", "recon", "hidden", "feedback", init="zero"))
    training = {k: getattr(pair, k) for k in ("minibatch", "eval_every", "test_samples", "lr_decay_samples")}
    if pair.validation_samples is not None:  # None (a sixth of the split) keeps the field's default
        training["validation_samples"] = pair.validation_samples
    training["train_pool"] = pair.train_pool
    training["samples"] = min(pair.samples, pair.train_pool)
    return StackConfig(
        pair.name, layers, projections, target="input", nudge=pair.nudge, target_rate=pair.max_rate,
        feedback="encoder", hidden_target="current", feedback_gain=pair.feedback_gain, feedback_phases="both",
        dt=pair.dt, free_phase=pair.free_phase, target_phase=pair.target_phase,
        plasticity_onset=pair.plasticity_onset, cycles=pair.cycles, dataset=pair.dataset, source=pair.source,
        downsample=pair.downsample, corruption=pair.corruption, corruption_level=pair.corruption_level,
        spiking_feedback="encoder", tau_filter=pair.tau_filter, block=pair.block, brian_target=pair.target,
        readout_samples=-(-pair.readout_samples // pair.block) * pair.block, trace_reset=pair.trace_reset,
        weight_updates=pair.weight_updates, top_window=pair.v_window, path=f"layer pair {pair.name}", **training)
