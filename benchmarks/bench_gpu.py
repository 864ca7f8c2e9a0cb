"""Training on a GPU: BackpropClassifier on CUDA tensors next to a hand-written PyTorch loop.

Rows (Adam, float32, ReLU, softmax + cross-entropy, ``alpha=1e-4``; a
synthetic MNIST-shaped problem of 60,000 x 784 inputs and 10 classes):

- ``256x2 b200``: hidden layers (256, 256), batches of 200;
- ``1024x2 b1024``: hidden layers (1024, 1024), batches of 1024;
- ``4096x2 b4096``: hidden layers (4096, 4096), batches of 4096.

Columns: samples per second of

- ``ours``: :class:`skbackprop.BackpropClassifier` fitted on torch tensors on
  the device under scikit-learn's array API dispatch (``coefs_`` live there);
- ``torch``: a hand-written PyTorch training loop with the same network, the
  same Adam settings and the same L2 penalty (``alpha / (2 n_batch)`` times
  the sum of the squared weights, biases excluded, as our cost and
  scikit-learn's have it), shuffling with ``torch.randperm`` on the device,
  and the epoch's loss read once per epoch, as ours does;
- ``sklearn``: scikit-learn's ``MLPClassifier`` on the CPU, for scale (on a
  subset of the rows for the large rows, where a full epoch takes minutes;
  the table says how many);

and the ratio ours / torch (target: at least 0.8 at batch >= 1024), plus the
test accuracy of each (10,000 held-out rows of the same rule: both must learn).
Each measurement trains one untimed warm-up epoch first (CUDA context, kernel
selection), then a fresh model for ``--epochs`` timed epochs, with
``torch.cuda.synchronize()`` before every clock reading. The hand-written loop
starts from PyTorch's default initialisation, ours from Glorot-uniform, so
their accuracies after a few epochs differ somewhat; they are printed to show
that both learn, not to rank them.

Usage::

    python benchmarks/bench_gpu.py                       # needs a CUDA GPU and PyTorch
    python benchmarks/bench_gpu.py --rst                 # also print an RST table
    python benchmarks/bench_gpu.py --only 1024x2 --epochs 5
    python benchmarks/bench_gpu.py --device cpu --quick  # a smoke run anywhere
"""

from __future__ import annotations

import os

# scikit-learn's array API dispatch needs SciPy's array API mode, which SciPy
# reads when it is first imported: set it before anything imports SciPy.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import importlib.metadata  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_vs_sklearn

from bench_vs_sklearn import rst_table  # noqa: E402  (this folder)

from skbackprop import BackpropClassifier  # noqa: E402

N_TRAIN, N_TEST, N_FEATURES, N_CLASSES = 60_000, 10_000, 784, 10
ALPHA, LEARNING_RATE = 1e-4, 1e-3
NEVER = 10**9  # n_iter_no_change beyond max_iter: every epoch runs


@dataclass
class Row:
    name: str
    hidden: tuple
    batch: int
    sklearn_rows: int  # rows scikit-learn trains on (CPU, for scale)


ROWS = [
    Row("256x2 b200", (256, 256), 200, N_TRAIN),
    Row("1024x2 b1024", (1024, 1024), 1024, 12_000),
    Row("4096x2 b4096", (4096, 4096), 4096, 8_192),
]


def make_data(n_train: int, n_test: int, seed: int = 0):
    """Gaussian inputs, labels from a fixed linear rule (argmax of ``X @ R``), float32."""
    rng = np.random.default_rng(seed)
    R = rng.standard_normal((N_FEATURES, N_CLASSES))
    X = rng.standard_normal((n_train + n_test, N_FEATURES)).astype(np.float32)
    y = np.argmax(X @ R, axis=1)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def synchronize(torch, device) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def time_ours(torch, device, row, data, epochs):
    """Samples per second and test accuracy of BackpropClassifier on the device."""
    X, y, X_test, y_test = data
    X_t, y_t = torch.asarray(X, device=device), torch.asarray(y, device=device)
    X_test_t = torch.asarray(X_test, device=device)
    settings = dict(
        hidden_layer_sizes=row.hidden, batch_size=row.batch, solver="adam",
        learning_rate_init=LEARNING_RATE, alpha=ALPHA, tol=0.0, n_iter_no_change=NEVER,
        random_state=0,
    )
    with sklearn.config_context(array_api_dispatch=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached, on purpose
        model = BackpropClassifier(max_iter=1, **settings).fit(X_t, y_t)  # warm-up epoch
        model = BackpropClassifier(max_iter=epochs, **settings)
        synchronize(torch, device)
        tic = time.perf_counter()
        model.fit(X_t, y_t)
        synchronize(torch, device)
        seconds = time.perf_counter() - tic
        assert model.n_iter_ == epochs
        assert model.coefs_[0].device == X_t.device
        predicted = model.predict(X_test_t).cpu().numpy()
    return X.shape[0] * epochs / seconds, float(np.mean(predicted == y_test))


def time_torch(torch, device, row, data, epochs):
    """Samples per second and test accuracy of a hand-written PyTorch training loop."""
    X, y, X_test, y_test = data
    X_t, y_t = torch.asarray(X, device=device), torch.asarray(y, device=device)
    torch.manual_seed(0)
    sizes = [N_FEATURES, *row.hidden, N_CLASSES]
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(torch.nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    n = X_t.shape[0]

    def fresh():
        model = torch.nn.Sequential(*layers).to(device)
        for layer in model:
            if isinstance(layer, torch.nn.Linear):
                layer.reset_parameters()
        weights = [layer.weight for layer in model if isinstance(layer, torch.nn.Linear)]
        optimizer = torch.optim.Adam(
            model.parameters(), lr=LEARNING_RATE, betas=(0.9, 0.999), eps=1e-8
        )
        return model, weights, optimizer

    def epoch(model, weights, optimizer):
        order = torch.randperm(n, device=device)
        total = torch.zeros((), device=device)
        for start in range(0, n, row.batch):
            rows = order[start : start + row.batch]
            loss = torch.nn.functional.cross_entropy(model(X_t[rows]), y_t[rows])
            penalty = sum((W * W).sum() for W in weights)
            loss = loss + ALPHA / (2 * rows.shape[0]) * penalty
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * rows.shape[0]
        return float(total) / n  # one read per epoch

    epoch(*fresh())  # warm-up (CUDA context, kernel selection), then a fresh model
    model, weights, optimizer = fresh()
    synchronize(torch, device)
    tic = time.perf_counter()
    for _ in range(epochs):
        epoch(model, weights, optimizer)
    synchronize(torch, device)
    seconds = time.perf_counter() - tic
    with torch.no_grad():
        logits = model(torch.asarray(X_test, device=device))
        accuracy = float((logits.argmax(dim=1).cpu().numpy() == y_test).mean())
    return n * epochs / seconds, accuracy


def time_sklearn(row, data, epochs):
    """Samples per second and test accuracy of scikit-learn's MLP on the CPU (a subset)."""
    X, y, X_test, y_test = data
    X, y = X[: row.sklearn_rows], y[: row.sklearn_rows]
    model = MLPClassifier(
        hidden_layer_sizes=row.hidden, batch_size=min(row.batch, X.shape[0]), solver="adam",
        learning_rate_init=LEARNING_RATE, alpha=ALPHA, max_iter=epochs, tol=0.0,
        n_iter_no_change=NEVER, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tic = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - tic
    return X.shape[0] * epochs / seconds, float(model.score(X_test, y_test))


def describe(torch, device) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    print(f"# {now:%Y-%m-%d %H:%M} UTC, {platform.node()}, python {platform.python_version()}")
    versions = {p: importlib.metadata.version(p) for p in ("numpy", "scikit-learn", "torch")}
    print("# " + ", ".join(f"{k} {v}" for k, v in versions.items()) +
          f", CUDA {torch.version.cuda}")
    if str(device).startswith("cuda"):
        print(f"# device: {torch.cuda.get_device_name(device)}")
    else:
        print(f"# device: CPU ({platform.processor() or platform.machine()}), "
              f"torch threads {torch.get_num_threads()}")
    try:
        import threadpoolctl

        for info in threadpoolctl.threadpool_info():
            print(f"# {info.get('internal_api')} {info.get('version')} "
                  f"threads={info.get('num_threads')} ({info.get('filepath')})")
    except ImportError:
        pass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="torch device (default: cuda)")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per run")
    parser.add_argument("--only", help="comma-separated row names (prefixes)")
    parser.add_argument("--quick", action="store_true",
                        help="6,000 rows, the first row only, one epoch: a smoke run")
    parser.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn")
    parser.add_argument("--rst", action="store_true", help="also print an RST table")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("bench_gpu.py needs PyTorch: pip install torch", file=sys.stderr)
        return 2
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("No CUDA device is available; run on a machine with a GPU, or pass "
              "--device cpu for a smoke run on the CPU.", file=sys.stderr)
        return 2
    rows = ROWS
    if args.only:
        wanted = args.only.split(",")
        rows = [r for r in ROWS if any(r.name.startswith(w) for w in wanted)]
    n_train, epochs = N_TRAIN, args.epochs
    if args.quick:
        rows, n_train, epochs = rows[:1], 6_000, 1
    describe(torch, args.device)
    data = make_data(n_train, N_TEST)
    print(f"# {n_train} training rows x {N_FEATURES}, {N_CLASSES} classes, float32, "
          f"{epochs} timed epoch(s) after one warm-up epoch")
    header = (f"{'row':14s} {'ours/s':>10s} {'torch/s':>10s} {'ratio':>6s} {'target':>7s} "
              f"{'sklearn/s':>10s} {'sk rows':>8s} {'acc ours':>8s} {'acc torch':>9s} "
              f"{'acc sk':>7s}")
    print(header)
    results = []
    for row in rows:
        ours, acc_ours = time_ours(torch, args.device, row, data, epochs)
        ref, acc_ref = time_torch(torch, args.device, row, data, epochs)
        if args.no_sklearn:
            sk, acc_sk, sk_rows = float("nan"), float("nan"), 0
        else:
            sk_rows = min(row.sklearn_rows, n_train)
            sk, acc_sk = time_sklearn(row, data, 1 if sk_rows < n_train else epochs)
        ratio = ours / ref
        target = ("met" if ratio >= 0.8 else "NOT met") if row.batch >= 1024 else "-"
        results.append((row, ours, ref, ratio, target, sk, sk_rows, acc_ours, acc_ref, acc_sk))
        print(f"{row.name:14s} {ours:10.0f} {ref:10.0f} {ratio:5.2f}x {target:>7s} "
              f"{sk:10.0f} {sk_rows:8d} {acc_ours:8.3f} {acc_ref:9.3f} {acc_sk:7.3f}",
              flush=True)
    if args.rst:
        print_rst(results)
    return 0


def print_rst(results) -> None:
    columns = ["row", "ours samples/s", "torch loop samples/s", "ours / torch",
               "target 0.8x", "sklearn CPU samples/s", "sklearn rows", "acc ours",
               "acc torch", "acc sklearn"]
    table = [[r.name, f"{o:.0f}", f"{t:.0f}", f"{q:.2f}x", tg, f"{s:.0f}", str(n),
              f"{a:.3f}", f"{b:.3f}", f"{c:.3f}"]
             for r, o, t, q, tg, s, n, a, b, c in results]
    print()
    rst_table(columns, table)


if __name__ == "__main__":
    sys.exit(main())
