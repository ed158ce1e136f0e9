"""The Brian2 layer stack: gated pair STDP on every forward projection, feedback carrying the nudge down."""

import numpy as np
import pytest

from spiking_bpdl.plasticity import PairSTDP

TINY = """
[network]
name = "tiny_stack"

[stack]
layers = ["input", "hidden", "output"]
target = "label"
target_rate = "100 Hz"
nudge = 4.0
feedback = "random"
dt = "0.5 ms"
free_phase = "60 ms"
target_phase = "40 ms"
plasticity_onset = "20 ms"
cycles = 1

[populations.input]
kind = "poisson"
size = 16
max_rate = "150 Hz"
encoder = "poisson"

[populations.hidden]
kind = "lif"
size = 8
tau_m = "20 ms"
v_threshold = "20 mV"
v_reset = "0 mV"
t_ref = "2 ms"
sigma = "0 mV"
bias = 0.9

[populations.output]
kind = "lif"
size = 10
tau_m = "20 ms"
v_threshold = "20 mV"
v_reset = "0 mV"
t_ref = "2 ms"
sigma = "0 mV"
bias = 0.9

[projections.W1]
pre = "input"
post = "hidden"
weight = { init = "normal", std = 0.05 }
plasticity = "stdp1"

[projections.W2]
pre = "hidden"
post = "output"
weight = { init = "normal", std = 0.05 }
plasticity = "stdp2"

[projections.G2]
pre = "output"
post = "hidden"
weight = { init = "normal", std = 0.05 }

[plasticity.stdp1]
rule = "pair"
A_plus = 0.002
tau_plus = "20 ms"
tau_minus = "30 ms"

[plasticity.stdp2]
rule = "pair"
A_plus = 0.003
tau_plus = "25 ms"
tau_minus = "25 ms"

[data]
dataset = "mnist"
source = "embedded"
downsample = 7

[training]
samples = 100
"""

RULES = {"W1": PairSTDP.balanced(A_plus=0.002, tau_plus=20e-3, tau_minus=30e-3, w_max=1e9),
         "W2": PairSTDP.balanced(A_plus=0.003, tau_plus=25e-3, tau_minus=25e-3, w_max=1e9)}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from spiking_bpdl.stack.config import load_stack

    path = tmp_path_factory.mktemp("stack") / "tiny.toml"
    path.write_text(TINY)
    return load_stack(path)


def _weights(cfg, seed=0):
    rng = np.random.default_rng(seed)
    sizes = {layer.name: layer.size for layer in cfg.layers}
    return {p.name: rng.normal(0, 0.25, (sizes[p.pre], sizes[p.post])) for p in cfg.projections}


def _pair_sums(pre, post, rule, gate_of, sample_of, n_pre, n_post):
    """Gated all-to-all pair sums per synapse from recorded spikes: pairs inside one sample only, the
    gate of the later spike, no pairing within one time step (exact exponential traces)."""
    (ip, tp), (jq, tq) = pre, post
    dw = np.zeros((n_pre, n_post))
    for a in range(len(ip)):
        for b in range(len(jq)):
            if sample_of(tp[a]) != sample_of(tq[b]):
                continue
            d = tq[b] - tp[a]
            if d > 1e-9:
                dw[ip[a], jq[b]] += gate_of(tq[b]) * rule.A_plus * np.exp(-d / rule.tau_plus)
            elif d < -1e-9:
                dw[ip[a], jq[b]] -= gate_of(tp[a]) * rule.A_minus * np.exp(d / rule.tau_minus)
    return dw


@pytest.mark.parametrize("pre_offset", [0.0, 0.6, "per neuron", "traces reset at the onset", "homeostasis"])
def test_block_weight_changes_are_the_gated_pair_sums_of_its_spikes(tiny, pre_offset):
    """Every forward projection's change over a block equals the gated all-to-all pair sums of the
    recorded spikes (trace reset per sample, per-sample updates), so the stack's STDP is the rule's;
    with a pre-centred rule (``pre_offset``) every gated post spike also takes ``A_plus * pre_offset``,
    and with per-neuron offsets (``SpikingStack(pre_offsets=)``, W1 only) ``A_plus * x_tar[i]`` from the
    synapse of pre neuron ``i``. With ``[spiking] trace_reset = "onset"`` no spike before a sample's
    plasticity onset pairs with one after it. With ``[stack] homeostasis = eta_h`` every incoming weight
    of hidden neuron ``j`` also moves by ``lr eta_h (r_h T - n_j)`` per sample, ``n_j`` its recorded spikes
    in ``[onset, free_phase)`` (the output projection W2 has no regulator)."""
    import dataclasses

    from spiking_bpdl.codegen import use_target
    from spiking_bpdl.stack.network import SpikingStack, phase_gates

    cfg = tiny
    onset_reset = pre_offset == "traces reset at the onset"
    if onset_reset:
        cfg, pre_offset = dataclasses.replace(tiny, trace_reset="onset"), 0.0
    homeostasis = pre_offset == "homeostasis"
    if homeostasis:
        cfg, pre_offset = dataclasses.replace(tiny, homeostasis=2e-3, homeostasis_rate=30.0), 0.0
    block = 3
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (block, 16))
    y = np.eye(10)[[2, 5, 7]]
    w0 = _weights(cfg)
    per_neuron = {}
    if pre_offset == "per neuron":
        per_neuron, rules = {"W1": np.linspace(0.0, 1.5, cfg.layers[0].size)}, dict(RULES)
    else:
        rules = {name: rule.replace(pre_offset=pre_offset) for name, rule in RULES.items()}
    with use_target("numpy"):
        sim = SpikingStack(cfg, rules, block, target="numpy", record_spikes=True, feedback_gain=0.5,
                           pre_offsets=per_neuron)
        res = sim.run_block(x, y, w0, learn=True, seed=3, lr_scale=0.8)
    g = phase_gates(cfg.free_phase, cfg.target_phase, cfg.plasticity_onset, cfg.cycles, cfg.dt)
    P, slot = g["presentation"], g["slot"]

    def gate_of(t):
        return 0.8 * g["plastic"][int((t % P + 1e-9) // slot)]

    def sample_of(t):
        """The trace epoch of a spike: its sample, and with the onset reset which side of the onset."""
        k = int((t + 1e-9) // P)
        return (k, onset_reset and (t - k * P) >= cfg.plasticity_onset - 1e-9)

    spikes = res.spikes
    assert all(len(s[0]) > 20 for s in spikes), [len(s[0]) for s in spikes]  # every layer fires
    for l, name in ((1, "W1"), (2, "W2")):
        expected = _pair_sums(spikes[l - 1], spikes[l], RULES[name], gate_of, sample_of,
                              cfg.layers[l - 1].size, cfg.layers[l].size)
        assert np.abs(expected).max() > 20 * RULES[name].A_plus * 0.8 * np.exp(-1)  # many gated pairs
        jq, tq = spikes[l]
        offset = per_neuron.get(name, 0.0) if per_neuron else pre_offset
        for b in range(len(jq)):
            expected[:, jq[b]] -= gate_of(tq[b]) * RULES[name].A_plus * offset
        if homeostasis and name == "W1":
            phase = tq % P
            in_window = (phase >= cfg.plasticity_onset - 1e-9) & (phase < cfg.free_phase - 1e-9)
            n_j = np.bincount(jq[in_window], minlength=cfg.layers[1].size)
            assert 0 < n_j.sum() and n_j.max() > 30 * 0.04 * block  # some neurons above the goal rate, ...
            assert n_j.min() < 30 * 0.04 * block  # ... some below: both signs of the regulator are exercised
            goal = cfg.homeostasis_rate * (cfg.free_phase - cfg.plasticity_onset) * block
            expected += 0.8 * cfg.homeostasis * (goal - n_j)[None, :]
        change = res.weights[name] - w0[name]
        # Weights are single precision: w0's rounding and one rounded addition per sample (3), plus the
        # accumulation of dw, each at most half an ulp (2^-24 relative) of the largest magnitude involved.
        scale = np.abs(w0[name]).max() + np.abs(expected).max()
        np.testing.assert_allclose(change, expected, rtol=0, atol=(1 + block + 4) * 2.0**-24 * scale)


def test_feedback_carries_the_nudge_to_the_hidden_layer(tiny):
    """With feedback the hidden layer's target-phase rates depend on the label (the nudge reaches it);
    with zero feedback gain they do not (same seed, same inputs): the pathway that trains hidden layers."""
    from spiking_bpdl.codegen import use_target
    from spiking_bpdl.stack.network import SpikingStack

    cfg = tiny
    block = 4
    x = np.tile(np.random.default_rng(2).uniform(0, 1, (1, 16)), (block, 1))
    w = _weights(cfg, 1)
    diffs = {}
    for gain in (0.0, 1.0):
        counts = []
        for label in (0, 9):
            y = np.eye(10)[[label] * block]
            with use_target("numpy"):
                sim = SpikingStack(cfg, RULES, block, target="numpy", feedback_gain=gain)
                res = sim.run_block(x, y, w, learn=True, seed=5, lr_scale=0.0)
            counts.append(res.counts_all[0] - res.counts_free[0])  # hidden spikes after the free phase
        diffs[gain] = np.abs(counts[0] - counts[1]).sum()
    assert diffs[0.0] == 0  # same seed, no feedback: the label cannot reach the hidden layer
    assert diffs[1.0] > 0


def test_feedback_in_the_target_phase_only(tiny):
    """``feedback_phases='target'``: the first free phase is the network without feedback (same seed,
    same counts as ``feedback_gain=0``; later samples start from membranes the previous target phase
    left), while the target phase still carries the label down; with the default ``'both'`` the free
    phase already feels the feedback."""
    from spiking_bpdl.codegen import use_target
    from spiking_bpdl.errors import ConfigError
    from spiking_bpdl.stack.network import SpikingStack

    cfg = tiny
    block = 4
    x = np.tile(np.random.default_rng(2).uniform(0, 1, (1, 16)), (block, 1))
    w = _weights(cfg, 1)
    runs = {}
    for key, gain, phases in (("none", 0.0, "both"), ("both", 1.0, "both"), ("target", 1.0, "target")):
        for label in (0, 9):
            with use_target("numpy"):
                sim = SpikingStack(cfg, RULES, block, target="numpy", feedback_gain=gain, feedback_phases=phases)
                runs[key, label] = sim.run_block(x, np.eye(10)[[label] * block], w, learn=True, seed=5, lr_scale=0.0)
    free = {k: r.counts_free[0][0] for k, r in runs.items()}
    assert np.array_equal(free["target", 0], free["none", 0])
    assert not np.array_equal(free["both", 0], free["none", 0])
    after = {k: r.counts_all[0] - r.counts_free[0] for k, r in runs.items()}
    assert np.abs(after["target", 0] - after["target", 9]).sum() > 0
    with pytest.raises(ConfigError, match="feedback_phases"):
        SpikingStack(cfg, RULES, block, target="numpy", feedback_phases="free")


def test_pair_rules_of_a_definition(tmp_path):
    """The spiking backend's windows come from the definition's [plasticity.*] tables (balanced A_minus
    derived); a plastic forward projection with a rate rule is a one-line error."""
    from spiking_bpdl.errors import ConfigError
    from spiking_bpdl.stack.config import load_stack
    from spiking_bpdl.stack.engine import stdp_rules

    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    rules = stdp_rules(load_stack(path))
    assert set(rules) == {"W1", "W2"}
    for name, rule in rules.items():
        assert rule == RULES[name]
    assert stdp_rules(load_stack(path, ["plasticity.stdp2.A_plus=0.006"]))["W2"].A_minus == pytest.approx(0.006)
    bad = TINY.replace('[plasticity.stdp2]\nrule = "pair"\nA_plus = 0.003\ntau_plus = "25 ms"\ntau_minus = "25 ms"',
                       '[plasticity.stdp2]\nrule = "rate"\neta = 1e-7')
    path.write_text(bad)
    with pytest.raises(ConfigError, match="stdp2: projection W2 learns by rule 'rate'; the spiking backend needs"):
        stdp_rules(load_stack(path))


@pytest.mark.parametrize("offset, kappa", [("none", 1.0), ("scalar", 1.0), ("per neuron", 1.0), ("per neuron", 0.25)])
def test_reciprocal_feedback_learns_the_transpose_of_the_forward_change(tiny, offset, kappa):
    """``[spiking] feedback = "reciprocal"``: the feedback synapse output j -> hidden i runs the forward
    W2's STDP mirrored in time, gated by the output layer's gate, so over a block its change is W2's
    change transposed (single-precision rounding apart), from its own spikes only; W2's change is itself
    the gated pair sum of the spikes (the test above), and the block's feedback is live (the feedback's
    weights change during it, so a wrong sign or window would not match). With W2 pre-centred (one offset,
    or one per hidden neuron) every output spike takes the same offset in both synapses. A frozen
    feedback stays out of the result. With ``mirror_scale = kappa`` the same pairs change G2 by kappa
    times W2's change, transposed (the scaled mirror)."""
    import dataclasses

    from spiking_bpdl.codegen import use_target
    from spiking_bpdl.stack.network import SpikingStack

    G2 = next(p for p in tiny.projections if p.name == "G2")
    W2 = next(p for p in tiny.projections if p.name == "W2")
    plastic_g = dataclasses.replace(G2, plasticity=W2.plasticity, rule=W2.rule, eta=W2.eta, stdp=W2.stdp,
                                    mirror_scale=kappa)
    cfg = dataclasses.replace(tiny, spiking_feedback="reciprocal", feedback="reciprocal",
                              projections=tuple(plastic_g if p.name == "G2" else p for p in tiny.projections))
    block = 3
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0, 1, (block, 16)), np.eye(10)[[1, 4, 8]]
    w0 = _weights(cfg, 2)
    rules, pre_offsets = dict(RULES), {}
    if offset == "scalar":
        rules["W2"] = rules["W2"].replace(pre_offset=0.7)
    elif offset == "per neuron":
        pre_offsets = {"W2": np.linspace(0.2, 1.2, cfg.layers[1].size)}
    with use_target("numpy"):
        sim = SpikingStack(cfg, rules, block, target="numpy", feedback_gain=0.5, pre_offsets=pre_offsets)
        res = sim.run_block(x, y, w0, learn=True, seed=6, lr_scale=0.9)
    dW2, dG2 = res.weights["W2"] - w0["W2"], res.weights["G2"] - w0["G2"]
    assert np.abs(dW2).max() > 5 * RULES["W2"].A_plus  # many gated pairs
    scale = np.abs(w0["W2"]).max() + np.abs(w0["G2"]).max() + np.abs(dW2).max()
    np.testing.assert_allclose(dG2, kappa * dW2.T, rtol=0, atol=2 * (1 + block) * 2.0**-24 * scale)
    # the control: the same block with the feedback frozen leaves G2 to the caller
    frozen = dataclasses.replace(cfg, projections=tiny.projections)
    with use_target("numpy"):
        sim = SpikingStack(frozen, RULES, block, target="numpy", feedback_gain=0.5)
        assert "G2" not in sim.run_block(x, y, w0, learn=True, seed=6, lr_scale=0.9).weights


def test_reciprocal_feedback_names_its_forward_rule(tiny):
    """A learning reciprocal feedback must name its forward projection's [plasticity] table (one rule for
    both): another table is a one-line error naming the key."""
    import dataclasses

    from spiking_bpdl.errors import ConfigError

    W1 = next(p for p in tiny.projections if p.name == "W1")
    wrong = tuple(dataclasses.replace(p, plasticity=W1.plasticity, rule=W1.rule, eta=W1.eta, stdp=W1.stdp)
                  if p.name == "G2" else p for p in tiny.projections)
    with pytest.raises(ConfigError, match=r"projections\.G2\.plasticity: reciprocal feedback learns by the rule of W2"):
        dataclasses.replace(tiny, spiking_feedback="reciprocal", projections=wrong)
