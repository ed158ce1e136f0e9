"""Brian2 build of a layer stack: LIF layers wired forward and back, trained by gated pair STDP.

Populations ``L0 .. Ln`` of a :class:`~spiking_bpdl.stack.config.StackConfig`::

    L0      Poisson (or regular) encoder, rate r_max * x(sample)
    L1..Ln  LIF, drive b_l + f_l . L(l-1) [+ gamma g_(l+1) . L(l+1)]
    Ln      + beta (y - rtrace / R) in the target phases (the teacher current)

Each LIF layer is its own ``NeuronGroup`` (its own neuron parameters). A forward projection
``f_l`` (``L(l-1) -> L(l)``) is a ``Synapses`` object whose STDP code, traces and amplitudes come
from its rule's :class:`~spiking_bpdl.plasticity.PairSTDP` (:meth:`~spiking_bpdl.plasticity.PairSTDP.neuron_traces`,
:meth:`~spiking_bpdl.plasticity.PairSTDP.neuron_trace_code`): all-to-all pairs on per-neuron
traces, signed and unbounded weights, every change multiplied by the post-synaptic layer's gate.
A feedback projection ``g_(l+1)`` (``L(l+1) -> L(l)``) carries spikes down with gain ``gamma``;
its weights are set by the caller for every block (the transposed forward weights of the layer
above, or fixed random weights) and fixed during it, except with ``[spiking] feedback =
"reciprocal"``: then a plastic ``g_(l+1)`` learns by ``f_(l+1)``'s pair STDP mirrored in time
(:meth:`~spiking_bpdl.plasticity.PairSTDP.reciprocal_trace_code`), so every spike pair changes
``g[j, i]`` as it changes ``f[i, j]``.

Why this learns the hidden layers: the teacher current changes the top layer's rates between
the free and the target phase; the feedback carries that change down, so every hidden layer's
rate changes too (by ``phi'(a) gamma g . delta rho_above``), and the contrastive STDP window
(``-1`` at the end of each free phase, ``+1`` at the start of each target phase, the layer pair's
scheme, ``docs/layer_pairs.md``) turns ``rho_pre * delta rho_post`` into the weight change of every
forward projection. With transposed forward weights as feedback this is the gradient's direction
for the top layer's squared error to first order in ``beta`` and ``gamma``; with fixed random
feedback it is feedback alignment.

With ``[stack] homeostasis = eta_h`` the hidden forward projections also carry a regulator of
every hidden neuron's rate: each of its spikes in the free-phase count window takes ``eta_h`` from
all its incoming synapses' pending change, and each sample puts ``eta_h r_h T`` into it, so a sample
moves them by ``eta_h (r_h T - n)`` (a silent neuron's inputs grow until it fires again). It is
local (the post neuron's own spikes), needs no calibration against the pairings, and lives in the
weights (no other state to carry across blocks or checkpoints).

A *block* of samples is ONE ``run()``: stimuli, targets and the gates are ``TimedArray``s
copied into variables once per phase slot by ``run_regularly`` operations; on ``cpp_standalone``
the project is compiled once and each block is a ``device.run(run_args=...)`` with new stimuli,
weights and seed. STDP traces restart with every sample and the pairings of a sample are added
to the weights when the next sample starts (as the MNIST layer pair does). Spike counts per
sample come from counters in the resets, read once per slot.
"""

import numpy as np

from ..errors import ConfigError

__all__ = ["SpikingStack", "StackBlock", "phase_gates"]

_WEIGHT_DTYPE = {"w": np.float32}


def phase_gates(free_phase, target_phase, plasticity_onset, cycles, dt):
    """Gates of one presentation on a slot grid.

    Parameters
    ----------
    free_phase, target_phase, plasticity_onset : float
        Seconds; later (free, target) cycles last ``target_phase`` each.
    cycles : int
    dt : float
        Simulation step (s); the slot is the largest step that divides every phase boundary.

    Returns
    -------
    dict
        ``slot`` (s), ``per`` (slots per presentation), ``presentation`` (s), ``target_on``
        (0/1 per slot), ``plastic`` (contrastive sign per slot: -1 in the last ``L`` of every free
        phase after the onset, +1 in the first ``L`` of every target phase, with
        ``L = min(free_phase - onset, target_phase)``), ``count_gate`` (0 before the onset, 1 in the
        rest of the first free phase, 2 after it).
    """
    phases = [(0.0, free_phase, False)]
    t = free_phase
    for k in range(int(cycles)):
        if k:
            phases.append((t, t + target_phase, False))
            t += target_phase
        phases.append((t, t + target_phase, True))
        t += target_phase
    presentation = t
    L = min(free_phase - plasticity_onset, target_phase)
    marks = [presentation, L, plasticity_onset] + [v for p in phases for v in p[:2]]
    slot = int(np.gcd.reduce([round(v / dt) for v in marks if v > 0]))
    per = round(presentation / dt) // slot
    t_slot = np.arange(per) * slot * dt + 1e-12
    target_on = np.zeros(per)
    plastic = np.zeros(per)
    for start, end, is_target in phases:
        inside = (t_slot >= start) & (t_slot < end)
        if is_target:
            target_on[inside] = 1.0
            plastic[inside & (t_slot < start + L)] = 1.0
        else:
            plastic[inside & (t_slot >= end - L) & (t_slot >= plasticity_onset)] = -1.0
    count_gate = np.where(t_slot < plasticity_onset, 0.0, np.where(t_slot < free_phase, 1.0, 2.0))
    return {"slot": slot * dt, "per": per, "presentation": presentation, "target_on": target_on,
            "plastic": plastic, "count_gate": count_gate}


class StackBlock:
    """Outcome of one block of a :class:`SpikingStack`.

    Attributes
    ----------
    weights : dict of str to ndarray
        Forward weights after the block (the pending changes of the last sample included), and the
        weights of every feedback projection that learns (reciprocal feedback).
    counts_free : list of ndarray
        Per LIF layer ``l = 1 .. n`` (index ``l - 1``): spike counts per sample in the free-phase
        window ``[onset, free_phase)``, shape (block, size).
    counts_all : list of ndarray
        Counts in ``[onset, presentation)`` (the read-out window when no target is shown).
    n_spikes : int
        Spikes of all populations.
    layer_spikes : list of int
        Spikes per layer ``l = 0 .. n``.
    synaptic_events : int
        Pre spikes times the fan-out of every projection, plus post spikes times the fan-in of
        the plastic ones (as the layer pair counts them).
    spikes : list of tuple or None
        With ``record_spikes``: per layer ``l = 0 .. n``, ``(indices, times in s)`` of every spike.
    """

    def __init__(self, weights, counts_free, counts_all, n_spikes, synaptic_events, spikes=None, layer_spikes=None):
        self.weights, self.counts_free, self.counts_all = weights, counts_free, counts_all
        self.n_spikes, self.synaptic_events, self.spikes = n_spikes, synaptic_events, spikes
        self.layer_spikes = layer_spikes


def b2_second():
    import brian2 as b2

    return b2.second


def _lif_params(layer):
    from ..neurons import LIFParams

    return LIFParams(tau_m=layer.tau_m, v_threshold=layer.v_threshold, v_reset=layer.v_reset, t_ref=layer.t_ref,
                     sigma=layer.sigma, tau_syn=layer.tau_syn)


class SpikingStack:
    """A layer stack as a Brian2 network that runs blocks of ``block`` samples.

    Use inside :func:`spiking_bpdl.codegen.use_target`. On runtime targets each block builds a
    fresh ``Network`` (compiled code is cached); on ``cpp_standalone`` the first block builds and
    compiles the project and every block is one ``device.run(run_args=...)``.

    Parameters
    ----------
    cfg : StackConfig
        Layers, projections, phases (``dt, free_phase, target_phase, plasticity_onset, cycles``),
        ``nudge`` (beta) and ``target_rate`` (R).
    rules : dict of str to PairSTDP
        The STDP window of every plastic forward projection (by projection name). A layer's
        traces are shared by the projections that meet there, so every plastic projection out of
        a layer must have the same ``tau_plus`` (checked).
    block : int
        Samples per run.
    target : {'numpy', 'cython', 'cpp_standalone'}
    directory : str, optional
        The standalone project directory.
    feedback_gain : float, optional
        ``gamma``: factor on every feedback spike's jump (default ``cfg.feedback_gain``; an ablation
        passes another, e.g. 0).
    tau_filter : float, optional
        Time constant (s) of the top layer's own filtered rate in the teacher current (default
        ``cfg.tau_filter``).
    record_spikes : bool
        Also record every spike (``StackBlock.spikes``: per layer ``(indices, times)``), for tests
        that check the weight changes against the pair sums of the recorded spikes.
    feedback_phases : {'both', 'target'}, optional
        Default ``cfg.feedback_phases``. ``'both'``: feedback spikes reach the layer below in every phase, so a hidden layer's rate
        change between the phases carries the feedback of the top layer's rate *change*. ``'target'``:
        only in the target phases (no free-phase loop through ``f g``, but the change then carries the
        feedback of the whole target-phase rate).
    pre_offsets : dict of str to ndarray, optional
        Per-pre-neuron centring offsets ``x_tar`` (trace units) of plastic forward projections (by
        name; their rules' ``pre_offset`` must be 0): every post spike takes ``A_plus x_tar[i]`` from
        the synapse of pre neuron ``i`` (:meth:`~spiking_bpdl.plasticity.PairSTDP.neuron_trace_code`
        with ``offset_variable``).
    """

    def __init__(self, cfg, rules, block, target="cython", directory=None, feedback_gain=None, tau_filter=None,
                 record_spikes=False, feedback_phases=None, pre_offsets=None):
        from .config import FEEDBACK_PHASES

        self.cfg, self.rules, self.block, self.target, self.directory = cfg, dict(rules), int(block), target, directory
        self.record_spikes = bool(record_spikes)
        feedback_gain = cfg.feedback_gain if feedback_gain is None else feedback_gain
        self.gamma = float(feedback_gain)
        self.tau_filter = float(cfg.tau_filter if tau_filter is None else tau_filter)
        feedback_phases = cfg.feedback_phases if feedback_phases is None else feedback_phases
        if feedback_phases not in FEEDBACK_PHASES:
            raise ConfigError(f"feedback_phases must be 'both' or 'target', got {feedback_phases!r}")
        self.feedback_phases = feedback_phases
        self.pre_offsets = {k: np.asarray(v, dtype=float) for k, v in (pre_offsets or {}).items()}
        # per_sample: a sample's pairings collect in dw and reach w when the next sample starts
        self.deferred = cfg.weight_updates == "per_sample"
        if not (np.isfinite(self.gamma) and self.gamma >= 0):
            raise ConfigError(f"feedback_gain must be finite and >= 0, got {feedback_gain!r}")
        self.n = len(cfg.layers) - 1
        self.forward = [None] + [cfg.forward(l) for l in range(1, self.n + 1)]
        self.feedback = [p for p in cfg.projections if p.role == "feedback"]
        for l in range(1, self.n + 1):
            f = self.forward[l]
            if f.plastic and f.name not in self.rules:
                raise ConfigError(f"{cfg.path}: projection {f.name} learns but has no STDP rule for the spiking backend")
            if f.name in self.pre_offsets:
                size = cfg.layers[l - 1].size
                if not f.plastic or self.pre_offsets[f.name].shape != (size,):
                    raise ConfigError(f"{cfg.path}: pre_offsets[{f.name!r}]: one offset per neuron of "
                                      f"{cfg.layers[l - 1].name} ({size}) for a plastic projection")
        # Reciprocal feedback (by name -> its forward projection f_(l+1)): learns by f_(l+1)'s rule, mirrored.
        self.reciprocal = cfg.reciprocal_pairs() if cfg.spiking_feedback == "reciprocal" else {}
        # Every layer has one incoming and at most one outgoing forward projection, so its post trace
        # (apost) belongs to f_l and its pre trace (apre) to f_(l+1): no two rules share a trace.
        self._gates = phase_gates(cfg.free_phase, cfg.target_phase, cfg.plasticity_onset, cfg.cycles, cfg.dt)
        # The rate regulator ([stack] homeostasis): on every plastic hidden forward projection f_l (l < n)
        self.homeostatic = {f.name for f in self.forward[1:self.n] if f.plastic} if cfg.homeostasis > 0 else set()
        if self.homeostatic and not self.deferred:
            raise ConfigError(f"{cfg.path}: stack.homeostasis needs spiking.weight_updates = 'per_sample' (the "
                              "regulator's per-sample part is added when a sample's changes are flushed)")
        self._objects = None
        self._built = False
        self._rng = np.random.default_rng(0)
        self._phases = None

    @property
    def presentation(self):
        """Seconds per sample."""
        return self._gates["presentation"]

    @property
    def readout_window(self):
        """Seconds of the read-out window ``[onset, presentation)``."""
        return self.presentation - self.cfg.plasticity_onset

    @property
    def free_window(self):
        """Seconds of the free-phase count window ``[onset, free_phase)``."""
        return self.cfg.free_window

    # ------------------------------------------------------------------ build
    def _tiled(self, learn, lr_scale):
        g = self._gates
        target_on, plastic = g["target_on"].copy(), g["plastic"] * lr_scale
        if not learn:
            target_on[:] = 0.0
            plastic[:] = 0.0
        tile = lambda a: np.tile(a, self.block)  # noqa: E731 (a one-line helper)
        start = (np.arange(g["per"]) == 0).astype(float)
        # the slot in which the traces restart: the sample's first, the one the plasticity onset opens, or none
        first = {"sample": 0, "onset": int(round(self.cfg.plasticity_onset / g["slot"])), "none": -1}[self.cfg.trace_reset]
        trace_start = (np.arange(g["per"]) == first).astype(float)
        out = {"target_on": tile(target_on), "plastic": tile(plastic), "count_gate": tile(g["count_gate"]),
               "sample_start": tile(start), "trace_start": tile(trace_start)}
        if self.cfg.top_window == "target":  # the top projection pairs only after each switch (+1 windows)
            out["plastic_top"] = tile(np.where(g["plastic"] > 0, plastic, 0.0))
        if self.homeostatic:  # the regulator's factor: the learning-rate schedule's while learning, else 0
            out["homeo_level"] = np.full(g["per"] * self.block, lr_scale if learn else 0.0)
        return out

    def _bias(self, l):
        b = self.cfg.layers[l].bias
        if isinstance(b, str):
            raise ConfigError(f"{self.cfg.path}: bias = {b!r} of layer {self.cfg.layers[l].name} must be resolved first")
        return np.broadcast_to(np.asarray(b, dtype=float), (self.cfg.layers[l].size,)).copy()

    def _build(self, x, y, weights, learn, lr_scale):
        import brian2 as b2

        from ..encoding import make_input_group
        from ..neurons import lif_equations

        cfg, n = self.cfg, self.n
        b2.defaultclock.dt = cfg.dt * b2.second
        P = self.presentation * b2.second
        slot = self._gates["slot"] * b2.second
        gates = self._tiled(learn, lr_scale)
        L0 = cfg.layers[0]
        ta_in = b2.TimedArray(L0.max_rate * x * b2.Hz, dt=P, name="st_rates_in")
        ta_y = b2.TimedArray(np.asarray(y, dtype=float), dt=P, name="st_target_y")
        ta = {k: b2.TimedArray(v, dt=slot, name=f"st_{k}") for k, v in gates.items()}
        clock_slot = b2.Clock(dt=slot, name="st_clock_slot")
        # only a clock that something runs on: on cpp_standalone the device keeps every clock's time in its
        # array cache, and an unused clock (garbage-collected) leaves a dead reference there
        clock_sample = b2.Clock(dt=P, name="st_clock_sample") if self.deferred else None
        fast = self.target in ("cpp_standalone", "cython")
        rand_fn = None
        if fast:
            from ..fast_random import fast_rand

            rand_fn = fast_rand()

        # ---- input layer: the pre trace of f_1 when f_1 learns
        f1 = self.forward[1]
        pre_eqs, pre_reset, pre_ns = ("", "", {})
        if f1.plastic:
            pre_eqs, pre_reset, pre_ns = self.rules[f1.name].neuron_traces(post=False)
        inp = make_input_group(L0.size, ta_in, kind=L0.encoder, name="st_L0", phase=self._phases, rng=self._rng,
                               model=pre_eqs + "nspk : 1", reset=(pre_reset + "\nnspk += 1").strip(),
                               namespace={**pre_ns, "st_trace_start": ta["trace_start"]}, refresh=clock_slot,
                               rand_function=rand_fn)
        if f1.plastic:
            inp.run_regularly("apre *= 1 - st_trace_start(t)", clock=clock_slot, when="start", order=-1,
                              name="st_L0_trace_reset")
        groups, mons, namespaces = [inp], [], [None]
        for l in range(1, n + 1):
            layer, top = cfg.layers[l], l == n
            params = _lif_params(layer)
            ns = params.namespace()
            noise_term = None
            if params.sigma > 0 and fast:
                from ..fast_random import membrane_noise

                noise_ns, noise_term = membrane_noise(params, cfg.dt)
                ns.update(noise_ns)
            trace_eqs, trace_reset = "", ""
            f_in, f_out = self.forward[l], (self.forward[l + 1] if l < n else None)
            if f_in.plastic:
                e, r, tns = self.rules[f_in.name].neuron_traces(pre=False, post=True)
                trace_eqs, trace_reset = trace_eqs + e, trace_reset + r + "\n"
                ns.update(tns)
            if f_out is not None and f_out.plastic:
                e, r, tns = self.rules[f_out.name].neuron_traces(pre=True, post=False)
                trace_eqs, trace_reset = trace_eqs + e, trace_reset + r + "\n"
                ns.update(tns)
            drive = "bias"
            extra = "bias : 1 (constant)\nplastic : 1 (shared)\ncount_gate : 1 (shared)\nnspk : 1\ncnt_free : 1\ncnt_all : 1\n"
            reset = "v = v_reset\n" + trace_reset + "nspk += 1\ncnt_free += int(count_gate == 1)\ncnt_all += int(count_gate >= 1)"
            if top:
                drive = "(bias + target_on*beta*(y_target - rtrace/r_target))"
                extra += "drtrace/dt = -rtrace/tau_filter : Hz\ny_target : 1\ntarget_on : 1 (shared)\n"
                reset += "\nrtrace += 1/tau_filter"
                ns.update(beta=cfg.nudge, r_target=cfg.target_rate * b2.Hz, tau_filter=self.tau_filter * b2.second,
                          st_target_y=ta_y)
            if l == 1 and self.target == "cpp_standalone":
                extra += "rng_seed : integer (shared, constant)\n"
            ns.update({f"st_{k}": v for k, v in ta.items()})
            eqs = lif_equations(params, input_current=f"{drive}*v_threshold/R", noise_term=noise_term) \
                + b2.Equations(trace_eqs + extra)
            grp = b2.NeuronGroup(layer.size, eqs, threshold="v > v_threshold", reset=reset, refractory="t_ref",
                                 method="euler" if params.sigma > 0 else "exact", namespace=ns, name=f"st_L{l}")
            grp.bias = self._bias(l)
            gate = "st_plastic_top" if top and cfg.top_window == "target" else "st_plastic"
            ops = ("target_on = st_target_on(t)\n" if top else "") + f"plastic = {gate}(t)\ncount_gate = st_count_gate(t)\n"
            ops += "cnt_free *= 1 - st_sample_start(t)\ncnt_all *= 1 - st_sample_start(t)\n"
            if top:
                ops += "y_target = st_target_y(t, i)\n"
            for trace in ("apre", "apost"):
                if trace in trace_eqs:
                    ops += f"{trace} *= 1 - st_trace_start(t)\n"
            grp.run_regularly(ops, clock=clock_slot, when="start", order=-1, name=f"st_L{l}_gates")
            groups.append(grp)
            namespaces.append(ns)
            mons.append(b2.StateMonitor(grp, ["cnt_free", "cnt_all"], record=True, clock=clock_slot, when="start",
                                        order=-2, name=f"st_mon_L{l}"))

        # A spike through weight w makes the post membrane jump by w * v_threshold, or (tau_syn > 0) starts
        # a current that delivers the same charge over tau_syn; the constants are the post layer's.
        def jump(l, factor="w"):
            if cfg.layers[l].tau_syn > 0:
                return f"I_syn_post += {factor}*v_threshold*tau_m/(R*tau_syn)"
            return f"v_post += {factor}*v_threshold"

        def post_constants(l):
            return _lif_params(cfg.layers[l]).namespace()

        syns = {}
        for l in range(1, n + 1):
            f = self.forward[l]
            # encoder feedback: the hidden drive is (1 - gamma) f_1(input) + gamma f_1(recon) (the layer pair)
            mixed = l == 1 and self.feedback and cfg.spiking_feedback == "encoder"
            effect, consts = jump(l, "(1 - gamma)*w" if mixed else "w"), {**post_constants(l), "gamma": self.gamma}
            if f.plastic:
                code = self.rules[f.name].neuron_trace_code(f.name, effect=effect, gate="plastic_post",
                                                            deferred=self.deferred,
                                                            offset_variable=f.name in self.pre_offsets)
                on_post, express, extra_ns = code.on_post, "w += dw\ndw = 0", {}
                if f.name in self.homeostatic:
                    # the rate regulator eta_h (r_h T - n): -eta_h per post spike in the count window, and
                    # +eta_h r_h T put in the pending change when each sample starts (flushed with its pairings)
                    on_post += "\ndw -= eta_homeo*st_homeo_level(t)*int(count_gate_post == 1)"
                    express = "w += dw\ndw = eta_homeo*goal_count*st_homeo_level(t)"
                    extra_ns = {"eta_homeo": cfg.homeostasis, "st_homeo_level": ta["homeo_level"],
                                "goal_count": cfg.homeostasis_rate * self.free_window}
                syn = b2.Synapses(groups[l - 1], groups[l], code.model, on_pre=code.on_pre, on_post=on_post,
                                  namespace={**consts, **code.namespace, **extra_ns}, name=f"st_{f.name}",
                                  dtype=_WEIGHT_DTYPE)
                if self.deferred:
                    syn.run_regularly(express, clock=clock_sample, when="start", name=f"st_{f.name}_express")
            else:
                syn = b2.Synapses(groups[l - 1], groups[l], "w : 1", on_pre=effect, name=f"st_{f.name}",
                                  namespace=consts, dtype=_WEIGHT_DTYPE)
            syns[f.name] = syn
        for g in self.feedback:
            lo = [layer.name for layer in cfg.layers].index(g.post)
            fb_ns = {**post_constants(lo), "gamma": self.gamma}
            factor = "gamma*w"
            if self.feedback_phases == "target":
                factor, fb_ns["st_target_on"] = "gamma*st_target_on(t)*w", ta["target_on"]
            if g.name in self.reciprocal:
                # the forward f_(l+1)'s STDP mirrored: same pairs, same gate (the upper layer's), transposed change
                above = self.reciprocal[g.name]
                mirror = self.rules[above]
                if g.mirror_scale != 1.0:  # dG = kappa dF^T: the same pairs at kappa times the amplitudes
                    mirror = mirror.replace(A_plus=g.mirror_scale * mirror.A_plus,
                                            A_minus=g.mirror_scale * mirror.A_minus)
                code = mirror.reciprocal_trace_code(
                    g.name, effect=jump(lo, factor), gate="plastic_pre", deferred=self.deferred,
                    offset_variable=above in self.pre_offsets)
                syn = b2.Synapses(groups[lo + 1], groups[lo], code.model, on_pre=code.on_pre, on_post=code.on_post,
                                  namespace={**fb_ns, **code.namespace}, name=f"st_{g.name}", dtype=_WEIGHT_DTYPE)
                if self.deferred:
                    syn.run_regularly("w += dw\ndw = 0", clock=clock_sample, when="start", name=f"st_{g.name}_express")
            else:
                syn = b2.Synapses(groups[lo + 1], groups[lo], "w : 1", on_pre=jump(lo, factor), namespace=fb_ns,
                                  name=f"st_{g.name}", dtype=_WEIGHT_DTYPE)
            syns[g.name] = syn
        for name, syn in syns.items():
            syn.connect()
            syn.w = np.asarray(weights[name], dtype=float).ravel()
            if name in self.pre_offsets:
                # all-to-all synapses are ordered pre-major, as the (pre, post) weight matrix raveled
                syn.x_tar = np.repeat(self.pre_offsets[name], syn.target.N)
            elif name in self.reciprocal and self.reciprocal[name] in self.pre_offsets:
                # the reciprocal synapse j -> i takes the offset of its post neuron i (the forward's pre)
                syn.x_tar = np.tile(self.pre_offsets[self.reciprocal[name]], syn.source.N)
        if self.target == "cpp_standalone":
            from ..codegen import seed_from_run_args

            b2.device.apply_run_args()
            seed_from_run_args(groups[1])
        for grp in groups[1:]:
            grp.v = "v_reset + rand()*(v_threshold - v_reset)"
        spike_mons = [b2.SpikeMonitor(grp, name=f"st_spikes_L{k}") for k, grp in enumerate(groups)] \
            if self.record_spikes else []
        net = b2.Network(*groups, *syns.values(), *mons, *spike_mons)
        self._objects = {"net": net, "ta_in": ta_in, "ta_y": ta_y, "ta": ta, "groups": groups, "syns": syns,
                         "mons": mons, "spike_mons": spike_mons}
        return net

    # ------------------------------------------------------------------ run
    def run_block(self, x, y, weights, learn=True, seed=None, lr_scale=1.0, rng=None):
        """Present ``block`` samples in one run.

        Parameters
        ----------
        x : ndarray (block, n_0)
            Inputs in [0, 1] (the encoder fires at ``max_rate * x``).
        y : ndarray (block, n_n)
            Targets of the top layer's teacher current in [0, 1] (ignored when ``learn`` is False).
        weights : dict of str to ndarray
            Every projection's weights at the start of the block (feedback included).
        learn : bool
            False: no target phase and no plasticity (the free network's read-out).
        seed : int, optional
            The block's random seed (a run argument on cpp_standalone).
        lr_scale : float
            Factor on every STDP change of this block (the learning-rate schedule).
        rng : numpy.random.Generator, optional
            Draws the regular encoder's initial phases.

        Returns
        -------
        StackBlock
        """
        import brian2 as b2

        cfg = self.cfg
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.shape != (self.block, cfg.layers[0].size) or y.shape != (self.block, cfg.layers[-1].size):
            raise ConfigError(f"a block needs inputs ({self.block}, {cfg.layers[0].size}) and targets "
                              f"({self.block}, {cfg.layers[-1].size}), got {x.shape} and {y.shape}")
        duration = self.block * self.presentation * b2.second
        self._phases = (rng if rng is not None else self._rng).uniform(0, 1, cfg.layers[0].size)
        if self.target != "cpp_standalone":
            if seed is not None:
                b2.seed(int(seed))
            if self.target == "cython":
                from ..fast_random import reseed_runtime

                reseed_runtime()
            net = self._build(x, y, weights, learn, lr_scale)
            net.run(duration, namespace={})
        else:
            if not self._built:
                net = self._build(x, y, weights, learn, lr_scale)
                net.run(duration, namespace={})
                from ..codegen import build_standalone

                build_standalone(self.directory)
                self._built = True
            o = self._objects
            if seed is None:
                seed = int(np.random.SeedSequence().generate_state(1)[0] % (2**31 - 1))
            gates = self._tiled(learn, lr_scale)
            args = {o["groups"][1].rng_seed: int(seed) % (2**31 - 1), o["ta_in"]: cfg.layers[0].max_rate * x * b2.Hz,
                    o["ta_y"]: y, **{o["ta"][k]: v for k, v in gates.items()}}
            if cfg.layers[0].encoder == "regular":
                args[o["groups"][0].phase] = self._phases
            for name, syn in o["syns"].items():
                args[syn.w] = np.asarray(weights[name], dtype=float).ravel()
            b2.device.run(run_args=args)
        return self._collect(weights)

    def _collect(self, weights_in):
        from ..encoding import counts_per_sample

        o, cfg, per = self._objects, self.cfg, self._gates["per"]
        out = {}
        # every forward projection, and the feedback that learns; a learning one's pending dw included
        learning = [(f.name, f.plastic) for f in self.forward[1:]] + [(g, True) for g in self.reciprocal]
        for name, plastic in learning:
            syn = o["syns"][name]
            w = np.array(syn.w[:], dtype=float)
            if plastic and self.deferred:
                w += np.array(syn.dw[:], dtype=float)
            out[name] = w.reshape(np.shape(weights_in[name]))

        def per_sample(mon, group, name):
            return counts_per_sample(getattr(mon, name)[:], getattr(group, name)[:], per, self.block)

        counts_free, counts_all = [], []
        spikes = [int(np.sum(np.array(o["groups"][0].nspk[:])))]
        for l in range(1, self.n + 1):
            grp, mon = o["groups"][l], o["mons"][l - 1]
            counts_free.append(per_sample(mon, grp, "cnt_free"))
            counts_all.append(per_sample(mon, grp, "cnt_all"))
            spikes.append(int(np.sum(np.array(grp.nspk[:]))))
        sizes = [layer.size for layer in cfg.layers]
        names = [layer.name for layer in cfg.layers]
        events = 0
        for l in range(1, self.n + 1):
            events += spikes[l - 1] * sizes[l]
            if self.forward[l].plastic:
                events += spikes[l] * sizes[l - 1]
        for g in self.feedback:
            events += spikes[names.index(g.pre)] * sizes[names.index(g.post)]
            if g.name in self.reciprocal:
                events += spikes[names.index(g.post)] * sizes[names.index(g.pre)]
        block = StackBlock(out, counts_free, counts_all, int(sum(spikes)), int(events), layer_spikes=spikes)
        # copies: brian2 2.11 returns monitor arrays as views into memory it may free
        block.spikes = [(np.array(m.i[:]), np.array(m.t[:] / b2_second())) for m in o["spike_mons"]] or None
        return block
