"""Cheap random numbers for ``cpp_standalone`` simulations of large LIF populations.

Brian2's standalone ``rand()`` costs two Mersenne-twister draws and ``randn()`` a polar
Box-Muller step; with membrane noise and Poisson inputs at dt = 0.1 ms they were over half
of a layer pair's simulation time. These functions use splitmix64 (one add, two multiplies
and three shifts per 64 random bits), one stream per code object (and OpenMP thread),
seeded from Brian2's own generator on first use, so ``brian2.seed`` still fixes them.

* ``fast_rand()``: uniform on [0, 1) with 53 random bits, like ``rand()``.
* ``fast_randn()``: ``(popcount(u) - 32) / 4`` for 64 random bits ``u``: a normalised
  Binomial(64, 1/2) variable. Mean 0 and variance 1 exactly, skewness 0, excess kurtosis
  -1/32, values on a grid of 1/4 within +-8. As the increment of an Euler-Maruyama step it
  gives the same diffusion limit as a Gaussian (weak order 1 needs only the first moments;
  Kloeden & Platen 1992, section 14.1); the membrane sums hundreds of increments per time
  constant. ``tests/test_fast_random.py`` checks the moments and a noisy LIF's rate.

On the runtime targets (numpy, cython) both fall back to Brian2's ``rand``/``randn``.
"""

import numpy as np

__all__ = ["fast_rand", "fast_randn", "membrane_noise", "redraw_noise"]

_STATE = r"""
#ifndef SPIKING_BPDL_SPLITMIX_STATE
#define SPIKING_BPDL_SPLITMIX_STATE
#include <cstdint>
#ifdef _OPENMP
#include <omp.h>
#endif
namespace {
    static thread_local uint64_t _spiking_bpdl_sm_state = 0;
    inline uint64_t _spiking_bpdl_next64() {
        if (_spiking_bpdl_sm_state == 0) {
#ifdef _OPENMP
            const int _thread = omp_get_thread_num();
#else
            const int _thread = 0;
#endif
            _spiking_bpdl_sm_state = (uint64_t)(brian::_random_generators[_thread].rand() * 9007199254740992.0)
                                     * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
        }
        uint64_t z = (_spiking_bpdl_sm_state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
}
#endif
"""

_RAND = _STATE + r"""
inline double _fast_rand(const int _vectorisation_idx) {
    return (_spiking_bpdl_next64() >> 11) * (1.0 / 9007199254740992.0);
}
"""

_RANDN = _STATE + r"""
inline double _fast_randn(const int _vectorisation_idx) {
    return (__builtin_popcountll(_spiking_bpdl_next64()) - 32) * 0.25;
}
"""


def _make(name, code, fallback):
    from brian2 import DEFAULT_FUNCTIONS, Function
    from brian2.codegen.runtime.cython_rt import CythonCodeObject
    from brian2.codegen.runtime.numpy_rt import NumpyCodeObject
    from brian2.devices.cpp_standalone import CPPStandaloneCodeObject

    def pyfunc(_vectorisation_idx):
        n = _vectorisation_idx if np.isscalar(_vectorisation_idx) else len(_vectorisation_idx)
        return np.random.rand(n) if fallback == "rand" else np.random.randn(n)

    func = Function(pyfunc, arg_units=[], return_unit=1, stateless=False, auto_vectorise=True)
    base = DEFAULT_FUNCTIONS[fallback].implementations
    func.implementations.add_implementation(CPPStandaloneCodeObject, code=code, name=f"_{name}")
    # runtime targets: Brian2's own generator
    # runtime targets: reuse Brian2's own implementations (the container has no public setter)
    for target in (CythonCodeObject, NumpyCodeObject):
        func.implementations._implementations[target] = base[target]
    return func


_cache = {}


def fast_rand():
    """The Brian2 function ``fast_rand()`` (see the module docstring)."""
    if "rand" not in _cache:
        _cache["rand"] = _make("fast_rand", _RAND, "rand")
    return _cache["rand"]


def fast_randn():
    """The Brian2 function ``fast_randn()`` (see the module docstring)."""
    if "randn" not in _cache:
        _cache["randn"] = _make("fast_randn", _RANDN, "randn")
    return _cache["randn"]


def membrane_noise(params, dt):
    """LIF membrane noise driven by :func:`fast_randn` (Euler-Maruyama with held increments).

    The increment ``sigma*sqrt(2 dt/tau_m)*eta`` of ``sigma*sqrt(2/tau_m)*xi`` is written as the
    rate ``noise_scale*eta`` with ``noise_scale = sigma*sqrt(2/(tau_m dt))``, and ``eta`` is a
    per-neuron variable that :func:`redraw_noise` redraws before every state update.

    Parameters
    ----------
    params : spiking_bpdl.neurons.LIFParams
    dt : float
        The simulation time step (s).

    Returns
    -------
    namespace : dict
        ``fast_randn`` and ``noise_scale`` for the group's namespace.
    noise_term : str
        For :func:`spiking_bpdl.neurons.lif_equations` (``noise_term=``).
    equations : str
        The declaration of ``eta`` to add to the group's equations.
    """
    from brian2 import second, volt

    scale = params.sigma * np.sqrt(2.0 / (params.tau_m * dt)) * volt / second
    return {"fast_randn": fast_randn(), "noise_scale": scale}, "noise_scale*eta", "eta : 1\n"


def redraw_noise(group, name=None):
    """Redraw ``eta`` of ``group`` at every step, before the state update (see :func:`membrane_noise`)."""
    group.run_regularly("eta = fast_randn()", when="start", order=0, name=name)
