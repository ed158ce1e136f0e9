"""Checks for the exercises of ``notebooks/06_deep_stdp.ipynb`` (from the delta rule to target propagation in spikes).

Each ``check_<name>(func)`` runs the student's ``func`` and the library's own implementation on
fresh inputs and reports through :func:`spiking_bpdl.teaching.report`: a wrong answer raises
``AssertionError`` with a hint, an unfinished exercise's ``NotImplementedError`` propagates.

* Exercise 1, ``delta_rule``: the output projection's update from the phase rates, compared with
  the rate twin's (:func:`spiking_bpdl.stack.twin.target_prop_updates`) on a random classifier stack.
* Exercise 2, ``x_tar``: the offset of pre-centred STDP, compared with the one the training engine
  builds (:func:`spiking_bpdl.stack.engine.stdp_rules`) for random windows and phases.
* Exercise 3, ``mirrored_window``: the pair window of a reciprocal feedback synapse, compared with the
  forward rule's window at the mirrored interval and, summed over every spike pair of random trains,
  with the forward synapse's own change (:func:`spiking_bpdl.plasticity.reference_pair_dw`).
"""

import numpy as np

from ._steps import check_steps

__all__ = ["check_delta_rule", "check_mirrored_window", "check_x_tar"]


def check_delta_rule(delta_rule, seed=None):
    """Exercise 1: ``delta_rule(rho_pre, rho_free, rho_target, eta)`` is the output projection's update.

    The rate twin of ``classifier_small`` with random weights and digits (batch of 6): ``rho_pre`` is
    the hidden layer's free-phase rate ``(batch, n_hidden)``, ``rho_free`` and ``rho_target`` the
    output's free and target-phase (nudged) rates ``(batch, n_out)``; the answer must equal the twin's
    update of ``W2``, ``(n_hidden, n_out)``, summed over the batch.

    Parameters
    ----------
    delta_rule : callable
    seed : int, optional
        Seed of the random weights and digits (default: fresh ones).

    Raises
    ------
    AssertionError
        When the update differs from the twin's.
    """
    from ..stack import twin
    from ..stack.config import load_stack

    rng = np.random.default_rng(seed)
    cfg = load_stack("classifier_small")
    weights = twin.init_weights(cfg, rng)
    # a larger output weight scale than at initialisation, so the output fires in the free phase too
    # and the free rate's term of the rule matters
    weights["W2"] = rng.normal(0.0, 0.05, weights["W2"].shape)
    x = rng.uniform(0, 1, (6, cfg.layers[0].size))
    labels = rng.integers(0, cfg.n_classes, 6)
    updates, info = twin.target_prop_updates(cfg, weights, x, twin.targets_of(cfg, x, labels))
    want = updates["W2"]
    eta = cfg.projection("W2").eta
    got = delta_rule(info["rates"][1], info["rates"][2], info["targets"][2], eta)
    check_steps("Exercise 1 (delta rule)", [dict(
        got=got, want=want, rtol=1e-9, atol=1e-12 * float(np.max(np.abs(want))), what="the update of W2",
        hint="dW2[j, k] = eta * sum over the batch of rho_pre[:, j] * (rho_target[:, k] - rho_free[:, k]): "
             "eta * rho_pre.T @ (rho_target - rho_free), shape (n_hidden, n_out). Summed, not averaged, "
             "over the batch; the pre-synaptic rate is not centred (only hidden projections are).")])


def check_x_tar(x_tar, seed=None):
    """Exercise 2: ``x_tar(A_plus, A_minus, tau_minus, m, free_phase, target_phase, onset)`` is the offset.

    Compared with the ``pre_offset`` of the hidden projection's rule that
    :func:`spiking_bpdl.stack.engine.stdp_rules` builds for ``classifier_small`` with random
    amplitudes, ``tau_minus``, mean input rate ``m`` and phases (in some the contrastive window
    ``L`` is the free phase's plastic part, in others the target phase).

    Parameters
    ----------
    x_tar : callable
        Arguments in SI units (s, Hz); returns the offset in trace units.
    seed : int, optional
        Seed of the random settings (default: fresh ones).

    Raises
    ------
    AssertionError
        When an offset differs from the engine's.
    """
    from ..stack.config import load_stack
    from ..stack.engine import stdp_rules

    rng = np.random.default_rng(seed)
    got, want = [], []
    for case in range(4):
        a_plus, a_minus = (float(a) for a in rng.uniform(1e-4, 1e-3, 2))
        tau_minus = float(rng.uniform(15e-3, 50e-3))
        m = float(rng.uniform(5.0, 40.0))
        # whole milliseconds: every phase must be a multiple of the simulation step
        onset = int(rng.integers(20, 50))
        free = onset + int(rng.integers(30, 80))
        # alternate which phase sets the window: the free phase's plastic part, or the target phase
        target = round((free - onset) * (rng.uniform(0.5, 0.9) if case % 2 else rng.uniform(1.1, 1.6)))
        cfg = load_stack("classifier_small", [
            f"plasticity.stdp_W1.A_plus={a_plus!r}", f"plasticity.stdp_W1.A_minus={a_minus!r}",
            f"plasticity.stdp_W1.tau_minus={1e3 * tau_minus!r} ms", f"stack.free_phase={free} ms",
            f"stack.target_phase={target} ms", f"stack.plasticity_onset={onset} ms"])
        rule = stdp_rules(cfg, {"W1": m, "W2": 10.0})["W1"]
        want.append(rule.pre_offset)
        got.append(x_tar(rule.A_plus, rule.A_minus, rule.tau_minus, m, cfg.free_phase, cfg.target_phase,
                         cfg.plasticity_onset))
    check_steps("Exercise 2 (x_tar)", [dict(
        got=np.asarray(got, dtype=float), want=np.asarray(want), rtol=1e-9, atol=0,
        what="x_tar for 4 random windows and phases",
        hint="Match the offset's term -A_plus x_tar L delta_rho_post to the pairings' term at rho_pre = m, "
             "-A_minus tau_minus^2 (1 - exp(-L/tau_minus)) m delta_rho_post: x_tar = A_minus * tau_minus**2 * "
             "(1 - exp(-L / tau_minus)) * m / (A_plus * L), with the window L = min(free_phase - onset, "
             "target_phase) (the contrastive windows have equal length: the shorter of the two phases' "
             "plastic parts).")])


def check_mirrored_window(mirrored_window, seed=None):
    """Exercise 3: ``mirrored_window(rule, s)`` is the window of the reciprocal feedback synapse.

    The feedback synapse ``g[j, i]`` runs from the forward synapse's post-synaptic neuron ``j`` to its
    pre-synaptic neuron ``i``; ``s = t_post - t_pre`` is measured from *its own* pre and post spikes.
    Two steps on random pair rules: the window at single intervals (zero and both signs) against the
    forward window :meth:`~spiking_bpdl.plasticity.PairSTDP.window` at the forward synapse's interval;
    then the sum of the window over every spike pair of two random trains against the forward synapse's
    change for the same spikes, computed event by event by
    :func:`~spiking_bpdl.plasticity.reference_pair_dw` (all-to-all pairs, additive, no bound reached).

    Parameters
    ----------
    mirrored_window : callable
        ``mirrored_window(rule, s)``: ``rule`` a :class:`~spiking_bpdl.plasticity.PairSTDP`, ``s`` an
        array of intervals in seconds; returns the change per pair, same shape as ``s``.
    seed : int, optional
        Seed of the random rules and spike trains (default: fresh ones).

    Raises
    ------
    AssertionError
        When the window differs from the mirrored forward window.
    """
    from ..plasticity import PairSTDP, reference_pair_dw

    rng = np.random.default_rng(seed)
    got_s, want_s, got_sum, want_sum = [], [], [], []
    for _ in range(4):
        a_plus, a_minus = (float(a) for a in rng.uniform(1e-4, 1e-3, 2))
        tau_plus, tau_minus = (float(t) for t in rng.uniform(10e-3, 50e-3, 2))
        # the reference clips at [0, w_max]: from w_max / 2, at most 15 x 15 pairs of at most 1e-3 stay inside
        rule = PairSTDP(A_plus=a_plus, A_minus=a_minus, tau_plus=tau_plus, tau_minus=tau_minus)
        s = np.concatenate([[0.0], rng.uniform(-0.1, 0.1, 12)])
        got_s.append(np.asarray(mirrored_window(rule, s), dtype=float))
        want_s.append(rule.window(-s))  # the forward synapse's interval: t_post(f) - t_pre(f) = -s
        # the feedback's pre spikes are the forward's post spikes, and the other way round
        pre_g = np.sort(rng.uniform(0, 0.5, int(rng.integers(5, 15))))
        post_g = np.sort(rng.uniform(0, 0.5, int(rng.integers(5, 15))))
        pairs = post_g[None, :] - pre_g[:, None]
        got_sum.append(float(np.sum(mirrored_window(rule, pairs.ravel()))))
        want_sum.append(reference_pair_dw(post_g, pre_g, rule))
    hint = ("The feedback synapse's pre neuron is the forward synapse's post neuron: for the same two spikes "
            "its s is minus the forward's. Its change must be the forward's, so mirrored_window(rule, s) = "
            "rule.window(-s): a feedback pre spike that FOLLOWS its post spike (s < 0) potentiates by "
            "A_plus exp(s / tau_plus), one that precedes it depresses by A_minus exp(-s / tau_minus); at "
            "s = 0 the forward counts the pair as causal (+A_plus), so the mirror does too.")
    check_steps("Exercise 3 (mirrored window)", [
        dict(got=np.concatenate(got_s), want=np.concatenate(want_s), rtol=1e-9, atol=0,
             what="the window at 13 intervals (0 and both signs) for 4 random rules", hint=hint),
        dict(got=np.asarray(got_sum), want=np.asarray(want_sum), rtol=1e-6, atol=1e-12,
             what="the summed change over every spike pair of 4 random trains, against the forward synapse's",
             hint=hint)])
