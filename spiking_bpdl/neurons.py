"""Leaky integrate-and-fire populations in Brian2 and their analytic rate twins.

Current-based LIF (membrane potential ``v`` measured from rest)::

    tau_m dv/dt = -v + R (I_ext + I_syn) [+ sigma sqrt(2 tau_m) xi]

spike when ``v > v_threshold``, reset to ``v_reset``, refractory for ``t_ref``. ``sigma``
is the standard deviation of the free (threshold-less) membrane under the white noise.
Without noise the linear equation is integrated exactly; with noise Euler-Maruyama.

The rate twin for constant input is

    rho(I) = 1 / (t_ref + tau_m ln((R I - v_reset) / (R I - v_threshold)))   if R I > v_threshold

and the Siegert (first-passage) formula for white-noise input of mean ``mu = R I`` and
free-membrane standard deviation ``sigma``:

    1/rho = t_ref + tau_m sqrt(pi) * integral_{(v_reset-mu)/s}^{(v_threshold-mu)/s} e^{u^2}(1+erf u) du,
    s = sqrt(2) sigma.

``ConductanceLIFParams`` is the conductance-based variant (excitatory and inhibitory
conductances with exponential decay and reversal potentials).

References
----------
Brunel, N. (2000). J. Comput. Neurosci. 8, 183-208 (Siegert formula, notation).
Gerstner, Kistler, Naud & Paninski (2014). Neuronal Dynamics, ch. 1 and 8.
"""

from dataclasses import dataclass, field, replace

import numpy as np
from scipy import integrate, special

from .errors import ConfigError

__all__ = [
    "LIFParams",
    "ConductanceLIFParams",
    "lif_equations",
    "conductance_lif_equations",
    "make_lif_group",
    "lif_rate",
    "lif_rate_derivative",
    "siegert_rate",
]


def _u():
    import brian2 as b2  # local: keep ``import spiking_bpdl.neurons`` light for the rate backend

    return b2


@dataclass(frozen=True)
class LIFParams:
    """Parameters of a current-based LIF neuron, in SI units (seconds, volts, ohms).

    Attributes are plain floats in SI units so that the same object serves the Brian2
    backend (see :meth:`namespace`) and the numpy rate backend.

    ==============  =========  =========  ================================================
    attribute       unit       default    meaning
    ==============  =========  =========  ================================================
    tau_m           s          20 ms      membrane time constant
    v_threshold     V          20 mV      spike threshold (relative to rest)
    v_reset         V          0 mV       reset potential (relative to rest)
    t_ref           s          2 ms       absolute refractory period
    R               Ohm        100 MOhm   membrane resistance
    sigma           V          0 mV       free-membrane std of white-noise input
    tau_syn         s          0 (delta)  synaptic current time constant; 0 = jumps in v
    ==============  =========  =========  ================================================
    """

    tau_m: float = 20e-3
    v_threshold: float = 20e-3
    v_reset: float = 0.0
    t_ref: float = 2e-3
    R: float = 100e6
    sigma: float = 0.0
    tau_syn: float = 0.0

    def __post_init__(self):
        for name in ("tau_m", "R"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"LIF parameter {name} must be > 0, got {getattr(self, name)}")
        for name in ("t_ref", "sigma", "tau_syn"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"LIF parameter {name} must be >= 0, got {getattr(self, name)}")
        if not self.v_threshold > self.v_reset:
            raise ConfigError(f"v_threshold ({self.v_threshold}) must be above v_reset ({self.v_reset})")

    def replace(self, **changes):
        """Copy with some parameters changed (validated again)."""
        return replace(self, **changes)

    def namespace(self):
        """Brian2 namespace with united quantities for the equations of :func:`lif_equations`."""
        b2 = _u()
        return {
            "tau_m": self.tau_m * b2.second,
            "v_threshold": self.v_threshold * b2.volt,
            "v_reset": self.v_reset * b2.volt,
            "t_ref": self.t_ref * b2.second,
            "R": self.R * b2.ohm,
            "sigma": self.sigma * b2.volt,
            "tau_syn": max(self.tau_syn, 1e-12) * b2.second,
        }


@dataclass(frozen=True)
class ConductanceLIFParams:
    """Conductance-based LIF: ``C dv/dt = g_L(E_L-v) + g_e(E_e-v) + g_i(E_i-v) + I_ext``.

    SI units throughout; ``g_e``/``g_i`` decay with ``tau_e``/``tau_i`` and synapses add
    to them (siemens). Here ``v`` is the absolute potential, unlike :class:`LIFParams`.
    """

    C: float = 200e-12
    g_L: float = 10e-9
    E_L: float = -70e-3
    E_e: float = 0.0
    E_i: float = -80e-3
    v_threshold: float = -50e-3
    v_reset: float = -70e-3
    t_ref: float = 2e-3
    tau_e: float = 5e-3
    tau_i: float = 10e-3

    def __post_init__(self):
        for name in ("C", "g_L", "tau_e", "tau_i"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"conductance LIF parameter {name} must be > 0, got {getattr(self, name)}")
        if not self.t_ref >= 0:
            raise ConfigError(f"t_ref must be >= 0, got {self.t_ref}")
        if not self.v_threshold > self.v_reset:
            raise ConfigError("v_threshold must be above v_reset")

    def namespace(self):
        b2 = _u()
        ns = {k: getattr(self, k) for k in ("E_L", "E_e", "E_i", "v_threshold", "v_reset")}
        ns = {k: v * b2.volt for k, v in ns.items()}
        ns.update(C=self.C * b2.farad, g_L=self.g_L * b2.siemens, t_ref=self.t_ref * b2.second,
                  tau_e=self.tau_e * b2.second, tau_i=self.tau_i * b2.second)
        return ns


def lif_equations(params=None, input_current="I_ext", noise=None, noise_term=None):
    """Brian2 equations of a current-based LIF population.

    Parameters
    ----------
    params : LIFParams, optional
    input_current : str
        Expression (in amperes) added to the synaptic current; the default declares a
        per-neuron parameter ``I_ext``. Pass e.g. ``'stimulus(t, i)'`` for a TimedArray.
    noise : bool, optional
        Add the white-noise term (default: ``params.sigma > 0``).
    noise_term : str, optional
        Use this expression (volt/second) as the noise term instead of
        ``sigma*sqrt(2/tau_m)*xi``, e.g. a per-neuron variable refreshed every step.

    Returns
    -------
    brian2.Equations
    """
    b2 = _u()
    params = params or LIFParams()
    noise = params.sigma > 0 if noise is None else noise
    if noise_term is not None:
        noise_term = f" + {noise_term}"
    else:
        noise_term = " + sigma*sqrt(2/tau_m)*xi" if noise else ""
    eqs = f"dv/dt = (-v + R*(I_in + I_syn))/tau_m{noise_term} : volt (unless refractory)\n"
    eqs += f"I_in = {input_current} : amp\n"
    if input_current == "I_ext":
        eqs = eqs.replace("I_in = I_ext : amp\n", "I_in = I_ext : amp\nI_ext : amp\n")
    if params.tau_syn > 0:
        eqs += "dI_syn/dt = -I_syn/tau_syn : amp\n"
    else:
        eqs += "I_syn : amp\n"  # stays 0: delta synapses add to v directly (on_pre='v += w')
    return b2.Equations(eqs)


def conductance_lif_equations(input_current="I_ext"):
    """Brian2 equations of the conductance-based LIF (see :class:`ConductanceLIFParams`)."""
    b2 = _u()
    eqs = (
        "dv/dt = (g_L*(E_L - v) + g_e*(E_e - v) + g_i*(E_i - v) + I_in)/C : volt (unless refractory)\n"
        "dg_e/dt = -g_e/tau_e : siemens\n"
        "dg_i/dt = -g_i/tau_i : siemens\n"
        f"I_in = {input_current} : amp\n"
    )
    if input_current == "I_ext":
        eqs += "I_ext : amp\n"
    return b2.Equations(eqs)


def make_lif_group(n, params=None, input_current="I_ext", name=None, method=None, namespace=None,
                   dt=None):
    """Create a Brian2 ``NeuronGroup`` of ``n`` LIF neurons.

    Parameters
    ----------
    n : int
        Number of neurons.
    params : LIFParams or ConductanceLIFParams, optional
    input_current : str
        See :func:`lif_equations`.
    name : str, optional
        Brian2 object name.
    method : str, optional
        Integration method; default ``'exact'`` without noise and ``'euler'`` with noise
        (current-based), ``'exponential_euler'`` for the conductance variant.
    namespace : dict, optional
        Extra names used in ``input_current`` (TimedArrays, constants).
    dt : brian2 Quantity, optional
        Clock step of this group (default: ``defaultclock.dt``).

    Returns
    -------
    brian2.NeuronGroup
        Starts at ``v = v_reset`` (current-based) or ``v = E_L`` (conductance-based).
    """
    b2 = _u()
    if int(n) != n or n <= 0:
        raise ConfigError(f"population size must be a positive integer, got {n}")
    params = params or LIFParams()
    ns = params.namespace()
    ns.update(namespace or {})
    if isinstance(params, ConductanceLIFParams):
        eqs = conductance_lif_equations(input_current)
        method = method or "exponential_euler"
        v0 = params.E_L * b2.volt
    else:
        eqs = lif_equations(params, input_current)
        method = method or ("euler" if params.sigma > 0 else "exact")
        v0 = params.v_reset * b2.volt
    kwargs = {"name": name} if name else {}
    if dt is not None:
        kwargs["dt"] = dt
    group = b2.NeuronGroup(int(n), eqs, threshold="v > v_threshold", reset="v = v_reset",
                           refractory="t_ref", method=method, namespace=ns, **kwargs)
    group.v = v0
    return group


def lif_rate(current, params=None):
    """Analytic firing rate (Hz) of a noise-free LIF neuron under constant current.

    Parameters
    ----------
    current : float or ndarray
        Input current in amperes (plain numbers, SI).
    params : LIFParams, optional

    Returns
    -------
    ndarray
        Rate in Hz; 0 where ``R I <= v_threshold``.
    """
    p = params or LIFParams()
    drive = np.asarray(current, dtype=np.float64) * p.R
    out = np.zeros_like(drive)
    above = drive > p.v_threshold
    d = drive[above]
    out[above] = 1.0 / (p.t_ref + p.tau_m * np.log((d - p.v_reset) / (d - p.v_threshold)))
    return out if out.ndim else float(out)


def lif_rate_derivative(current, params=None):
    """Derivative d rho / d I (Hz per ampere) of :func:`lif_rate`; 0 below threshold."""
    p = params or LIFParams()
    drive = np.asarray(current, dtype=np.float64) * p.R
    out = np.zeros_like(drive)
    above = drive > p.v_threshold
    d = drive[above]
    rho = 1.0 / (p.t_ref + p.tau_m * np.log((d - p.v_reset) / (d - p.v_threshold)))
    dlog = 1.0 / (d - p.v_reset) - 1.0 / (d - p.v_threshold)  # d/d(drive) of the log term
    out[above] = -(rho**2) * p.tau_m * dlog * p.R
    return out if out.ndim else float(out)


#: sqrt(2) |zeta(1/2)| / 2: boundary shift of a time-discretised integrate-and-fire neuron
_DISCRETE_SHIFT = np.sqrt(2.0) * 1.4603545088095868 / 2


def _siegert_one(mu, p, dt):
    s = np.sqrt(2.0) * p.sigma
    # Euler-Maruyama with step dt misses threshold crossings between steps; to first
    # order this moves threshold and reset up by s*|zeta(1/2)|/sqrt(2)*sqrt(dt/tau_m)
    # (Brunel, Chance, Fourcaud & Abbott 2001, PRL 86:2186).
    shift = s * _DISCRETE_SHIFT * np.sqrt(dt / p.tau_m) if dt else 0.0
    lo, hi = (p.v_reset + shift - mu) / s, (p.v_threshold + shift - mu) / s
    # e^{u^2}(1 + erf u) = erfcx(-u): stable for large |u|
    val, _ = integrate.quad(lambda u: special.erfcx(-u), lo, hi, limit=200)
    return 1.0 / (p.t_ref + p.tau_m * np.sqrt(np.pi) * val)


def siegert_rate(current, params, dt=0.0):
    """Firing rate (Hz) of a LIF neuron with white-noise input (Siegert formula).

    Parameters
    ----------
    current : float or ndarray
        Mean input current in amperes (the mean free membrane is ``R * current``).
    params : LIFParams
        ``params.sigma`` (> 0) is the free-membrane standard deviation.
    dt : float, optional
        Time step (s) of a simulation to compare with; applies the first-order
        correction for threshold crossings missed between Euler steps. 0 = continuous time.

    Returns
    -------
    ndarray
        Rate in Hz.
    """
    if not params.sigma > 0:
        return lif_rate(current, params)
    mu = np.asarray(current, dtype=np.float64) * params.R
    out = np.vectorize(lambda m: _siegert_one(m, params, dt))(mu)
    return out if np.ndim(out) else float(out)
