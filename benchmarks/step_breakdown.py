"""Where one training step's time goes, and the best ratio the products allow.

One Adam step on one batch of the benchmark's network (784 -> 256 -> 256 -> 10,
ReLU, softmax, cross-entropy, ``alpha=1e-4``), timed piece by piece in one
process for both libraries:

- ``sklearn partial_fit``: one call of scikit-learn's public
  ``MLPClassifier.partial_fit`` on the batch (``batch_size`` = the batch):
  one forward and backward pass and one Adam update, plus its per-call input
  checks and label encoding. scikit-learn has no public entry point to the
  step alone, and this script uses no private attribute of scikit-learn, so
  its step is timed through ``partial_fit``; the per-call overhead is a small
  part of a step of this size, but it makes the scikit-learn figure an upper
  bound of its bare step;
- ``ours partial_fit``: the same call of ``BackpropClassifier.partial_fit``,
  the like-for-like comparison;
- ``ours fit step``: one step as ``fit`` takes it inside an epoch: the step
  engine (``training.loop.Step``: the cost and gradient, then the Adam
  update, with the optional compiled kernels when numba is installed, and
  without them), each call on the next of ten batches that are slices of one
  array (a fit's gathered epoch), then the two parts alone;
- ``products only``: the eight matrix products a step needs (three forward,
  three weight gradients, two deltas; the input layer's delta is never
  computed by either library) and nothing else, written into preallocated
  arrays, on the same ten batches. No implementation of this algorithm can
  take less time than this with the same BLAS.

``% of bound`` is ``products only / ours fit step``: the share of our step
that the products alone would take. ``sklearn partial_fit / products only``
bounds the speed-up any implementation of the step can reach over
scikit-learn's ``partial_fit`` on this machine, for this configuration
(slightly generously, by scikit-learn's per-call overhead). Each figure is the
best of several timed blocks, interleaved (milliseconds).

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/step_breakdown.py
    python benchmarks/step_breakdown.py --batch-size 1000
    python benchmarks/step_breakdown.py --quick       # a few seconds: fewer, shorter blocks
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.neural_network import MLPClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_vs_sklearn

from bench_vs_sklearn import print_threadpool_info  # noqa: E402  (this folder)

from skbackprop import BackpropClassifier  # noqa: E402
from skbackprop.core import kernels  # noqa: E402
from skbackprop.core.network import Network  # noqa: E402
from skbackprop.core.optimizers import Adam  # noqa: E402
from skbackprop.training.loop import Step  # noqa: E402

UNITS = [784, 256, 256, 10]
ALPHA = 1e-4
#: Batches our step and the products cycle through (slices of one array, as in a fit).
N_BATCHES = 10


def best_ms(funcs: dict, calls: int = 50, blocks: int = 8) -> dict:
    """Best mean time of each ``funcs[name]()`` over blocks of ``calls`` calls, in ms.

    The blocks of the different functions are interleaved, so that a burst of
    background load hits them all alike rather than one of them.
    """
    for func in funcs.values():
        for _ in range(10):
            func()
    best = dict.fromkeys(funcs, float("inf"))
    for _ in range(blocks):
        for name, func in funcs.items():
            tic = time.perf_counter()
            for _ in range(calls):
                func()
            best[name] = min(best[name], (time.perf_counter() - tic) / calls)
    return {name: t * 1e3 for name, t in best.items()}


def measure(dtype, batch: int, calls: int = 50, blocks: int = 8) -> dict:
    rng = np.random.default_rng(0)
    # Ten batches, slices of one array as a fit's gathered epoch: each call of
    # our step and of the products takes the next (the first is scikit-learn's).
    X_all = rng.standard_normal((N_BATCHES * batch, UNITS[0])).astype(dtype)
    labels_all = rng.integers(0, UNITS[-1], N_BATCHES * batch)
    Y_all = np.eye(UNITS[-1], dtype=dtype)[labels_all]
    batches = [(X_all[k * batch:(k + 1) * batch], Y_all[k * batch:(k + 1) * batch])
               for k in range(N_BATCHES)]
    X, labels = X_all[:batch], labels_all[:batch]

    # Ours: the step engine as a fit epoch drives it (training.loop.train_epoch).
    net = Network(UNITS, "relu", "softmax")
    params = net.init_params("glorot_uniform", rng, dtype)
    step = Step(net, "cross_entropy", ALPHA, params, Adam(params.size, dtype, 1e-3, 0.9, 0.999, 1e-8))
    coefs, coef_grads = step.coefs, step.coef_grads
    turn = itertools.cycle(batches)

    def ours_grad():
        step.loss(*next(turn), None)

    def ours_step():
        step.loss(*next(turn), None)
        step.update()

    def ours_adam():
        step.update()

    # The eight products alone.
    hidden = [np.empty((batch, u), dtype=dtype) for u in UNITS[1:]]
    deltas = [np.empty((batch, u), dtype=dtype) for u in UNITS[1:-1]]
    products_turn = itertools.cycle(batches)

    def products():
        A0 = next(products_turn)[0]
        np.matmul(A0, coefs[0], out=hidden[0])
        np.matmul(hidden[0], coefs[1], out=hidden[1])
        np.matmul(hidden[1], coefs[2], out=hidden[2])
        np.matmul(hidden[1].T, hidden[2], out=coef_grads[2])
        np.matmul(hidden[2], coefs[2].T, out=deltas[1])
        np.matmul(hidden[0].T, deltas[1], out=coef_grads[1])
        np.matmul(deltas[1], coefs[1].T, out=deltas[0])
        np.matmul(A0.T, deltas[0], out=coef_grads[0])

    # Both libraries through their public partial_fit: one Adam step on the batch
    # per call (the first call, untimed, sets the estimators up).
    settings = dict(hidden_layer_sizes=tuple(UNITS[1:-1]), activation="relu", solver="adam",
                    alpha=ALPHA, learning_rate_init=1e-3, batch_size=batch, random_state=0)
    classes = np.arange(UNITS[-1])
    sk = MLPClassifier(**settings)
    ours_est = BackpropClassifier(**settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk.partial_fit(X, labels, classes=classes)
        ours_est.partial_fit(X, labels, classes=classes)
    for est in (sk, ours_est):
        assert est.coefs_[0].dtype == dtype, (type(est).__name__, est.coefs_[0].dtype)

    def sk_partial_fit():
        sk.partial_fit(X, labels)

    def ours_partial_fit():
        ours_est.partial_fit(X, labels)

    def pure_numpy(func):
        def run():
            with kernels.disabled():
                func()

        return run

    funcs = {"sklearn partial_fit": sk_partial_fit, "ours partial_fit": ours_partial_fit,
             "ours fit step": ours_step}
    if kernels.available():
        funcs["ours fit step, pure NumPy"] = pure_numpy(ours_step)
    funcs["  of which cost and gradient"] = ours_grad
    funcs["  of which Adam"] = ours_adam
    if kernels.available():
        funcs["  of which Adam, pure NumPy"] = pure_numpy(ours_adam)
    funcs["products only"] = products
    return best_ms(funcs, calls=calls, blocks=blocks)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 2 blocks of 5 calls (figures are rough)")
    args = parser.parse_args(argv)
    calls, blocks = (5, 2) if args.quick else (50, 8)
    kernels.warm_up()
    print(f"one Adam step, batch {args.batch_size}, layers {UNITS}, ms "
          f"(best of {blocks} interleaved blocks of {calls} calls)")
    print(f"compiled kernels: {'yes (numba)' if kernels.available() else 'no (numba not installed)'}")
    summary = {}
    for dtype in (np.float64, np.float32):
        rows = measure(dtype, args.batch_size, calls, blocks)
        name = np.dtype(dtype).name
        print(f"\n{name}")
        for label, ms in rows.items():
            print(f"  {label:<30} {ms:8.3f}")
        sk, ours, floor = rows["sklearn partial_fit"], rows["ours partial_fit"], rows["products only"]
        print(f"  ratio sklearn / ours (partial_fit)         {sk / ours:8.2f}x")
        print(f"  bound sklearn partial_fit / products only  {sk / floor:8.2f}x")
        summary[name] = rows
    print(f"\nbatch {args.batch_size}: our fit step against the products alone (the bound) "
          "and scikit-learn's partial_fit")
    header = ["dtype", "products ms", "step ms", "% of bound", "sklearn ms", "sklearn / step"]
    if kernels.available():
        header[4:4] = ["NumPy step ms", "NumPy % of bound"]
    print("  ".join(f"{h:>16}" for h in header))
    for name, rows in summary.items():
        floor, step, sk = (rows["products only"], rows["ours fit step"], rows["sklearn partial_fit"])
        cells = [name, f"{floor:.3f}", f"{step:.3f}", f"{100 * floor / step:.0f}%", f"{sk:.3f}",
                 f"{sk / step:.2f}x"]
        if kernels.available():
            plain = rows["ours fit step, pure NumPy"]
            cells[4:4] = [f"{plain:.3f}", f"{100 * floor / plain:.0f}%"]
        print("  ".join(f"{c:>16}" for c in cells))
    print()
    print_threadpool_info()


if __name__ == "__main__":
    main()
