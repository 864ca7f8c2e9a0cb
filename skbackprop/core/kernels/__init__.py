"""Optional compiled kernels (numba): when to load them, and the optimizer updates.

The optimizers' whole-array updates are memory-bound: NumPy's Adam makes ten
passes over the parameter vector, each a separate loop on one core. When
`numba <https://numba.pydata.org>`_ is installed (``pip install
"skbackprop[fast]"``), the updates of large networks run instead as one fused,
vectorised pass. Every kernel performs the same floating-point operations
in the same order as the NumPy code it replaces (no fused multiply-add, no
reassociation), so its results are bit-for-bit the NumPy results; the tests
check this.

The update kernels are used only for parameter vectors of at least
:data:`MIN_PARAMS` entries (below that the NumPy passes are already cheap and
a compiled call would only add its start-up cost), and never when the
environment variable ``SKBACKPROP_ACCELERATOR`` is ``0``. Without numba
nothing changes: the package and its tests are pure NumPy.

When numba is loaded
--------------------
Importing numba and loading a kernel from numba's disk cache costs about
:data:`LOAD_SECONDS`, more than a whole small fit, and compiling with an
empty cache about :data:`COMPILE_SECONDS`. So a process starts on the NumPy
path and loads numba only once the work it has done, or the run about to
start, makes the load pay (:func:`plan`). The decision reads the work (an
estimate of the NumPy path's seconds from the shapes and the number of
steps, :func:`estimated_seconds`, never a clock) and what the process has
already loaded, so a script takes the same paths, and gives the same
results, every time it runs:

- kernels already loaded in this process (by an earlier run, by
  :func:`warm_up`, or by ``python -m skbackprop.precompile``): compiled;
- numba's cache known to be filled (the mark that
  ``python -m skbackprop.precompile`` leaves, looked at once per process):
  load when the run ahead is estimated at :data:`LOAD_SECONDS` x
  :data:`LOAD_FOR_RUN` or more on the NumPy path, or when the runs before it
  in this process have spent :data:`LOAD_AFTER` seconds of work that could
  have run compiled (the rule of renting skis until the rent paid equals
  the price: in estimated time a process pays at most about twice what the
  best choice in hindsight would have cost, and a script of a few small fits
  never pays the load);
- cache empty: compile (a blocking compile, several seconds) only for a run
  estimated at :data:`COMPILE_SECONDS` or more, or once the process has spent
  twice that on work that could have run compiled. A small fit never waits
  for a compile: where a filled cache would have been loaded, a separate
  background process (``python -m skbackprop.precompile
  --background``, at low priority, not waited for at exit; switched off by
  ``SKBACKPROP_BACKGROUND_COMPILE=0``) fills the cache for the processes
  that come after.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys

import numpy as np

#: Smallest parameter vector for which the compiled kernels are used.
MIN_PARAMS = 100_000

#: numba is installed and not disabled. It is imported only when a network
#: large enough first needs it, so small models never pay for the import.
ENABLED = (
    os.environ.get("SKBACKPROP_ACCELERATOR", "1") != "0"
    and importlib.util.find_spec("numba") is not None
)

#: Seconds to import numba and load a kernel from its disk cache (measured on a
#: 2-core machine, 2026-12-07: 0.25-0.28 s for ``import numba``, 0.15-0.2 s for
#: the epoch kernel of one dtype).
LOAD_SECONDS = 0.45

#: Seconds to compile the kernels with an empty cache (6 to 10 s measured).
COMPILE_SECONDS = 10.0

#: Load for a run estimated at this many times :data:`LOAD_SECONDS` on the
#: NumPy path: the compiled epoch saves about half of it, so the load pays
#: within the run.
LOAD_FOR_RUN = 3.0

#: Load once the process has spent this many estimated seconds on work that
#: could have run compiled (about :data:`LOAD_SECONDS`: the skis are bought
#: when the rent paid reaches their price).
LOAD_AFTER = 0.75 * LOAD_SECONDS

# What an estimated step and epoch of the NumPy path cost (calibrated on the
# same machine; the decision only compares estimates with each other and
# with the constants above).
_EPOCH_SECONDS = 50e-6  # the end-of-epoch path
_LAYER_STEP_SECONDS = 60e-6  # Python and small-array work per layer and step
_MULTIPLY_ADD_SECONDS = 4e-11  # one multiply-add of the step's products

_kernels: dict = {}


class _Loading:
    """The process's state of the decision: what is loaded, what was spent, the cache's mark."""

    def __init__(self) -> None:
        self.loaded = False  # numba imported and the kernels usable in this process
        self.spent = 0.0  # estimated NumPy seconds of work that could have run compiled
        self.cache_filled: bool | None = None  # read once per process
        self.background_started = False


_STATE = _Loading()


def available() -> bool:
    """Whether the compiled kernels can be used (numba installed, not disabled)."""
    return ENABLED


def loaded() -> bool:
    """Whether this process has loaded the compiled kernels (see :func:`plan`)."""
    return ENABLED and _STATE.loaded


def estimated_seconds(layer_units, rows: int, steps: int, epochs: int = 1) -> float:
    """The NumPy path's time for ``epochs`` epochs of ``steps`` steps over ``rows`` rows, estimated.

    A deterministic estimate from the shapes (never a clock): the decision of
    :func:`plan` must come out the same in every run of a script.
    """
    multiply_adds = 3 * rows * sum(a * b for a, b in zip(layer_units[:-1], layer_units[1:], strict=True))
    step = _LAYER_STEP_SECONDS * (len(layer_units) - 1) + _MULTIPLY_ADD_SECONDS * multiply_adds
    return epochs * (_EPOCH_SECONDS + steps * step)


def plan(run_seconds: float) -> bool:
    """Whether a run of ``run_seconds`` (estimated, NumPy path) that could run compiled does.

    Loads numba and the kernels when the rules of this module's docstring
    say so (compiling them where the cache is empty and the rules allow it),
    and returns whether they are loaded. A run that goes on without them
    reports its epochs with :func:`spend`.
    """
    state = _STATE
    if not ENABLED:
        return False
    if state.loaded:
        return True
    if run_seconds < LOAD_FOR_RUN * LOAD_SECONDS and state.spent < LOAD_AFTER:
        return False  # too little work whatever the cache holds: not even a look at it
    if state.cache_filled is None:
        state.cache_filled = _cache_filled()
    if state.cache_filled:
        load = True
    else:
        load = run_seconds >= COMPILE_SECONDS or state.spent >= 2 * COMPILE_SECONDS
        if not load:
            _start_background_compile()
    if load:
        _load()
    return state.loaded


def spend(seconds: float) -> None:
    """Count ``seconds`` (estimated) of work that ran on the NumPy path but could have run compiled."""
    _STATE.spent += seconds


def _load() -> None:
    """Import numba and the update kernels (the epoch kernel is loaded by its user)."""
    _compile()
    _STATE.loaded = True


def _cache_filled() -> bool:
    from .source import cache_mark

    try:
        return cache_mark().exists()
    except OSError:
        return False


def _start_background_compile() -> None:
    """Fill numba's cache in a separate low-priority process, once per process (see above)."""
    state = _STATE
    if state.background_started or os.environ.get("SKBACKPROP_BACKGROUND_COMPILE", "1") == "0":
        return
    state.background_started = True
    if not sys.executable:
        return
    try:  # not waited for: the interpreter's exit does not wait for it either
        subprocess.Popen(
            [sys.executable, "-m", "skbackprop.precompile", "--background"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True,
        )
    except OSError:  # no process may be started here: the cache fills when a big run compiles
        pass


@contextlib.contextmanager
def disabled():
    """Within the block the NumPy path runs, even where the kernels would be used."""
    global ENABLED
    saved, ENABLED = ENABLED, False
    try:
        yield
    finally:
        ENABLED = saved


def suits(array) -> bool:
    """Whether the update of ``array`` (a flat parameter vector) can run compiled."""
    return (
        ENABLED
        and isinstance(array, np.ndarray)
        and array.shape[0] >= MIN_PARAMS
        and array.dtype in (np.float32, np.float64)
        and array.flags.c_contiguous
    )


def use_for(array: np.ndarray) -> bool:
    """Whether to run the update of ``array`` compiled: it suits, and the kernels are loaded."""
    return _STATE.loaded and suits(array)


def fused_layers(like):
    """The fused passes of hidden ReLU layers (``layers.py``) for arrays like ``like``, or None.

    A module whose kernels take the layer's values and the dtype's ``zero``
    and ``one`` (see :func:`unit_scalars`), where the kernels are loaded (and not
    disabled) and ``like`` is a NumPy array of float32 or float64; None
    otherwise: the NumPy passes. Unlike the updates, the layer kernels pay at
    every size (one call replaces two or three NumPy calls), so no size
    threshold applies; they run wherever numba is loaded anyway.
    """
    if not (ENABLED and _STATE.loaded and isinstance(like, np.ndarray)):
        return None
    if like.dtype not in _UNITS:
        return None
    layers = _kernels.get("layers")
    if layers is None:
        from . import layers

        _kernels["layers"] = layers
    return layers


#: ``(zero, one)`` in each dtype the layer kernels take.
_UNITS = {np.dtype(t): (t(0), t(1)) for t in (np.float32, np.float64)}


def unit_scalars(dtype) -> tuple:
    """``(zero, one)`` of ``dtype`` (float32 or float64), as the layer kernels take them."""
    return _UNITS[dtype]


def jit(func):
    """Compile ``func`` with numba, cached on disk where a cache directory is writable.

    One thread (``nogil``, no parallel region): the updates are bound by
    memory traffic, which one fused pass cuts by a factor of three, and the
    epoch kernel's products call BLAS, which has its own threads; a parallel
    region would compete with them. ``error_model='numpy'``: a division by
    zero gives inf or NaN as in NumPy, without a check that stops
    vectorisation. Every kernel of this package is compiled through here.
    """
    import numba

    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy")(func)
    except RuntimeError:  # numba found no writable cache directory: compile in memory
        return numba.njit(cache=False, nogil=True, error_model="numpy")(func)


def _compile() -> dict:
    """Compile the kernels on first use (numba caches them on disk when it can)."""
    if not _kernels:
        from . import updates

        _kernels.update(adam=updates.adam, momentum=updates.momentum, axpy=updates.axpy)
    return _kernels


def adam_step(params, grads, M, V, b1, b2, eps, scale) -> None:
    """One Adam update in one pass; the scalars follow ``params.dtype``."""
    t = params.dtype.type
    _compile()["adam"](params, grads, M, V, t(b1), t(b2), t(eps), t(scale))


def momentum_step(params, grads, velocity, mu, learning_rate, nesterov) -> None:
    """One momentum (or Nesterov) SGD update in one pass."""
    t = params.dtype.type
    _compile()["momentum"](params, grads, velocity, t(mu), t(-learning_rate), bool(nesterov))


def add_scaled(dst: np.ndarray, src: np.ndarray, scale: float) -> None:
    """``dst += src * scale`` over flat contiguous arrays of one dtype."""
    _compile()["axpy"](dst, src, dst.dtype.type(scale))


def warm_up() -> None:
    """Compile (or load from numba's disk cache) every update kernel for both dtypes.

    The plain updates, those that add the L2 penalty's gradient
    (``decayed.py``) and the fused passes of hidden ReLU layers (``layers.py``).

    The kernels count as loaded afterwards (:func:`loaded`): later runs of the
    process use them without waiting for :func:`plan`'s rules. Benchmarks call
    it before timing.
    """
    if not ENABLED:
        return
    _load()
    from . import decayed  # the updates that add the L2 penalty's gradient themselves

    for dtype in (np.float32, np.float64):
        a, b, c, d = (np.zeros(4, dtype=dtype) for _ in range(4))
        adam_step(a, b, c, d, 0.9, 0.999, 1.0, -1e-3)
        momentum_step(a, b, c, 0.9, 1e-3, True)
        add_scaled(a, b, 1e-4)
        decayed.adam_step(a, b, c, d, 0.9, 0.999, 1.0, -1e-3, 2, 1e-4)
        decayed.momentum_step(a, b, c, 0.9, 1e-3, True, 2, 1e-4)
        layers = fused_layers(a)
        zero, one = unit_scalars(a.dtype)
        Z, D = a.reshape(2, 2), b.reshape(2, 2)
        layers.bias_relu(Z, a[:2], zero)
        layers.relu_delta_sums(D, Z, c[:2], zero, one)
