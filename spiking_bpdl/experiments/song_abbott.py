"""Competitive STDP (Song, Miller & Abbott 2000): the weight distribution becomes bimodal.

One conductance-based LIF neuron, ``N`` independent Poisson inputs, all-to-all additive
pair STDP with hard bounds ``[0, g_max]`` and slightly dominant depression
(``A_minus / A_plus = 1.05``). Inputs whose spikes happen to precede output spikes win,
the others lose: at the end most weights sit near 0 or near ``g_max``.

The network definition is ``networks/song_miller_abbott.toml``; see its header for the
speed-up of the learning rate (documented there) that makes it converge in ~50 s of
simulated time.
"""

import numpy as np

from ..errors import ConfigError
from ..neurons import ConductanceLIFParams
from ..plasticity import PairSTDP

__all__ = ["SongAbbottConfig", "config_from_spec", "run_song_abbott", "bimodality"]

DEFAULT_NETWORK = "song_miller_abbott"


class SongAbbottConfig(dict):
    """Plain settings (SI): ``n_inputs``, ``rate``, ``neuron`` (ConductanceLIFParams), ``rule``
    (PairSTDP, weights in units of g_L), ``w_init`` (low, high), ``duration``, ``dt``, ``seed``."""


def config_from_spec(spec):
    """Build a :class:`SongAbbottConfig` from a validated network definition."""
    where = spec.path or spec.name
    try:
        inputs, neuron = spec.populations["inputs"], spec.populations["neuron"]
        proj = spec.projections["ff"]
        plast = spec.plasticity[proj.plasticity]
    except (KeyError, TypeError):
        raise ConfigError(f"{where}: needs populations 'inputs' and 'neuron', projection 'ff' with a plasticity rule") from None
    if inputs.kind != "poisson" or neuron.kind != "conductance_lif":
        raise ConfigError(f"{where}: 'inputs' must be poisson and 'neuron' conductance_lif")
    if plast.rule not in ("pair", "pair_nearest"):
        raise ConfigError(f"{where}: plasticity.{plast.name}.rule must be pair or pair_nearest, got {plast.rule!r}")
    rate = inputs.params.get("rate")
    if rate is None or not rate > 0:
        raise ConfigError(f"{where}: populations.inputs.rate must be a positive rate like '20 Hz'")
    known = ConductanceLIFParams.__dataclass_fields__
    unknown = set(neuron.params) - set(known)
    if unknown:
        raise ConfigError(f"{where}: populations.neuron: unknown parameter(s) {', '.join(sorted(unknown))}")
    lif = ConductanceLIFParams(**neuron.params)
    p = plast.params
    try:
        g_max = float(p["g_max"])
        a_plus = float(p["A_plus"])
        ratio = float(p.get("A_minus_ratio", 1.05))
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"{where}: plasticity.{plast.name} needs numbers g_max, A_plus (and A_minus_ratio)") from None
    rule = PairSTDP.song_abbott(g_max=g_max, A_plus_rel=a_plus, ratio=ratio, tau=p.get("tau_plus", 20e-3),
                                nearest=plast.rule == "pair_nearest")
    rule = rule.replace(tau_minus=p.get("tau_minus", 20e-3))
    inh = spec.populations.get("inhibitory")
    inh_rate, n_inh, g_inh = 0.0, 0, 0.0
    if inh is not None:
        if inh.kind != "poisson" or "inh" not in spec.projections:
            raise ConfigError(f"{where}: 'inhibitory' must be a poisson population with a projection 'inh'")
        inh_rate, n_inh = float(inh.params.get("rate", 0.0)), inh.size
        g_inh = float(spec.projections["inh"].weight.get("value", 0.0))
        if inh_rate < 0 or g_inh < 0:
            raise ConfigError(f"{where}: inhibitory rate and weight must be >= 0")
    run = spec.section("run")
    w = proj.weight
    cfg = SongAbbottConfig(
        n_inputs=inputs.size, rate=rate, neuron=lif, rule=rule,
        w_init=(float(w.get("low", 0.0)), float(w.get("high", g_max))),
        n_inh=n_inh, inh_rate=inh_rate, g_inh=g_inh,
        duration=float(run.get("duration", 50.0)), dt=float(run.get("dt", 1e-4)), seed=int(run.get("seed", 0)),
    )
    if not (0 <= cfg["w_init"][0] <= cfg["w_init"][1] <= g_max):
        raise ConfigError(f"{where}: projections.ff.weight needs 0 <= low <= high <= g_max")
    if not (cfg["duration"] > 0 and cfg["dt"] > 0):
        raise ConfigError(f"{where}: run.duration and run.dt must be positive")
    return cfg


def bimodality(weights, w_max, edge=0.1):
    """Fractions of weights below ``edge*w_max``, above ``(1-edge)*w_max`` and in between."""
    x = np.asarray(weights, float) / w_max
    low, high = float(np.mean(x < edge)), float(np.mean(x > 1 - edge))
    return {"frac_low": low, "frac_high": high, "frac_middle": 1.0 - low - high}


def run_song_abbott(cfg=None, duration=None, target="cython", seed=None, snapshots=10):
    """Simulate the network and return the weights.

    Parameters
    ----------
    cfg : SongAbbottConfig, optional
        Default: from ``networks/song_miller_abbott.toml``.
    duration : float, optional
        Simulated seconds (overrides the definition).
    target : {'numpy', 'cython', 'cpp_standalone'}
    seed : int, optional
        Overrides the definition's seed.
    snapshots : int
        Number of weight snapshots over the run.

    Returns
    -------
    dict
        ``w_init``, ``w_final`` (units of g_L), ``w_max``, ``snapshot_t`` (s),
        ``snapshots`` (n_snap x N), ``out_rate`` (Hz, last 20% of the run), ``bimodality``
        (final) and ``bimodality_init``.
    """
    import brian2 as b2

    from ..codegen import use_target
    from ..neurons import make_lif_group

    if cfg is None:
        from ..spec import load_network

        cfg = config_from_spec(load_network(DEFAULT_NETWORK))
    duration = float(duration or cfg["duration"])
    seed = cfg["seed"] if seed is None else int(seed)
    rule = cfg["rule"]
    n = int(cfg["n_inputs"])
    rng = np.random.default_rng(seed)
    w0 = rng.uniform(cfg["w_init"][0], cfg["w_init"][1], n)
    snap_dt = duration / snapshots
    with use_target(target) as directory:
        b2.start_scope()
        b2.seed(seed)
        b2.defaultclock.dt = cfg["dt"] * b2.second
        neuron = make_lif_group(1, cfg["neuron"])
        inputs = b2.PoissonGroup(n, rates=cfg["rate"] * b2.Hz)
        code = rule.synapse_code(effect="g_e_post += w*g_L_syn")
        ns = dict(code.namespace, g_L_syn=cfg["neuron"].g_L * b2.siemens)
        syn = b2.Synapses(inputs, neuron, model=code.model, on_pre=code.on_pre, on_post=code.on_post, namespace=ns)
        syn.connect()
        syn.w = w0
        wmon = b2.StateMonitor(syn, "w", record=np.arange(n), dt=snap_dt * b2.second)
        smon = b2.SpikeMonitor(neuron)
        objs = [neuron, inputs, syn, wmon, smon]
        if cfg.get("n_inh", 0) > 0 and cfg["g_inh"] > 0:
            inh = b2.PoissonGroup(int(cfg["n_inh"]), rates=cfg["inh_rate"] * b2.Hz)
            syn_inh = b2.Synapses(inh, neuron, on_pre="g_i_post += g_inh_syn",
                                  namespace={"g_inh_syn": cfg["g_inh"] * cfg["neuron"].g_L * b2.siemens})
            syn_inh.connect()
            objs += [inh, syn_inh]
        net = b2.Network(*objs)
        net.run(duration * b2.second)
        if target == "cpp_standalone":
            b2.device.build(directory=directory, run=True)
        w_final = np.array(syn.w[:], float)
        snaps = np.array(wmon.w[:], float).T
        snap_t = np.array(wmon.t[:], float)
        spikes = np.array(smon.t[:], float)
    tail = spikes[spikes > 0.8 * duration]
    return {
        "w_init": w0, "w_final": w_final, "w_max": rule.w_max, "snapshot_t": snap_t, "snapshots": snaps,
        "out_rate": len(tail) / (0.2 * duration), "mean_out_rate": len(spikes) / duration,
        "bimodality": bimodality(w_final, rule.w_max), "bimodality_init": bimodality(w0, rule.w_max),
        "duration": duration, "n_inputs": n, "input_rate": cfg["rate"], "rule": rule, "seed": seed,
    }
