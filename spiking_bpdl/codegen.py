"""Code-generation targets for Brian2: a setting, never an assumption.

``numpy`` runs everywhere, ``cython`` compiles runtime code once and caches it in a
project cache directory, ``cpp_standalone`` writes and compiles a whole C++ project
(fastest for long runs; weights and data are fed with ``device.run(run_args=...)``).
"""

import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError

__all__ = [
    "TARGETS",
    "DEFAULT_TARGET",
    "cache_dir",
    "check_target",
    "configure_target",
    "use_target",
    "compiler_available",
    "seed_from_run_args",
    "build_standalone",
]

TARGETS = ("numpy", "cython", "cpp_standalone")
DEFAULT_TARGET = "cython"


def cache_dir():
    """Project cache directory (env ``SPIKING_BPDL_CACHE``, else ``~/.cache/spiking_bpdl``)."""
    root = os.environ.get("SPIKING_BPDL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "spiking_bpdl"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_target(target):
    """Return ``target`` if it names a known code-generation target, else raise ConfigError."""
    if target not in TARGETS:
        raise ConfigError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    return target


def compiler_available():
    """True when a C++ compiler is on PATH (needed by ``cython`` and ``cpp_standalone``)."""
    return shutil.which(os.environ.get("CXX", "g++")) is not None or shutil.which("c++") is not None


def runnable_target(target):
    """``target`` checked (:func:`check_target`), or ``'numpy'`` when it needs a C++ compiler and none is
    on PATH."""
    target = check_target(target)
    return target if target == "numpy" or compiler_available() else "numpy"


def configure_target(target=DEFAULT_TARGET):
    """Select a *runtime* target and point Brian2's Cython cache at the project cache.

    Parameters
    ----------
    target : {'numpy', 'cython'}
        Runtime code-generation target. Use :func:`use_target` for ``cpp_standalone``.
    """
    from brian2 import prefs, set_device

    check_target(target)
    if target == "cpp_standalone":
        raise ConfigError("cpp_standalone needs a build directory: use spiking_bpdl.codegen.use_target")
    set_device("runtime")
    prefs.codegen.target = target
    cython_dir = cache_dir() / f"cython-py{sys.version_info[0]}{sys.version_info[1]}"
    prefs.codegen.runtime.cython.cache_dir = str(cython_dir)
    prefs.codegen.runtime.cython.multiprocess_safe = True
    prefs.logging.console_log_level = "WARNING"


@contextmanager
def use_target(target=DEFAULT_TARGET, directory=None, threads=0):
    """Context manager that runs the enclosed Brian2 code on ``target``.

    For ``cpp_standalone`` the device is put into standalone mode with
    ``build_on_run=False``: build the network with ``Network(...)``, call ``net.run(T)``
    once, then ``device.build(directory=d, run=False)`` (pass the yielded directory:
    an explicit ``build`` otherwise writes to ``./output``) and
    ``device.run(run_args=...)`` as often as needed. On exit the device is reset to runtime mode, so later code is unaffected.

    Parameters
    ----------
    target : {'numpy', 'cython', 'cpp_standalone'}
    directory : str or Path, optional
        Standalone project directory; a temporary one is made (and removed) otherwise.
    threads : int, optional
        OpenMP threads of the standalone simulation (0: none, the default). With more than
        one thread the random streams, and so the spike trains, depend on the thread count.

    Yields
    ------
    str
        The standalone directory for ``cpp_standalone``, else ``None``.
    """
    from brian2 import device, prefs, set_device

    check_target(target)
    if target != "cpp_standalone":
        configure_target(target)
        yield None
        return
    configure_target("numpy")  # for the code Brian2 runs in Python before the build
    tmp = None
    if directory is None:
        tmp = tempfile.mkdtemp(prefix="spiking_bpdl_standalone_")
        directory = tmp
    prefs.devices.cpp_standalone.openmp_threads = int(threads)
    set_device("cpp_standalone", directory=str(directory), build_on_run=False)
    try:
        yield str(directory)
    finally:
        prefs.devices.cpp_standalone.openmp_threads = 0
        device.reinit()
        device.activate()
        set_device("runtime")
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def seed_from_run_args(group, variable="rng_seed"):
    """Seed Brian2's generators in ``main()`` from ``group.<variable>``, a run argument.

    Brian2's ``seed()`` writes its value into the generated ``main()`` as a constant, so a compiled
    ``cpp_standalone`` project could only repeat one seed. Call this after
    ``brian2.device.apply_run_args()``: the inserted statement reads the seed of the current run
    (``device.run(run_args={group.rng_seed: seed})``), and every random number of the run derives
    from it. Each OpenMP thread's generator gets ``seed + thread``, as ``brian2.seed`` does.

    Parameters
    ----------
    group : brian2.NeuronGroup
        A group with a shared integer variable (``rng_seed : integer (shared, constant)``).
    variable : str
        Its name.
    """
    import brian2 as b2

    threads = max(int(b2.prefs.devices.cpp_standalone.openmp_threads), 1)
    name = b2.device.get_array_name(group.variables[variable])
    b2.device.insert_code("main", f"for (int _i = 0; _i < {threads}; _i++)\n"
                                  f"    brian::_random_generators[_i].seed((unsigned long)brian::{name}[0] + _i);")


def build_standalone(directory):
    """Compile the current ``cpp_standalone`` project into ``directory`` without running it.

    Brian2 writes each run argument to ``static_arrays/init_*<md5 of the values>.dat`` and reuses an
    existing file of that name: one left truncated by a killed process would feed a resumed run wrong
    data. They are only inputs of earlier runs, so they are removed after every build.
    """
    import brian2 as b2

    b2.device.build(run=False, directory=directory)
    for stale in Path(directory, "static_arrays").glob("init_*.dat*"):
        stale.unlink(missing_ok=True)
