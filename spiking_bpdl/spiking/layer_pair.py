"""The LIF layer pair with feedback as a Brian2 network, trained by all-to-all pair STDP.

Populations (see :mod:`spiking_bpdl.rate.lif_layer_pair` for the rate twin, which
uses the same definition and the same symbols)::

    input   Poisson (or regular) encoder, rate r_max * x~(sample)         n_in
    hidden  LIF, drive b_h + (1-gamma) W . input + gamma W . recon        n_hidden
    recon   LIF, drive b_r + V . hidden [+ beta (x - rtrace/r_max) in the target phase]

Synapses are current jumps: a spike through weight ``w`` adds ``w * v_threshold`` to the
post-synaptic membrane, or, with ``tau_syn > 0`` (a population key), starts an exponential
current that delivers the same charge over ``tau_syn``: the same mean drive, less shot noise.
``W`` (input -> hidden) and ``V`` (hidden -> recon) are plastic; ``Wfb`` (recon -> hidden:
reconstruction neuron ``i`` reaches hidden neuron ``j`` through ``W[i, j]``, fixed during a block) is
the reconstruction fed back through f. The
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

The layer pair is a layer stack (``input -> hidden -> recon``, target the clean input, feedback
``Wfb`` carrying the encoder's weights: ``[spiking] feedback = "encoder"``), and its Brian2 network *is*
the stack's: :class:`SpikingLayerPair` maps the pair's definition to a
:class:`~spiking_bpdl.stack.config.StackConfig` (:func:`~spiking_bpdl.stack.config.stack_from_layer_pair`)
and runs a :class:`~spiking_bpdl.stack.network.SpikingStack` (one ``run()`` per block,
``cpp_standalone`` compiled once with ``device.run(run_args=...)``, splitmix64 random numbers, spike
counters read once per slot: see that module). ``tests/test_layer_pair_network.py`` checks that the
stack reproduces the layer pair's former network bit for bit (weights and spike counts of seeded
blocks). The learning-rate schedule (``lr_scale``) scales the plasticity gates.
"""

import numpy as np

from ..errors import ConfigError

__all__ = ["SpikingLayerPair", "BlockResult"]


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
    layer_spikes : list of int
        Spikes of the input, hidden and reconstruction neurons.
    synaptic_events : int
        Spike deliveries (pre spikes times fan-out, post spikes times fan-in of plastic synapses).
    spikes : dict or None
        With ``record_spikes``: ``{"inp", "hidden", "recon"}`` to ``(indices, times in s)``.
    """

    def __init__(self, W, V, recon_free, recon_all, hidden_free, n_spikes, synaptic_events, hidden_all=None,
                 spikes=None, layer_spikes=None):
        self.W, self.V = W, V
        self.recon_free, self.recon_all, self.hidden_free = recon_free, recon_all, hidden_free
        self.hidden_all = hidden_all
        self.n_spikes, self.synaptic_events = n_spikes, synaptic_events
        self.spikes, self.layer_spikes = spikes, layer_spikes


class SpikingLayerPair:
    """The layer pair as a Brian2 network that runs blocks of ``block`` samples.

    Use inside :func:`spiking_bpdl.codegen.use_target` (the engine does this). On runtime
    targets each block builds a fresh ``Network`` (compiled code is cached); on
    ``cpp_standalone`` the first block builds and compiles the project and every block,
    the first included, is one ``device.run(run_args=...)``.

    Parameters
    ----------
    cfg : LayerPairConfig
        With its reconstruction bias resolved (:func:`~spiking_bpdl.rate.lif_layer_pair.with_mean_bias`).
    block : int
        Samples per run.
    target : {'numpy', 'cython', 'cpp_standalone'}
    directory : str, optional
        The standalone project directory (from ``use_target``).
    record_spikes : bool
        Also record every spike (``BlockResult.spikes``), for tests against the pair sums.

    Attributes
    ----------
    stack_cfg : StackConfig
        The pair as a stack.
    stack : SpikingStack
        The Brian2 network.
    """

    def __init__(self, cfg, block, target="cython", directory=None, record_spikes=False):
        from ..stack.config import stack_from_layer_pair
        from ..stack.network import SpikingStack

        self.cfg, self.block, self.target = cfg, int(block), target
        self.stack_cfg = stack_from_layer_pair(cfg)
        rules = {name: cfg.stdp_rule(name) for name in ("W", "V") if name not in cfg.frozen}
        self.stack = SpikingStack(self.stack_cfg, rules, block, target=target, directory=directory,
                                  record_spikes=record_spikes)

    def run_block(self, x_in, x_clean, W, V, learn=True, seed=None, lr_scale=1.0, rng=None):
        """Present ``block`` samples in one run.

        Parameters
        ----------
        x_in : ndarray (block, n_in)
            Images shown to the input population (corrupted for training), in [0, 1.x].
        x_clean : ndarray (block, n_in)
            Targets of the teacher current (ignored when ``learn`` is False).
        W, V : ndarray
            Weights at the start of the block (the feedback ``Wfb`` carries ``W``).
        learn : bool
            False: no target phase and no plasticity (read-out of the free network).
        seed : int, optional
            Random seed of the block (Brian2's generators and the splitmix64 streams), on every
            target; on cpp_standalone it goes in through ``run_args``. None: a fresh seed.
        lr_scale : float
            Factor on both STDP amplitudes for this block (the learning-rate schedule).
        rng : numpy.random.Generator, optional
            Draws the regular encoder's initial phases (default: the network's own generator,
            which advances with every block, so a resumed run would see other phases; the
            engine passes one derived from the run's seed and the block index).

        Returns
        -------
        BlockResult
        """
        from ..stack.engine import feedback_weights

        cfg = self.cfg
        x_in = np.asarray(x_in, dtype=float)
        x_clean = np.asarray(x_clean, dtype=float)
        if x_in.shape != (self.block, cfg.n_in) or x_clean.shape != x_in.shape:
            raise ConfigError(f"a block needs ({self.block}, {cfg.n_in}) images, got {x_in.shape}")
        weights = feedback_weights(self.stack_cfg, {"W": W, "V": V}, initial=None)  # Wfb carries W
        res = self.stack.run_block(x_in, x_clean, weights, learn=learn, seed=seed, lr_scale=lr_scale, rng=rng)
        spikes = dict(zip(("inp", "hidden", "recon"), res.spikes)) if res.spikes else None
        return BlockResult(res.weights["W"], res.weights["V"], res.counts_free[1], res.counts_all[1],
                           res.counts_free[0], res.n_spikes, res.synaptic_events, hidden_all=res.counts_all[0],
                           spikes=spikes, layer_spikes=res.layer_spikes)
