"""Where one training step's time goes, and the best ratio the products allow.

One Adam step on one batch of the benchmark's network (784 -> 256 -> 256 -> 10,
ReLU, softmax, cross-entropy, ``alpha=1e-4``), timed piece by piece in one
process for both libraries:

- ``sklearn step``: scikit-learn's ``_backprop`` and its Adam update;
- ``ours step``: our cost and gradient and our Adam update (with the optional
  compiled kernels when numba is installed, and without them);
- ``products only``: the eight matrix products a step needs (three forward,
  three weight gradients, two deltas; the input layer's delta is never
  computed by either library) and nothing else, written into preallocated
  arrays. No implementation of this algorithm can take less time than this
  with the same BLAS.

``sklearn step / products only`` is therefore an upper bound on the speed-up
any implementation can reach over scikit-learn on this machine, for this
configuration. Each figure is the best of several timed blocks, interleaved (milliseconds).

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/step_breakdown.py
    python benchmarks/step_breakdown.py --batch-size 1000
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.neural_network import MLPClassifier
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skbackprop import _accel  # noqa: E402
from skbackprop._network import Network  # noqa: E402
from skbackprop._optimizers import Adam  # noqa: E402

UNITS = [784, 256, 256, 10]
ALPHA = 1e-4


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


def measure(dtype, batch: int) -> dict:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, UNITS[0])).astype(dtype)
    labels = rng.integers(0, UNITS[-1], batch)
    Y = np.eye(UNITS[-1], dtype=dtype)[labels]

    # Ours: the core as the estimators drive it.
    net = Network(UNITS, "relu", "softmax", "cross_entropy")
    params = net.init_params("glorot_uniform", rng, dtype)
    grads = np.zeros_like(params)
    coefs, intercepts = net.unpack(params)
    coef_grads, intercept_grads = net.unpack(grads)
    adam = Adam(params.size, dtype, 1e-3, 0.9, 0.999, 1e-8)

    def ours_grad():
        net.loss_and_grad(X, Y, coefs, intercepts, coef_grads, intercept_grads, alpha=ALPHA)

    def ours_step():
        ours_grad()
        adam.step(params, grads)

    def ours_adam():
        adam.step(params, grads)

    # The eight products alone.
    hidden = [np.empty((batch, u), dtype=dtype) for u in UNITS[1:]]
    deltas = [np.empty((batch, u), dtype=dtype) for u in UNITS[1:-1]]

    def products():
        np.matmul(X, coefs[0], out=hidden[0])
        np.matmul(hidden[0], coefs[1], out=hidden[1])
        np.matmul(hidden[1], coefs[2], out=hidden[2])
        np.matmul(hidden[1].T, hidden[2], out=coef_grads[2])
        np.matmul(hidden[2], coefs[2].T, out=deltas[1])
        np.matmul(hidden[0].T, deltas[1], out=coef_grads[1])
        np.matmul(deltas[1], coefs[1].T, out=deltas[0])
        np.matmul(X.T, deltas[0], out=coef_grads[0])

    # scikit-learn: its own backprop and Adam on the same shapes.
    sk = MLPClassifier(hidden_layer_sizes=tuple(UNITS[1:-1]), alpha=ALPHA, max_iter=1,
                       batch_size=batch, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk.fit(X, labels)
    Y_sk = sk._label_binarizer.transform(labels).astype(dtype)
    sk_coef_grads = [np.empty_like(c) for c in sk.coefs_]
    sk_intercept_grads = [np.empty_like(b) for b in sk.intercepts_]
    sk_params = sk.coefs_ + sk.intercepts_
    sk_adam = AdamOptimizer(sk_params, 1e-3, 0.9, 0.999, 1e-8)
    sk_deltas = [None] * (len(UNITS) - 1)

    def sk_step():
        activations = [X] + [None] * (len(UNITS) - 1)
        _, cg, ig = sk._backprop(X, Y_sk, None, activations, sk_deltas,
                                 sk_coef_grads, sk_intercept_grads)
        sk_adam.update_params(sk_params, cg + ig)

    def pure_numpy(func):
        def run():
            with _accel.disabled():
                func()

        return run

    funcs = {"sklearn step": sk_step, "ours step": ours_step}
    if _accel.available():
        funcs["ours step, pure NumPy"] = pure_numpy(ours_step)
    funcs["  of which cost and gradient"] = ours_grad
    funcs["  of which Adam"] = ours_adam
    if _accel.available():
        funcs["  of which Adam, pure NumPy"] = pure_numpy(ours_adam)
    funcs["products only"] = products
    return best_ms(funcs)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args(argv)
    _accel.warm_up()
    print(f"one Adam step, batch {args.batch_size}, layers {UNITS}, ms (best of 8 interleaved blocks)")
    print(f"compiled kernels: {'yes (numba)' if _accel.available() else 'no (numba not installed)'}")
    for dtype in (np.float64, np.float32):
        rows = measure(dtype, args.batch_size)
        print(f"\n{np.dtype(dtype).name}")
        for name, ms in rows.items():
            print(f"  {name:<30} {ms:8.3f}")
        sk, ours, floor = rows["sklearn step"], rows["ours step"], rows["products only"]
        print(f"  ratio sklearn / ours           {sk / ours:8.2f}x")
        print(f"  bound sklearn / products only  {sk / floor:8.2f}x")
    try:
        from threadpoolctl import threadpool_info

        print()
        for info in threadpool_info():
            print({k: info.get(k) for k in ("user_api", "internal_api", "num_threads", "version",
                                             "architecture")})
    except ImportError:
        pass


if __name__ == "__main__":
    main()
