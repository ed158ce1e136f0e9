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

On ``cython`` the same generator is Cython code whose 64-bit state lives in one numpy
array shared by every code object; :func:`reseed_runtime` sets it from numpy's global
generator (which ``brian2.seed`` seeds), so a seeded run repeats bit for bit. Brian2's own
Cython ``randn()`` costs about 50 ns a call (a buffered numpy draw behind a pointer
indirection); with 1,040 noisy neurons at dt = 0.1 ms that was 15 % of a layer pair's step.
On ``numpy`` both fall back to numpy's generator.
"""

import numpy as np

__all__ = ["fast_rand", "fast_randn", "membrane_noise", "reseed_runtime"]

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


_CY_NEXT = """
cdef extern from *:
    int __builtin_popcountll(unsigned long long) nogil

cdef inline unsigned long long _spbpdl_next64(int _idx):
    cdef unsigned long long z
    _namespace_spbpdl_state[0] += 0x9E3779B97F4A7C15ULL
    z = _namespace_spbpdl_state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)
"""

_CY_RAND = """
cdef inline double _fast_rand(int _idx):
    return (_spbpdl_next64(_idx) >> 11) * (1.0 / 9007199254740992.0)
"""

_CY_RANDN = """
cdef inline double _fast_randn(int _idx):
    return (__builtin_popcountll(_spbpdl_next64(_idx)) - 32) * 0.25
"""

#: The Cython generator's state (one stream shared by all code objects of the process).
_RUNTIME_STATE = np.array([0x632BE59BD9B4E019], dtype=np.uint64)


def reseed_runtime():
    """Set the Cython generator's state from numpy's global generator (seeded by ``brian2.seed``)."""
    _RUNTIME_STATE[0] = np.uint64(np.random.randint(1, 2**62, dtype=np.int64))


def _next64():
    from brian2 import Function
    from brian2.codegen.generators.cython_generator import CythonCodeGenerator

    if "next64" not in _cache:
        f = Function(lambda _idx: None, arg_units=[], return_unit=1, stateless=False)
        f.implementations.add_implementation(CythonCodeGenerator, code=_CY_NEXT, name="_spbpdl_next64",
                                             namespace={"_spbpdl_state": _RUNTIME_STATE})
        _cache["next64"] = f
    return _cache["next64"]


def _make(name, code, fallback):
    from brian2 import DEFAULT_FUNCTIONS, Function
    from brian2.codegen.runtime.numpy_rt import NumpyCodeObject
    from brian2.devices.cpp_standalone import CPPStandaloneCodeObject

    def pyfunc(_vectorisation_idx):
        n = _vectorisation_idx if np.isscalar(_vectorisation_idx) else len(_vectorisation_idx)
        return np.random.rand(n) if fallback == "rand" else np.random.randn(n)

    func = Function(pyfunc, arg_units=[], return_unit=1, stateless=False, auto_vectorise=True)
    base = DEFAULT_FUNCTIONS[fallback].implementations
    func.implementations.add_implementation(CPPStandaloneCodeObject, code=code, name=f"_{name}")
    from brian2.codegen.generators.cython_generator import CythonCodeGenerator

    func.implementations.add_implementation(CythonCodeGenerator, code=_CY_RAND if fallback == "rand" else _CY_RANDN,
                                            name=f"_{name}", dependencies={"_spbpdl_next64": _next64()})
    # numpy: numpy's generator (the container has no public setter)
    func.implementations._implementations[NumpyCodeObject] = base[NumpyCodeObject]
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
    """LIF membrane noise driven by :func:`fast_randn`, for the ``euler`` method.

    The white-noise term ``sigma*sqrt(2/tau_m)*xi`` is written as ``noise_scale*fast_randn()``
    with ``noise_scale = sigma*sqrt(2/(tau_m dt))``: the Euler method evaluates the right-hand
    side once per step, so each call is one Euler-Maruyama increment
    ``sigma*sqrt(2 dt/tau_m)*N(0, 1)`` (Brian2 accepts a stateful function there and does not
    hoist it out of the loop). Use only with ``method="euler"``.

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
    """
    from brian2 import second, volt

    scale = params.sigma * np.sqrt(2.0 / (params.tau_m * dt)) * volt / second
    return {"fast_randn": fast_randn(), "noise_scale": scale}, "noise_scale*fast_randn()"
