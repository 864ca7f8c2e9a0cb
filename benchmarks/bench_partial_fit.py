"""``partial_fit`` with one batch per call, against scikit-learn's ``MLPClassifier.partial_fit``.

The streaming regime: dask-ml's ``Incremental`` calls ``partial_fit`` once
per block, as do users' loops over files. Each call here gets as many rows as
one batch (``batch_size`` = rows per call), so it is one Adam step plus
everything a call does besides: the input checks, the label encoding, the
set-up of the step and the transactional save that lets a failing call leave
the estimator as it was.

Both libraries use their defaults (Adam, ReLU, ``alpha=1e-4``,
``learning_rate_init=1e-3``) on the same synthetic data, in float64 and
float32. The first call (with ``classes``) and a few more are untimed; then
blocks of calls of the two libraries alternate (the order swapping at each
repeat), and each figure is the median over the repeats of a block's mean
time per call, in milliseconds.

Memory: ``tracemalloc`` over 100 further calls of ours (and of
scikit-learn's, for scale). For each call, the peak of traced memory during
the call minus the memory traced just before it: the most memory the call
ever holds beyond what the estimator already held. That is the figure that
counts for a call's cost (fresh memory means page faults and cold caches) and
for the memory of a long stream; the sum of all allocations would also add up
short-lived small Python objects (a few hundred bytes each), reused at once by
the allocator. The table gives the largest per-call figure over the 100
calls, and its ratio to the network's parameter bytes.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_partial_fit.py
    python benchmarks/bench_partial_fit.py --quick      # a smoke run of a few seconds
    python benchmarks/bench_partial_fit.py --rst        # also print the docs table
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.neural_network import MLPClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_vs_sklearn

from bench_vs_sklearn import print_threadpool_info, rst_table  # noqa: E402  (this folder)

from skbackprop import BackpropClassifier  # noqa: E402
from skbackprop.core import kernels  # noqa: E402
from skbackprop.training import compiled_epoch  # noqa: E402

#: (layer sizes, rows per call); the first is the MNIST-shaped network of bench_vs_sklearn.py.
SHAPES = [((784, 256, 256, 10), 200), ((64, 100, 10), 200), ((4, 10, 10), 32)]


def _estimators(units, rows, dtype, seed: int = 0):
    """Both estimators after their first calls, with the data of one call."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, units[0])).astype(dtype)
    y = rng.integers(0, units[-1], rows)
    classes = np.arange(units[-1])
    settings = dict(hidden_layer_sizes=tuple(units[1:-1]), batch_size=rows, random_state=seed)
    ours, sk = BackpropClassifier(**settings), MLPClassifier(**settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for est in (ours, sk):
            est.partial_fit(X, y, classes=classes)
            for _ in range(5):
                est.partial_fit(X, y)
    for est in (ours, sk):
        assert est.coefs_[0].dtype == dtype, (type(est).__name__, est.coefs_[0].dtype)
    return ours, sk, X, y


def _block_ms(est, X, y, calls: int) -> float:
    """Mean ms per call over ``calls`` calls, after a pause and three untimed calls.

    The pause lets the other library's BLAS and OpenMP threads, which keep
    spinning for a while after their last call, go idle: without it, they
    slow the first calls of the next block down, whichever library it is.
    """
    time.sleep(0.2)
    for _ in range(3):
        est.partial_fit(X, y)
    tic = time.perf_counter()
    for _ in range(calls):
        est.partial_fit(X, y)
    return (time.perf_counter() - tic) / calls * 1e3


def time_calls(units, rows, dtype, repeats: int, calls: int) -> tuple[float, float]:
    """Median ms per call of (ours, scikit-learn), blocks interleaved."""
    ours, sk, X, y = _estimators(units, rows, dtype)
    times = {"ours": [], "sk": []}
    pair = [("ours", ours), ("sk", sk)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(repeats):
            for name, est in pair if r % 2 == 0 else pair[::-1]:
                times[name].append(_block_ms(est, X, y, calls))
    return statistics.median(times["ours"]), statistics.median(times["sk"])


def parameter_bytes(est) -> int:
    """Bytes of the weights and intercepts."""
    return sum(a.nbytes for a in [*est.coefs_, *est.intercepts_])


def peak_bytes_per_call(est, X, y, calls: int = 100) -> list[int]:
    """For each of ``calls`` calls: traced peak during the call minus traced memory before it."""
    peaks = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.partial_fit(X, y)  # anything made lazily is made before tracing
        tracemalloc.start()
        try:
            for _ in range(calls):
                before = tracemalloc.get_traced_memory()[0]
                tracemalloc.reset_peak()
                est.partial_fit(X, y)
                peaks.append(tracemalloc.get_traced_memory()[1] - before)
        finally:
            tracemalloc.stop()
    return peaks


def measure(dtype, repeats: int, calls_scale: float, memory_calls: int) -> list[dict]:
    rows_out = []
    for units, rows in SHAPES:
        # About 0.1 s per block whatever the size of the network.
        flops = 6 * rows * sum(a * b for a, b in zip(units[:-1], units[1:], strict=True))
        calls = max(3, int(calls_scale * min(300, 3e8 / flops)))
        ours_ms, sk_ms = time_calls(units, rows, dtype, repeats, calls)
        ours, sk, X, y = _estimators(units, rows, dtype)
        nbytes = parameter_bytes(ours)
        ours_peak = max(peak_bytes_per_call(ours, X, y, memory_calls))
        sk_peak = max(peak_bytes_per_call(sk, X, y, memory_calls))
        rows_out.append({
            "network": "-".join(map(str, units)), "rows": rows, "dtype": np.dtype(dtype).name,
            "sk_ms": sk_ms, "ours_ms": ours_ms, "ratio": sk_ms / ours_ms,
            "param_bytes": nbytes, "ours_peak": ours_peak, "sk_peak": sk_peak,
        })
    return rows_out


def _print_table(results: list[dict]) -> None:
    head = (f"{'network':<16} {'rows':>4} {'dtype':<8} {'sk ms':>7} {'ours ms':>8} {'ratio':>6} "
            f"{'param B':>9} {'ours peak B/call':>17} {'of params':>9} {'sk peak B/call':>15}")
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r['network']:<16} {r['rows']:>4} {r['dtype']:<8} {r['sk_ms']:>7.3f} "
              f"{r['ours_ms']:>8.3f} {r['ratio']:>5.2f}x {r['param_bytes']:>9} "
              f"{r['ours_peak']:>17} {r['ours_peak'] / r['param_bytes']:>9.1%} {r['sk_peak']:>15}")


def _print_rst(results: list[dict]) -> None:
    cols = ["network, rows per call", "dtype", "scikit-learn ms", "ours ms", "ratio",
            "parameter bytes", "ours peak bytes per call", "of parameters"]
    cells = [[f"{r['network']}, {r['rows']}", r["dtype"], f"{r['sk_ms']:.3f}",
              f"{r['ours_ms']:.3f}", f"{r['ratio']:.2f}x", str(r["param_bytes"]),
              str(r["ours_peak"]), f"{r['ours_peak'] / r['param_bytes']:.1%}"] for r in results]
    rst_table(cols, cells)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 2 repeats of short blocks, 10 traced calls")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rst", action="store_true", help="also print the table as RST")
    args = parser.parse_args(argv)
    repeats, scale, memory_calls = (2, 0.05, 10) if args.quick else (args.repeats, 1.0, 100)
    # A streaming process soon loads numba (skbackprop.core.kernels.plan): time that
    # steady state from the first block on.
    compiled_epoch.warm_up()
    print(f"numba kernels: {'loaded' if kernels.loaded() else 'not installed or switched off'}")
    print(f"partial_fit, one batch per call: ms per call (median of {repeats} interleaved "
          f"blocks); scikit-learn {sklearn.__version__}, NumPy {np.__version__}")
    results = []
    for dtype in (np.float64, np.float32):
        results += measure(dtype, repeats, scale, memory_calls)
    print()
    _print_table(results)
    if args.rst:
        print()
        _print_rst(results)
    print()
    print_threadpool_info()
    return results


if __name__ == "__main__":
    main()
