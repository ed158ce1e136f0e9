"""A deterministic reference network run on any code-generation target.

Run as a script (``python codegen_net.py TARGET OUT.npz``) so that cpp_standalone gets
a fresh process: Brian2's standalone device is process-global.
"""

import sys

import numpy as np


def run_reference(target, directory=None):
    """Spike trains of a small deterministic LIF network (input spikes, synapses, currents)."""
    import brian2 as b2

    from spiking_bpdl.codegen import use_target
    from spiking_bpdl.neurons import LIFParams, make_lif_group

    with use_target(target, directory=directory) as build_dir:
        b2.start_scope()
        b2.defaultclock.dt = 0.1 * b2.ms
        rng = np.random.default_rng(7)
        n_in, n_out = 20, 10
        times = np.sort(rng.uniform(0, 0.2, 200))
        idx = rng.integers(0, n_in, 200)
        inp = b2.SpikeGeneratorGroup(n_in, idx, times * b2.second)
        out = make_lif_group(n_out, LIFParams(tau_syn=5e-3))
        out.I_ext = rng.uniform(0.1e-9, 0.25e-9, n_out) * b2.amp
        syn = b2.Synapses(inp, out, "w : amp", on_pre="I_syn_post += w")
        syn.connect()
        syn.w = rng.uniform(0, 0.3e-9, n_in * n_out) * b2.amp
        mon = b2.SpikeMonitor(out)
        net = b2.Network(inp, out, syn, mon)
        net.run(0.25 * b2.second)
        if target == "cpp_standalone":
            b2.device.build(directory=build_dir, run=True)
        # copy: on brian2 >= 2.11 monitor arrays are views into memory freed with the network
        return np.array(mon.i[:], copy=True), np.array(mon.t[:] / b2.second, copy=True)


if __name__ == "__main__":
    i, t = run_reference(sys.argv[1], directory=sys.argv[3] if len(sys.argv) > 3 else None)
    np.savez(sys.argv[2], i=i, t=t)
