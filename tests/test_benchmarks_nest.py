"""The NEST peer row of ``benchmarks/train_throughput.py``: its network, and the script without NEST."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from script_loader import load_script
from spiking_bpdl.rate.lif_layer_pair import LayerPairConfig

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_throughput.py"


@pytest.fixture(scope="module")
def bench():
    return load_script(SCRIPT)


def _tiny_cfg(**changes):
    """A 12-5-12 layer pair with the benchmark's timing (dt 0.1 ms, 60 + 40 ms, 200 Hz)."""
    base = {"name": "tiny", "n_in": 12, "n_hidden": 5, "dt": 1e-4, "free_phase": 60e-3, "target_phase": 40e-3,
            "plasticity_onset": 20e-3, "max_rate": 200.0, "sigma": 2e-3, "bias_hidden": 0.6,
            "bias_recon": tuple(np.linspace(0.2, 1.0, 12)), "nudge": 10.0, "feedback_gain": 0.2,
            "tau_plus": 60e-3, "tau_minus": 60e-3, "A_plus_W": 1e-3, "A_plus_V": 1e-3, "w_init_std": 0.3}
    base.update(changes)
    return LayerPairConfig(**base)


def _row(samples_per_s, events_per_s, samples=10):
    reps = [{"samples": samples, "samples_per_s": s, "samples_per_cpu_s": s, "synaptic_events_per_s": e,
             "cpu_over_wall": 1.0, "spikes_per_sample": {"input": 1.0, "hidden": 2.0, "recon": 3.0}}
            for s, e in zip(samples_per_s, events_per_s)]
    return {"repetitions": reps, "one_time_s": {"first": 1.0}}


# ---------------------------------------------------------------- without NEST (runs everywhere)
def test_nest_missing_names_the_package(bench, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nest" else real(name, *a))
    assert bench.nest_missing() == "nest-simulator not installed"


def test_skipped_nest_row_leaves_the_other_rows_summarized_without_nest_ratios(bench, capsys):
    rows = {"a_naive_cython_run_per_sample": _row([2.0, 3.0, 4.0], [1e6, 2e6, 3e6]),
            "c_engine_cpp_standalone": _row([30.0, 40.0, 50.0], [1e7, 2e7, 3e7]),
            bench.NEST_ROW: {"skipped": "nest-simulator not installed"}}
    bench.summarize(rows)
    assert rows[bench.NEST_ROW] == {"skipped": "nest-simulator not installed"}
    c = rows["c_engine_cpp_standalone"]
    assert c["speedup_vs_naive"] == {"median": 40.0 / 3.0, "min": 30.0 / 4.0, "max": 50.0 / 2.0}
    assert "speedup_vs_nest" not in c
    bench.print_table(rows)
    out = capsys.readouterr().out
    assert f"{bench.NEST_ROW}" in out and "skipped: nest-simulator not installed" in out


def test_nest_ratios_are_median_over_median_with_the_crossed_range(bench):
    rows = {"a_naive_cython_run_per_sample": _row([2.0, 3.0, 4.0], [1e6, 2e6, 3e6]),
            "c_engine_cpp_standalone": _row([30.0, 40.0, 50.0], [1e7, 2e7, 3e7]),
            bench.NEST_ROW: _row([4.0, 5.0, 8.0], [1e7, 1.5e7, 2e7])}
    bench.summarize(rows, nest_row=bench.NEST_ROW)
    c = rows["c_engine_cpp_standalone"]
    assert c["speedup_vs_nest"] == {"median": 8.0, "min": 30.0 / 8.0, "max": 50.0 / 4.0}
    assert c["speedup_vs_nest_events_per_s"] == {"median": 2e7 / 1.5e7, "min": 1e7 / 2e7, "max": 3e7 / 1e7}
    assert "speedup_vs_nest" not in rows[bench.NEST_ROW]
    assert rows[bench.NEST_ROW]["speedup_vs_naive"]["median"] == 5.0 / 3.0


def test_no_nest_option_is_accepted_and_a_stack_definition_is_refused_in_one_line(bench, capsys, tmp_path):
    # a stack definition (no layer-pair populations): the script stops before running anything
    stack = tmp_path / "stack.toml"
    stack.write_text('[network]\nname = "s"\n\n[stack]\nlayers = ["input", "hidden", "output"]\n')
    with pytest.raises(SystemExit) as exc:
        bench.main(["--no-nest", "--network", str(stack), "--out", str(tmp_path / "out.json")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "benchmarks/classifier_throughput.py" in err and str(stack) in err
    assert not (tmp_path / "out.json").exists()


# ---------------------------------------------------------------- with NEST
@pytest.mark.parametrize("tau_syn", [0.0, 5e-3])  # iaf_psc_delta, iaf_psc_exp
def test_nest_peer_builds_and_counts_events_from_its_spike_recorders(bench, tau_syn):
    nest = pytest.importorskip("nest")
    cfg = _tiny_cfg(tau_syn=tau_syn)
    rng = np.random.default_rng(1)
    W = rng.normal(0.0, cfg.w_init_std, (cfg.n_in, cfg.n_hidden))
    V = np.zeros((cfg.n_hidden, cfg.n_in))
    peer = bench.NestPeer(cfg, W, V, seed=3)
    try:
        n_in, n_h = cfg.n_in, cfg.n_hidden
        assert nest.GetKernelStatus("local_num_threads") == 1
        # W and V plastic (NEST's stdp_synapse), the feedback fixed, all to all
        assert len(nest.GetConnections(synapse_model="stdp_synapse")) == 2 * n_in * n_h
        assert len(nest.GetConnections(source=peer.recon, target=peer.hidden, synapse_model="static_synapse")) \
            == n_in * n_h
        assert peer.model == ("iaf_psc_exp" if tau_syn else "iaf_psc_delta")
        conns, i, j = peer._conn["W"]
        # a jump of w * theta (20 mV); an exponential current of the same charge (C = 250 pF)
        jump = 250.0 / (tau_syn * 1e3) if tau_syn else 1.0
        np.testing.assert_allclose(conns.get("weight"), (1 - cfg.feedback_gain) * 20.0 * jump * W[i, j], rtol=1e-12)
        # sample 1: every pixel on (200 Hz for 100 ms); sample 2: all off
        x = np.stack([np.ones(n_in), np.zeros(n_in)])
        events, spikes = peer.run(x[:1])
        events2, spikes2 = peer.run(x[1:])
        # the recorders' own events, per population, in both samples together
        recorded = [len(rec.get("events")["senders"]) for rec in peer.recorders]
        assert [a + b for a, b in zip(spikes, spikes2)] == recorded
        for ev, (s_in, s_h, s_r) in ((events, spikes), (events2, spikes2)):
            assert ev == s_in * n_h + s_h * 2 * n_in + s_r * 2 * n_h
        # the rates set after nest.Prepare() take effect: 12 inputs x 200 Hz x 0.1 s = 240 expected
        # (Poisson: sd 15.5), and none in the silent sample but the first step's (0.1 ms at 200 Hz)
        assert abs(spikes[0] - 240) < 5 * np.sqrt(240)
        assert spikes2[0] <= 3
        assert spikes[1] > 0 and spikes[2] > 0
    finally:
        peer.close()


def test_nest_teacher_current_is_on_in_the_target_phase_only(bench):
    pytest.importorskip("nest")
    # no noise, no bias, no weights, tau_m 1000 s: the reconstruction integrates the teacher alone
    cfg = _tiny_cfg(sigma=0.0, bias_hidden=0.0, bias_recon=0.0, w_init_std=0.0, tau_m=1e3)
    peer = bench.NestPeer(cfg, np.zeros((cfg.n_in, cfg.n_hidden)), np.zeros((cfg.n_hidden, cfg.n_in)), seed=0)
    try:
        peer.recon.V_m = 0.0
        x = np.zeros((1, cfg.n_in))
        x[0, :2] = 1.0, 0.5
        # drive beta * x thresholds for the 40 ms target phase only (100 ms if it leaked into the free
        # phase): v = beta x theta (1 - exp(-40 ms / tau_m)); NEST delivers currents one step (0.1 ms) late
        one = 10.0 * 20.0 * (1 - np.exp(-40e-3 / 1e3))
        peer.run(x)
        v = np.asarray(peer.recon.V_m)
        np.testing.assert_allclose(v[:2], [one, one / 2], rtol=1.5 * 0.1e-3 / 40e-3)  # within 1.5 steps
        assert np.all(v[2:] == 0.0)
        peer.run(x)  # the next sample gets its own schedule
        np.testing.assert_allclose(np.asarray(peer.recon.V_m)[:2], [2 * one, one], rtol=1.5 * 0.1e-3 / 40e-3)
    finally:
        peer.close()


def test_nest_noise_gives_the_engines_free_membrane_standard_deviation(bench):
    pytest.importorskip("nest")
    # 500 neurons without threshold crossings (threshold 1 V), no input: after 100 ms (5 tau_m) from
    # rest the membranes are N(0, sigma^2) (up to e^-10 of the stationary variance)
    cfg = _tiny_cfg(n_in=400, n_hidden=100, v_threshold=1.0, sigma=2e-3, bias_hidden=0.0, bias_recon=0.0,
                    w_init_std=0.0)
    peer = bench.NestPeer(cfg, np.zeros((cfg.n_in, cfg.n_hidden)), np.zeros((cfg.n_hidden, cfg.n_in)), seed=5)
    try:
        for pop in (peer.hidden, peer.recon):
            pop.V_m = 0.0
        peer.run(np.zeros((1, cfg.n_in)))
        v = np.r_[peer.hidden.V_m, peer.recon.V_m]
        # the sample standard deviation of 500 normal values: relative standard error 1/sqrt(2 * 499)
        assert np.std(v, ddof=1) == pytest.approx(2.0, rel=4 / np.sqrt(2 * 499))
        assert abs(np.mean(v)) < 4 * 2.0 / np.sqrt(500)
    finally:
        peer.close()
