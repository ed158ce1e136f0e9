"""Brian2 build of the LIF layer pair with feedback, trained by all-to-all pair STDP.

Populations (see :mod:`spiking_bpdl.rate.lif_layer_pair` for the rate twin, which
uses the same definition and the same symbols)::

    input   Poisson (or regular) encoder, rate r_max * x~(sample)         n_in
    hidden  LIF, drive b_h + (1-gamma) W . input + gamma W . recon        n_hidden
    recon   LIF, drive b_r + V . hidden [+ beta (x - rtrace/r_max) in the target phase]

Synapses are current jumps: a spike through weight ``w`` adds ``w * v_threshold`` to the
post-synaptic membrane, or, with ``tau_syn > 0`` (a population key), starts an exponential
current that delivers the same charge over ``tau_syn``: the same mean drive, less shot noise.
``W`` (input -> hidden) and ``V`` (hidden -> recon) are plastic; ``Wfb`` (recon -> hidden,
weights ``W`` transposed, fixed during a block) is the reconstruction fed back through f. The
teacher current of the target phase uses ``rtrace``, the reconstruction neuron's own
exponentially filtered rate.

Plasticity: all-to-all pair STDP with a balanced exponential window
(``A_minus tau_minus = A_plus tau_plus``), implemented with traces kept *per neuron*
(all-to-all pairing allows it: the trace of a neuron is the same for all its synapses),
so a spike costs one multiply-add per synapse and no per-synapse trace decays. Weights
are signed and unbounded (the rate rule they implement is linear).

Updates are gated by a sign per time window that multiplies a pairing when its *later*
spike falls in it. With ``L = min(free_phase - plasticity_onset, target_phase)``:

* ``"target"`` window: ``+1`` in ``[free_phase, free_phase + L)``, else 0. Pairings that
  straddle the switch to the target phase carry the rate-of-change term
  ``eta * rho_pre * d rho_post``; stationary pairings average to ``rho_pre rho_post int K``,
  which is 0 for the balanced window -- except for the *causal* potentiation that a synapse
  produces by making its own post-synaptic neuron fire (a term proportional to ``w``,
  absent from the rate rule, that makes ``|w|`` grow exponentially).
* ``"contrastive"`` window: additionally ``-1`` in ``[free_phase - L, free_phase)``. The
  stationary pairings, the causal term included, then cancel between the two windows; the
  price is twice the pairing noise. ``W`` always uses it; ``V`` uses
  ``[layer_pair] v_window`` (default ``"contrastive"``; with ``"target"`` the MNIST run
  became unstable after about 2,000 samples). The contrastive sign is our choice, not the
  paper's.

With ``[layer_pair] trace_reset = "sample"`` the per-neuron traces are zeroed when a sample starts,
so no pairing spans two samples (pairings of two different digits are noise for the rule); for
stationary rates the balanced window's expectation is unchanged.

A *block* of samples is presented in ONE ``run()``: stimuli, clean targets and the phase
gates are ``TimedArray``s, copied into neuron variables by ``run_regularly`` operations once
per phase slot (all on one clock) rather than looked up per neuron and time step. With
``cpp_standalone`` the project is compiled once and each block is a
``device.run(run_args=...)`` with new stimuli and weights. On cpp_standalone and cython the
Poisson inputs and the membrane noise use the splitmix64 generators of
:mod:`spiking_bpdl.fast_random` (silent inputs draw nothing; on cython the generator is
reseeded from ``brian2.seed``, so runs repeat bit for bit); numpy keeps Brian2's generators.
On cpp_standalone the block's seed is a run argument too: ``main`` seeds Brian2's generators
from the shared variable ``rng_seed`` right after the run arguments are read (neither Brian2
2.9 nor 2.11 has a run-time seed; ``brian2.seed`` is compiled into the project as a constant),
and every random number of the run, the splitmix64 streams included, derives from them, so a
seeded block repeats bit for bit without recompiling.
Spike counts per sample come from counters in the resets, read once per slot, not from
per-step spike monitors. Hidden and reconstruction neurons are one ``NeuronGroup`` (``lp_core``,
hidden first) used through two subgroups, and weights are stored in single precision: both
for speed on the runtime targets (``benchmarks/train_throughput.py``). The learning-rate schedule (``lr_scale``) scales the plasticity gates.
"""

import numpy as np

from ..errors import ConfigError

__all__ = ["SpikingLayerPair", "BlockResult"]

# Spike counters of the hidden and reconstruction neurons: ``count_gate`` is 0 before the
# plasticity onset, 1 in the rest of the first free phase and 2 after it (see _phase_arrays).
_COUNTERS = "nspk : 1\ncnt_free : 1\ncnt_all : 1\ncount_gate : 1 (shared)\n"
_COUNT = "nspk += 1\ncnt_free += int(count_gate == 1)\ncnt_all += int(count_gate >= 1)"
# Weights are stored in single precision: three 200k-synapse matrices then fit the caches twice as
# well (the STDP increments, >= 1e-7 of a weight, are far above float32's resolution).
_WEIGHT_DTYPE = {"w": np.float32}
_ZERO = "cnt_free *= 1 - lp_sample_start(t)\ncnt_all *= 1 - lp_sample_start(t)"


class BlockResult:
    """Outcome of one block: new weights and reconstruction spike counts.

    Attributes
    ----------
    W, V : ndarray
        Weights after the block.
    recon_free : ndarray (block, n_in)
        Reconstruction spike counts in the free-phase window ``[onset, free_phase)``.
    recon_all : ndarray (block, n_in)
        Counts in ``[onset, presentation)`` (the read-out window when no target is shown).
    hidden_free : ndarray (block, n_hidden)
        Hidden spike counts in the free-phase window.
    hidden_all : ndarray (block, n_hidden) or None
        Hidden counts in ``[onset, presentation)``; ``hidden_all - hidden_free`` is the target
        phases' count (used to predict an update from rates measured in independent trials).
    n_spikes : int
        Spikes of all populations in the block (for synaptic-event throughput).
    synaptic_events : int
        Spike deliveries (pre spikes times fan-out, post spikes times fan-in of plastic synapses).
    """

    def __init__(self, W, V, recon_free, recon_all, hidden_free, n_spikes, synaptic_events, hidden_all=None):
        self.W, self.V = W, V
        self.recon_free, self.recon_all, self.hidden_free = recon_free, recon_all, hidden_free
        self.hidden_all = hidden_all
        self.n_spikes, self.synaptic_events = n_spikes, synaptic_events


class SpikingLayerPair:
    """The layer pair as a Brian2 network that runs blocks of ``block`` samples.

    Use inside :func:`spiking_bpdl.codegen.use_target` (the engine does this). On runtime
    targets each block builds a fresh ``Network`` (compiled code is cached); on
    ``cpp_standalone`` the first block builds and compiles the project and every block,
    the first included, is one ``device.run(run_args=...)``.

    Parameters
    ----------
    cfg : LayerPairConfig
    block : int
        Samples per run.
    target : {'numpy', 'cython', 'cpp_standalone'}
    directory : str, optional
        The standalone project directory (from ``use_target``).
    """

    def __init__(self, cfg, block, target="cython", directory=None):
        self.cfg, self.block, self.target, self.directory = cfg, int(block), target, directory
        self._objects = None
        self._built = False
        self._rng = np.random.default_rng(0)
        self._phases = None

    # ------------------------------------------------------------------ build
    def _phase_arrays(self, learn, lr_scale=1.0):
        """Per-presentation gates: ``target_on`` (0/1), ``plastic_W`` (-1, +1, 0) and
        ``plastic_V`` (+1, 0, or as ``plastic_W``); see the module docstring."""
        cfg = self.cfg
        phases = cfg.phases()
        marks = [cfg.presentation, cfg.plasticity_window] + [t for p in phases for t in p[:2]]
        slot = int(np.gcd.reduce([int(round(v / cfg.dt)) for v in marks if v > 0]))
        per = int(round(cfg.presentation / cfg.dt)) // slot
        t_slot = (np.arange(per) * slot) * cfg.dt + 1e-12
        L = cfg.plasticity_window
        target_on = np.zeros(per)
        plastic_W = np.zeros(per)
        after = np.zeros(per, dtype=bool)
        for start, end, is_target in phases:
            inside = (t_slot >= start) & (t_slot < end)
            if is_target:
                target_on[inside] = 1.0
                gated = inside & (t_slot < start + L)
                plastic_W[gated] = 1.0
                after |= gated
            else:
                plastic_W[inside & (t_slot >= end - L) & (t_slot >= cfg.plasticity_onset)] = -1.0
        plastic_V = after.astype(float) if cfg.v_window == "target" else plastic_W.copy()
        count_gate = np.where(t_slot < cfg.plasticity_onset, 0.0, np.where(t_slot < cfg.free_phase, 1.0, 2.0))
        self._count_gate = np.tile(count_gate, self.block)
        self._sample_start = np.tile((np.arange(per) == 0).astype(float), self.block)
        self._slots_per_sample = per
        plastic_W *= lr_scale  # the learning-rate schedule scales the gates of the whole block
        plastic_V *= lr_scale
        # A frozen projection's gate is 0 throughout: its synapses pair as usual but add exactly nothing
        plastic_W *= "W" not in cfg.frozen
        plastic_V *= "V" not in cfg.frozen
        if not learn:
            target_on[:] = 0.0
            plastic_W[:] = 0.0
            plastic_V[:] = 0.0
        tile = lambda a: np.tile(a, self.block)  # noqa: E731
        return tile(target_on), tile(plastic_W), tile(plastic_V), slot * cfg.dt

    def _core_bias(self):
        """Constant drive of the core group: hidden neurons first, then reconstruction neurons."""
        cfg = self.cfg
        return np.r_[np.full(cfg.n_hidden, cfg.bias_hidden), np.broadcast_to(cfg.b_r, (cfg.n_in,))].astype(float)

    def _core_targets(self, x_clean):
        """Clean targets per core neuron (zero for the hidden neurons, which have no teacher)."""
        x = np.asarray(x_clean, dtype=float)
        return np.concatenate([np.zeros((x.shape[0], self.cfg.n_hidden)), x], axis=1)

    def _build(self, x_in, x_clean, W, V, learn, lr_scale=1.0):
        import brian2 as b2

        from ..encoding import make_input_group
        from ..neurons import lif_equations

        cfg = self.cfg
        n_in, n_h = cfg.n_in, cfg.n_hidden
        b2.defaultclock.dt = cfg.dt * b2.second
        P = cfg.presentation * b2.second
        target_on, plastic_W, plastic_V, slot = self._phase_arrays(learn, lr_scale)
        ta_in = b2.TimedArray(cfg.max_rate * x_in * b2.Hz, dt=P, name="lp_rates_in")
        ta_x = b2.TimedArray(self._core_targets(x_clean), dt=P, name="lp_target_x")
        ta_on = b2.TimedArray(target_on, dt=slot * b2.second, name="lp_target_on")
        ta_pw = b2.TimedArray(plastic_W, dt=slot * b2.second, name="lp_plastic_W")
        ta_pv = b2.TimedArray(plastic_V, dt=slot * b2.second, name="lp_plastic_V")
        params = cfg.lif_params()
        ns = params.namespace()
        # The STDP code and the neurons' traces come from the rules' PairSTDP objects (W and V share the
        # neurons' traces, so their time constants are the definition's one tau_plus / tau_minus).
        rule_W, rule_V = cfg.stdp_rule("W"), cfg.stdp_rule("V")
        trace_eqs, trace_reset, trace_ns = rule_W.neuron_traces()
        input_trace_eqs, input_trace_reset, input_trace_ns = rule_W.neuron_traces(post=False)
        ns.update(trace_ns)
        ns.update(
            beta=cfg.nudge, gamma=cfg.feedback_gain,
            r_max=cfg.max_rate * b2.Hz, tau_filter=cfg.tau_filter * b2.second,
            lp_target_on=ta_on, lp_plastic_W=ta_pw, lp_plastic_V=ta_pv, lp_target_x=ta_x,
        )
        # cpp_standalone and cython: splitmix64 random numbers (spiking_bpdl.fast_random) for the
        # Poisson inputs and the membrane noise's Euler-Maruyama increments.
        fast = self.target in ("cpp_standalone", "cython")
        noisy = params.sigma > 0
        noise_term = None
        if fast:
            from ..fast_random import fast_rand, membrane_noise

            ns["fast_rand"] = fast_rand()
            if noisy:
                noise_ns, noise_term = membrane_noise(params, cfg.dt)
                ns.update(noise_ns)
        # Stimuli and gates change once per presentation or slot: run_regularly copies them into
        # variables then, so no TimedArray is evaluated per neuron and time step.
        ta_cnt = b2.TimedArray(self._count_gate, dt=slot * b2.second, name="lp_count_gate")
        ta_start = b2.TimedArray(self._sample_start, dt=slot * b2.second, name="lp_sample_start")
        ns.update(lp_count_gate=ta_cnt, lp_sample_start=ta_start)
        # Every operation that is not per step runs on ONE clock (the phase slot): each extra clock
        # costs Brian2's runtime loop about 2 us per step (measured), the slot-rate work is negligible.
        clock_slot = b2.Clock(dt=slot * b2.second, name="lp_clock_slot")
        inp = make_input_group(n_in, ta_in, kind=cfg.encoder, name="lp_input", phase=self._phases, rng=self._rng,
                               model=input_trace_eqs + "nspk : 1", reset=input_trace_reset + "\nnspk += 1",
                               namespace={**input_trace_ns, "lp_sample_start": ta_start}, refresh=clock_slot,
                               rand_function=ns["fast_rand"] if fast else None)
        method = "euler" if noisy else "exact"
        # Hidden and reconstruction neurons are ONE NeuronGroup ("core", hidden first), used through
        # two subgroups: on runtime targets every group costs three Python calls per step (state
        # update, threshold, reset), so one group instead of two saves a tenth of the step.
        # ``teach`` (0 hidden, 1 reconstruction) switches the teacher current on per neuron.
        core_eqs = lif_equations(
            params,
            input_current="(bias + teach*target_on*beta*(x_target - rtrace/r_max))*v_threshold/R",
            noise_term=noise_term,
        ) + b2.Equations(trace_eqs +
                         "drtrace/dt = -rtrace/tau_filter : Hz\nbias : 1 (constant)\nteach : 1 (constant)\n"
                         "x_target : 1\ntarget_on : 1 (shared)\nplastic_W : 1 (shared)\nplastic_V : 1 (shared)\n"
                         + _COUNTERS + ("rng_seed : integer (shared, constant)\n"
                                        if self.target == "cpp_standalone" else ""))
        core = b2.NeuronGroup(n_h + n_in, core_eqs, threshold="v > v_threshold",
                              reset="v = v_reset\n" + trace_reset + "\nrtrace += 1/tau_filter\n" + _COUNT,
                              refractory="t_ref", method=method, namespace=ns, name="lp_core")
        core.bias = self._core_bias()
        core.teach = np.r_[np.zeros(n_h), np.ones(n_in)]
        hidden, recon = core[:n_h], core[n_h:]
        # No pairing spans two samples with trace_reset = "sample": the traces restart from zero with
        # each sample (in the same operation that zeroes the spike counters, one code object fewer).
        reset = "\napre *= 1 - lp_sample_start(t)\napost *= 1 - lp_sample_start(t)" if cfg.trace_reset == "sample" else ""
        # (Brian2 wants the shared variables written before the per-neuron ones)
        core.run_regularly("target_on = lp_target_on(t)\nplastic_V = lp_plastic_V(t)\nplastic_W = lp_plastic_W(t)\n"
                           "count_gate = lp_count_gate(t)\nx_target = lp_target_x(t, i)\n" + _ZERO + reset,
                           clock=clock_slot, when="start", order=-1, name="lp_core_gates")
        if cfg.trace_reset == "sample":
            inp.run_regularly("apre *= 1 - lp_sample_start(t)", clock=clock_slot, when="start", order=-1,
                              name="lp_input_trace_reset")
        # "per_sample": pairings accumulate in dw, which is added to w when the next sample starts,
        # so a weight change cannot move the rates that the same sample's pairings are reading.
        self._deferred = cfg.weight_updates == "per_sample"
        # Delta synapses make v jump by w*v_threshold; exponential current synapses (tau_syn > 0)
        # deliver the same charge over tau_syn, so the mean drive (the rate twin's) is unchanged.
        if cfg.tau_syn > 0:
            jump = "I_syn_post += {}*v_threshold*tau_m/(R*tau_syn)"
        else:
            jump = "v_post += {}*v_threshold"
        code_W = rule_W.neuron_trace_code("W", effect=jump.format("(1 - gamma)*w"), gate="plastic_W_post",
                                          deferred=self._deferred)
        code_V = rule_V.neuron_trace_code("V", effect=jump.format("w"), gate="plastic_V_post", deferred=self._deferred)
        syn_W = b2.Synapses(inp, hidden, code_W.model, on_pre=code_W.on_pre, on_post=code_W.on_post,
                            namespace={**ns, **code_W.namespace}, name="lp_W", dtype=_WEIGHT_DTYPE)
        syn_V = b2.Synapses(hidden, recon, code_V.model, on_pre=code_V.on_pre, on_post=code_V.on_post,
                            namespace={**ns, **code_V.namespace}, name="lp_V", dtype=_WEIGHT_DTYPE)
        if self._deferred:
            clock_sample = b2.Clock(dt=P, name="lp_clock_sample")
            for syn in (syn_W, syn_V):
                syn.run_regularly("w += dw\ndw = 0", clock=clock_sample, when="start", name=f"{syn.name}_express")
        # The feedback through f has its own synapses, recon-major, so a reconstruction spike
        # reads its fan-out contiguously (carrying it on V's post pathway was 2x slower: strided).
        syn_fb = b2.Synapses(recon, hidden, "w : 1", on_pre=jump.format("gamma*w"),
                             namespace=ns, name="lp_Wfb", dtype=_WEIGHT_DTYPE)
        for syn in (syn_W, syn_V, syn_fb):
            syn.connect()
        syn_W.w = W.ravel()
        syn_V.w = V.ravel()
        syn_fb.w = W.ravel()  # recon i -> hidden j carries W[i, j]
        if self.target == "cpp_standalone":
            from ..codegen import seed_from_run_args

            b2.device.apply_run_args()
            seed_from_run_args(core)
        # after the seeding above: on cpp_standalone this draw happens in main() once the run's seed is set
        core.v = "v_reset + rand()*(v_threshold - v_reset)"
        # Spike counts per sample without a per-step monitor: counters in the resets, read once per
        # slot (before the first slot of a sample zeroes them); the last sample is read at the end.
        mon = b2.StateMonitor(core, ["cnt_free", "cnt_all"], record=True, clock=clock_slot, when="start",
                              order=-2, name="lp_mon_counts")
        net = b2.Network(inp, core, syn_W, syn_V, syn_fb, mon)
        self._objects = dict(net=net, ta_in=ta_in, ta_x=ta_x, ta_on=ta_on, ta_pw=ta_pw, ta_pv=ta_pv, ta_cnt=ta_cnt,
                             W=syn_W, V=syn_V, core=core, recon=recon, hidden=hidden, inp=inp, fb=syn_fb, mon=mon)
        return net

    # ------------------------------------------------------------------ run
    def run_block(self, x_in, x_clean, W, V, learn=True, seed=None, lr_scale=1.0, rng=None):
        """Present ``block`` samples in one run.

        Parameters
        ----------
        x_in : ndarray (block, n_in)
            Images shown to the input population (corrupted for training), in [0, 1.x].
        x_clean : ndarray (block, n_in)
            Targets of the teacher current (ignored when ``learn`` is False).
        W, V : ndarray
            Weights at the start of the block.
        learn : bool
            False: no target phase and no plasticity (read-out of the free network).
        seed : int, optional
            Random seed of the block (Brian2's generators and the splitmix64 streams), on every
            target; on cpp_standalone it goes in through ``run_args``. None: a fresh seed.
        lr_scale : float
            Factor on both STDP amplitudes for this block (the learning-rate schedule).
        rng : numpy.random.Generator, optional
            Draws the regular encoder's initial phases (default: the instance's own generator,
            which advances with every block, so a resumed run would see other phases; the
            engine passes one derived from the run's seed and the block index).

        Returns
        -------
        BlockResult
        """
        import brian2 as b2

        cfg = self.cfg
        x_in = np.asarray(x_in, dtype=float)
        x_clean = np.asarray(x_clean, dtype=float)
        if x_in.shape != (self.block, cfg.n_in) or x_clean.shape != x_in.shape:
            raise ConfigError(f"a block needs ({self.block}, {cfg.n_in}) images, got {x_in.shape}")
        duration = self.block * cfg.presentation * b2.second
        # the regular encoder's initial phases (not used by the Poisson encoder): new ones every block
        self._phases = (rng if rng is not None else self._rng).uniform(0, 1, cfg.n_in)
        if self.target != "cpp_standalone":
            if seed is not None:
                b2.seed(int(seed))
            if self.target == "cython":
                from ..fast_random import reseed_runtime

                reseed_runtime()  # from numpy's generator, which b2.seed has just set
            net = self._build(x_in, x_clean, W, V, learn, lr_scale)
            net.run(duration, namespace={})
        else:
            gate_on, gate_W, gate_V, _ = self._phase_arrays(learn, lr_scale)
            if not self._built:
                net = self._build(x_in, x_clean, W, V, learn, lr_scale)
                net.run(duration, namespace={})
                from ..codegen import build_standalone

                build_standalone(self.directory)
                self._built = True
            o = self._objects
            if seed is None:
                seed = int(np.random.SeedSequence().generate_state(1)[0] % (2**31 - 1))
            extra = {o["inp"].phase: self._phases} if cfg.encoder == "regular" else {}
            b2.device.run(run_args={
                o["core"].rng_seed: int(seed) % (2**31 - 1), **extra,
                o["ta_in"]: cfg.max_rate * x_in * b2.Hz, o["ta_x"]: self._core_targets(x_clean), o["ta_on"]: gate_on,
                o["ta_pw"]: gate_W, o["ta_pv"]: gate_V, o["ta_cnt"]: self._count_gate, o["core"].bias: self._core_bias(),
                o["W"].w: W.ravel(), o["V"].w: V.ravel(), o["fb"].w: W.ravel(),
            })
        return self._collect()

    def _collect(self):
        from ..encoding import counts_per_sample

        cfg, o = self.cfg, self._objects
        W_new = np.array(o["W"].w[:], dtype=float).reshape(cfg.n_in, cfg.n_hidden)
        V_new = np.array(o["V"].w[:], dtype=float).reshape(cfg.n_hidden, cfg.n_in)
        if self._deferred:  # the last sample's pending changes
            W_new += np.array(o["W"].dw[:], dtype=float).reshape(cfg.n_in, cfg.n_hidden)
            V_new += np.array(o["V"].dw[:], dtype=float).reshape(cfg.n_hidden, cfg.n_in)

        def per_sample(mon, group, name):
            return counts_per_sample(getattr(mon, name)[:], getattr(group, name)[:], self._slots_per_sample, self.block)

        n_h = cfg.n_hidden
        free, count_all = per_sample(o["mon"], o["core"], "cnt_free"), per_sample(o["mon"], o["core"], "cnt_all")
        recon_free, recon_all, hidden_free = free[:, n_h:], count_all[:, n_h:], free[:, :n_h]
        n_in_spikes = int(np.sum(o["inp"].nspk[:]))
        nspk = np.array(o["core"].nspk[:])
        hid_spikes, rec_spikes = int(np.sum(nspk[:n_h])), int(np.sum(nspk[n_h:]))
        events = (n_in_spikes * cfg.n_hidden + hid_spikes * (cfg.n_in + cfg.n_in)
                  + rec_spikes * (cfg.n_hidden + cfg.n_hidden))
        return BlockResult(W_new, V_new, recon_free, recon_all, hidden_free, n_in_spikes + hid_spikes + rec_spikes,
                           events, hidden_all=count_all[:, :n_h])
