"""Event-driven plasticity rules: Brian2 synapse code and their rate-based equivalents.

Two rules live here.

:class:`PairSTDP`
    Pair-based spike-timing-dependent plasticity with exponential traces, integrated
    event-driven (Brian2 updates a trace only when a spike arrives, with the exact
    exponential decay since its last update). Window, with ``s = t_post - t_pre``::

        K(s) =  A_plus  exp(-s / tau_plus)    for s >= 0   (potentiation)
        K(s) = -A_minus exp( s / tau_minus)   for s <  0   (depression)

    ``A_minus`` is the positive *magnitude* of depression. The window's integrals are the
    bridge to the rate world (``docs/stdp.md``)::

        int K ds   = A_plus tau_plus - A_minus tau_minus        (0 for a balanced window)
        int s K ds = A_plus tau_plus^2 + A_minus tau_minus^2    (= eta_eff)

        E[dW/dt] ~ rho_pre [ (int K) rho_post + (int s K) d rho_post / dt ].

    Variants: *all-to-all* (every pre spike pairs with every post spike: traces add
    ``+= A``) and *nearest-spike* (symmetric nearest neighbour: traces are *set*,
    ``= A``, so each post spike pairs with the latest pre spike only and vice versa).
    Weight dependence: ``'hard'`` (additive, clipped to ``[0, w_max]``) or ``'soft'``
    (multiplicative: potentiation scaled by ``(1 - w/w_max)``, depression by ``w/w_max``;
    van Rossum et al. 2000).

:class:`VoltageDerivativeRule`
    The rule of Bengio et al. (2015), eq. 1: at every pre-synaptic spike
    ``w += eta * dV_post/dt``. The derivative is read exactly from the right-hand side of
    the post-synaptic equation (a subexpression ``dvdt`` that :func:`derivative_lif_equations`
    adds), not a finite difference. Optionally the derivative of the *free membrane*
    ``U`` (same input, never reset, never refractory) is used: the reset makes the naive
    rule potentiate right after a post spike (``docs/stdp.md``).

Simultaneous pre and post spikes
--------------------------------
With zero transmission delay Brian2 runs the ``pre`` pathway (order -1) before the
``post`` pathway (order +1) within one time step. A pre and a post spike in the *same*
time step are therefore treated as ``s = 0`` on the potentiation side: the pre trace is
incremented first, then the post spike reads it. The pair gives ``dw = +A_plus`` (all-to-all
and nearest alike), never ``-A_minus`` and never both. This is tested.

Units
-----
All parameters are plain floats in SI units (seconds); amplitudes and ``w_max`` are in
the units of the weight ``w``, which is dimensionless in the Brian2 code. What a weight
*does* is the ``effect`` statement (e.g. ``'v_post += w*mV'``).

References
----------
Song, Miller & Abbott (2000). Nat. Neurosci. 3, 919-926.
van Rossum, Bi & Turrigiano (2000). J. Neurosci. 20, 8812-8821.
Morrison, Diesmann & Gerstner (2008). Biol. Cybern. 98, 459-478 (nearest-spike variants).
Bengio, Mesnard, Fischer, Zhang & Wu (2017). Neural Comput. 29, 555-577.
Bengio, Lee, Bornschein, Mesnard & Lin (2015). arXiv:1502.04156.
"""

from dataclasses import dataclass, replace

import numpy as np

from .errors import ConfigError

__all__ = [
    "PairSTDP",
    "SynapseCode",
    "VoltageDerivativeRule",
    "derivative_lif_equations",
    "reference_pair_dw",
]

WEIGHT_DEPENDENCES = ("hard", "soft")


@dataclass(frozen=True)
class SynapseCode:
    """Brian2 code of a plasticity rule, ready for ``Synapses(..., **code.kwargs())``.

    Attributes
    ----------
    model, on_pre, on_post : str
        Synapse equations and the statements run at pre- and post-synaptic spikes.
    namespace : dict
        Names (with Brian2 units) that the code uses.
    """

    model: str
    on_pre: str
    on_post: str
    namespace: dict

    def kwargs(self):
        """Keyword arguments for ``brian2.Synapses`` (``model``, ``on_pre``, ``on_post``, ``namespace``)."""
        out = {"model": self.model, "on_pre": self.on_pre, "namespace": dict(self.namespace)}
        if self.on_post:
            out["on_post"] = self.on_post
        return out


def _check_positive(name, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be > 0, got {value}")
    return value


def _check_nonneg(name, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not (np.isfinite(value) and value >= 0):
        raise ConfigError(f"{name} must be >= 0, got {value}")
    return value


@dataclass(frozen=True)
class PairSTDP:
    """Pair-based STDP with exponential window and event-driven traces.

    ===================  =====  ==========  ===============================================
    parameter            unit   default     meaning
    ===================  =====  ==========  ===============================================
    A_plus               w      0.01        potentiation amplitude, K(0+) = A_plus
    A_minus              w      0.0105      depression magnitude, K(0-) = -A_minus
    tau_plus             s      20 ms       potentiation time constant
    tau_minus            s      20 ms       depression time constant
    w_max                w      1.0         upper weight bound (lower bound 0)
    nearest              bool   False       nearest-spike pairing instead of all-to-all
    weight_dependence    str    'hard'      'hard' (additive, clipped) or 'soft'
    pre_offset           1      0           x_tar of :meth:`neuron_trace_code`: a post spike adds
                                            ``A_plus (apre - x_tar)`` (pre-centred STDP)
    ===================  =====  ==========  ===============================================

    Examples
    --------
    >>> rule = PairSTDP.balanced(A_plus=0.01, tau_plus=20e-3, tau_minus=40e-3)
    >>> abs(rule.integral_K()) < 1e-15
    True
    >>> code = rule.synapse_code(effect="v_post += w*mV")      # doctest: +SKIP
    >>> S = Synapses(inputs, neurons, **code.kwargs())         # doctest: +SKIP
    """

    A_plus: float = 0.01
    A_minus: float = 0.0105
    tau_plus: float = 20e-3
    tau_minus: float = 20e-3
    w_max: float = 1.0
    nearest: bool = False
    weight_dependence: str = "hard"
    pre_offset: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "A_plus", _check_nonneg("A_plus", self.A_plus))
        object.__setattr__(self, "A_minus", _check_nonneg("A_minus", self.A_minus))
        object.__setattr__(self, "tau_plus", _check_positive("tau_plus", self.tau_plus))
        object.__setattr__(self, "tau_minus", _check_positive("tau_minus", self.tau_minus))
        object.__setattr__(self, "w_max", _check_positive("w_max", self.w_max))
        if self.weight_dependence not in WEIGHT_DEPENDENCES:
            raise ConfigError(
                f"weight_dependence must be one of {', '.join(WEIGHT_DEPENDENCES)}, got {self.weight_dependence!r}"
            )
        object.__setattr__(self, "nearest", bool(self.nearest))
        object.__setattr__(self, "pre_offset", _check_nonneg("pre_offset", self.pre_offset))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def balanced(cls, A_plus=0.01, tau_plus=20e-3, tau_minus=20e-3, **kwargs):
        """A window with ``int K = 0``: ``A_minus = A_plus * tau_plus / tau_minus``."""
        A_plus = _check_nonneg("A_plus", A_plus)
        tau_plus = _check_positive("tau_plus", tau_plus)
        tau_minus = _check_positive("tau_minus", tau_minus)
        return cls(A_plus=A_plus, A_minus=A_plus * tau_plus / tau_minus, tau_plus=tau_plus,
                   tau_minus=tau_minus, **kwargs)

    @classmethod
    def song_abbott(cls, g_max=0.015, A_plus_rel=0.005, ratio=1.05, tau=20e-3, **kwargs):
        """Song, Miller & Abbott (2000): ``A_plus = A_plus_rel * g_max``, ``A_minus/A_plus = ratio``."""
        return cls(A_plus=A_plus_rel * g_max, A_minus=ratio * A_plus_rel * g_max, tau_plus=tau,
                   tau_minus=tau, w_max=g_max, **kwargs)

    def replace(self, **changes):
        """Copy with some parameters changed (validated again)."""
        return replace(self, **changes)

    # ------------------------------------------------------------------ window
    def window(self, s):
        """The STDP window ``K(s)``, ``s = t_post - t_pre`` in seconds (numpy, vectorised).

        ``K(0) = +A_plus``: simultaneous spikes count as causal (see the module docstring).
        """
        s = np.asarray(s, dtype=np.float64)
        out = np.where(s >= 0, self.A_plus * np.exp(-np.abs(s) / self.tau_plus),
                       -self.A_minus * np.exp(-np.abs(s) / self.tau_minus))
        return out if out.ndim else float(out)

    def integral_K(self):
        """``int K(s) ds = A_plus tau_plus - A_minus tau_minus`` (weight units times seconds)."""
        return self.A_plus * self.tau_plus - self.A_minus * self.tau_minus

    def integral_sK(self):
        """``int s K(s) ds = A_plus tau_plus^2 + A_minus tau_minus^2``: the rate rule's ``eta_eff``."""
        return self.A_plus * self.tau_plus**2 + self.A_minus * self.tau_minus**2

    def integral_K2(self):
        """``int K(s)^2 ds``: sets the variance of the weight change from chance coincidences."""
        return 0.5 * (self.A_plus**2 * self.tau_plus + self.A_minus**2 * self.tau_minus)

    @property
    def is_balanced(self):
        """True when ``int K`` vanishes (to 1e-12 relative)."""
        return abs(self.integral_K()) <= 1e-12 * max(self.A_plus * self.tau_plus, 1e-300)

    def rate_drift(self, rho_pre, rho_post, drho_post_dt):
        """Expected ``dW/dt`` for slowly varying rates (Hz, Hz, Hz/s): the rate-rule twin."""
        return np.asarray(rho_pre) * (self.integral_K() * np.asarray(rho_post)
                                       + self.integral_sK() * np.asarray(drho_post_dt))

    # ------------------------------------------------------------------ Brian2 code
    def namespace(self):
        """Brian2 namespace of the synapse code (names end in ``_stdp`` to avoid clashes)."""
        import brian2 as b2

        return {
            "A_plus_stdp": self.A_plus,
            "A_minus_stdp": self.A_minus,
            "tau_plus_stdp": self.tau_plus * b2.second,
            "tau_minus_stdp": self.tau_minus * b2.second,
            "w_max_stdp": self.w_max,
        }

    def synapse_code(self, effect="", weight="w", pre_gate=None, post_gate=None,
                     clock_driven=False):
        """Brian2 ``model``/``on_pre``/``on_post`` strings of this rule.

        Parameters
        ----------
        effect : str
            Statement(s) run at each pre-synaptic spike *before* the weight update, e.g.
            ``'v_post += w*mV'`` or ``'g_e_post += w*nS'``. Empty: a pure plasticity probe.
        weight : str
            Name of the (dimensionless) weight variable declared in ``model``.
        pre_gate, post_gate : str, optional
            Expressions (0/1, e.g. a ``TimedArray`` call ``'gate(t)'``) that enable a pre or
            post spike's participation: they multiply its trace increment and its weight
            update. Used to define a plasticity window (see ``stdp_match``).
        clock_driven : bool
            Integrate the traces every time step instead of event-driven (for tests that
            monitor traces; the results are identical).

        Returns
        -------
        SynapseCode
            Traces ``apre`` (pre, amplitude ``A_plus``) and ``apost`` (post, amplitude
            ``A_minus``).
        """
        if self.pre_offset:
            raise ConfigError("pre_offset applies to per-neuron traces only (neuron_trace_code)")
        mode = "clock-driven" if clock_driven else "event-driven"
        w = weight
        gpre = f"({pre_gate})" if pre_gate else "1"
        gpost = f"({post_gate})" if post_gate else "1"
        model = (
            f"{w} : 1\n"
            f"dapre/dt = -apre/tau_plus_stdp : 1 ({mode})\n"
            f"dapost/dt = -apost/tau_minus_stdp : 1 ({mode})\n"
        )
        op = "=" if self.nearest else "+="
        if self.weight_dependence == "hard":
            dep = f"{w} = clip({w} - {gpre}*apost, 0, w_max_stdp)"
            pot = f"{w} = clip({w} + {gpost}*apre, 0, w_max_stdp)"
        else:
            dep = f"{w} = clip({w} - {gpre}*apost*{w}/w_max_stdp, 0, w_max_stdp)"
            pot = f"{w} = clip({w} + {gpost}*apre*(1 - {w}/w_max_stdp), 0, w_max_stdp)"
        if self.nearest:
            # a gated-out spike leaves the trace as it is
            pre_trace = f"apre = {gpre}*A_plus_stdp + (1 - {gpre})*apre"
            post_trace = f"apost = {gpost}*A_minus_stdp + (1 - {gpost})*apost"
        else:
            pre_trace = f"apre {op} {gpre}*A_plus_stdp"
            post_trace = f"apost {op} {gpost}*A_minus_stdp"
        on_pre_lines = [effect] if effect else []
        on_pre_lines += [pre_trace, dep]
        on_post = "\n".join([post_trace, pot])
        return SynapseCode(model=model, on_pre="\n".join(on_pre_lines), on_post=on_post,
                           namespace=self.namespace())

    def neuron_traces(self, pre=True, post=True):
        """Equations, reset statements and namespace of the traces that :meth:`neuron_trace_code` reads.

        With all-to-all pairing the trace of a neuron is the same for all its synapses, so it can be
        kept once per *neuron* instead of once per synapse: a spike then costs one multiply-add per
        synapse and no synapse decays a trace. The pre-synaptic group holds ``apre`` (time constant
        ``tau_plus``), the post-synaptic group ``apost`` (``tau_minus``); both jump by 1 per spike and
        the amplitudes multiply in the synapse, so projections with different amplitudes can share a
        group's traces (their time constants must then be equal). The traces jump in the group's
        reset, which Brian2 runs after the synapses of the same time step, so a pre and a post spike
        in one step do not pair (:meth:`synapse_code` counts them as ``Δt = 0``); with the integration
        method ``'euler'`` (a noisy group) the traces decay by ``1 - dt/tau`` per step.

        Parameters
        ----------
        pre, post : bool
            Include the pre-synaptic trace ``apre`` / the post-synaptic trace ``apost`` (a group that
            is both, such as a hidden layer, needs both).

        Returns
        -------
        tuple
            ``(equations, reset, namespace)``: Brian2 equation lines (str), the statements to add to
            the group's reset (str) and the time constants with units (dict: ``tau_plus``,
            ``tau_minus``).
        """
        import brian2 as b2

        eqs, reset = [], []
        if pre:
            eqs.append("dapre/dt = -apre/tau_plus : 1")
            reset.append("apre += 1")
        if post:
            eqs.append("dapost/dt = -apost/tau_minus : 1")
            reset.append("apost += 1")
        ns = {}
        if pre:
            ns["tau_plus"] = self.tau_plus * b2.second
        if post:
            ns["tau_minus"] = self.tau_minus * b2.second
        return "\n".join(eqs) + "\n", "\n".join(reset), ns

    def neuron_trace_code(self, name, effect="", gate=None, deferred=False, offset_variable=False):
        """Brian2 code of all-to-all pair STDP on per-neuron traces, for signed, unbounded weights.

        The rate rules that STDP implements here are linear in the weights, so the weights carry a
        sign and no bound (``w_max`` and ``weight_dependence`` do not apply; nearest-spike pairing
        cannot use shared traces and is refused). A pre spike subtracts ``gate * A_minus * apost_post``,
        a post spike adds ``gate * A_plus * (apre_pre - pre_offset)``, where the traces come from
        :meth:`neuron_traces` of the two groups.

        With ``pre_offset = x_tar > 0`` (the offset rule of Diehl & Cook 2015) every post spike also
        takes ``gate * A_plus * x_tar`` from all its synapses alike. Across a contrastive window this
        is ``-A_plus x_tar`` times the post neuron's count change, the same for every pre neuron, so
        the rate rule ``rho_pre * delta rho_post`` becomes ``(rho_pre - m) * delta rho_post``: a
        covariance rule that removes the update's part common to all inputs (which otherwise drives
        the post rates away). ``x_tar`` is in trace units (a trace jumps by 1 per spike); ``m`` follows
        from the window (see the caller).

        Parameters
        ----------
        name : str
            Suffix of the amplitudes' names in the namespace (``A_plus_<name>``, ``A_minus_<name>``),
            so that several projections of one network keep their own amplitudes.
        effect : str
            Statement(s) run at each pre-synaptic spike before the weight update (the synaptic current).
        gate : str, optional
            Expression multiplying every weight change, e.g. ``'plastic_post'``, a sign per time window
            (``+1``, ``-1`` or 0, times a learning-rate factor) held by the post-synaptic group.
        deferred : bool
            Accumulate the changes in ``dw`` instead of ``w`` (the caller adds ``dw`` to ``w`` when a
            sample ends, so a sample's pairings cannot move the rates they read).
        offset_variable : bool
            The offset is a per-synapse constant ``x_tar`` that the caller sets (one value per
            pre-synaptic neuron, from its own mean rate ``m_i``: the centring of the rate twin, whose
            covariance rule subtracts each input's own mean) instead of the one number
            ``pre_offset`` (which must then be 0).

        Returns
        -------
        SynapseCode
        """
        model, acc, g, potentiation, ns = self._trace_parts(name, gate, deferred, offset_variable, "apre_pre")
        on_pre = ([effect] if effect else []) + [f"{acc} -= {g}A_minus_{name}*apost_post"]
        return SynapseCode(model=model, on_pre="\n".join(on_pre), on_post=potentiation, namespace=ns)

    def _trace_parts(self, name, gate, deferred, offset_variable, pre_trace):
        """What :meth:`neuron_trace_code` and :meth:`reciprocal_trace_code` share: the checks, the model,
        the accumulator, the gate factor, the potentiation statement (``A_plus`` times the forward's
        pre-synaptic trace ``pre_trace`` less the centring offset) and the namespace."""
        if self.nearest:
            raise ConfigError("per-neuron traces need all-to-all pairing (nearest=False)")
        if offset_variable and self.pre_offset:
            raise ConfigError("offset_variable replaces pre_offset: set one of them")
        g = f"{gate}*" if gate else ""
        acc = "dw" if deferred else "w"
        model = "w : 1\ndw : 1" if deferred else "w : 1"
        ns = {f"A_plus_{name}": self.A_plus, f"A_minus_{name}": self.A_minus}
        if offset_variable:
            model += "\nx_tar : 1 (constant)"
            potentiation = f"{acc} += {g}A_plus_{name}*({pre_trace} - x_tar)"
        elif self.pre_offset:
            potentiation = f"{acc} += {g}A_plus_{name}*({pre_trace} - x_tar_{name})"
            ns[f"x_tar_{name}"] = self.pre_offset
        else:
            potentiation = f"{acc} += {g}A_plus_{name}*{pre_trace}"
        return model, acc, g, potentiation, ns

    def reciprocal_trace_code(self, name, effect="", gate=None, deferred=False, offset_variable=False):
        """Brian2 code of the *reciprocal* synapse of :meth:`neuron_trace_code`: the synapse that runs
        back from the forward synapse's post-synaptic neuron ``j`` to its pre-synaptic neuron ``i``
        and changes, at every spike pair, by exactly what the forward synapse ``i -> j`` changes by.

        The window is the forward's mirrored in time (for this synapse a pre spike that follows its
        post spike potentiates), and the gate is the forward's, held by the forward's post-synaptic
        group, which is this synapse's pre-synaptic group (pass ``gate='plastic_pre'`` where the
        forward passes ``'plastic_post'``). It reads the same per-neuron traces (the forward's
        pre-synaptic group's ``apre``, now ``apre_post``; its post-synaptic group's ``apost``, now
        ``apost_pre``), so for the same spikes ``g[j, i]`` and ``f[i, j]`` receive the same sums: the
        feedback learns the transpose of the forward's change (Kolen & Pollack 1994) from its own pre
        and post spikes only, without reading the forward weights. With the forward's centring offset
        ``x_tar`` (one number, or per synapse with ``offset_variable``: the offset of this synapse's
        *post*-synaptic neuron, the forward's pre) each spike of the pre-synaptic group takes
        ``A_plus x_tar`` as the forward's post spikes do.

        Parameters
        ----------
        name, effect, gate, deferred, offset_variable
            As :meth:`neuron_trace_code`.

        Returns
        -------
        SynapseCode
        """
        model, acc, g, potentiation, ns = self._trace_parts(name, gate, deferred, offset_variable, "apre_post")
        on_pre = "\n".join(([effect] if effect else []) + [potentiation])
        return SynapseCode(model=model, on_pre=on_pre, on_post=f"{acc} -= {g}A_minus_{name}*apost_pre", namespace=ns)

    def to_dict(self):
        """Plain-JSON description (times in ms)."""
        return {
            "A_plus": self.A_plus,
            "A_minus": self.A_minus,
            "tau_plus_ms": self.tau_plus * 1e3,
            "tau_minus_ms": self.tau_minus * 1e3,
            "w_max": self.w_max,
            "nearest": self.nearest,
            "weight_dependence": self.weight_dependence,
            "integral_K": self.integral_K(),
            "integral_sK": self.integral_sK(),
            **({"pre_offset": self.pre_offset} if self.pre_offset else {}),
        }


def reference_pair_dw(pre_times, post_times, rule, w0=None):
    """Independent pure-Python reference of :class:`PairSTDP` for one synapse.

    Processes the spikes in time order (a pre spike before a post spike at equal times,
    as Brian2 does) with explicitly decayed traces. Used by the tests and handy for
    checking hand-made cases.

    Parameters
    ----------
    pre_times, post_times : sequence of float
        Spike times in seconds.
    rule : PairSTDP
    w0 : float, optional
        Initial weight (default ``w_max / 2``).

    Returns
    -------
    float
        Final weight minus initial weight.
    """
    events = sorted([(t, 0) for t in pre_times] + [(t, 1) for t in post_times])
    w = rule.w_max / 2 if w0 is None else float(w0)
    w_init = w
    apre = apost = 0.0
    t_last = None
    for t, kind in events:
        if t_last is not None:
            apre *= np.exp(-(t - t_last) / rule.tau_plus)
            apost *= np.exp(-(t - t_last) / rule.tau_minus)
        t_last = t
        if kind == 0:
            apre = rule.A_plus if rule.nearest else apre + rule.A_plus
            dw = -apost * (w / rule.w_max if rule.weight_dependence == "soft" else 1.0)
        else:
            apost = rule.A_minus if rule.nearest else apost + rule.A_minus
            dw = apre * ((1 - w / rule.w_max) if rule.weight_dependence == "soft" else 1.0)
        w = min(max(w + dw, 0.0), rule.w_max)
    return w - w_init


def derivative_lif_equations(params=None, input_current="I_ext", free_membrane=True):
    """LIF equations with the exact membrane derivative exposed for :class:`VoltageDerivativeRule`.

    Same dynamics as :func:`spiking_bpdl.neurons.lif_equations` (noise-free; put filtered
    noise into ``input_current``: white noise has no derivative), plus

    * ``dvdt``: the right-hand side of ``dv/dt``, 0 while refractory (exactly what the
      integrator uses);
    * with ``free_membrane``: ``U``, the reset-free membrane driven by the same input
      (never reset, never refractory), and ``dUdt`` its right-hand side.

    Parameters
    ----------
    params : LIFParams, optional
    input_current : str
        Input expression in amperes (``'I_ext'`` declares a parameter).
    free_membrane : bool

    Returns
    -------
    brian2.Equations
    """
    import brian2 as b2

    from .neurons import LIFParams

    params = params or LIFParams()
    eqs = (
        "dv/dt = dvdt : volt (unless refractory)\n"
        "dvdt = int(not_refractory)*(-v + R*(I_in + I_syn))/tau_m : volt/second\n"
        f"I_in = {input_current} : amp\n"
        "I_syn : amp\n"
    )
    if input_current == "I_ext":
        eqs += "I_ext : amp\n"
    if free_membrane:
        eqs += "dU/dt = dUdt : volt\ndUdt = (-U + R*(I_in + I_syn))/tau_m : volt/second\n"
    return b2.Equations(eqs)


@dataclass(frozen=True)
class VoltageDerivativeRule:
    """``w += eta * dV_post/dt`` at every pre-synaptic spike (Bengio et al. 2015, eq. 1).

    ===========  ==========  =========================================================
    parameter    unit        meaning
    ===========  ==========  =========================================================
    eta          w / (V/s)   learning rate: weight change per volt/second of slope
    variable     --          ``'dUdt'`` (free membrane, default) or ``'dvdt'`` (real V)
    w_min        w           lower bound (default -inf: no bound)
    w_max        w           upper bound (default +inf)
    ===========  ==========  =========================================================

    Timing: Brian2 integrates the neurons (``t -> t + dt``) before the synapses run, so a
    pre spike at ``t`` sees the derivative of the state at ``t + dt`` (exactly the
    right-hand side there, no finite difference).

    The post-synaptic group must define the variable, e.g. with
    :func:`derivative_lif_equations`. On a *stationary* neuron with reset, ``'dvdt'``
    potentiates on average by ``v_threshold * eta * rho_post`` per pre spike rate
    (the membrane climbs between spikes); ``'dUdt'`` has no such bias.
    """

    eta: float = 1.0
    variable: str = "dUdt"
    w_min: float = -np.inf
    w_max: float = np.inf

    def __post_init__(self):
        object.__setattr__(self, "eta", _check_positive("eta", self.eta))
        if self.variable not in ("dUdt", "dvdt"):
            raise ConfigError(f"variable must be 'dUdt' or 'dvdt', got {self.variable!r}")
        if not self.w_min < self.w_max:
            raise ConfigError("w_min must be below w_max")

    def namespace(self):
        import brian2 as b2

        return {"eta_vd": self.eta * b2.second / b2.volt, "w_min_vd": self.w_min, "w_max_vd": self.w_max}

    def synapse_code(self, effect="", weight="w", pre_gate=None, post_namespace=None):
        """Brian2 code: ``on_pre`` runs ``effect`` then ``w += gate * eta * <variable>_post``.

        Parameters
        ----------
        effect, weight, pre_gate : str
            As in :meth:`PairSTDP.synapse_code`.
        post_namespace : dict, optional
            The post-synaptic group's namespace (e.g. ``LIFParams.namespace()``). The
            derivative is a subexpression of the post group, and Brian2 resolves its
            constants in the *synapse's* namespace, so they must be passed here.
        """
        g = f"({pre_gate})*" if pre_gate else ""
        upd = f"{g}eta_vd*{self.variable}_post"
        if np.isfinite(self.w_min) or np.isfinite(self.w_max):
            line = f"{weight} = clip({weight} + {upd}, w_min_vd, w_max_vd)"
        else:
            line = f"{weight} += {upd}"
        lines = ([effect] if effect else []) + [line]
        ns = dict(post_namespace or {})
        ns.update(self.namespace())
        return SynapseCode(model=f"{weight} : 1\n", on_pre="\n".join(lines), on_post="", namespace=ns)
