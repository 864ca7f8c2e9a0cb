"""``python -m skbackprop``: train on the embedded digits data, next to scikit-learn.

Prints held-out accuracy, fit time and final training loss of
``BackpropClassifier`` and of scikit-learn's ``MLPClassifier`` trained the same
way (same split, hidden layers, solver, epochs and scaling).

Run ``python -m skbackprop --help`` for the options.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Sequence

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from . import BackpropClassifier, __version__

# The help text is plain text, printed as laid out here (no reST markup).
_DESCRIPTION = """\
Train skbackprop's BackpropClassifier and scikit-learn's MLPClassifier on
scikit-learn's embedded digits data the same way (same split, scaling, hidden
layers, Adam solver and epochs), and print held-out accuracy, fit time, final
training loss and number of epochs of each."""
_EPILOG = """\
examples:
  python -m skbackprop --hidden 64 32 --max-iter 50
  python -m skbackprop --hidden none    # no hidden layer (logistic regression)"""

# numpy's legacy seeding (what ``random_state`` ends up in) takes 32-bit unsigned integers.
_MAX_SEED = 2**32 - 1


def _int_in(text: str, what: str, low: int, high: int | None = None) -> int:
    """Parse ``text`` as an integer in ``[low, high]`` for argparse, naming ``what`` in the error."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError(f"{what}, got {text!r}")
    return value


def _hidden_size(text: str) -> int | None:
    """Parse one value of ``--hidden``.

    Parameters
    ----------
    text : str
        A command-line value: a positive integer, or ``none`` (any case).

    Returns
    -------
    int or None
        The layer size, or None for ``none``.

    Raises
    ------
    argparse.ArgumentTypeError
        If ``text`` is neither ``none`` nor a positive integer.
    """
    if text.strip().lower() == "none":
        return None
    return _int_in(
        text, "hidden layer sizes must be positive integers (or 'none' for no hidden layer)", 1
    )


def _positive_int(text: str) -> int:
    """Parse a positive integer (``--max-iter``); raise ``ArgumentTypeError`` otherwise."""
    return _int_in(text, "must be a positive integer", 1)


def _seed(text: str) -> int:
    """Parse a seed from 0 to 2**32 - 1 (``--seed``); raise ``ArgumentTypeError`` otherwise."""
    return _int_in(text, f"must be an integer from 0 to {_MAX_SEED}", 0, _MAX_SEED)


def build_parser() -> argparse.ArgumentParser:
    """Build the command-line parser of ``python -m skbackprop``.

    Returns
    -------
    argparse.ArgumentParser
        The parser; its errors exit with status 2 and a usage message.
    """
    parser = argparse.ArgumentParser(
        prog="python -m skbackprop",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--hidden",
        type=_hidden_size,
        nargs="+",
        default=[100],
        metavar="SIZE",
        help="hidden layer sizes, positive integers, input side first; 'none' alone for "
        "no hidden layer (default: 100)",
    )
    parser.add_argument(
        "--max-iter",
        type=_positive_int,
        default=200,
        metavar="N",
        help="maximum number of epochs, a positive integer (default: 200)",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help=f"random_state of the split and of both models, 0 to {_MAX_SEED} (default: 0)",
    )
    parser.add_argument("--version", action="version", version=f"skbackprop {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo.

    Parameters
    ----------
    argv : sequence of str, optional
        The command-line arguments without the program name; ``None`` reads
        ``sys.argv[1:]``.

    Returns
    -------
    int
        The process exit code, 0 on success.

    Raises
    ------
    SystemExit
        With status 2 (and a usage message on stderr) for invalid arguments,
        with status 0 after ``--help`` or ``--version``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if None in args.hidden:
        if len(args.hidden) > 1:
            parser.error("argument --hidden: 'none' cannot be combined with layer sizes")
        hidden: tuple[int, ...] = ()
    else:
        hidden = tuple(args.hidden)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    settings = dict(hidden_layer_sizes=hidden, max_iter=args.max_iter, random_state=args.seed)

    layers = f"hidden layers {hidden}" if hidden else "no hidden layer"
    print(
        f"skbackprop {__version__}: digits, {X_train.shape[0]} train / {X_test.shape[0]} test "
        f"samples, {layers}, Adam, up to {args.max_iter} epochs"
    )
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
