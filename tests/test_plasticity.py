"""PairSTDP against closed form and an independent reference, NEST style (controlled spikes)."""

import numpy as np
import pytest

from spiking_bpdl.errors import ConfigError
from spiking_bpdl.plasticity import PairSTDP, VoltageDerivativeRule, reference_pair_dw

DT = 0.1e-3


def run_pairs(rule, pre_trains, post_trains, w0=None, target="numpy", clock_driven=False,
              monitor=False, duration=None):
    """One synapse per (pre_train, post_train) pair, all in one Brian2 run.

    Pre and post are SpikeGeneratorGroups, so spike times are exact multiples of dt.
    Returns the final weights (and the trace monitor when asked).
    """
    import brian2 as b2

    from spiking_bpdl.codegen import configure_target

    configure_target(target)
    b2.start_scope()
    b2.defaultclock.dt = DT * b2.second
    n = len(pre_trains)

    def flat(trains):
        idx = np.concatenate([np.full(len(t), k) for k, t in enumerate(trains)]).astype(int)
        times = np.concatenate([np.asarray(t, float) for t in trains])
        return idx, np.round(times / DT) * DT

    i_pre, t_pre = flat(pre_trains)
    i_post, t_post = flat(post_trains)
    pre = b2.SpikeGeneratorGroup(n, i_pre, t_pre * b2.second)
    post = b2.SpikeGeneratorGroup(n, i_post, t_post * b2.second)
    code = rule.synapse_code(clock_driven=clock_driven)
    syn = b2.Synapses(pre, post, method="exact", **code.kwargs())
    syn.connect(j="i")
    syn.w = rule.w_max / 2 if w0 is None else w0
    objs = [pre, post, syn]
    mon = None
    if monitor is True:
        mon = b2.StateMonitor(syn, ["apre", "apost"], record=True)
        objs.append(mon)
    net = b2.Network(*objs)
    t_end = max(t_pre.max(initial=0), t_post.max(initial=0)) + 2 * DT
    net.run((duration or t_end) * b2.second)
    w = np.array(syn.w[:])
    if monitor == "state":
        return w, {"apre": np.array(syn.apre[:]), "apost": np.array(syn.apost[:]),
                   "lastupdate": np.array(syn.lastupdate[:])}
    return (w, mon) if monitor else w


def test_pair_window_closed_form():
    rule = PairSTDP(A_plus=0.01, A_minus=0.012, tau_plus=16.8e-3, tau_minus=33.7e-3, w_max=10.0)
    dts = np.arange(-100, 100.5, 1.0) * 1e-3
    dts = dts[dts != 0]
    t0 = 0.15
    w = run_pairs(rule, [[t0]] * len(dts), [[t0 + d] for d in dts])
    dw = w - rule.w_max / 2
    expected = np.where(dts > 0, rule.A_plus * np.exp(-dts / rule.tau_plus),
                        -rule.A_minus * np.exp(dts / rule.tau_minus))
    np.testing.assert_allclose(dw, expected, rtol=1e-6, atol=0)
    np.testing.assert_allclose(expected, rule.window(dts), rtol=1e-12)
    assert np.all(np.sign(dw) == np.sign(dts))  # pre->post potentiates: no pre/post swap


def test_simultaneous_spikes_give_potentiation():
    """Pre and post in the same time step: pre pathway first, so dw = +A_plus (documented)."""
    for nearest in (False, True):
        rule = PairSTDP(A_plus=0.01, A_minus=0.02, w_max=1.0, nearest=nearest)
        w = run_pairs(rule, [[0.05]], [[0.05]])
        assert w[0] - 0.5 == pytest.approx(rule.A_plus, rel=1e-9)
        assert reference_pair_dw([0.05], [0.05], rule) == pytest.approx(rule.A_plus, rel=1e-12)
        assert rule.window(0.0) == rule.A_plus


TRIPLETS = [
    # (pre times, post times) in ms
    ([0, 10], [20]),       # pre-pre-post: nearest keeps only the 10 ms pair
    ([20], [0, 10]),       # post-post-pre
    ([0], [10, 20]),       # pre-post-post: identical in both schemes
    ([10], [0, 20]),       # post-pre-post
    ([0, 20], [10]),       # pre-post-pre
    ([0, 5, 30], [12, 25, 40]),
]


def closed_form_triplet(pre, post, rule):
    """All-to-all: sum over all pairs. Nearest (symmetric): each spike pairs with the
    latest spike of the other kind before it (pre first on ties)."""
    if not rule.nearest:
        return sum(float(rule.window(tq - tp)) for tp in pre for tq in post)
    total = 0.0
    for tq in post:
        before = [tp for tp in pre if tp <= tq]
        if before:
            total += rule.A_plus * np.exp(-(tq - max(before)) / rule.tau_plus)
    for tp in pre:
        before = [tq for tq in post if tq < tp]
        if before:
            total -= rule.A_minus * np.exp(-(tp - max(before)) / rule.tau_minus)
    return total


def test_nearest_vs_all_to_all_triplets():
    pres = [np.array(p) * 1e-3 + 0.05 for p, _ in TRIPLETS]
    posts = [np.array(q) * 1e-3 + 0.05 for _, q in TRIPLETS]
    results = {}
    for nearest in (False, True):
        rule = PairSTDP(A_plus=0.01, A_minus=0.011, tau_plus=20e-3, tau_minus=30e-3,
                        w_max=10.0, nearest=nearest)
        dw = run_pairs(rule, pres, posts) - rule.w_max / 2
        expected = [closed_form_triplet(p, q, rule) for p, q in zip(pres, posts)]
        reference = [reference_pair_dw(p, q, rule) for p, q in zip(pres, posts)]
        np.testing.assert_allclose(dw, expected, rtol=1e-6)
        np.testing.assert_allclose(reference, expected, rtol=1e-9)
        results[nearest] = dw
    diff = results[False] - results[True]
    A, tp = 0.01, 20e-3
    # pre-pre-post: all-to-all has the extra (0 ms, 20 ms) pair
    assert diff[0] == pytest.approx(A * np.exp(-20e-3 / tp), rel=1e-6)
    # post-post-pre: extra depression from the 0 ms post spike
    assert diff[1] == pytest.approx(-0.011 * np.exp(-20e-3 / 30e-3), rel=1e-6)
    # pre-post-post: the two schemes agree
    assert diff[2] == pytest.approx(0.0, abs=1e-12)


def test_event_driven_traces_equal_closed_form_decay():
    rule = PairSTDP(A_plus=0.01, A_minus=0.012, tau_plus=15e-3, tau_minus=25e-3, w_max=10.0)
    rng = np.random.default_rng(3)
    pre = np.sort(rng.choice(np.arange(10, 300), 12, replace=False)) * 1e-3
    post = np.sort(rng.choice(np.arange(10, 300), 9, replace=False)) * 1e-3
    duration = 0.32
    w_ev, state = run_pairs(rule, [pre], [post], duration=duration, monitor="state")
    # event-driven: the stored trace is exact at its last update time
    t_up = state["lastupdate"][0]
    assert t_up == pytest.approx(max(pre.max(), post.max()), abs=DT / 2)
    assert state["apre"][0] == pytest.approx(
        np.sum(rule.A_plus * np.exp(-(t_up - pre[pre <= t_up + 1e-9]) / rule.tau_plus)), rel=1e-9)
    assert state["apost"][0] == pytest.approx(
        np.sum(rule.A_minus * np.exp(-(t_up - post[post <= t_up + 1e-9]) / rule.tau_minus)), rel=1e-9)
    w_cd, mon = run_pairs(rule, [pre], [post], clock_driven=True, monitor=True, duration=duration)
    assert w_ev[0] == pytest.approx(w_cd[0], rel=1e-9)
    t = np.array(mon.t[:])
    # a clock-driven trace, as monitored at the start of step t, holds the spikes of earlier
    # steps: sum_{t_k < t} A exp(-(t - dt - t_k)/tau) (the state update of step t_k runs first)
    apre_cf = np.array([np.sum(rule.A_plus * np.exp(-(tt - DT - pre[pre < tt - 1e-9]) / rule.tau_plus))
                        for tt in t])
    apost_cf = np.array([np.sum(rule.A_minus * np.exp(-(tt - DT - post[post < tt - 1e-9]) / rule.tau_minus))
                         for tt in t])
    np.testing.assert_allclose(mon.apre[0], apre_cf, rtol=1e-6, atol=1e-15)
    np.testing.assert_allclose(mon.apost[0], apost_cf, rtol=1e-6, atol=1e-15)
    assert w_ev[0] - 5.0 == pytest.approx(reference_pair_dw(pre, post, rule), rel=1e-6)


def test_hard_bounds_clip():
    rule = PairSTDP(A_plus=0.3, A_minus=0.3, w_max=1.0)
    # five causal pairs 1 ms apart from w = 0.5 would add ~1.5: clipped at w_max
    pre = [np.arange(5) * 0.05 + 0.01, np.arange(5) * 0.05 + 0.011]
    post = [np.arange(5) * 0.05 + 0.011, np.arange(5) * 0.05 + 0.01]
    w = run_pairs(rule, pre, post)
    assert w[0] == pytest.approx(1.0)
    assert w[1] == pytest.approx(0.0)
    assert reference_pair_dw(pre[0], post[0], rule) == pytest.approx(0.5)


def test_soft_bounds_multiplicative():
    rule = PairSTDP(A_plus=0.2, A_minus=0.1, w_max=2.0, weight_dependence="soft")
    w0 = np.array([0.5, 1.5, 0.5, 1.5])
    pre = [[0.02], [0.02], [0.03], [0.03]]
    post = [[0.03], [0.03], [0.02], [0.02]]
    w = run_pairs(rule, pre, post, w0=w0)
    k_plus = rule.A_plus * np.exp(-10e-3 / rule.tau_plus)
    k_minus = rule.A_minus * np.exp(-10e-3 / rule.tau_minus)
    expected = np.array([
        k_plus * (1 - 0.5 / 2.0), k_plus * (1 - 1.5 / 2.0), -k_minus * 0.5 / 2.0, -k_minus * 1.5 / 2.0,
    ])
    np.testing.assert_allclose(w - w0, expected, rtol=1e-6)
    for k in range(4):
        assert reference_pair_dw(pre[k], post[k], rule, w0=w0[k]) == pytest.approx(expected[k], rel=1e-9)


def test_window_integrals():
    rule = PairSTDP(A_plus=0.01, A_minus=0.006, tau_plus=16.8e-3, tau_minus=33.7e-3)
    s = np.linspace(-1.0, 1.0, 2_000_001)
    k = rule.window(s)
    ds = s[1] - s[0]
    # the trapezoid rule across the jump at s = 0 errs by ds*(A_plus + A_minus)/2 = 8e-9
    jump = ds * (rule.A_plus + rule.A_minus) / 2
    assert abs(np.trapezoid(k, dx=ds) - rule.integral_K()) <= 1.01 * jump
    assert np.trapezoid(s * k, dx=ds) == pytest.approx(rule.integral_sK(), rel=1e-5)
    assert np.trapezoid(k**2, dx=ds) == pytest.approx(rule.integral_K2(), rel=1e-4)  # jump error 5e-5
    bal = PairSTDP.balanced(A_plus=0.01, tau_plus=16.8e-3, tau_minus=33.7e-3)
    assert bal.is_balanced and not rule.is_balanced
    assert bal.integral_sK() == pytest.approx(0.01 * 16.8e-3 * (16.8e-3 + 33.7e-3))


@pytest.mark.parametrize("kwargs", [
    {"tau_plus": -5e-3}, {"tau_minus": 0}, {"A_plus": -1}, {"w_max": 0},
    {"weight_dependence": "linear"}, {"A_minus": float("nan")},
])
def test_invalid_parameters(kwargs):
    with pytest.raises(ConfigError):
        PairSTDP(**kwargs)


@pytest.mark.slow
def test_voltage_derivative_rule_reads_exact_derivative():
    """w += eta*dv/dt at pre spikes equals eta times the analytic RHS of the LIF equation."""
    import brian2 as b2

    from spiking_bpdl.codegen import configure_target
    from spiking_bpdl.neurons import LIFParams
    from spiking_bpdl.plasticity import derivative_lif_equations

    configure_target("numpy")
    b2.start_scope()
    b2.defaultclock.dt = DT * b2.second
    p = LIFParams()
    post = b2.NeuronGroup(3, derivative_lif_equations(p), threshold="v > v_threshold",
                          reset="v = v_reset", refractory="t_ref", method="exact",
                          namespace=p.namespace())
    drive = np.array([0.5, 1.5, 3.0]) * p.v_threshold / p.R  # sub-, supra-, strongly supra-threshold
    post.I_ext = drive * b2.amp
    t_spike = 0.0305
    pre = b2.SpikeGeneratorGroup(1, [0], [t_spike] * b2.second)
    rules = {"v": VoltageDerivativeRule(eta=1e-3, variable="dvdt"),
             "U": VoltageDerivativeRule(eta=1e-3, variable="dUdt")}
    syns = {}
    for key, rule in rules.items():
        syns[key] = b2.Synapses(pre, post, **rule.synapse_code(weight="w", post_namespace=p.namespace()).kwargs())
        syns[key].connect()
    mon = b2.SpikeMonitor(post)
    net = b2.Network(post, pre, mon, *syns.values())
    net.run(0.04 * b2.second)
    # free membrane: U(t) = RI (1 - exp(-t/tau)) exactly (U starts at 0). Brian2 integrates the
    # state (t -> t + dt) before the synapses run, so the rule sees the derivative at t_spike + dt.
    t = t_spike + DT
    dUdt = (drive * p.R) * np.exp(-t / p.tau_m) / p.tau_m
    np.testing.assert_allclose(syns["U"].w[:], 1e-3 * dUdt, rtol=1e-6)
    # the sub-threshold neuron never spikes: v == U there
    assert syns["v"].w[0] == pytest.approx(syns["U"].w[0], rel=1e-9)
    # the spiking neurons: dv/dt differs from dU/dt (reset) -- compute from v at that step
    assert not np.allclose(syns["v"].w[1:], syns["U"].w[1:])
    assert len(mon.t) > 0


@pytest.mark.slow
def test_pair_window_cython_matches_numpy():
    """The one Cython test: the same pairs give the same weights on the compiled target."""
    rule = PairSTDP(A_plus=0.01, A_minus=0.012, tau_plus=16.8e-3, tau_minus=33.7e-3, w_max=10.0,
                    nearest=True)
    dts = np.array([-60, -20, -3, 0, 2, 17, 80]) * 1e-3
    pre = [[0.1, 0.13]] * len(dts)
    post = [[0.1 + d, 0.2] for d in dts]
    w_np = run_pairs(rule, pre, post, target="numpy")
    w_cy = run_pairs(rule, pre, post, target="cython")
    np.testing.assert_allclose(w_cy, w_np, rtol=1e-12)
    expected = [reference_pair_dw(np.array(p), np.array(q), rule) for p, q in zip(pre, post)]
    np.testing.assert_allclose(w_np - 5.0, expected, rtol=1e-6)


def _raster_group(raster, rule, pre, post, name):
    """A NeuronGroup that spikes where ``raster`` (steps x n, bool) says, with the rule's per-neuron traces."""
    import brian2 as b2

    eqs, reset, ns = rule.neuron_traces(pre=pre, post=post)
    ta = b2.TimedArray(raster.astype(float), dt=DT * b2.second, name=f"{name}_raster")
    return b2.NeuronGroup(raster.shape[1], eqs, threshold=f"{name}_raster(t, i) > 0.5", reset=reset,
                          method="exact", namespace={**ns, f"{name}_raster": ta}, name=name)


@pytest.mark.parametrize("deferred, pre_offset", [(False, 0.0), (True, 0.0), (True, 0.7)])
def test_neuron_trace_code_equals_gated_all_to_all_pair_sums(deferred, pre_offset):
    """Per-neuron traces (one trace per neuron shared by its synapses) give, per synapse, the all-to-all
    pair sum of the window, each pair weighted by the gate at its later spike; a pre and a post spike in
    the same step do not pair (the traces jump in the groups' resets, after the synapses of that step).
    With ``pre_offset`` every post spike also subtracts ``gate * A_plus * pre_offset``."""
    import brian2 as b2

    from spiking_bpdl.codegen import configure_target

    configure_target("numpy")
    b2.start_scope()
    b2.defaultclock.dt = DT * b2.second
    rule = PairSTDP(A_plus=0.01, A_minus=0.013, tau_plus=20e-3, tau_minus=30e-3, pre_offset=pre_offset)
    rng = np.random.default_rng(3)
    steps = 3000
    pre_r = rng.random((steps, 3)) < 60 * DT
    post_r = rng.random((steps, 2)) < 60 * DT
    pre_r[1000, 0] = post_r[1000, 0] = True  # one simultaneous pair, checked below
    gate = np.where(np.arange(steps) < 1500, 1.0, -2.0)
    pre = _raster_group(pre_r, rule, pre=True, post=False, name="tpre")
    post = _raster_group(post_r, rule, pre=False, post=True, name="tpost")
    code = rule.neuron_trace_code("x", gate="tgate(t)", deferred=deferred)
    ta_gate = b2.TimedArray(gate, dt=DT * b2.second, name="tgate")
    syn = b2.Synapses(pre, post, code.model, on_pre=code.on_pre, on_post=code.on_post,
                      namespace={**code.namespace, "tgate": ta_gate})
    syn.connect()
    syn.w = 0.5
    b2.Network(pre, post, syn).run(steps * DT * b2.second)
    got = np.array(syn.dw[:] if deferred else syn.w[:] - 0.5).reshape(3, 2)
    if deferred:
        assert np.all(np.array(syn.w[:]) == 0.5)
    t = np.arange(steps) * DT
    expected = np.zeros((3, 2))
    for i in range(3):
        for j in range(2):
            for a in np.flatnonzero(pre_r[:, i]):
                for b in np.flatnonzero(post_r[:, j]):
                    if b > a:
                        expected[i, j] += gate[b] * rule.A_plus * np.exp(-(t[b] - t[a]) / rule.tau_plus)
                    elif a > b:
                        expected[i, j] -= gate[a] * rule.A_minus * np.exp(-(t[a] - t[b]) / rule.tau_minus)
            expected[i, j] -= rule.A_plus * pre_offset * gate[post_r[:, j]].sum()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)
    assert np.abs(expected).max() > 10 * rule.A_plus  # many pairs, both gate signs: not a trivial sum


def test_pre_offset_default_leaves_the_code_unchanged_and_is_refused_by_per_synapse_traces():
    plain = PairSTDP().neuron_trace_code("x", gate="g")
    assert plain.on_post == "w += g*A_plus_x*apre_pre" and "x_tar_x" not in plain.namespace
    centred = PairSTDP(pre_offset=0.25).neuron_trace_code("x", gate="g")
    assert centred.on_post == "w += g*A_plus_x*(apre_pre - x_tar_x)" and centred.namespace["x_tar_x"] == 0.25
    assert "pre_offset" not in PairSTDP().to_dict() and PairSTDP(pre_offset=0.25).to_dict()["pre_offset"] == 0.25
    with pytest.raises(ConfigError, match="pre_offset"):
        PairSTDP(pre_offset=0.25).synapse_code()
    with pytest.raises(ConfigError, match="pre_offset"):
        PairSTDP(pre_offset=-1.0)


def test_neuron_trace_code_refuses_nearest_pairing():
    with pytest.raises(ConfigError, match="all-to-all"):
        PairSTDP(nearest=True).neuron_trace_code("x")
