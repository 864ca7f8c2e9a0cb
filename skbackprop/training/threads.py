"""One BLAS thread for small matrix products.

Multi-threaded BLAS pays for its threads only on large products. On the
small ones of small tables (a batch of 200 rows times 64 x 100 weights) the
threads cost more in wake-ups and in competition with the training loop's
own work than they save, and L-BFGS adds a second BLAS (scipy's) whose
threads compete with NumPy's. Measured on a 2-core machine
(``benchmarks/bench_small.py``): a default fit on digits runs about 1.4
times faster with one thread, L-BFGS on digits about 3 times.

:func:`blas_threads_for` therefore limits every BLAS library loaded in the
process to one thread for the duration of a training run whose largest
product is below a threshold (in multiply-adds), through `threadpoolctl
<https://github.com/joblib/threadpoolctl>`_, which scikit-learn installs.
A limit only lowers the number of threads; a user's own lower limit stays as
it is. ``SKBACKPROP_BLAS_LIMIT=0`` in the environment switches this off.

Most BLAS libraries (OpenBLAS on pthreads, as NumPy's and SciPy's wheels
ship it, MKL, BLIS) keep one thread count for the whole process, so fits
running at the same time in several threads share one limit: a
lock-protected count of the limited runs in progress. The first run to start
records the libraries' thread counts and lowers those above one; the others
only join the count; the last run to end sets back the counts recorded, in
whatever order the runs end, unless someone else has changed a count in the
meantime. A limit set by the user between fits is what the next first run
records. (threadpoolctl's own ``limit`` context sets back what it found when
it started, which for runs that overlap and end out of order can be another
run's limit, leaving the process on one thread.) OpenBLAS built with OpenMP
keeps a count per thread; each run lowers and restores its own thread's.

Recent threadpoolctl (3.8) lets only one thread at a time set the counts of
OpenBLAS on pthreads: the first that sets them, until its last threadpoolctl
context ends; other threads' settings are silently ignored. Each change made
here counts as such a context of the thread making it, so that control is let
go again at once (unless a context of the user's in that thread holds it),
and the last run can restore what the first lowered. A change that did not
take (a user's context in another thread holds control) is not recorded, so
nothing is restored over the user's settings.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Sequence

#: Largest product (multiply-adds) of a stochastic step still run on one thread.
SMALL_STEP = 1 << 22

#: The same for a block of an L-BFGS evaluation, where scipy's BLAS also runs
#: between the evaluations and its threads compete with NumPy's.
SMALL_LBFGS = 1 << 28

#: Runs of fewer steps than this keep the threads (the limit costs tens of
#: microseconds to set and undo).
MIN_STEPS = 8

ENABLED = os.environ.get("SKBACKPROP_BLAS_LIMIT", "1") != "0"

_controller = None

# The limited runs in progress in the process, and the libraries the first of
# them lowered with their thread counts before; both guarded by ``_lock``.
_lock = threading.Lock()
_active = 0
_lowered: list = []


def _blas():
    """threadpoolctl's controller of the loaded BLAS libraries (None without threadpoolctl)."""
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - scikit-learn requires threadpoolctl
            _controller = False
        else:
            _controller = ThreadpoolController().select(user_api="blas")
    return _controller or None


def largest_product(layer_units: Sequence[int], rows: int) -> int:
    """Multiply-adds of the largest matrix product of a pass over ``rows`` rows."""
    return rows * max(a * b for a, b in zip(layer_units[:-1], layer_units[1:], strict=True))


def small_step(layer_units: Sequence[int], rows: int) -> bool:
    """Whether a stochastic step over ``rows`` rows is small (largest product under :data:`SMALL_STEP`).

    Small steps run BLAS on one thread, may run as a compiled epoch, and
    gather a shuffled epoch whole (``training.loop.Batches``).
    """
    return largest_product(layer_units, rows) < SMALL_STEP


def blas_threads_for(layer_units: Sequence[int], rows: int, steps: int, threshold: int):
    """A context in which BLAS runs one thread if the products are small.

    Parameters
    ----------
    layer_units : sequence of int
        Units per layer, input first.
    rows : int
        Rows per product (the batch size, or the block of a full-batch pass).
    steps : int
        Products of that size the run will make (batches times epochs).
    threshold : int
        :data:`SMALL_STEP` or :data:`SMALL_LBFGS`.

    Returns
    -------
    context manager
        The limit of this run (to be entered once), or a context doing
        nothing where no limit applies. Nothing changes before it is entered.
    """
    small = steps >= MIN_STEPS and largest_product(layer_units, rows) < threshold
    controller = _blas() if ENABLED and small else None
    if controller is None:
        return contextlib.nullcontext()
    return _OneThread(controller)


class _OneThread:
    """The context of one limited run: BLAS on one thread while any such run is in progress.

    Parameters
    ----------
    controller : threadpoolctl.ThreadpoolController
        The BLAS libraries to limit.
    """

    def __init__(self, controller) -> None:
        self.controller = controller
        self.own: list = []  # what this run lowered of its thread's own counts

    def __enter__(self) -> _OneThread:
        global _active, _lowered
        shared, per_thread = [], []
        for library in self.controller.lib_controllers:
            (per_thread if _per_thread(library) else shared).append(library)
        self.own = _lower_to_one(per_thread)
        try:
            with _lock:
                if _active == 0:
                    _lowered = _lower_to_one(shared)
                _active += 1
        except BaseException:
            _restore(self.own)
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        global _active, _lowered
        own, self.own = self.own, []
        try:
            with _lock:
                _active -= 1
                if _active == 0:
                    lowered, _lowered = _lowered, []
                    _restore(lowered)
        finally:
            _restore(own)


def _per_thread(library) -> bool:
    """Whether ``library`` keeps a thread count for each calling thread (OpenBLAS on OpenMP)."""
    return library.internal_api == "openblas" and getattr(library, "threading_layer", "") == "openmp"


def _set(library, threads: int) -> bool:
    """Set a library's thread count; True if it took.

    The change counts as a threadpoolctl context of the calling thread, so
    that threadpoolctl versions which let one thread at a time set the counts
    of OpenBLAS on pthreads hand that control back when it is done.
    """
    ownership = getattr(sys.modules.get("threadpoolctl"), "CONTROLLING_THREAD_OWNERSHIP", None)
    if ownership is not None:
        ownership.increment()
    try:
        library.set_num_threads(threads)
    finally:
        if ownership is not None:
            ownership.decrement()
    return library.num_threads == threads


def _lower_to_one(libraries) -> list:
    """Set the libraries running more than one thread to one.

    Returns the ``(library, thread count before)`` pairs of those lowered, for
    :func:`_restore`. Libraries on one thread already (a user's own limit) are
    left alone, and so are those whose change did not take. If a library
    fails, the ones already lowered are set back before the error propagates.
    """
    lowered = []
    try:
        for library in libraries:
            threads = library.num_threads
            if threads is not None and threads > 1 and _set(library, 1):
                lowered.append((library, threads))
    except BaseException:
        _restore(lowered)
        raise
    return lowered


def _restore(lowered) -> None:
    """Give each library of ``(library, thread count)`` pairs its count back.

    A library no longer on one thread has been set by someone else since it
    was lowered, and keeps what they set.
    """
    for library, threads in lowered:
        if library.num_threads == 1:
            _set(library, threads)
