"""Optional compiled kernels for the optimizer updates (numba).

The optimizers' whole-array updates are memory-bound: NumPy's Adam makes ten
passes over the parameter vector, each a separate loop on one core. When
`numba <https://numba.pydata.org>`_ is installed (``pip install
"skbackprop[fast]"``), the updates of large networks run instead as one fused,
vectorised pass. Every kernel performs the same floating-point operations
in the same order as the NumPy code it replaces (no fused multiply-add, no
reassociation), so its results are bit-for-bit the NumPy results; the tests
check this.

The kernels are used only for parameter vectors of at least
:data:`MIN_PARAMS` entries (below that the NumPy passes are already cheap and
a compiled call would only add its start-up cost), and never when the
environment variable ``SKBACKPROP_ACCELERATOR`` is ``0``. Without numba
nothing changes: the package and its tests are pure NumPy.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os

import numpy as np

#: Smallest parameter vector for which the compiled kernels are used.
MIN_PARAMS = 100_000

#: numba is installed and not disabled. It is imported only when a network
#: large enough first needs it, so small models never pay for the import.
ENABLED = (
    os.environ.get("SKBACKPROP_ACCELERATOR", "1") != "0"
    and importlib.util.find_spec("numba") is not None
)

_kernels: dict = {}


def available() -> bool:
    """Whether the compiled kernels can be used (numba installed, not disabled)."""
    return ENABLED


@contextlib.contextmanager
def disabled():
    """Within the block the NumPy path runs, even where the kernels would be used."""
    global ENABLED
    saved, ENABLED = ENABLED, False
    try:
        yield
    finally:
        ENABLED = saved


def use_for(array: np.ndarray) -> bool:
    """Whether to run the update of ``array`` (a flat parameter vector) compiled."""
    return (
        ENABLED
        and isinstance(array, np.ndarray)
        and array.shape[0] >= MIN_PARAMS
        and array.dtype in (np.float32, np.float64)
        and array.flags.c_contiguous
    )


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
    """Compile (or load from numba's disk cache) every kernel for both dtypes.

    The first update of a large network otherwise pays this once per process
    (a fraction of a second on a cold cache); benchmarks call it before timing.
    """
    if not ENABLED:
        return
    for dtype in (np.float32, np.float64):
        a, b, c, d = (np.zeros(4, dtype=dtype) for _ in range(4))
        adam_step(a, b, c, d, 0.9, 0.999, 1.0, -1e-3)
        momentum_step(a, b, c, 0.9, 1e-3, True)
        add_scaled(a, b, 1e-4)
