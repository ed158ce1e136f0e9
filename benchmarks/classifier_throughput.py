"""Layer-stack classifier training throughput: the naive Brian2 loop vs the block engine vs NEST 3.10.

The layer pair's benchmark (``benchmarks/train_throughput.py``) for the classifier stacks: the
same protocol, its timing, load, summary and provenance helpers (imported from it), the same JSON
schema, on a 784-1000-10 stack (``--network``, default ``benchmarks/classifier_bench.toml``:
``networks/classifier_mnist_rate.toml`` with gated pair STDP on W1 and W2, fixed random feedback G2, 220 ms
per sample at dt = 0.5 ms) trained on real MNIST training digits with their one-hot labels:

(a) naive  -- the stack as a user writes it: Brian2 runtime mode (cython), one persistent network,
    a ``PoissonGroup`` whose rates and the output's one-hot target are set from Python for every
    sample, ONE ``run()`` per sample (the phases follow ``t - t_start`` inside it), pair STDP with
    the per-synapse event-driven traces of Brian2's documentation (reset from Python before each
    sample), the feedback synapses and the output's teacher current;
(b) the engine on cython (``--no-cython`` skips it): ``SpikingStack.run_block``, one ``run()`` per
    block of 100 samples (a fresh network per block, its compiled code cached);
(c) the engine on cpp_standalone: compiled once, one ``device.run(run_args=...)`` per block of 100
    samples, single thread, as ``train_spiking`` trains;
(e) a peer simulator: the same network in NEST 3.10 (``--nest/--no-nest``, default on when
    nest-simulator is installed) with NEST's ``stdp_synapse`` on W1 and W2, static feedback, one
    ``nest.Prepare()``, per sample the generators' schedules set from Python and ONE
    ``nest.Run(presentation)``, one ``nest.Cleanup()``, one thread. What it does not share with the
    engine: :data:`NEST_DIFFERENCES` (written into the JSON with the row).

(a)-(c) train the same network with the same rule (all-to-all pairs, the contrastive sign window,
the pre-centred hidden update of ``stack.centering = 'pre'``, per-sample trace reset, changes
applied when the next sample starts) on the same digits from the same initial weights; (e) starts
from the same weights on the same digits.

Protocol (the layer pair's): Poisson inputs on every side; warm-up untimed and reported
(``one_time_s``); ``--repeats`` timed repetitions in one process, each from the initial weights
on the same digits (those after the engine's warm-up block); median over repetitions with min and
max, ratios median / median with the crossed range; the load average and each repetition's CPU
time over wall time recorded. Synaptic events are the engine's count: pre spikes times the fan-out
of every projection (feedback included), plus post spikes times the fan-in of the plastic ones.

Writes ``benchmarks/results/classifier_throughput.json`` and prints a table.

Usage::

    python benchmarks/classifier_throughput.py [--network benchmarks/classifier_bench.toml]
        [--naive-samples 100] [--engine-samples 300] [--nest-samples N] [--repeats 3]
        [--no-cython] [--nest | --no-nest] [--set SECTION.KEY=VALUE]
"""

import argparse
import dataclasses
import gc
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_throughput as tt  # the layer pair's benchmark: its helpers and protocol

from spiking_bpdl._io import write_json
from spiking_bpdl.codegen import use_target
from spiking_bpdl.errors import ConfigError

ROOT = tt.ROOT
OUT = ROOT / "benchmarks" / "results" / "classifier_throughput.json"
DEFINITION = ROOT / "benchmarks" / "classifier_bench.toml"
NAIVE_ROW, NEST_ROW = "a_naive_cython_run_per_sample", tt.NEST_ROW
INPUT_STATISTICS = tt.INPUT_STATISTICS

# What the NEST peer does not share with the engine; the inputs, noise, counting and weights are as
# in the layer pair's peer.
NEST_DIFFERENCES = {
    "plasticity": "NEST's stdp_synapse (additive: mu_plus = mu_minus = 0, lambda = A_plus, alpha = A_minus/A_plus, "
                  "tau_plus on the synapse, tau_minus on the post neuron) on W1 and W2 keeps its traces across "
                  "samples, changes the weight at once and has no phase sign gates: every pairing counts with the + "
                  "sign of the pair window, in both phases and from the first millisecond (the engine: -1 in the last "
                  "L of the free phase, +1 in the first L of the target phase, traces reset and changes applied at "
                  "each sample's start), and no pre-centring offset on W1 (the engine: every gated hidden spike also "
                  "takes A_plus x_tar from all its input synapses)",
    "signed_weights": "a NEST weight keeps one sign (weight and Wmax of one sign; |Wmax| = one threshold jump): each "
                      "plastic synapse keeps the sign of its initial weight (a zero weight gets a random sign) and "
                      "stops at zero; the engine's weights are signed and unbounded",
    "feedback": "G2 is a static_synapse that carries every output spike down in both phases (gamma * G2); the engine "
                "gates it to the target phase ([stack] feedback_phases = 'target'), which NEST's built-in "
                "synapses cannot",
    "teacher": "the open-loop current beta * y in the target phase (one step_current_generator per output neuron); "
               "the engine's teacher beta * (y - rtrace / R) also feeds back the neuron's own filtered rate",
    **{k: tt.NEST_DIFFERENCES[k] for k in ("inputs", "noise", "counting", "weights")},
}


def load_bench(path, overrides=()):
    """The benchmark's stack with Poisson inputs (both sides; see the module docstring).

    Parameters
    ----------
    path : str or Path
        A classifier stack definition whose plastic forward projections learn by ``rule = "pair"``.
    overrides : iterable of str
        ``section.key=value`` items (:func:`spiking_bpdl.stack.config.load_stack`).

    Returns
    -------
    StackConfig

    Raises
    ------
    ConfigError
        Not a classifier stack, more than one (free, target) cycle, or a rule the spiking backend
        does not run.
    """
    from spiking_bpdl.stack.config import load_stack
    from spiking_bpdl.stack.engine import stdp_rules

    cfg = load_stack(path, overrides)
    if cfg.target != "label":
        raise ConfigError(f"{cfg.path}: stack.target: the benchmark trains classifiers ('label'), got {cfg.target!r}")
    if cfg.cycles != 1:
        raise ConfigError(f"{cfg.path}: stack.cycles: the naive loop writes one free and one target phase, "
                          f"got {cfg.cycles}")
    stdp_rules(cfg)  # refuses rate rules before anything is built
    layers = (dataclasses.replace(cfg.layers[0], encoder=INPUT_STATISTICS),) + cfg.layers[1:]
    return dataclasses.replace(cfg, layers=layers)


def _lif(layer):
    from spiking_bpdl.neurons import LIFParams

    return LIFParams(tau_m=layer.tau_m, v_threshold=layer.v_threshold, v_reset=layer.v_reset, t_ref=layer.t_ref,
                     sigma=layer.sigma, tau_syn=layer.tau_syn)


def _bias(layer):
    return np.broadcast_to(np.asarray(layer.bias, dtype=float), (layer.size,)).copy()


def synaptic_events(cfg, spikes):
    """The engine's count of synaptic events from the spikes of every layer ``L0 .. Ln``."""
    sizes = [layer.size for layer in cfg.layers]
    names = [layer.name for layer in cfg.layers]
    events = 0
    for l in range(1, len(sizes)):
        f = cfg.forward(l)
        events += spikes[l - 1] * sizes[l] + (spikes[l] * sizes[l - 1] if f.plastic else 0)
    for g in cfg.projections:
        if g.role == "feedback":
            events += spikes[names.index(g.pre)] * sizes[names.index(g.post)]
    return int(events)


class NaiveStack:
    """The classifier stack as most user scripts write it.

    Brian2 runtime mode (cython); a ``PoissonGroup`` input whose rates, like the output's one-hot
    target, are set from Python before every sample; ONE ``run()`` per sample, the phases following
    ``t - t_start`` inside it; one ``NeuronGroup`` per LIF layer (the membrane noise as ``xi``),
    pair STDP on every plastic forward projection with the per-synapse event-driven traces of
    Brian2's STDP example (reset from Python before each sample), its changes collected in ``dw``
    and applied at the next sample's start (the engine's scheme); the feedback synapses, gated to
    the target phase when ``[stack] feedback_phases = 'target'``; the output's teacher current
    ``beta (y - rtrace / R)`` in the target phase. Spikes of every layer in ``SpikeMonitor``\\ s.

    Parameters
    ----------
    cfg : StackConfig
        From :func:`load_bench` (one cycle, Poisson input).
    rules : dict of str to PairSTDP
        :func:`spiking_bpdl.stack.engine.stdp_rules` (with the pre-centring offsets).
    weights : dict of str to ndarray
        Initial weights of every projection, ``(pre size, post size)``, feedback included.
    target : {'cython', 'numpy'}
        Brian2's runtime target (the benchmark's: cython; numpy compiles nothing, for tests).
    """

    def __init__(self, cfg, rules, weights, target="cython"):
        import brian2 as b2

        from spiking_bpdl.codegen import configure_target
        from spiking_bpdl.neurons import lif_equations

        self.cfg, self.n = cfg, len(cfg.layers) - 1
        configure_target(target)
        b2.defaultclock.dt = cfg.dt * b2.second
        window = min(cfg.free_phase - cfg.plasticity_onset, cfg.target_phase)
        phases = {"free_phase": cfg.free_phase * b2.second, "L": window * b2.second}
        # the engine's contrastive sign window, as a function of the time since the sample began
        gate = ("plastic = int(t - t_start >= free_phase - L and t - t_start < free_phase + L)"
                " * (2*int(t - t_start >= free_phase) - 1) : 1\nt_start : second (shared)\nbias : 1 (constant)\n")
        L0 = cfg.layers[0]
        self.inp = b2.PoissonGroup(L0.size, rates=np.zeros(L0.size) * b2.Hz, name="naive_L0")
        groups = [self.inp]
        for l in range(1, self.n + 1):
            layer, params = cfg.layers[l], _lif(cfg.layers[l])
            ns = {**params.namespace(), **phases}
            drive, extra, reset = "bias", gate, "v = v_reset"
            if l == self.n:
                drive = "(bias + int(t - t_start >= free_phase)*beta*(y_target - rtrace/r_target))"
                extra += "drtrace/dt = -rtrace/tau_filter : Hz\ny_target : 1\n"
                reset += "\nrtrace += 1/tau_filter"
                ns.update(beta=cfg.nudge, r_target=cfg.target_rate * b2.Hz, tau_filter=cfg.tau_filter * b2.second)
            grp = b2.NeuronGroup(layer.size, lif_equations(params, f"{drive}*v_threshold/R") + b2.Equations(extra),
                                 threshold="v > v_threshold", reset=reset, refractory="t_ref",
                                 # without noise: exact where Brian2 can integrate it (the top layer's
                                 # teacher depends on t here, not on a shared gate as in the engine)
                                 method="euler" if params.sigma > 0 else ("exact", "euler"), namespace=ns,
                                 name=f"naive_L{l}")
            grp.bias = _bias(layer)
            grp.v = "v_reset + rand()*(v_threshold - v_reset)"
            groups.append(grp)

        def jump(l, factor):
            # the post layer's jump: w * v_threshold on the membrane, or the same charge over tau_syn
            if cfg.layers[l].tau_syn > 0:
                return f"I_syn_post += {factor}*v_threshold*tau_m/(R*tau_syn)"
            return f"v_post += {factor}*v_threshold"

        self.syn, self.plastic = {}, []
        for l in range(1, self.n + 1):
            f = cfg.forward(l)
            ns = {**_lif(cfg.layers[l]).namespace(), **phases}  # plastic_post reads the phases
            if f.plastic:
                r = rules[f.name]
                ns.update(tau_plus=r.tau_plus * b2.second, tau_minus=r.tau_minus * b2.second, A_plus=r.A_plus,
                          A_minus=r.A_minus, x_tar=r.pre_offset)
                syn = b2.Synapses(
                    groups[l - 1], groups[l],
                    "w : 1\ndw : 1\ndapre/dt = -apre/tau_plus : 1 (event-driven)\n"
                    "dapost/dt = -apost/tau_minus : 1 (event-driven)",
                    on_pre=f"{jump(l, 'w')}\ndw -= plastic_post*A_minus*apost\napre += 1",
                    on_post="apost += 1\ndw += plastic_post*A_plus*(apre - x_tar)",
                    namespace=ns, name=f"naive_{f.name}")
                # the pairings of a sample change the weights when the next one starts (as the engine)
                syn.run_regularly("w += dw\ndw = 0", dt=(cfg.free_phase + cfg.target_phase) * b2.second,
                                  when="start", name=f"naive_{f.name}_express")
                self.plastic.append(syn)
            else:
                syn = b2.Synapses(groups[l - 1], groups[l], "w : 1", on_pre=jump(l, "w"), namespace=ns,
                                  name=f"naive_{f.name}")
            self.syn[f.name] = syn
        names = [layer.name for layer in cfg.layers]
        for g in cfg.projections:
            if g.role != "feedback":
                continue
            lo = names.index(g.post)
            factor = "gamma*w" if cfg.feedback_phases == "both" else "gamma*int(t - t_start_post >= free_phase)*w"
            self.syn[g.name] = b2.Synapses(groups[lo + 1], groups[lo], "w : 1", on_pre=jump(lo, factor),
                                           namespace={**_lif(cfg.layers[lo]).namespace(), **phases,
                                                      "gamma": cfg.feedback_gain}, name=f"naive_{g.name}")
        for syn in self.syn.values():
            syn.connect()
        self.mons = [b2.SpikeMonitor(g, record=k > 0, name=f"naive_mon_L{k}") for k, g in enumerate(groups)]
        self.groups = groups
        self.net = b2.Network(*groups, *self.syn.values(), *self.mons, name="naive_net")
        self.set_weights(weights)

    def set_weights(self, weights):
        """Every projection's weights (``(pre, post)`` arrays, all-to-all in Brian2's pre-major order)."""
        for name, syn in self.syn.items():
            syn.w = np.asarray(weights[name], dtype=float).ravel()
        for syn in self.plastic:
            syn.dw = 0

    def weights(self):
        """The forward weights now, pending changes included."""
        out = {}
        for name, syn in self.syn.items():
            w = np.array(syn.w[:], dtype=float)
            if syn in self.plastic:
                w += np.array(syn.dw[:], dtype=float)
            out[name] = w.reshape(self.cfg.layers[[x.name for x in self.cfg.layers].index(
                self.cfg.projection(name).pre)].size, -1)
        return out

    def _spikes(self):
        return [int(m.num_spikes) for m in self.mons]

    def run(self, x, y):
        """Present the samples ``x`` (n, n_0) with targets ``y`` (n, n_top), one ``run()`` each.

        Returns
        -------
        int
            The synaptic events processed (the engine's definition); ``last_spikes``: the spikes
            of every layer.
        """
        import brian2 as b2

        cfg, net, top = self.cfg, self.net, self.groups[-1]
        P = (cfg.free_phase + cfg.target_phase) * b2.second
        before = self._spikes()
        for k in range(x.shape[0]):
            self.inp.rates = cfg.layers[0].max_rate * x[k] * b2.Hz
            top.y_target = y[k]
            for grp in self.groups[1:]:
                grp.t_start = net.t
            for syn in self.plastic:  # traces restart with every sample
                syn.apre = 0
                syn.apost = 0
            net.run(P)
        self.last_spikes = [a - b for a, b in zip(self._spikes(), before)]
        return synaptic_events(cfg, self.last_spikes)


class NestStack:
    """The same stack in NEST with its own ``stdp_synapse``, driven NEST's fast way.

    Built once; ``nest.Prepare()`` once, then per sample the input rates
    (``inhomogeneous_poisson_generator`` -> ``parrot_neuron``), the output's teacher current
    (``step_current_generator`` per output neuron, on in the target phase) and ONE
    ``nest.Run(presentation)``; :meth:`close` calls ``nest.Cleanup()``. One thread. Neurons as the
    layer pair's peer (``iaf_psc_exp`` when ``tau_syn > 0``, ``iaf_psc_delta`` otherwise; ``E_L = 0``;
    bias as ``I_e``; one ``noise_generator`` per layer with the engine's per-step increment);
    plastic forward projections are ``stdp_synapse``, the rest (the feedback included) static; every
    delay one step. What differs from the engine: :data:`NEST_DIFFERENCES`.

    Parameters
    ----------
    cfg : StackConfig
    weights : dict of str to ndarray
        Initial weights of every projection in threshold units.
    seed : int
        NEST's random seed (inputs, noise, initial membranes) and the signs of zero weights.
    """

    def __init__(self, cfg, weights, seed=0):
        import nest

        self.nest, self.cfg = nest, cfg
        nest.ResetKernel()
        nest.verbosity = nest.VerbosityLevel.ERROR
        ms = 1e3  # NEST: ms, mV, pA, pF
        dt = cfg.dt * ms
        self._dt = dt
        nest.SetKernelStatus({"resolution": dt, "local_num_threads": 1, "rng_seed": int(seed) + 1})
        C = 250.0
        n = len(cfg.layers) - 1
        rng = np.random.default_rng(seed)
        L0 = cfg.layers[0]
        self.gen = nest.Create("inhomogeneous_poisson_generator", L0.size)
        pops = [nest.Create("parrot_neuron", L0.size)]
        nest.Connect(self.gen, pops[0], "one_to_one", syn_spec={"delay": dt})
        self._jump, self._pa, models = [None], [None], set()
        for l in range(1, n + 1):
            layer = cfg.layers[l]
            theta, tau_m = layer.v_threshold * ms, layer.tau_m * ms
            pa = theta * C / tau_m  # pA of a constant current whose drive is one threshold
            f = cfg.forward(l)
            neuron = {"C_m": C, "tau_m": tau_m, "E_L": 0.0, "V_th": theta, "V_reset": layer.v_reset * ms,
                      "t_ref": layer.t_ref * ms}
            if f.plastic:
                neuron["tau_minus"] = f.stdp[3] * ms
            if layer.tau_syn > 0:
                model = "iaf_psc_exp"
                neuron.update(tau_syn_ex=layer.tau_syn * ms, tau_syn_in=layer.tau_syn * ms)
                jump = theta * C / (layer.tau_syn * ms)  # an exponential current with the charge of w * theta
            else:
                model = "iaf_psc_delta"
                neuron.update(refractory_input=True)  # Brian2 adds jumps during the refractory period too
                jump = theta
            models.add(model)
            pop = nest.Create(model, layer.size, params=neuron)
            pop.I_e = _bias(layer) * pa
            pop.V_m = nest.random.uniform(layer.v_reset * ms, theta)
            if layer.sigma > 0:
                gain = tau_m / C * (1.0 - np.exp(-dt / tau_m))
                noise = nest.Create("noise_generator", params={
                    "mean": 0.0, "std": layer.sigma * ms * np.sqrt(2 * dt / tau_m) / gain, "dt": dt})
                nest.Connect(noise, pop, syn_spec={"delay": dt})
            pops.append(pop)
            self._jump.append(jump)
            self._pa.append(pa)
        self.model = ", ".join(sorted(models))
        self.teacher = nest.Create("step_current_generator", cfg.layers[-1].size)
        nest.Connect(self.teacher, pops[-1], "one_to_one", syn_spec={"delay": dt})
        names = [layer.name for layer in cfg.layers]
        self._conn, self._signs, self._scale = {}, {}, {}
        for p in cfg.projections:
            a, b = names.index(p.pre), names.index(p.post)
            W = np.asarray(weights[p.name], dtype=float)
            scale = self._jump[b] * (cfg.feedback_gain if p.role == "feedback" else 1.0)
            self._scale[p.name] = scale
            if p.role == "forward" and p.plastic:
                sign = np.where(W > 0, 1.0, np.where(W < 0, -1.0, rng.choice([-1.0, 1.0], size=W.shape)))
                self._signs[p.name] = sign
                wmax = (sign * scale).T  # all_to_all takes (post, pre) arrays
                a_plus, a_minus, tau_plus, _ = p.stdp
                nest.Connect(pops[a], pops[b], "all_to_all", syn_spec={
                    "synapse_model": "stdp_synapse", "delay": dt, "weight": wmax * tt._TINY, "Wmax": wmax,
                    "tau_plus": tau_plus * ms, "lambda": a_plus, "alpha": a_minus / a_plus,
                    "mu_plus": 0.0, "mu_minus": 0.0})
            else:
                nest.Connect(pops[a], pops[b], "all_to_all", syn_spec={
                    "synapse_model": "static_synapse", "delay": dt, "weight": (scale * W).T})
            conns = nest.GetConnections(source=pops[a], target=pops[b])
            st = conns.get(["source", "target"])
            self._conn[p.name] = (conns, np.asarray(st["source"]) - pops[a][0].global_id,
                                  np.asarray(st["target"]) - pops[b][0].global_id)
        self.pops = pops
        self.recorders = [nest.Create("spike_recorder") for _ in pops]
        for rec, pop in zip(self.recorders, pops):
            nest.Connect(pop, rec)
        self.set_weights(weights)
        nest.Prepare()
        self._prepared = True

    def set_weights(self, weights):
        """Every projection's weights from threshold units (a plastic synapse keeps its sign, clipped at zero)."""
        for name, (conns, i, j) in self._conn.items():
            M, scale = np.asarray(weights[name], dtype=float), self._scale[name]
            if name in self._signs:
                sign = self._signs[name][i, j]
                w = np.maximum(M[i, j] * sign, tt._TINY) * sign * scale
            else:
                w = M[i, j] * scale
            conns.set(weight=w.tolist())

    def spike_counts(self):
        """Spikes recorded so far in every layer (the recorders cannot be cleared between Prepare and Cleanup)."""
        return [int(rec.n_events) for rec in self.recorders]

    def run(self, x, y):
        """Present the samples ``x`` with targets ``y``, one ``nest.Run`` each; the synaptic events
        (the engine's definition) and the spikes per layer."""
        nest, cfg, dt = self.nest, self.cfg, self._dt
        P, free = (cfg.free_phase + cfg.target_phase) * 1e3, cfg.free_phase * 1e3
        before = self.spike_counts()
        self.last_run_s = 0.0
        beta_pa = cfg.nudge * self._pa[-1]
        for k in range(x.shape[0]):
            t0 = nest.biological_time
            # NEST accepts only future change times: the rates switch one step into the sample
            self.gen.set([{"rate_times": [t0 + dt], "rate_values": [r]}
                          for r in (cfg.layers[0].max_rate * x[k]).tolist()])
            self.teacher.set([{"amplitude_times": [t0 + free, t0 + P], "amplitude_values": [a, 0.0]}
                              for a in (beta_pa * np.asarray(y[k], dtype=float)).tolist()])
            t = time.perf_counter()
            nest.Run(P)
            self.last_run_s += time.perf_counter() - t
        spikes = [a - b for a, b in zip(self.spike_counts(), before)]
        return synaptic_events(cfg, spikes), spikes

    def close(self):
        """``nest.Cleanup()`` (once, after the last run)."""
        if self._prepared:
            self.nest.Cleanup()
            self._prepared = False


def _repetition(cfg, samples, sw, events, spikes):
    """One timed repetition (the layer pair's record), its spikes per sample keyed by layer name."""
    rep = tt._repetition(samples, sw, events, ())
    rep["spikes_per_sample"] = {layer.name: n / samples for layer, n in zip(cfg.layers, spikes)}
    return rep


def run_naive(cfg, rules, x, y, weights, n_samples, repeats, start):
    """Construct (untimed), warm up on one sample (untimed), then ``repeats`` timed runs of
    ``n_samples`` samples ``x[start:start + n_samples]``, each from the initial weights."""
    load_before = tt._load()
    with tt._Stopwatch() as construct:
        loop = NaiveStack(cfg, rules, weights)
    with tt._Stopwatch() as first:
        loop.run(x[:1], y[:1])  # code generation, Cython compilation or cache loading, first-run preparation
    reps = []
    for r in range(repeats):
        loop.set_weights(weights)
        with tt._Stopwatch() as sw:
            events = loop.run(x[start:start + n_samples], y[start:start + n_samples])
        reps.append(_repetition(cfg, n_samples, sw, events, loop.last_spikes))
        print(f"  naive repetition {r + 1}/{repeats}: {reps[-1]['samples_per_s']:.3f} samples/s "
              f"(cpu/wall {reps[-1]['cpu_over_wall']:.2f}, load {tt._load()[0]})", flush=True)
    del loop
    gc.collect()  # nothing of the naive network stays behind for the engines
    return {"one_time_s": {"construction": construct.wall, "first_sample_incl_compile": first.wall},
            "warmup_samples": 1, "repetitions": reps, "load_avg_before": load_before, "load_avg_after": tt._load()}


def run_engine(cfg, rules, x, y, weights, n_samples, repeats, start, target, threads=0):
    """First block (build, compilation; untimed), then ``repeats`` timed runs of ``n_samples``
    samples (whole blocks) ``x[start:start + n_samples]``, each from the initial weights, the
    weights carried from block to block as ``train_spiking`` carries them."""
    from spiking_bpdl.stack.engine import feedback_weights
    from spiking_bpdl.stack.network import SpikingStack

    block = cfg.block
    load_before = tt._load()
    with use_target(target, threads=threads) as directory:
        sim = SpikingStack(cfg, rules, block, target=target, directory=directory)
        with tt._Stopwatch() as first:
            sim.run_block(x[:block], y[:block], weights, learn=True, seed=0)
        reps = []
        for r in range(repeats):
            w, events, spikes = dict(weights), 0, np.zeros(len(cfg.layers))
            with tt._Stopwatch() as sw:
                for i, b in enumerate(range(start, start + n_samples, block)):
                    res = sim.run_block(x[b:b + block], y[b:b + block], feedback_weights(cfg, w, weights), learn=True,
                                        seed=1 + r * (n_samples // block) + i, rng=np.random.default_rng([r, i]))
                    w.update(res.weights)
                    events += res.synaptic_events
                    spikes += np.asarray(res.layer_spikes, dtype=float)  # every layer's spikes in the block
            reps.append(_repetition(cfg, n_samples, sw, events, spikes.tolist()))
            print(f"  {target} ({threads} threads) repetition {r + 1}/{repeats}: "
                  f"{reps[-1]['samples_per_s']:.2f} samples/s (cpu/wall {reps[-1]['cpu_over_wall']:.2f}, "
                  f"load {tt._load()[0]})", flush=True)
    return {"one_time_s": {"first_block_incl_build": first.wall}, "warmup_samples": block, "repetitions": reps,
            "load_avg_before": load_before, "load_avg_after": tt._load()}


def run_nest(cfg, x, y, weights, n_samples, repeats, start, seed):
    """The NEST peer: built (untimed), ``nest.Prepare()``, one sample (untimed), then ``repeats``
    timed runs of ``n_samples`` samples, each from the initial weights; ``nest.Cleanup()`` at the end.
    ``nest_run_s``: the part of a repetition's wall time inside ``nest.Run``."""
    import nest

    load_before = tt._load()
    with tt._Stopwatch() as construct:
        peer = NestStack(cfg, weights, seed=seed)
    try:
        with tt._Stopwatch() as first:
            peer.run(x[:1], y[:1])
        reps = []
        for r in range(repeats):
            peer.set_weights(weights)
            with tt._Stopwatch() as sw:
                events, spikes = peer.run(x[start:start + n_samples], y[start:start + n_samples])
            reps.append(_repetition(cfg, n_samples, sw, events, spikes))
            reps[-1]["nest_run_s"] = peer.last_run_s
            print(f"  NEST repetition {r + 1}/{repeats}: {reps[-1]['samples_per_s']:.2f} samples/s "
                  f"(cpu/wall {reps[-1]['cpu_over_wall']:.2f}, inside nest.Run {peer.last_run_s / sw.wall:.0%}, "
                  f"load {tt._load()[0]})", flush=True)
    finally:
        peer.close()
    return {"one_time_s": {"construction_and_prepare": construct.wall, "first_sample": first.wall},
            "warmup_samples": 1, "repetitions": reps, "load_avg_before": load_before, "load_avg_after": tt._load(),
            "nest": nest.__version__, "local_num_threads": 1, "neuron_model": peer.model,
            "differences": NEST_DIFFERENCES}


def summarize(rows, nest_row=None):
    """The layer pair's summary (:func:`train_throughput.summarize`: medians with min and max, ratios
    to the naive loop and to NEST of samples/s, samples per CPU second and synaptic events/s), with
    the spikes per sample keyed by the stack's layers. Skipped rows are left as they are."""
    measured = {k: r for k, r in rows.items() if "skipped" not in r}
    spikes = {k: [rep.pop("spikes_per_sample") for rep in r["repetitions"]] for k, r in measured.items()}
    for r in measured.values():
        for rep in r["repetitions"]:  # the layer pair's keys, for its summary; replaced below
            rep["spikes_per_sample"] = {"input": 0.0, "hidden": 0.0, "recon": 0.0}
    tt.summarize(rows, nest_row=nest_row)
    for k, r in measured.items():
        for rep, s in zip(r["repetitions"], spikes[k]):
            rep["spikes_per_sample"] = s
        r["spikes_per_sample"] = {name: tt._summary([s[name] for s in spikes[k]]) for name in spikes[k][0]}


def print_table(rows):
    """Print the rows: median [min-max] of samples/s, events/s, the ratios, spikes per sample."""
    print(f"{'variant':30s} {'samples':>9s} {'samples/s':>24s} {'events/s':>9s} {'x naive':>19s} {'cpu/wall':>8s} "
          f"{'x NEST':>19s} {'one-time s':>10s}")
    for name, r in rows.items():
        if "skipped" in r:
            print(f"{name:30s} skipped: {r['skipped']}")
            continue
        s, sp, sn = r["samples_per_s"], r["speedup_vs_naive"], r.get("speedup_vs_nest")
        vs_nest = f"{sn['median']:6.2f} [{sn['min']:4.2f}-{sn['max']:4.2f}]" if sn else f"{'-':>19s}"
        print(f"{name:30s} {r['n_repetitions']:>3d}x{r['samples_per_repetition']:<5d} "
              f"{s['median']:8.3f} [{s['min']:6.3f}-{s['max']:6.3f}] {r['synaptic_events_per_s']['median']:9.3g} "
              f"{sp['median']:6.1f} [{sp['min']:4.1f}-{sp['max']:4.1f}] {r['cpu_over_wall']['median']:8.2f} "
              f"{vs_nest} {sum(r['one_time_s'].values()):10.1f}")
        print(f"{'':30s} spikes per sample ({' / '.join(r['spikes_per_sample'])}): "
              + " / ".join(f"{v['median']:.0f}" for v in r["spikes_per_sample"].values()))


@dataclasses.dataclass
class _NoFlatConfig:
    """Stands in for the layer pair's flat config in :func:`train_throughput.provenance`, whose
    per-pixel summary does not apply to a stack; the stack's resolved config is its ``to_dict()``."""


def main(argv=None):
    """Run the benchmark (``argv``: the command-line arguments, default ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default=str(DEFINITION.relative_to(ROOT)),
                        help="a classifier stack definition with pair-STDP rules")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a definition key (repeatable)")
    parser.add_argument("--naive-samples", type=int, default=tt.MIN_NAIVE_SAMPLES,
                        help="timed samples of the naive loop per repetition (protocol: >= 100)")
    parser.add_argument("--engine-samples", type=int, default=300,
                        help="timed samples of each engine per repetition (whole blocks)")
    parser.add_argument("--nest-samples", type=int, default=None,
                        help="timed samples of the NEST peer per repetition (default: --engine-samples)")
    parser.add_argument("--repeats", type=int, default=tt.MIN_REPEATS, help="timed repetitions per variant (protocol: >= 3)")
    parser.add_argument("--block", type=int, default=None, help="samples per engine run (default: [spiking] block)")
    parser.add_argument("--cython", action=argparse.BooleanOptionalAction, default=True,
                        help="the engine on cython, one run() per block (row b; --no-cython skips it)")
    parser.add_argument("--seed", type=int, default=0, help="initial weights, Brian2's and NEST's random numbers")
    parser.add_argument("--nest", action=argparse.BooleanOptionalAction, default=None,
                        help="the NEST peer row (e); default: on when nest-simulator is installed "
                             f"(pip install '{tt.NEST_REQUIREMENT}')")
    parser.add_argument("--data-dir", default=None, help="MNIST IDX files (default: $SPIKING_BPDL_DATA)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        cfg = load_bench(args.network, args.overrides)
    except ConfigError as exc:
        parser.error(str(exc))
    if args.block is not None:
        cfg = dataclasses.replace(cfg, block=args.block)
    if args.naive_samples < 1 or args.repeats < 1:
        parser.error("--naive-samples and --repeats must be positive")
    if args.engine_samples < cfg.block or args.engine_samples % cfg.block:
        parser.error(f"--engine-samples must be a positive multiple of the block ({cfg.block})")
    if args.nest_samples is None:
        args.nest_samples = args.engine_samples
    if args.nest_samples < 1:
        parser.error("--nest-samples must be positive")
    nest_skip = tt.nest_missing() if args.nest is not False else "not requested (--no-nest)"
    if nest_skip is not None:
        print(f"NEST peer skipped: {nest_skip}", flush=True)
    protocol_met = args.naive_samples >= tt.MIN_NAIVE_SAMPLES and args.repeats >= tt.MIN_REPEATS
    if not protocol_met:
        print(f"note: below the protocol's sizes (>= {tt.MIN_NAIVE_SAMPLES} naive samples, >= {tt.MIN_REPEATS} "
              "repetitions): a check of the script, not a measurement", flush=True)
    uptime_start = tt._uptime()
    print(f"load at start: {uptime_start}", flush=True)

    import brian2 as b2

    from spiking_bpdl.stack import twin
    from spiking_bpdl.stack.engine import mean_pre_rates, stdp_rules
    from spiking_bpdl.stack.train import load_splits

    b2.seed(args.seed)
    start = cfg.block  # timed digits follow the engine's warm-up block
    n = start + max(args.naive_samples, args.engine_samples, args.nest_samples)
    data = load_splits(cfg, data_dir=args.data_dir)
    if len(data["x_train"]) < max(n, 1000):
        parser.error(f"{len(data['x_train'])} training digits; the benchmark needs {max(n, 1000)}")
    x = np.asarray(data["x_train"][:n], dtype=float)
    y = twin.targets_of(cfg, x, data["l_train"][:n])
    weights = twin.init_weights(cfg, np.random.default_rng(args.seed), np.float64)
    # the pre-centring offsets from the first 1,000 training digits, as train_spiking computes them
    rules = stdp_rules(cfg, mean_pre_rates(cfg, weights, data["x_train"][:1000]))
    prov = tt.provenance(args, _NoFlatConfig())  # before the run: the commit and source that were imported
    prov["resolved_config"] = cfg.to_dict()
    prov["stdp_rules"] = {k: r.to_dict() for k, r in rules.items()}

    rows = {}
    print("(a) naive loop", flush=True)
    rows[NAIVE_ROW] = run_naive(cfg, rules, x, y, weights, args.naive_samples, args.repeats, start)
    variants = ([("b_engine_cython", "cython")] if args.cython else []) + [("c_engine_cpp_standalone", "cpp_standalone")]
    for name, target in variants:
        print(f"({name[0]}) {name}", flush=True)
        rows[name] = run_engine(cfg, rules, x, y, weights, args.engine_samples, args.repeats, start, target)
    if nest_skip is None:
        print(f"({NEST_ROW[0]}) {NEST_ROW}: NEST's stdp_synapse, one thread", flush=True)
        try:
            rows[NEST_ROW] = run_nest(cfg, x, y, weights, args.nest_samples, args.repeats, start, args.seed)
        except ImportError as exc:  # installed but broken
            nest_skip = f"import nest failed: {exc}"
    if nest_skip is not None:
        rows[NEST_ROW] = {"skipped": nest_skip}
    summarize(rows, nest_row=NEST_ROW if nest_skip is None else None)
    uptime_end = tt._uptime()
    presentation = cfg.free_phase + cfg.target_phase
    result = {
        "network": cfg.name, "sizes": [layer.size for layer in cfg.layers], "dt_ms": cfg.dt * 1e3,
        "presentation_ms": presentation * 1e3, "block": cfg.block, "max_rate_hz": cfg.layers[0].max_rate,
        "input_statistics": f"{INPUT_STATISTICS} on every side",
        "protocol": {
            "warm_up": tt.PROTOCOL_WARM_UP,
            "repetitions": args.repeats, "naive_samples_per_repetition": args.naive_samples,
            "engine_samples_per_repetition": args.engine_samples,
            "nest_samples_per_repetition": args.nest_samples if nest_skip is None else None,
            "naive": "Brian2 runtime (cython), PoissonGroup rates and the one-hot target set from Python, one run() "
                     "per sample, per-synapse event-driven pair-STDP traces reset from Python per sample",
            "engine": "SpikingStack.run_block, one run per block (cpp_standalone: one device.run(run_args=...)), "
                      "single thread, weights carried from block to block as train_spiking carries them",
            "nest_peer": tt.nest_peer_protocol(NEST_ROW),
            "each_repetition": f"from the same initial weights on the same digits (training digits {start}..{n - 1} "
                               "with their one-hot labels)",
            "statistic": tt.PROTOCOL_STATISTIC,
            "meets_minimum": protocol_met},
        "load": tt.load_record(uptime_start, uptime_end),
        "rows": rows,
        "targets": {"c_over_a": 20.0, "c_over_e": 1.0, **({"b_over_a": 4.0} if args.cython else {})},
        "provenance": prov,
    }
    write_json(args.out, result)

    print(f"\ninput statistics: {INPUT_STATISTICS} on every side; median [min-max] of {args.repeats} repetitions; "
          "one-time costs excluded (warm-up) and listed")
    print_table(rows)
    print(f"load: start {uptime_start}; end {uptime_end}")
    print(json.dumps({k: round(v["speedup_vs_naive"]["median"], 2) for k, v in rows.items() if "skipped" not in v}))
    return result


if __name__ == "__main__":
    main()
