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
A limit only lowers the number of threads and is undone when the run ends;
a user's own lower limit stays as it is. ``SKBACKPROP_BLAS_LIMIT=0`` in the
environment switches this off.
"""

from __future__ import annotations

import contextlib
import os
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
    """
    small = steps >= MIN_STEPS and largest_product(layer_units, rows) < threshold
    controller = _blas() if ENABLED and small else None
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1)
