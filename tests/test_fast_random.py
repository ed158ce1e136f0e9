"""The splitmix64 generators of cython and cpp_standalone runs: moments, independence, and a noisy LIF
driven by them firing at the Siegert rate."""

import numpy as np
import pytest

from spiking_bpdl.codegen import compiler_available, use_target
from spiking_bpdl.fast_random import fast_rand, fast_randn, membrane_noise
from spiking_bpdl.neurons import LIFParams, lif_equations, siegert_rate

pytestmark = [pytest.mark.standalone,
              pytest.mark.skipif(not compiler_available(), reason="needs a C++ compiler")]


@pytest.mark.slow
@pytest.mark.parametrize("target", ["cython", "cpp_standalone"])
def test_fast_rand_and_randn_moments_and_independence(tmp_path, target):
    import brian2 as b2

    from spiking_bpdl.fast_random import reseed_runtime

    n_neurons, n_steps = 500, 200

    def sample():
        b2.seed(3)
        reseed_runtime()
        g = b2.NeuronGroup(n_neurons, "u : 1\nz : 1", namespace={"fast_rand": fast_rand(), "fast_randn": fast_randn()})
        g.run_regularly("u = fast_rand()\nz = fast_randn()")
        mon = b2.StateMonitor(g, ["u", "z"], record=True)
        b2.Network(g, mon).run(n_steps * b2.defaultclock.dt, namespace={})
        return mon

    with use_target(target, directory=tmp_path if target == "cpp_standalone" else None) as d:
        mon = sample()
        if target == "cpp_standalone":
            b2.device.build(run=False, directory=d)
            b2.device.run()
        u, z = np.array(mon.u[:]), np.array(mon.z[:])
        if target == "cpp_standalone":
            b2.device.run()  # same seed: the same numbers
            again = np.array(mon.z[:])
        else:
            b2.start_scope()
            again = np.array(sample().z[:])  # reseeded: the same numbers
        np.testing.assert_array_equal(again, z)
    n = u.size
    # uniform: mean 1/2 (sd 1/sqrt(12 n)), variance 1/12; z: mean 0, variance 1, kurtosis 3 - 1/32;
    # 5 standard errors each (fourth-moment s.e. from the binomial's 8th moment, about sqrt(96/n))
    assert abs(u.mean() - 0.5) < 5 / np.sqrt(12 * n)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / n)
    assert u.min() >= 0 and u.max() < 1
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(np.mean(z**4) - (3 - 1 / 32)) < 5 * np.sqrt(96 / n)
    np.testing.assert_array_equal(z * 4, np.round(z * 4))  # the Binomial(64, 1/2) grid
    # successive draws of one neuron, and of neighbouring neurons, are uncorrelated
    for a, b in ((z[:, :-1], z[:, 1:]), (z[:-1], z[1:]), (u[:, :-1], u[:, 1:])):
        assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 5 / np.sqrt(a.size)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["cython", "cpp_standalone"])
def test_noisy_lif_with_fast_noise_fires_at_the_siegert_rate(tmp_path, target):
    import brian2 as b2

    from spiking_bpdl.fast_random import reseed_runtime

    dt = 0.1e-3
    params = LIFParams(sigma=4e-3)
    currents = np.linspace(0.12e-9, 0.36e-9, 5)
    n_per, duration, warmup = 200, 2.0, 0.2
    with use_target(target, directory=tmp_path if target == "cpp_standalone" else None) as d:
        b2.seed(1)
        reseed_runtime()
        b2.defaultclock.dt = dt * b2.second
        ns = params.namespace()
        noise_ns, noise_term = membrane_noise(params, dt)  # what the layer-pair engine uses
        ns.update(noise_ns)
        eqs = lif_equations(params, noise_term=noise_term)
        g = b2.NeuronGroup(len(currents) * n_per, eqs, threshold="v > v_threshold", reset="v = v_reset",
                           refractory="t_ref", method="euler", namespace=ns)
        g.I_ext = np.repeat(currents, n_per) * b2.amp
        mon = b2.SpikeMonitor(g)
        b2.Network(g, mon).run((duration + warmup) * b2.second, namespace={})
        if target == "cpp_standalone":
            b2.device.build(run=True, directory=d)
        i, t = np.array(mon.i[:]), np.array(mon.t[:] / b2.second)
    keep = t >= warmup
    rates = np.bincount(i[keep], minlength=len(currents) * n_per).reshape(len(currents), n_per) / duration
    sim, sem = rates.mean(axis=1), rates.std(axis=1, ddof=1) / np.sqrt(n_per)
    theory = siegert_rate(currents, params, dt=dt)
    # as tests/test_neurons.py: 4 standard errors plus 1 % for the first-order dt correction
    assert np.all(np.abs(sim - theory) <= 4 * sem + 0.01 * theory), np.c_[currents, sim, theory, sem]
