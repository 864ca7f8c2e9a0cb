"""Side-by-side speed of skbackprop and scikit-learn's MLP on the same machine.

Every configuration trains both libraries on the same data with the same
settings, interleaving their runs (the order alternates between repeats) so
that background load hits both alike, and reports medians. Ratios measured
in one run are what counts; absolute seconds depend on the machine.

Data: MNIST-shaped synthetic classification (784 features, 10 classes) from
``sklearn.datasets.make_classification`` with a fixed seed, plus a held-out
test set of 5000 rows on which both accuracies are measured.

Columns
-------
sk s/ep, ours s/ep
    Median wall-clock seconds per epoch (per iteration for L-BFGS, per call
    for ``predict_proba``), ``fit`` time divided by the number of epochs run.
ratio
    scikit-learn time / our time (higher is better for us).
np s/ep, np ratio
    Ours with the optional compiled kernels switched off (pure NumPy), when
    numba is installed (``pip install ".[fast]"``); "-" otherwise, in which
    case "ours" is already pure NumPy.
sk acc, ours acc
    Held-out accuracy after the same number of epochs (mean over repeats,
    each repeat with its own seed, the same seed for both libraries).
sk %pk, ours %pk
    Achieved FLOP rate as a percentage of the measured matrix-product peak:
    ``6 * samples * weights`` FLOPs per epoch (``2 * samples * weights`` for
    ``predict_proba``) against the best rate of ``(batch x 784) @ (784 x 256)``
    products in the same dtype (see the "peak" lines printed first).
sk MiB, ours MiB
    Peak memory allocated by NumPy and Python during one ``fit`` (or one
    ``predict_proba``), measured with ``tracemalloc`` in a separate, untimed
    run; the training data itself is allocated before and not counted, so a
    copy of ``X`` would show up here. Memory held inside BLAS is not seen by
    either library's figure.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_vs_sklearn.py
    python benchmarks/bench_vs_sklearn.py --quick          # a one-minute smoke run
    python benchmarks/bench_vs_sklearn.py --only adam-f32,predict --repeats 5
    python benchmarks/bench_vs_sklearn.py --rst            # also print an RST table
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.metadata
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy
import scipy.optimize
import sklearn
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skbackprop import BackpropClassifier  # noqa: E402
from skbackprop.core import kernels  # noqa: E402

N_FEATURES = 784
N_CLASSES = 10
HIDDEN = (256, 256)
N_TEST = 5000


@dataclass
class Config:
    """One row of the table."""

    name: str
    dtype: type
    n_rows: int
    solver: str = "adam"
    batch_size: int = 200
    kind: str = "fit"  # 'fit' or 'predict'
    params: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        extra = {"sgd": "sgd-nesterov", "lbfgs": "lbfgs", "adam": "adam"}[self.solver]
        if self.kind == "predict":
            extra = "predict_proba"
        batch = "" if self.solver == "lbfgs" or self.kind == "predict" else f" b{self.batch_size}"
        return f"{extra}{batch} n={self.n_rows // 1000}k"


def all_configs(scaling_rows) -> list[Config]:
    configs = [
        Config("adam-f64", np.float64, 20_000),
        Config("adam-f32", np.float32, 20_000),
        Config(
            "sgd-f64", np.float64, 20_000, solver="sgd",
            params=dict(learning_rate_init=0.01, momentum=0.9, nesterovs_momentum=True),
        ),
        Config(
            "sgd-f32", np.float32, 20_000, solver="sgd",
            params=dict(learning_rate_init=0.01, momentum=0.9, nesterovs_momentum=True),
        ),
        Config("lbfgs-f64", np.float64, 20_000, solver="lbfgs"),
        Config("predict-f64", np.float64, 20_000, kind="predict"),
        Config("predict-f32", np.float32, 20_000, kind="predict"),
        Config("adam-f32-b1000", np.float32, 20_000, batch_size=1000),
    ]
    configs += [Config(f"scale-{n // 1000}k", np.float32, n) for n in scaling_rows]
    return configs


# --------------------------------------------------------------------------- #
# Data and the matrix-product peak
# --------------------------------------------------------------------------- #
def make_data(n_rows: int, seed: int = 0):
    """MNIST-shaped learnable data: (n_rows + N_TEST) x 784, 10 classes."""
    X, y = make_classification(
        n_samples=n_rows + N_TEST,
        n_features=N_FEATURES,
        n_informative=64,
        n_redundant=64,
        n_classes=N_CLASSES,
        n_clusters_per_class=2,
        class_sep=1.5,
        flip_y=0.01,
        random_state=seed,
    )
    return X[:n_rows], y[:n_rows], X[n_rows:], y[n_rows:]


def matmul_peak(dtype, rows: int, seconds: float = 0.5) -> float:
    """Best GFLOP/s of ``(rows x 784) @ (784 x 256)`` over several timed blocks."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((rows, N_FEATURES)).astype(dtype)
    B = rng.standard_normal((N_FEATURES, HIDDEN[0])).astype(dtype)
    C = np.empty((rows, HIDDEN[0]), dtype=dtype)
    flops = 2.0 * rows * N_FEATURES * HIDDEN[0]
    for _ in range(20):
        np.matmul(A, B, out=C)
    best = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        tic = time.perf_counter()
        for _ in range(20):
            np.matmul(A, B, out=C)
        best = max(best, 20 * flops / (time.perf_counter() - tic))
    return best / 1e9


def n_weights(n_features: int = N_FEATURES) -> int:
    units = [n_features, *HIDDEN, N_CLASSES]
    return sum(a * b for a, b in zip(units[:-1], units[1:], strict=True))


# --------------------------------------------------------------------------- #
# Runs
# --------------------------------------------------------------------------- #
def sklearn_initial_weights(units, seed: int, dtype=np.float64, activation: str = "relu"):
    """The starting weights scikit-learn's MLP draws for ``random_state=seed``.

    ``MLPClassifier`` draws, layer after layer (``units``: input first), a
    Glorot-uniform weight matrix and then its intercepts from
    ``RandomState(seed)``, with a bound sqrt(3) times smaller for logistic
    networks. Handing the same arrays to ours as ``coefs_init`` /
    ``intercepts_init`` makes both start from the same point, so that their
    accuracies differ only through the order in which batches are drawn.
    """
    rs = np.random.RandomState(seed)
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:], strict=True):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(rs.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        intercepts.append(rs.uniform(-bound, bound, fan_out).astype(dtype))
    return coefs, intercepts


def make_models(cfg: Config, epochs: int, seed: int, n_features: int = N_FEATURES):
    common = dict(
        hidden_layer_sizes=HIDDEN,
        solver=cfg.solver,
        max_iter=epochs,
        tol=0.0,
        random_state=seed,
        **cfg.params,
    )
    if cfg.solver != "lbfgs":
        common.update(batch_size=cfg.batch_size, n_iter_no_change=10**6)
    units = [n_features, *HIDDEN, N_CLASSES]
    coefs, intercepts = sklearn_initial_weights(units, seed, cfg.dtype)
    ours = BackpropClassifier(**common, coefs_init=coefs, intercepts_init=intercepts)
    return MLPClassifier(**common), ours


class CountEvaluations:
    """Count L-BFGS cost evaluations: both libraries call ``scipy.optimize.minimize``."""

    def __init__(self):
        self.nfev = 0

    def __enter__(self):
        self._original = scipy.optimize.minimize

        def minimize(*args, **kwargs):
            result = self._original(*args, **kwargs)
            self.nfev += int(result.nfev)
            return result

        scipy.optimize.minimize = minimize
        return self

    def __exit__(self, *exc):
        scipy.optimize.minimize = self._original


def time_fit(model, X, y) -> tuple[float, int, int]:
    """Seconds of one ``fit``, epochs (iterations) run, cost evaluations (L-BFGS only)."""
    gc.collect()
    with CountEvaluations() as counter:
        tic = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - tic
    return seconds, int(model.n_iter_), counter.nfev


def time_predict(model, X, calls: int = 5) -> float:
    model.predict_proba(X[:100])
    gc.collect()
    times = []
    for _ in range(calls):
        tic = time.perf_counter()
        model.predict_proba(X)
        times.append(time.perf_counter() - tic)
    return min(times)


def traced_peak_mib(func) -> float:
    """Peak of NumPy/Python allocations while ``func()`` runs, above what was live before."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    try:
        func()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - base) / 2**20


def run_config(cfg: Config, data, epochs: int, repeats: int, peaks: dict) -> dict:
    X, y, X_test, y_test = data
    X = np.ascontiguousarray(X, dtype=cfg.dtype)
    X_test = np.ascontiguousarray(X_test, dtype=cfg.dtype)
    n_epochs = epochs if cfg.solver != "lbfgs" else max(epochs, 5)
    # 'np' is ours with the optional compiled kernels switched off (pure NumPy),
    # timed only when they are installed: it shows what they contribute.
    who_all = ["sk", "ours"] + (["np"] if kernels.available() and cfg.kind == "fit" else [])
    times = {w: [] for w in who_all}
    accs = {w: [] for w in who_all}
    iters = {w: set() for w in who_all}
    evals = {w: [] for w in who_all}
    models = {}
    for r in range(repeats):
        sk, ours = make_models(cfg, n_epochs, seed=r)
        group = [("sk", sk), ("ours", ours)]
        if "np" in who_all:
            group.append(("np", make_models(cfg, n_epochs, seed=r)[1]))
        if r % 2:
            group.reverse()
        if cfg.kind == "predict":
            for _, model in group:
                model.fit(X[:2000], y[:2000])
            for who, model in group:
                times[who].append(time_predict(model, X))
                accs[who].append(model.score(X_test, y_test))
        else:
            for who, model in group:
                with kernels.disabled() if who == "np" else contextlib.nullcontext():
                    seconds, n_iter, nfev = time_fit(model, X, y)
                times[who].append(seconds / n_iter)
                iters[who].add(n_iter)
                evals[who].append(nfev)
                accs[who].append(model.score(X_test, y_test))
        models = dict(group)

    # Peak memory: separate, untimed runs (tracemalloc slows allocation down).
    mem = {}
    for who in ("sk", "ours"):
        if cfg.kind == "predict":
            model = models[who]
            mem[who] = traced_peak_mib(lambda m=model: m.predict_proba(X))
        else:
            model = make_models(cfg, 1, seed=0)[0 if who == "sk" else 1]
            mem[who] = traced_peak_mib(lambda m=model: m.fit(X, y))

    peak = peaks[(np.dtype(cfg.dtype).name, cfg.batch_size if cfg.solver != "lbfgs" else 200)]
    row = {"config": cfg.label, "dtype": np.dtype(cfg.dtype).name}
    for who in ("sk", "ours"):
        t = statistics.median(times[who])
        row[f"{who}_s"] = t
        row[f"{who}_acc"] = float(np.mean(accs[who]))
        if cfg.kind == "predict":
            flops = 2.0 * X.shape[0] * n_weights()
        else:
            flops = 6.0 * X.shape[0] * n_weights()
        row[f"{who}_pk"] = None if cfg.solver == "lbfgs" else 100 * flops / t / 1e9 / peak
        row[f"{who}_mib"] = mem[who]
    row["ratio"] = row["sk_s"] / row["ours_s"]
    row["np_s"] = statistics.median(times["np"]) if times.get("np") else None
    row["np_ratio"] = row["sk_s"] / row["np_s"] if row["np_s"] else None
    if cfg.kind == "fit" and (len(set().union(*iters.values())) != 1):
        row["config"] += f" (epochs differ: {iters})"
    if cfg.solver == "lbfgs":
        # Seconds per iteration; the evaluations per iteration must match for a fair ratio.
        per_iter = {who: sum(evals[who]) / (n_epochs * repeats) for who in evals}
        row["config"] += f" ({per_iter['sk']:.1f}/{per_iter['ours']:.1f} evals/iter)"
    return row


# --------------------------------------------------------------------------- #
# Output
# --------------------------------------------------------------------------- #
COLUMNS = [
    ("configuration", "config", "{}"),
    ("dtype", "dtype", "{}"),
    ("sk s/ep", "sk_s", "{:.4f}"),
    ("ours s/ep", "ours_s", "{:.4f}"),
    ("ratio", "ratio", "{:.2f}x"),
    ("np s/ep", "np_s", "{:.4f}"),
    ("np ratio", "np_ratio", "{:.2f}x"),
    ("sk acc", "sk_acc", "{:.3f}"),
    ("ours acc", "ours_acc", "{:.3f}"),
    ("sk %pk", "sk_pk", "{:.0f}%"),
    ("ours %pk", "ours_pk", "{:.0f}%"),
    ("sk MiB", "sk_mib", "{:.1f}"),
    ("ours MiB", "ours_mib", "{:.1f}"),
]


def format_rows(rows):
    header = [c[0] for c in COLUMNS]
    body = [
        [("-" if row[key] is None else fmt.format(row[key])) for _, key, fmt in COLUMNS]
        for row in rows
    ]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    return header, body, widths


def print_table(rows) -> None:
    header, body, widths = format_rows(rows)
    line = "  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True)))
    print(line)
    print("-" * len(line))
    for r in body:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))


def print_rst(rows) -> None:
    header, body, _ = format_rows(rows)
    rst_table(header, body)


def rst_table(header, body) -> None:
    """Print ``header`` and the rows of strings ``body`` as an RST simple table."""
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    rule = "  ".join("=" * w for w in widths)
    print(rule)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print(rule)
    for r in body:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print(rule)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, 1 epoch, 2 repeats")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per fit (default 2)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats (default 3)")
    parser.add_argument("--only", default="", help="comma-separated config names (prefixes)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 10k..80k rows")
    parser.add_argument("--rst", action="store_true", help="also print the table as RST")
    parser.add_argument("--threads", type=int, default=None, help="limit BLAS threads")
    parser.add_argument("--rows", type=int, default=None, help="rows of the 20k configurations")
    args = parser.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)

    epochs = args.epochs or (1 if args.quick else 2)
    repeats = args.repeats or (2 if args.quick else 3)
    scaling = [] if args.no_scaling else ([5_000, 10_000] if args.quick else [10_000, 20_000, 40_000, 80_000])
    configs = all_configs(scaling)
    if args.quick or args.rows:
        for cfg in configs:
            if not cfg.name.startswith("scale"):
                cfg.n_rows = args.rows or 5_000
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        configs = [c for c in configs if any(c.name.startswith(w) for w in wanted)]

    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"scikit-learn {sklearn.__version__}, {platform.machine()} {platform.processor() or ''}")
    if kernels.available():
        kernels.warm_up()  # compile once, before any timing
        print(f"ours: with the optional compiled kernels (numba {importlib.metadata.version('numba')}); "
              "np: ours without them")
    else:
        print("ours: pure NumPy (numba not installed)")
    print(f"epochs per fit: {epochs}, repeats: {repeats}, hidden: {HIDDEN}, "
          f"weights: {n_weights()}")
    peaks = {}
    for dtype in ("float64", "float32"):
        for rows in sorted({c.batch_size for c in configs} | {200}):
            peaks[(dtype, rows)] = matmul_peak(np.dtype(dtype), rows)
            print(f"peak ({rows}x784)@(784x256) {dtype}: {peaks[(dtype, rows)]:.1f} GFLOP/s")
    print(flush=True)

    data_cache = {}
    rows = []
    start = time.perf_counter()
    for cfg in configs:
        if cfg.n_rows not in data_cache:
            data_cache.clear()
            data_cache[cfg.n_rows] = make_data(cfg.n_rows)
        row = run_config(cfg, data_cache[cfg.n_rows], epochs, repeats, peaks)
        rows.append(row)
        print(f"  {row['config']:<28} {row['dtype']:<8} ratio {row['ratio']:.2f}x "
              f"({time.perf_counter() - start:.0f}s elapsed)", flush=True)
    print()
    print_table(rows)
    if args.rst:
        print()
        print_rst(rows)
    print()
    print_threadpool_info()


def print_threadpool_info() -> None:
    """Print the BLAS and OpenMP libraries loaded in the process and their threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        print("threadpoolctl is not installed: no thread-pool information.")
        return
    for info in threadpool_info():
        print({k: info.get(k) for k in ("user_api", "internal_api", "num_threads", "version",
                                         "threading_layer", "architecture", "filepath")})


if __name__ == "__main__":
    main()
