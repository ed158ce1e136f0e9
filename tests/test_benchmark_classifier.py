"""``benchmarks/classifier_throughput.py``: its definition, the naive stack, the NEST stack and the summary."""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from script_loader import load_script
from spiking_bpdl.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "classifier_throughput.py"

# A 16-40-10 classifier stack with the benchmark's structure: pair STDP on both forward projections
# (the hidden one pre-centred), fixed feedback gated to the target phase, current synapses on the
# hidden layer and delta synapses on the output (both jumps of the naive loop run).
TINY = """
[network]
name = "tiny_bench"

[stack]
layers = ["input", "hidden", "output"]
target = "label"
target_rate = "100 Hz"
nudge = 4.0
feedback = "random"
hidden_target = "current"
centering = "pre"
feedback_gain = 2.0
feedback_phases = "target"
dt = "0.5 ms"
free_phase = "40 ms"
target_phase = "20 ms"
plasticity_onset = "10 ms"
cycles = 1

[populations.input]
kind = "poisson"
size = 16
max_rate = "150 Hz"
encoder = "poisson"

[populations.hidden]
kind = "lif"
size = 40
tau_m = "20 ms"
v_threshold = "20 mV"
v_reset = "0 mV"
t_ref = "2 ms"
tau_syn = "5 ms"
sigma = "2 mV"
bias = 0.3

[populations.output]
kind = "lif"
size = 10
tau_m = "20 ms"
v_threshold = "20 mV"
v_reset = "0 mV"
t_ref = "2 ms"
sigma = "2 mV"
bias = 0.9

[projections.W1]
pre = "input"
post = "hidden"
weight = { init = "uniform", low = 0.0, high = 0.08 }
plasticity = "stdp1"

[projections.W2]
pre = "hidden"
post = "output"
weight = { init = "uniform", low = 0.0, high = 0.1 }
plasticity = "stdp2"

[projections.G2]
pre = "output"
post = "hidden"
weight = { init = "normal", std = 0.1 }

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

[spiking]
feedback = "random"
block = 10
readout_samples = 10

[data]
dataset = "mnist"
source = "embedded"
downsample = 7

[training]
samples = 100
"""


@pytest.fixture(scope="module")
def bench():
    yield load_script(SCRIPT)
    sys.path.remove(str(SCRIPT.parent))  # the script puts benchmarks/ on the path for its sibling


@pytest.fixture(scope="module")
def tiny(bench, tmp_path_factory):
    """The tiny stack, its rules (with the pre-centring offset), weights, digits and one-hot targets."""
    from spiking_bpdl.stack import twin
    from spiking_bpdl.stack.engine import mean_pre_rates, stdp_rules

    path = tmp_path_factory.mktemp("bench") / "tiny.toml"
    path.write_text(TINY)
    cfg = bench.load_bench(path)
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 1.0, (10, 16))
    y = twin.targets_of(cfg, x, rng.integers(0, 10, 10))
    weights = twin.init_weights(cfg, np.random.default_rng(0))
    rules = stdp_rules(cfg, mean_pre_rates(cfg, weights, x))
    return cfg, rules, weights, x, y


# ---------------------------------------------------------------- definition and counting
def test_benchmark_definition_is_the_rate_twins_mnist_stack_with_pair_rules(bench):
    from spiking_bpdl.stack.config import load_stack

    cfg, mnist = bench.load_bench(bench.DEFINITION), load_stack(ROOT / "networks" / "classifier_mnist_rate.toml")
    assert [layer.size for layer in cfg.layers] == [784, 1000, 10]
    # the same neurons (the input's statistics aside), phases, resolution and initial weights
    assert cfg.layers[1:] == mnist.layers[1:]
    assert dataclasses.replace(cfg.layers[0], encoder="regular") == mnist.layers[0]
    assert cfg.layers[0].encoder == bench.INPUT_STATISTICS == "poisson"
    for key in ("dt", "free_phase", "target_phase", "plasticity_onset", "cycles", "nudge", "target_rate", "centering"):
        assert getattr(cfg, key) == getattr(mnist, key), key
    for name in ("W1", "W2", "G2"):
        p, q = cfg.projection(name), mnist.projection(name)
        assert (p.init, p.std) == (q.init, q.std), name
    assert cfg.projection("W1").stdp == cfg.projection("W2").stdp == (3e-4, 3e-4, 40e-3, 40e-3)
    assert not cfg.projection("G2").plastic and cfg.block == 100 and cfg.brian_target == "cpp_standalone"


def test_a_rate_rule_definition_is_refused_before_anything_runs(bench, capsys, tmp_path):
    with pytest.raises(ConfigError, match="rule = 'pair'"):
        bench.load_bench(ROOT / "networks" / "classifier_mnist_rate.toml")
    with pytest.raises(SystemExit) as exc:
        bench.main(["--no-nest", "--network", "networks/classifier_mnist_rate.toml", "--out", str(tmp_path / "o.json")])
    assert exc.value.code == 2 and "rule = 'pair'" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def test_synaptic_events_are_the_engines_count(bench, tiny):
    cfg = tiny[0]
    a, b, c = 100, 40, 7
    # W1 (16 -> 40, plastic): a*40 + b*16; W2 (40 -> 10, plastic): b*10 + c*40; G2 (10 -> 40): c*40
    assert bench.synaptic_events(cfg, [a, b, c]) == a * 40 + b * 16 + b * 10 + c * 40 + c * 40


# ---------------------------------------------------------------- the naive loop
def test_naive_stack_fires_like_the_engine(bench, tiny):
    """Same digits, same weights: per sample, the naive loop's hidden and output spikes in the
    read-out window match the engine's (mean counts within 4 standard errors; the rules'
    amplitudes are zero here) and its input spikes
    are the Poisson counts the rates give."""
    from spiking_bpdl.codegen import use_target
    from spiking_bpdl.stack.network import SpikingStack

    cfg, rules, weights, x, y = tiny
    rules = {k: dataclasses.replace(r, A_plus=0.0, A_minus=0.0, pre_offset=0.0) for k, r in rules.items()}
    n, P = len(x), cfg.free_phase + cfg.target_phase
    loop = bench.NaiveStack(cfg, rules, weights, target="numpy")
    events = loop.run(x, y)
    assert events == bench.synaptic_events(cfg, loop.last_spikes)
    with use_target("numpy"):
        sim = SpikingStack(cfg, rules, n, target="numpy")
        res = sim.run_block(x, y, weights, learn=True, seed=1)
        engine_input = float(np.sum(sim._objects["groups"][0].nspk[:]))
    # input: Poisson counts with mean sum(r_max x) * presentation on both sides (Bernoulli steps: var < mean)
    expected = cfg.layers[0].max_rate * x.sum() * P
    for total in (loop.last_spikes[0], engine_input):
        assert abs(total - expected) < 4 * np.sqrt(expected)
    for l in (1, 2):
        t = np.asarray(loop.mons[l].t[:])  # seconds; the network started at 0
        sample, since = np.floor(t / P + 1e-9).astype(int), np.mod(t + 1e-9, P)
        naive = np.bincount(sample[since >= cfg.plasticity_onset], minlength=n)[:n].astype(float)
        engine = res.counts_all[l - 1].sum(axis=1)
        assert naive.sum() > 0 and engine.sum() > 0
        # unpaired: the state a sample leaves (membranes, the output's filtered rate) reaches into the next,
        # so differences of one digit's counts are not independent across digits
        se = np.sqrt(naive.var(ddof=1) / n + engine.var(ddof=1) / n)
        assert abs(naive.mean() - engine.mean()) < 4 * se, (l, naive, engine)


def test_naive_stack_learns_only_forward_and_restarts_from_the_given_weights(bench, tiny):
    cfg, rules, weights, x, y = tiny
    loop = bench.NaiveStack(cfg, rules, weights, target="numpy")
    loop.run(x[:2], y[:2])
    after = loop.weights()
    assert np.array_equal(after["G2"], weights["G2"])
    for name in ("W1", "W2"):
        assert after[name].shape == weights[name].shape and not np.allclose(after[name], weights[name]), name
    loop.set_weights(weights)
    got = loop.weights()
    for name in weights:
        assert np.allclose(got[name], weights[name]), name


# ---------------------------------------------------------------- NEST
def test_nest_stack_builds_runs_and_sets_signed_weights(bench, tiny):
    pytest.importorskip("nest")
    cfg, _, weights, x, y = tiny
    weights = dict(weights, W2=np.where(np.arange(400).reshape(40, 10) % 7 == 0, 0.0, weights["W2"]))
    peer = bench.NestStack(cfg, weights, seed=1)
    try:
        events, spikes = peer.run(x[:2], y[:2])
        assert len(spikes) == 3 and min(spikes) > 0
        assert events == bench.synaptic_events(cfg, spikes)
        assert peer.model == "iaf_psc_delta, iaf_psc_exp"
        peer.set_weights(weights)
        for name in ("W1", "W2", "G2"):
            conns, i, j = peer._conn[name]
            got = np.asarray(conns.get("weight"), dtype=float) / peer._scale[name]
            want = weights[name][i, j]
            if name in peer._signs:
                # a plastic synapse keeps its sign: a zero weight becomes a tiny one of its synapse's sign
                sign = peer._signs[name][i, j]
                assert np.all(np.sign(got) == sign)
                want = np.where(want == 0, sign * bench.tt._TINY, want)
            assert np.allclose(got, want, rtol=1e-9, atol=1e-15), name
        assert set(peer._signs) == {"W1", "W2"}
    finally:
        peer.close()
    assert set(bench.NEST_DIFFERENCES) >= {"plasticity", "feedback", "teacher", "inputs"}


# ---------------------------------------------------------------- summary
def _row(samples_per_s, layers=("input", "hidden", "output"), samples=10):
    reps = [{"samples": samples, "samples_per_s": s, "samples_per_cpu_s": s / 2, "synaptic_events_per_s": 1e6 * s,
             "cpu_over_wall": 1.0, "spikes_per_sample": {k: float(i + s) for i, k in enumerate(layers)}}
            for s in samples_per_s]
    return {"repetitions": reps, "one_time_s": {"first": 1.0}}


def test_summary_has_the_layer_pair_schema_with_the_stacks_layers(bench, capsys):
    rows = {bench.NAIVE_ROW: _row([1.0, 2.0, 4.0]), "c_engine_cpp_standalone": _row([30.0, 40.0, 50.0]),
            bench.NEST_ROW: _row([4.0, 5.0, 8.0])}
    bench.summarize(rows, nest_row=bench.NEST_ROW)
    c = rows["c_engine_cpp_standalone"]
    assert c["speedup_vs_naive"] == {"median": 20.0, "min": 30.0 / 4.0, "max": 50.0}
    assert c["speedup_vs_nest"] == {"median": 8.0, "min": 30.0 / 8.0, "max": 50.0 / 4.0}
    assert c["spikes_per_sample"]["output"] == {"median": 42.0, "min": 32.0, "max": 52.0}
    assert c["repetitions"][0]["spikes_per_sample"] == {"input": 30.0, "hidden": 31.0, "output": 32.0}
    assert c["n_repetitions"] == 3 and c["samples_per_repetition"] == 10
    bench.print_table(rows)
    assert "spikes per sample (input / hidden / output): 40 / 41 / 42" in capsys.readouterr().out


def test_skipped_nest_row_is_left_as_it_is(bench):
    rows = {bench.NAIVE_ROW: _row([1.0, 2.0, 4.0]), "c_engine_cpp_standalone": _row([30.0, 40.0, 50.0]),
            bench.NEST_ROW: {"skipped": "nest-simulator not installed"}}
    bench.summarize(rows)
    assert rows[bench.NEST_ROW] == {"skipped": "nest-simulator not installed"}
    assert "speedup_vs_nest" not in rows["c_engine_cpp_standalone"]
