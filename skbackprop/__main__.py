"""``python -m skbackprop``: train on the embedded digits data, next to scikit-learn.

Prints held-out accuracy, fit time and final training loss of
``BackpropClassifier`` and of scikit-learn's ``MLPClassifier`` trained the same
way (same split, hidden layers, solver, epochs and scaling).
"""

from __future__ import annotations

import argparse
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from . import BackpropClassifier, __version__


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m skbackprop", description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="*", default=[100], help="hidden layer sizes")
    parser.add_argument("--max-iter", type=int, default=200, help="maximum epochs")
    parser.add_argument("--seed", type=int, default=0, help="random_state of split and models")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    settings = dict(hidden_layer_sizes=tuple(args.hidden), max_iter=args.max_iter, random_state=args.seed)

    print(f"skbackprop {__version__}: digits, {X_train.shape[0]} train / {X_test.shape[0]} test "
          f"samples, hidden layers {tuple(args.hidden)}, Adam, up to {args.max_iter} epochs")
    print(f"{'model':<22}{'test accuracy':>14}{'fit time (s)':>14}{'final loss':>12}{'epochs':>8}")
    for name, model in (
        ("BackpropClassifier", BackpropClassifier(**settings)),
        ("sklearn MLPClassifier", MLPClassifier(**settings)),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            tic = time.perf_counter()
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - tic
        accuracy = model.score(X_test, y_test)
        print(f"{name:<22}{accuracy:>14.4f}{seconds:>14.3f}{model.loss_:>12.5f}{model.n_iter_:>8d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
