"""Profile one ``fit`` of skbackprop (or scikit-learn) on the benchmark's data.

Shows where the time of a training run goes, so that what is not a matrix
product can be found and removed. Uses pyinstrument when it is installed and
the standard library's cProfile otherwise.

Usage::

    python benchmarks/profile_fit.py                      # ours, float32, Adam
    python benchmarks/profile_fit.py --dtype float64 --solver sgd
    python benchmarks/profile_fit.py --library sklearn    # the same run of MLPClassifier
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_vs_sklearn import HIDDEN, make_data  # noqa: E402

from skbackprop import BackpropClassifier  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--library", choices=["ours", "sklearn"], default="ours")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--solver", choices=["adam", "sgd", "lbfgs"], default="adam")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--cprofile", action="store_true", help="use cProfile even if pyinstrument is there")
    args = parser.parse_args(argv)

    X, y, _, _ = make_data(args.rows)
    X = np.ascontiguousarray(X, dtype=args.dtype)
    cls = BackpropClassifier if args.library == "ours" else MLPClassifier
    params = dict(hidden_layer_sizes=HIDDEN, solver=args.solver, max_iter=args.epochs, tol=0.0,
                  random_state=0)
    if args.solver != "lbfgs":
        params.update(batch_size=args.batch_size, n_iter_no_change=10**6)
    model = cls(**params)
    warnings.simplefilter("ignore", ConvergenceWarning)

    try:
        if args.cprofile:
            raise ImportError
        from pyinstrument import Profiler
    except ImportError:
        profiler = cProfile.Profile()
        profiler.runcall(model.fit, X, y)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
        return
    profiler = Profiler(interval=0.0005)
    profiler.start()
    model.fit(X, y)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    main()
