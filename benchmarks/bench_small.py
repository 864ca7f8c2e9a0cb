"""Speed where most users live: small tables, small batches, many fits.

Side by side with scikit-learn's MLP in one run, on the datasets that ship
with scikit-learn (nothing is downloaded):

- ``iris``, ``wine``, ``breast_cancer``, ``digits``: the defaults of both
  estimators (hidden layer of 100 ReLU units, Adam, batches of
  ``min(200, n)``), 200 epochs each. ``n_iter_no_change`` is set beyond
  ``max_iter`` so that both libraries run exactly the same 200 epochs;
- ``iris early stop``: the same with ``early_stopping=True``, which scores
  the held-out 10% of the training rows after every epoch;
- ``digits lbfgs``: L-BFGS, up to 200 iterations (``tol=0``); the time per
  iteration is compared, as the two runs may stop at different iterations;
- ``784-30-10 sgd b10``: the textbook's MNIST network (784 inputs, 30 sigmoid
  units, 10 outputs; softmax and cross-entropy in both libraries, as
  scikit-learn's classifier has no other), plain SGD without momentum,
  mini-batches of 10, on a synthetic MNIST-shaped problem; time per step;
- ``grid search``: ``GridSearchCV`` over a ``StandardScaler`` + MLP pipeline
  on digits, 12 candidates x 5 folds, one process, end to end.

Both libraries start from the same weights (scikit-learn's draw for the
repeat's seed, handed to ours as ``coefs_init`` / ``intercepts_init``; the
grid's candidates draw their own). Columns: median seconds of each library
(per step or per iteration where the row says so; medians over
``--repeats`` interleaved runs), the ratio scikit-learn / ours (higher is
better for us), both held-out accuracies (25% stratified test split, mean
over the repeats; the grid's best cross-validated score), and
``arith``: the share of our time that is arithmetic, i.e. the time of the
matrix products alone that the same epochs need (three per layer and step
less one, into preallocated arrays, as ``step_breakdown.py`` does) divided
by our time. When numba is installed (``pip install ".[fast]"``) a second
"ours" column gives the pure-NumPy path (``SKBACKPROP_ACCELERATOR=0``
behaviour, switched off in-process), and the time to compile the kernels
with empty caches, and to load them from the cache, is printed first.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_small.py
    python benchmarks/bench_small.py --quick                  # a smoke run, about a minute
    python benchmarks/bench_small.py --only iris,digits --repeats 5
    python benchmarks/bench_small.py --rst                    # also print an RST table
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import platform
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_vs_sklearn

from bench_vs_sklearn import sklearn_initial_weights  # noqa: E402  (this folder)

from skbackprop import BackpropClassifier  # noqa: E402
from skbackprop.core import kernels  # noqa: E402
from skbackprop.training import compiled_epoch  # noqa: E402

NEVER = 10**9  # n_iter_no_change beyond max_iter: every epoch runs


@dataclass
class Row:
    name: str
    load: object  # () -> (X, y)
    settings: dict
    unit: str = "fit"  # 'fit', 'step' or 'iteration'
    grid: bool = False


def _mnist_like(copies: int = 4):
    """An MNIST-shaped problem: the digits images enlarged to 28 x 28 (784 pixels in [0, 1]).

    Each 8 x 8 image is zoomed 3.5 times (bilinear) and copied ``copies``
    times, each copy shifted by up to two pixels in each direction (fixed seed).
    """
    from scipy import ndimage

    images, y = datasets.load_digits(return_X_y=True)
    big = ndimage.zoom(images.reshape(-1, 8, 8) / 16.0, (1, 3.5, 3.5), order=1)
    rng = np.random.default_rng(0)
    shifted = [np.roll(big, tuple(rng.integers(-2, 3, 2)), axis=(1, 2)) for _ in range(copies)]
    X = np.clip(np.concatenate(shifted).reshape(-1, 784), 0.0, 1.0)
    return X, np.tile(y, copies)


def _digits():
    return datasets.load_digits(return_X_y=True)


ROWS = [
    Row("iris", lambda: datasets.load_iris(return_X_y=True), dict(n_iter_no_change=NEVER)),
    Row("iris early stop", lambda: datasets.load_iris(return_X_y=True),
        dict(early_stopping=True, n_iter_no_change=NEVER)),
    Row("wine", lambda: datasets.load_wine(return_X_y=True), dict(n_iter_no_change=NEVER)),
    Row("breast_cancer", lambda: datasets.load_breast_cancer(return_X_y=True),
        dict(n_iter_no_change=NEVER)),
    Row("digits", _digits, dict(n_iter_no_change=NEVER)),
    Row("digits lbfgs", _digits, dict(solver="lbfgs", tol=0.0), unit="iteration"),
    Row("784-30-10 sgd b10", _mnist_like,
        dict(hidden_layer_sizes=(30,), activation="logistic", solver="sgd", momentum=0.0,
             learning_rate_init=0.5, batch_size=10, max_iter=3, n_iter_no_change=NEVER),
        unit="step"),
    Row("grid search", _digits, {}, grid=True),
]

GRID = {
    "est__hidden_layer_sizes": [(50,), (100,)],
    "est__alpha": [1e-4, 1e-3, 1e-2],
    "est__learning_rate_init": [1e-3, 1e-2],
}


class EpochCounter:
    """A callback of ours: records (hidden sizes, rows, batch size) of every epoch.

    The record is shared by every copy (``GridSearchCV`` clones the callback).
    """

    def __init__(self):
        self.epochs = []

    def __deepcopy__(self, memo):
        return self

    def __call__(self, est, record):
        self.epochs.append((tuple(est.hidden_layer_sizes), est.t_ // est.n_iter_,
                            est.batch_size))


def _estimator(library: str, settings: dict, random_state: int, counter=None, start=None):
    if library == "sklearn":
        return MLPClassifier(random_state=random_state, **settings)
    ours = dict(settings)
    if ours.get("activation") == "logistic":
        ours["activation"] = "sigmoid"
    if start is not None:
        ours["coefs_init"], ours["intercepts_init"] = start
    return BackpropClassifier(random_state=random_state,
                              callbacks=None if counter is None else [counter], **ours)


def _grid(library: str, random_state: int, counter=None, folds: int = 5):
    pipe = Pipeline([("scale", StandardScaler()),
                     ("est", _estimator(library, {}, random_state, counter))])
    return GridSearchCV(pipe, GRID, cv=folds, n_jobs=1)


def run_once(row: Row, library: str, data, random_state: int, counter=None, folds=5):
    """Seconds (per unit), held-out accuracy and the fitted model's epoch count."""
    X_train, X_test, y_train, y_test = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if row.grid:
            search = _grid(library, random_state, counter, folds)
            tic = time.perf_counter()
            search.fit(np.vstack([X_train, X_test]), np.concatenate([y_train, y_test]))
            return time.perf_counter() - tic, search.best_score_, None
        n_classes = len(np.unique(y_train))
        units = [X_train.shape[1], *row.settings.get("hidden_layer_sizes", (100,)),
                 n_classes if n_classes > 2 else 1]
        start = sklearn_initial_weights(units, random_state,
                                        activation=row.settings.get("activation", "relu"))
        est = _estimator(library, row.settings, random_state, counter, start)
        tic = time.perf_counter()
        est.fit(X_train, y_train)
        seconds = time.perf_counter() - tic
    accuracy = float(np.mean(est.predict(X_test) == y_test))
    if row.unit == "step":
        steps_per_epoch = -(-X_train.shape[0] // row.settings["batch_size"])
        seconds /= est.n_iter_ * steps_per_epoch
    elif row.unit == "iteration":
        seconds /= est.n_iter_
    return seconds, accuracy, est.n_iter_


def products_seconds(units, n_rows: int, batch: int, epochs: int, dtype=np.float64) -> float:
    """Time of the matrix products alone of ``epochs`` epochs over ``n_rows`` rows."""
    rng = np.random.default_rng(0)
    sizes = []
    full, rest = divmod(n_rows, batch)
    sizes = [batch] * full + ([rest] if rest else [])
    W = [rng.standard_normal((a, b)).astype(dtype) for a, b in zip(units[:-1], units[1:], strict=True)]
    G = [np.empty_like(w) for w in W]

    def one_epoch(arrays):
        for X, A, D in arrays:
            prev = X
            for w, a in zip(W, A, strict=True):
                np.matmul(prev, w, out=a)
                prev = a
            for i in range(len(W) - 1, -1, -1):
                np.matmul((X if i == 0 else A[i - 1]).T, D[i], out=G[i])
                if i > 0:
                    np.matmul(D[i], W[i].T, out=D[i - 1])

    arrays = []
    for m in sizes:
        X = rng.standard_normal((m, units[0])).astype(dtype)
        arrays.append((X, [np.empty((m, u), dtype) for u in units[1:]],
                       [rng.standard_normal((m, u)).astype(dtype) for u in units[1:]]))
    one_epoch(arrays)
    best = np.inf
    for _ in range(3):
        tic = time.perf_counter()
        for _ in range(epochs):
            one_epoch(arrays)
        best = min(best, time.perf_counter() - tic)
    return best


def arithmetic_seconds(row: Row, X_train, y_train, n_iter, counter) -> float:
    """The products-only time of what our run did, in the row's unit."""
    n_classes = len(np.unique(y_train))
    out = n_classes if n_classes > 2 else 1
    if row.grid:
        total, cache = 0.0, {}
        for key in counter.epochs:
            if key not in cache:
                hidden, rows, batch = key
                b = min(200, rows) if batch == "auto" else batch
                cache[key] = products_seconds([X_train.shape[1], *hidden, out], rows, b, 1)
            total += cache[key]
        return total
    hidden = row.settings.get("hidden_layer_sizes", (100,))
    units = [X_train.shape[1], *hidden, out]
    n = X_train.shape[0]
    if row.unit == "iteration":  # about 1.1 evaluations per L-BFGS iteration; count one
        return products_seconds(units, n, n, 1)
    batch = row.settings.get("batch_size", "auto")
    batch = min(200, n) if batch == "auto" else batch
    seconds = products_seconds(units, n, batch, n_iter if row.unit == "fit" else 1)
    if row.unit == "step":
        seconds /= -(-n // batch)
    return seconds


def compile_seconds() -> str:
    """The compiled kernels' start-up: a cold compile, then a load from numba's disk cache.

    Two fresh processes share empty cache folders (``SKBACKPROP_CACHE_DIR``
    and ``NUMBA_CACHE_DIR``); each times ``compiled_epoch.warm_up()``, what
    ``python -m skbackprop.precompile`` and a process that decides to load
    numba do (importing numba, then compiling every kernel or loading it from
    the cache), and then a first fit of a tiny model. A process's first fits
    do not load numba by themselves (see ``bench_first_fit.py``).
    """
    if not kernels.available():
        return "numba not installed: pure NumPy only"
    import os
    import tempfile

    code = (
        "import time, numpy as np; from skbackprop import BackpropClassifier as B;"
        "from skbackprop.training import compiled_epoch;"
        "X=np.random.default_rng(0).random((40,4)); y=np.arange(40)%3;"
        "t=time.perf_counter(); compiled_epoch.warm_up(); u=time.perf_counter();"
        "B(max_iter=1).fit(X,y); print(u-t, time.perf_counter()-u)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": os.path.join(cache, "numba"),
               "SKBACKPROP_CACHE_DIR": os.path.join(cache, "skbackprop"),
               "SKBACKPROP_BACKGROUND_COMPILE": "0"}
        runs = [subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                               text=True, check=True, env=env).stdout.split()
                for _ in range(2)]
    (cold, fit), (loaded, _) = ([float(t) for t in run] for run in runs)
    return (f"loading the kernels (numba's import and every kernel) {cold:.2f} s with empty "
            f"caches (compiling), {loaded:.2f} s in a second process (numba's disk cache); "
            f"a fit after it {fit * 1e3:.1f} ms")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated row names (prefixes)")
    parser.add_argument("--quick", action="store_true", help="one repeat, a 2-fold grid")
    parser.add_argument("--rst", action="store_true", help="also print an RST table")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    folds = 2 if args.quick else 5
    rows = [r for r in ROWS if not args.only or r.name.startswith(tuple(args.only.split(",")))]

    with contextlib.suppress(ImportError):
        import threadpoolctl

        for info in threadpoolctl.threadpool_info():
            print(f"# {info.get('internal_api')} {info.get('version')} "
                  f"threads={info.get('num_threads')} {info.get('architecture')} "
                  f"({info.get('filepath')})")
    versions = {p: importlib.metadata.version(p) for p in ("numpy", "scipy", "scikit-learn")}
    print(f"# python {platform.python_version()}, " +
          ", ".join(f"{k} {v}" for k, v in versions.items()) +
          f", numba {'installed' if kernels.available() else 'absent'}")
    print(f"# compile: {compile_seconds()}")
    # This process's first compiled fit would otherwise pay numba's import and
    # the kernel's load inside the first timed row.
    compiled_epoch.warm_up()
    kernels.warm_up()
    compiled = kernels.available()
    header = (f"{'case':<20}{'unit':>10}{'sklearn':>11}{'ours':>11}{'ratio':>7}"
              + (f"{'numpy':>11}{'ratio':>7}" if compiled else "")
              + f"{'sk acc':>8}{'acc':>8}{'arith':>7}")
    print(header)
    table = []
    for row in rows:
        X, y = row.load()
        data = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
        times = {"sklearn": [], "ours": [], "numpy": []}
        accs = {"sklearn": [], "ours": [], "numpy": []}
        libraries = ["sklearn", "ours"] + (["numpy"] if compiled else [])
        counter, n_iter = EpochCounter(), None
        for r in range(repeats):
            for library in libraries if r % 2 == 0 else libraries[::-1]:
                count = counter if (library == "ours" and r == 0) else None
                context = kernels.disabled() if library == "numpy" else contextlib.nullcontext()
                with context:
                    seconds, acc, n = run_once(row, "sklearn" if library == "sklearn" else "ours",
                                               data, random_state=r, counter=count, folds=folds)
                times[library].append(seconds)
                accs[library].append(acc)
                if library == "ours" and r == 0:
                    n_iter = n
        med = {k: statistics.median(v) for k, v in times.items() if v}
        acc = {k: statistics.mean(v) for k, v in accs.items() if v}
        arith = arithmetic_seconds(row, data[0], data[2], n_iter, counter) / med["ours"]
        unit = {"fit": "s/fit", "step": "us/step", "iteration": "ms/iter"}[row.unit]
        scale = {"fit": 1.0, "step": 1e6, "iteration": 1e3}[row.unit]
        line = (f"{row.name:<20}{unit:>10}{med['sklearn'] * scale:>11.4g}"
                f"{med['ours'] * scale:>11.4g}{med['sklearn'] / med['ours']:>7.2f}")
        if compiled:
            line += f"{med['numpy'] * scale:>11.4g}{med['sklearn'] / med['numpy']:>7.2f}"
        line += f"{acc['sklearn']:>8.3f}{acc['ours']:>8.3f}{arith:>7.0%}"
        print(line, flush=True)
        table.append((row.name, unit, med, acc, arith, scale))
    if args.rst:
        print()
        cols = ["case", "unit", "scikit-learn", "ours", "ratio"]
        if compiled:
            cols += ["pure NumPy", "ratio"]
        cols += ["sk acc", "our acc", "arithmetic"]
        print(".. list-table::\n   :header-rows: 1\n")
        print("   * - " + "\n     - ".join(cols))
        for name, unit, med, acc, arith, scale in table:
            cells = [name, unit, f"{med['sklearn'] * scale:.4g}", f"{med['ours'] * scale:.4g}",
                     f"{med['sklearn'] / med['ours']:.2f}x"]
            if compiled:
                cells += [f"{med['numpy'] * scale:.4g}", f"{med['sklearn'] / med['numpy']:.2f}x"]
            cells += [f"{acc['sklearn']:.3f}", f"{acc['ours']:.3f}", f"{arith:.0%}"]
            print("   * - " + "\n     - ".join(cells))
    print(f"# scikit-learn {sklearn.__version__}")


if __name__ == "__main__":
    main()
