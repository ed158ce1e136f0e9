"""Write notebooks/01_lif_and_stdp.ipynb (no outputs). Re-run after editing the cells."""

import nbformat as nbf

cells = []
md = lambda s: cells.append(nbf.v4.new_markdown_cell(s.strip()))
code = lambda s: cells.append(nbf.v4.new_code_cell(s.strip()))

md(r"""
# 01 · Leaky integrate-and-fire neurons and spike-timing-dependent plasticity

This notebook introduces the two building blocks of `spiking_bpdl`:

1. **LIF populations** in Brian2 and their *rate twin*: the analytic transfer function that turns
   an input current into a firing rate. Every rate model in this project uses it, so we check
   that the spiking neurons really fire at the rate it predicts.
2. **Spike encoders**: images become Poisson spike trains, a *sequence* of images is shown within
   **one** Brian2 `run()` through a `TimedArray`, and spikes are read back as rates.
3. **Event-driven pair STDP**: the learning window $K(s)$, its integrals $\int K$ and $\int sK$ (the
   bridge to rate-based learning rules, notebook 02), and a measurement of the window in Brian2.

Set `SPIKING_BPDL_REDUCED=1` to run a smaller version (the test suite does).
""")
code(r"""
import os
import numpy as np
import matplotlib.pyplot as plt
import brian2 as b2

from spiking_bpdl.codegen import configure_target
from spiking_bpdl.neurons import LIFParams, make_lif_group, lif_rate, siegert_rate
from spiking_bpdl import encoding
from spiking_bpdl.data import load_dataset
from spiking_bpdl.plasticity import PairSTDP
from spiking_bpdl.experiments.stdp_window import pair_window

REDUCED = bool(os.environ.get("SPIKING_BPDL_REDUCED"))
configure_target("cython")   # 'numpy' works everywhere; 'cython' compiles once, then is cached
b2.prefs.logging.console_log_level = "ERROR"
""")
md(r"""
## 1. The LIF neuron and its transfer function

$\tau_m \, dv/dt = -v + R I$; when $v$ crosses $\theta$ the neuron spikes, $v$ is reset to $V_r$ and held
for $t_{ref}$. For a constant current the time to climb from $V_r$ to $\theta$ is
$\tau_m \ln\frac{RI - V_r}{RI - \theta}$, so

$$\rho(I) = \frac{1}{t_{ref} + \tau_m \ln\frac{RI - V_r}{RI-\theta}} \quad (RI > \theta), \qquad 0 \text{ otherwise.}$$

We simulate one neuron per current level (all in one population, one run) and compare.
""")
code(r"""
params = LIFParams()          # tau_m 20 ms, threshold 20 mV, reset 0, t_ref 2 ms, R 100 MOhm
print(params)
currents = np.linspace(0.0, 0.8e-9, 17 if REDUCED else 33)

b2.start_scope()
b2.defaultclock.dt = 0.1 * b2.ms
group = make_lif_group(len(currents), params)
group.I_ext_ = currents                    # trailing underscore: plain SI numbers
spikes = b2.SpikeMonitor(group)
b2.run(1 * b2.second)

trains = spikes.spike_trains()
simulated = np.array([(len(t) - 1) / float((t[-1] - t[0]) / b2.second) if len(t) > 1 else 0.0
                      for t in (trains[i] for i in range(len(currents)))])
analytic = lif_rate(currents, params)

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(currents * 1e9, analytic, "k-", label="analytic rate twin")
ax.plot(currents * 1e9, simulated, "o", ms=4, label="Brian2 LIF")
ax.set(xlabel="input current (nA)", ylabel="rate (Hz)", title="f-I curve")
ax.legend(); plt.show()

firing = analytic > 0
print("max relative error where the neuron fires:",
      np.max(np.abs(simulated[firing] - analytic[firing]) / analytic[firing]))
# the threshold is checked once per step, so each interval is late by less than dt = 0.1 ms:
# under 1.3 % of the shortest interval (7.75 ms at 0.8 nA)
assert np.allclose(simulated[firing], analytic[firing], rtol=0.02)
assert np.all(simulated[~firing] == 0)    # at or below threshold (RI <= 20 mV): silent
""")
md(r"""
### With noise: the Siegert formula

Real neurons receive fluctuating input. With white noise of free-membrane standard deviation
$\sigma$ the neuron fires even when the *mean* drive is below threshold. The first-passage-time
(Siegert) formula gives the rate. The simulation uses Euler–Maruyama with step $dt$, which
misses threshold crossings between steps; `siegert_rate(..., dt=dt)` applies the first-order
correction (Brunel et al. 2001).
""")
code(r"""
noisy = params.replace(sigma=4e-3)
levels = np.linspace(0.1e-9, 0.4e-9, 7)
n_per = 50 if REDUCED else 200
sim_dt = 0.05e-3

b2.start_scope()
b2.defaultclock.dt = sim_dt * b2.second
group = make_lif_group(len(levels) * n_per, noisy)
group.I_ext_ = np.repeat(levels, n_per)
spikes = b2.SpikeMonitor(group)
T = 2.0
b2.run(T * b2.second)

rates = (spikes.count[:] / T).reshape(len(levels), n_per)
theory = siegert_rate(levels, noisy, dt=sim_dt)
sem = rates.std(1, ddof=1) / np.sqrt(n_per)
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.errorbar(levels * 1e9, rates.mean(1), yerr=2 * rates.std(1) / np.sqrt(n_per), fmt="o", label="simulation ±2 s.e.")
ax.plot(levels * 1e9, siegert_rate(levels, noisy, dt=sim_dt), "k-", label="Siegert")
ax.plot(levels * 1e9, lif_rate(levels, params), "k:", label="no noise")
ax.set(xlabel="mean input current (nA)", ylabel="rate (Hz)"); ax.legend(); plt.show()
# each level's mean rate has standard error sd/sqrt(n_per); 4 standard errors (7 levels: family-wise
# false alarm < 1e-3) plus 1 % for the first-order-only dt correction (as tests/test_neurons.py)
tol = 4 * sem + 0.01 * theory
print("largest |simulation - Siegert| / tolerance:", np.max(np.abs(rates.mean(1) - theory) / tol))
assert np.all(np.abs(rates.mean(1) - theory) <= tol)
""")
md(r"""
## 2. From images to spike trains, all in one run

`encoding.images_to_rates` maps pixel intensities to rates; `encoding.stimulus_timed_array`
builds a `TimedArray` that shows each image for a *presentation* phase followed by a *rest*
phase. A Poisson group reads it, so a whole sequence needs a single `run()` — calling `run()`
once per sample is the classic reason why Brian2 training scripts are slow.
""")
code(r"""
digits = load_dataset("mnist", "test", source="embedded").images[:3]
rates = encoding.images_to_rates(digits, max_rate=100.0)
stimulus, schedule = encoding.stimulus_timed_array(rates, presentation=0.1, rest=0.05)

b2.start_scope()
b2.defaultclock.dt = 0.1 * b2.ms
inputs = encoding.make_input_group(784, stimulus)
mon = b2.SpikeMonitor(inputs)
b2.run(schedule.duration * b2.second)

i, t = np.array(mon.i[:]), np.array(mon.t[:] / b2.second)
read_back = encoding.count_rates(i, t, 784, schedule.starts, schedule.stops)

fig, axes = plt.subplots(1, 4, figsize=(12, 3))
axes[0].plot(t, i, ",k"); axes[0].set(xlabel="time (s)", ylabel="input neuron", title="one run, three digits")
for k in range(3):
    axes[k + 1].imshow(read_back[k].reshape(28, 28), cmap="gray"); axes[k + 1].set_title(f"rates read back, digit {k}")
    axes[k + 1].axis("off")
plt.show()
print("correlation of read-back rates with the pixels:", np.corrcoef(read_back.ravel(), rates.ravel())[0, 1])
# input by input, the count in a 0.1 s window is Poisson with mean 0.1 * rate: the least-squares slope of
# count on rate is 0.1, with variance sum((r - rbar)^2 * 0.1 r) / S^2, S = sum((r - rbar)^2). A digit shown
# in the wrong window, or pixels wired to the wrong inputs, fails (5 standard errors)
counts = encoding.spike_counts(i, t, 784, schedule.starts, schedule.stops).ravel()
r = rates.ravel(); rc = r - r.mean(); S = np.sum(rc**2)
slope, se = np.sum(rc * counts) / S, np.sqrt(np.sum(rc**2 * 0.1 * r)) / S
print(f"count per Hz of rate: {slope:.4f} (expected 0.1000, s.e. {se:.4f})")
assert abs(slope - 0.1) < 5 * se
""")
md(r"""
## 3. Pair-based STDP, event-driven

With $s = t_{post} - t_{pre}$ the pair window is $K(s) = A_+ e^{-s/\tau_+}$ for $s \ge 0$ and
$K(s) = -A_- e^{s/\tau_-}$ for $s<0$. Brian2 integrates it *event-driven*: each synapse keeps a
pre trace and a post trace that are only updated when a spike arrives (with the exact
exponential decay since the last update).

Two integrals of the window connect spike timing to rates (notebook 02):
$\int K\,ds = A_+\tau_+ - A_-\tau_-$ multiplies $\rho_{pre}\rho_{post}$, and
$\int sK\,ds = A_+\tau_+^2 + A_-\tau_-^2$ multiplies $\rho_{pre}\,d\rho_{post}/dt$. A *balanced*
window ($\int K = 0$) keeps only the derivative term: the rate-based gradient rule.
""")
code(r"""
rule = PairSTDP.balanced(A_plus=0.01, tau_plus=16.8e-3, tau_minus=33.7e-3, w_max=1.0)  # Bi & Poo time constants
print(rule)
print(f"int K = {rule.integral_K():.2e}   int sK = {rule.integral_sK():.3e} s^2")
# balanced: A_- tau_- = A_+ tau_+, so int K vanishes and int sK = A_+ tau_+ (tau_+ + tau_-)
assert abs(rule.integral_K()) <= 1e-12 * rule.A_plus * rule.tau_plus
assert np.isclose(rule.integral_sK(), rule.A_plus * rule.tau_plus * (rule.tau_plus + rule.tau_minus), rtol=1e-12)

measured = pair_window(rule, dt_max=0.1, dt_step=(5e-3 if REDUCED else 1e-3), target="cython")
fig, ax = plt.subplots(figsize=(5, 3.5))
s = np.linspace(-0.1, 0.1, 801)
ax.plot(s * 1e3, rule.window(s), "k-", label="closed form K(s)")
ax.plot(measured["dt"] * 1e3, measured["dw"], "o", ms=3, label="Brian2, one pair per synapse")
ax.axhline(0, color="grey", lw=0.5); ax.axvline(0, color="grey", lw=0.5)
ax.set(xlabel="t_post - t_pre (ms)", ylabel="Δw"); ax.legend(); plt.show()
err = np.max(np.abs(measured["dw"] - measured["expected"]) / np.abs(measured["expected"]))
print("max relative deviation from the closed form:", err)
assert err < 1e-6
""")
md(r"""
## Where next

* `spiking-bpdl stdp-window --rule pair --out results/window` does section 3 from the command line.
* Notebook **02** shows that STDP with a balanced window *is* the rate gradient rule
  $\Delta W \propto \rho_{pre}\, d\rho_{post}/dt$, and reproduces the emergent STDP window of
  Bengio et al. (2015) from $\Delta W \propto S_{pre}\, dV_{post}/dt$.
* Try: change `tau_m` and watch the f-I curve; make the window unbalanced and compute $\int K$.
""")

nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
nbf.write(nb, "notebooks/01_lif_and_stdp.ipynb")
