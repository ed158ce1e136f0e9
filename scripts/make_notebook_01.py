"""Write notebooks/01_lif_and_stdp.ipynb (no outputs). Re-run after editing the cells."""

import nbformat as nbf

cells = []
md = lambda s: cells.append(nbf.v4.new_markdown_cell(s.strip()))
code = lambda s: cells.append(nbf.v4.new_code_cell(s.strip()))
# an exercise cell: its metadata names the function the student writes (spiking_bpdl.teaching)
exercise = lambda name, s: cells.append(nbf.v4.new_code_cell(s.strip(), metadata={"exercise": name}))

md(r"""
# 01 · Leaky integrate-and-fire neurons and spike-timing-dependent plasticity

This notebook introduces the two building blocks of `spiking_bpdl`: LIF neurons and pair STDP.

**Learning objectives.** By the end you can

1. derive the firing rate of a leaky integrate-and-fire (LIF) neuron under constant current (its
   *f-I curve*, the "rate twin" every rate model in this project uses) and check it against Brian2;
2. explain why noise makes the neuron fire below threshold and turns the f-I curve smooth;
3. turn images into Poisson spike trains, a whole sequence of them in **one** Brian2 `run()`;
4. write the pair-STDP window $K(s)$ and compute its integrals $\int K$ and $\int sK$, the two numbers
   that connect spike timing to rate-based learning rules (notebook 02).

**How to work through it.** Three cells are exercises: each defines one function whose body you
write (a few lines); until then it raises `NotImplementedError`. The cell after it checks your function
against the library's own implementation on fresh random inputs and tells you what to look at when it
differs. Later cells use your functions. Solutions: `notebooks/solutions/01_lif_and_stdp.py`.

Set `SPIKING_BPDL_REDUCED=1` to run a smaller version (the test suite does).
""")
code(r"""
import os
import numpy as np
import matplotlib.pyplot as plt
import brian2 as b2

from spiking_bpdl.codegen import configure_target
from spiking_bpdl.neurons import LIFParams, make_lif_group, siegert_rate
from spiking_bpdl import encoding
from spiking_bpdl.data import load_dataset
from spiking_bpdl.plasticity import PairSTDP
from spiking_bpdl.experiments.stdp_window import pair_window
from spiking_bpdl.teaching import slider
from spiking_bpdl.teaching.lif_and_stdp import check_lif_rate_hz, check_stdp_window, check_window_integrals

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

### Exercise 1: the f-I curve

Write `lif_rate_hz(current, params)`: the rate in Hz for an array of currents (amperes), using the
parameters in `params` (`params.R`, `params.tau_m`, `params.v_threshold`, `params.v_reset`,
`params.t_ref`). Where $RI \le \theta$ the rate is 0; compute the logarithm only where the neuron fires
(a boolean mask), so that no `nan` appears.
""")
exercise("lif_rate_hz", r'''
def lif_rate_hz(current, params):
    """Firing rate (Hz) of a noise-free LIF neuron under constant current(s) (A, an array)."""
    #################################################################
    # Fill in the rate where the neuron fires, then remove this line:
    raise NotImplementedError("Exercise 1: the LIF rate")
    #################################################################
    drive = np.asarray(current, dtype=float) * ...    # the free membrane R*I (volts)
    rate = np.zeros_like(drive)
    above = ...                                        # where R*I > v_threshold
    d = drive[above]
    rate[above] = 1.0 / (... + ...)
    return rate
''')
code(r"""
check_lif_rate_hz(lif_rate_hz)
""")
md(r"""
Now we simulate one neuron per current level (all in one population, one run) and compare with your
formula.
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
analytic = lif_rate_hz(currents, params)   # your function

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
ax.plot(levels * 1e9, lif_rate_hz(levels, params), "k:", label="no noise")
ax.set(xlabel="mean input current (nA)", ylabel="rate (Hz)"); ax.legend(); plt.show()
# each level's mean rate has standard error sd/sqrt(n_per); 4 standard errors (7 levels: family-wise
# false alarm < 1e-3) plus 1 % for the first-order-only dt correction (as tests/test_neurons.py)
tol = 4 * sem + 0.01 * theory
print("largest |simulation - Siegert| / tolerance:", np.max(np.abs(rates.mean(1) - theory) / tol))
assert np.all(np.abs(rates.mean(1) - theory) <= tol)
""")
md(r"""
### Interactive: how noise shapes the f-I curve

Move the noise $\sigma$ (free-membrane standard deviation). At $\sigma = 0$ the curve is your
`lif_rate_hz`: zero up to the threshold current $\theta/R = 0.2$ nA, then a vertical start. With
noise the neuron fires below threshold and the curve bends smoothly. (A live Jupyter session shows a
slider; a static page shows a row of values.)
""")
code(r"""
grid = np.linspace(0.0, 0.5e-9, 60)

def plot_fi(sigma_mV, ax):
    if sigma_mV == 0:
        ax.plot(grid * 1e9, lif_rate_hz(grid, params), "k-")
    else:
        ax.plot(grid * 1e9, siegert_rate(grid, params.replace(sigma=sigma_mV * 1e-3)), "C0-")
        ax.plot(grid * 1e9, lif_rate_hz(grid, params), "k:", lw=1)
    ax.axvline(params.v_threshold / params.R * 1e9, color="grey", lw=0.5)
    ax.set(xlabel="mean current (nA)", ylabel="rate (Hz)")

slider(plot_fi, [0.0, 1.0, 2.0, 4.0, 8.0], "sigma", label=lambda v: f"sigma = {v:g} mV",
       description="sigma (mV)");
""")
md(r"""
### Think!

The layer pairs of notebook 03 learn with a rule whose size is proportional to the *slope* of the f-I
curve, $d\rho/dI$ (the chain rule through the neuron). What is that slope just below and just above the
threshold for $\sigma = 0$, and what does it become with noise? Why do the rate twins in this project use
the noisy (Siegert) curve?

<details>
<summary>Discussion</summary>

Without noise the slope is exactly 0 below threshold: a neuron that is silent for an input gets no
learning signal, whatever the error (a "dead unit"). Just above threshold the rate rises from 0 with an
infinite slope (the interval $\tau_m \ln\frac{RI-V_r}{RI-\theta}$ diverges logarithmically), so a tiny
change of input makes a large, unreliable step. Noise replaces both by a smooth, finite, everywhere
positive slope: subthreshold inputs still move the rate, and the gradient is well behaved. The spiking
network in this project has that noise (`sigma = 4 mV`), so its rate twin must use the Siegert curve to
predict what the spikes do; the noise-free curve would be wrong exactly where learning starts.
</details>
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
md(r"""
### Exercise 2: the window

Write `stdp_window(s, A_plus, A_minus, tau_plus, tau_minus)` for an array of $s = t_{post} - t_{pre}$
(seconds). Simultaneous spikes ($s = 0$) count as causal: $K(0) = +A_+$ (Brian2 processes the pre
spike first). `np.where` picks a branch per element.
""")
exercise("stdp_window", r'''
def stdp_window(s, A_plus, A_minus, tau_plus, tau_minus):
    """Pair-STDP window K(s), s = t_post - t_pre (s, an array)."""
    #################################################################
    # Fill in both branches, then remove this line:
    raise NotImplementedError("Exercise 2: the STDP window")
    #################################################################
    s = np.asarray(s, dtype=float)
    return np.where(s >= 0, ..., ...)
''')
code(r"""
check_stdp_window(stdp_window)
""")
md(r"""
### Exercise 3: the integrals of the window

Write `window_integrals(A_plus, A_minus, tau_plus, tau_minus)` returning the pair
$(\int K\,ds,\ \int sK\,ds)$ in closed form. Hint: $\int_0^\infty e^{-s/\tau}ds = \tau$ and
$\int_0^\infty s\,e^{-s/\tau}ds = \tau^2$; mind the signs on the negative side. The next cell checks
your closed forms against a numerical integral of *your* window, too.
""")
exercise("window_integrals", r'''
def window_integrals(A_plus, A_minus, tau_plus, tau_minus):
    """(int K(s) ds, int s K(s) ds) of the pair-STDP window, in closed form."""
    #################################################################
    # Fill in both integrals, then remove this line:
    raise NotImplementedError("Exercise 3: the window integrals")
    #################################################################
    int_K = ...
    int_sK = ...
    return int_K, int_sK
''')
code(r"""
check_window_integrals(window_integrals)
""")
code(r"""
rule = PairSTDP.balanced(A_plus=0.01, tau_plus=16.8e-3, tau_minus=33.7e-3, w_max=1.0)  # Bi & Poo time constants
print(rule)
int_K, int_sK = window_integrals(rule.A_plus, rule.A_minus, rule.tau_plus, rule.tau_minus)   # yours
print(f"int K = {int_K:.2e}   int sK = {int_sK:.3e} s^2")
# your closed forms against a numerical integral of your window: a Riemann sum, 1 us steps, 1 s each
# side (the tails beyond are e^-30 small; the jump at s = 0 costs about A_+ * 1 us)
s_num, ds = np.linspace(-1.0, 1.0, 2_000_001, retstep=True)
k_num = stdp_window(s_num, rule.A_plus, rule.A_minus, rule.tau_plus, rule.tau_minus)
num_K, num_sK = np.sum(k_num) * ds, np.sum(s_num * k_num) * ds
print(f"numerically: int K = {num_K:.2e}   int sK = {num_sK:.3e} s^2")
assert abs(num_K - int_K) < 1e-3 * rule.A_plus * rule.tau_plus and np.isclose(num_sK, int_sK, rtol=1e-4)
# balanced: A_- tau_- = A_+ tau_+, so int K vanishes and int sK = A_+ tau_+ (tau_+ + tau_-)
assert abs(rule.integral_K()) <= 1e-12 * rule.A_plus * rule.tau_plus
assert np.isclose(rule.integral_sK(), rule.A_plus * rule.tau_plus * (rule.tau_plus + rule.tau_minus), rtol=1e-12)

measured = pair_window(rule, dt_max=0.1, dt_step=(5e-3 if REDUCED else 1e-3), target="cython")
fig, ax = plt.subplots(figsize=(5, 3.5))
s = np.linspace(-0.1, 0.1, 801)
ax.plot(s * 1e3, stdp_window(s, rule.A_plus, rule.A_minus, rule.tau_plus, rule.tau_minus), "k-",
        label="closed form K(s) (yours)")
ax.plot(measured["dt"] * 1e3, measured["dw"], "o", ms=3, label="Brian2, one pair per synapse")
ax.axhline(0, color="grey", lw=0.5); ax.axvline(0, color="grey", lw=0.5)
ax.set(xlabel="t_post - t_pre (ms)", ylabel="Δw"); ax.legend(); plt.show()
err = np.max(np.abs(measured["dw"] - measured["expected"]) / np.abs(measured["expected"]))
print("max relative deviation from the closed form:", err)
assert err < 1e-6
""")
md(r"""
### Interactive: the window against $\tau_-$

The window stays balanced ($A_- = A_+\tau_+/\tau_-$, so $\int K = 0$) while you move $\tau_-$
($\tau_+ = 16.8$ ms). A longer depression tail is shallower; the panel titles give $\int sK$, the
learning rate of the rate rule that the window implements (notebook 02).
""")
code(r"""
s_ms = np.linspace(-100, 100, 801)

def plot_window(tau_minus_ms, ax):
    tp, tm = 16.8e-3, tau_minus_ms * 1e-3
    A_plus, A_minus = 0.01, 0.01 * tp / tm
    ax.plot(s_ms, stdp_window(s_ms * 1e-3, A_plus, A_minus, tp, tm), "k-")
    ax.axhline(0, color="grey", lw=0.5); ax.axvline(0, color="grey", lw=0.5)
    ax.set(xlabel="t_post - t_pre (ms)", ylabel="K(s)")

def window_label(tau_minus_ms):
    _, sK = window_integrals(0.01, 0.01 * 16.8 / tau_minus_ms, 16.8e-3, tau_minus_ms * 1e-3)
    return f"tau- = {tau_minus_ms:g} ms\nint sK = {sK * 1e6:.1f}e-6 s^2"

slider(plot_window, [10.0, 20.0, 33.7, 60.0], "tau_minus", label=window_label, description="tau- (ms)");
""")
md(r"""
## Where next

* `spiking-bpdl stdp-window --rule pair --out results/window` does section 3 from the command line.
* Notebook **02** shows that STDP with a balanced window *is* the rate gradient rule
  $\Delta W \propto \rho_{pre}\, d\rho_{post}/dt$, and reproduces the emergent STDP window of
  Bengio et al. (2015) from $\Delta W \propto S_{pre}\, dV_{post}/dt$.
* Try: change `tau_m` and watch the f-I curve; make the window unbalanced and compute $\int K$.
""")

# ids by position: regenerating an unchanged script then gives an unchanged file (nbformat draws random ones)
for i, cell in enumerate(cells):
    cell.id = f"cell-{i:02d}"
nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"}})
nbf.write(nb, "notebooks/01_lif_and_stdp.ipynb")
