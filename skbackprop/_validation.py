"""Declarative checks of hyper-parameters and of user-supplied arrays.

Each rule is a small function that raises a ``ValueError`` (or ``TypeError``)
naming the parameter, the value it got and what would be valid. The table in
``_base.py`` maps every public parameter to one rule.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.utils.validation import column_or_1d


def _fail(name, value, expected, exc=ValueError):
    raise exc(f"Invalid value for parameter `{name}`: {value!r}. Expected {expected}.")


def options(*choices: str) -> Callable[[str, object], None]:
    """Rule: the value is one of ``choices``."""

    def check(name, value):
        if not isinstance(value, str) or value not in choices:
            _fail(name, value, "one of " + ", ".join(repr(c) for c in choices))

    return check


def number(low=None, high=None, *, low_open=False, high_open=False, integer=False):
    """Rule: a real (or integral) number in the given interval."""

    def describe():
        kind = "an integer" if integer else "a number"
        parts = []
        if low is not None:
            parts.append(f"{'>' if low_open else '>='} {low}")
        if high is not None:
            parts.append(f"{'<' if high_open else '<='} {high}")
        return kind + (" " + " and ".join(parts) if parts else "")

    def check(name, value):
        base = numbers.Integral if integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, base):
            _fail(name, value, describe(), TypeError)
        if not np.isfinite(value) and not (high is None and value == np.inf):
            _fail(name, value, describe())
        if low is not None and (value < low or (low_open and value == low)):
            _fail(name, value, describe())
        if high is not None and (value > high or (high_open and value == high)):
            _fail(name, value, describe())

    return check


def boolean(name, value):
    """Rule: a bool (numpy bools included)."""
    if not isinstance(value, (bool, np.bool_)):
        _fail(name, value, "True or False", TypeError)


def any_of(*rules):
    """Rule: at least one of ``rules`` accepts the value.

    The error lists what every rule expects (e.g. "one of 'auto' or an integer
    >= 1"); it is a ``TypeError`` only when every rule rejected the type.
    """

    def check(name, value):
        errors = []
        for rule in rules:
            try:
                rule(name, value)
                return
            except (TypeError, ValueError) as exc:
                errors.append(exc)
        expected = " or ".join(str(e).rsplit("Expected ", 1)[-1].rstrip(".") for e in errors)
        exc_type = TypeError if all(isinstance(e, TypeError) for e in errors) else ValueError
        _fail(name, value, expected, exc_type)

    return check


def infinity(name, value):
    """Rule: ``numpy.inf`` (a stop criterion switched off)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(name, value, "numpy.inf", TypeError)
    if value != np.inf:
        _fail(name, value, "numpy.inf")


def layer_sizes(name, value):
    """Rule: an int or a sequence of positive ints (possibly empty)."""
    sizes = [value] if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    try:
        sizes = list(sizes)
    except TypeError:
        _fail(name, value, "a positive int or a tuple of positive ints", TypeError)
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size <= 0:
            _fail(name, value, "a positive int or a tuple of positive ints (every size >= 1)")


def dropout_rates(name, value):
    """Rule: a rate in [0, 1), or a sequence of such rates (one per hidden layer)."""
    rate = number(0.0, 1.0, high_open=True)
    expected = "a number in [0, 1) or a list of such numbers, one per hidden layer"
    if isinstance(value, (str, bytes)) or not (np.isscalar(value) or isinstance(value, Sequence)):
        _fail(name, value, expected, TypeError)
    for item in [value] if np.isscalar(value) else value:
        try:
            rate(name, item)
        except (TypeError, ValueError) as exc:
            _fail(name, value, expected, type(exc))


def random_state(name, value):
    """Rule: None, an int, a RandomState or a Generator."""
    ok = (
        value is None
        or (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0)
        or isinstance(value, (np.random.RandomState, np.random.Generator))
    )
    if not ok:
        _fail(name, value, "None, a non-negative int, a numpy RandomState or Generator", TypeError)


def callable_or(*choices: str):
    """Rule: one of ``choices`` or a callable."""
    named = options(*choices)

    def check(name, value):
        if not callable(value):
            named(name, value)

    return check


def optional_list(name, value):
    """Rule: None or a sequence (checked against the layers later)."""
    if value is not None and not isinstance(value, Sequence):
        _fail(name, value, "None or a list of arrays", TypeError)


def callbacks(name, value):
    """Rule: None or a list of callables."""
    if value is None:
        return
    if not isinstance(value, Sequence) or not all(callable(c) for c in value):
        _fail(name, value, "None or a list of callables", TypeError)


def class_weight(name, value):
    """Rule: None, 'balanced' or a dict of finite, non-negative weights."""
    if value is None or (isinstance(value, str) and value == "balanced"):
        return
    if not isinstance(value, dict):
        _fail(name, value, "None, 'balanced' or a dict {class label: weight}")
    for label, weight in value.items():
        if (
            isinstance(weight, bool)
            or not isinstance(weight, numbers.Real)
            or not np.isfinite(weight)
            or weight < 0
        ):
            _fail(
                name,
                value,
                f"a finite weight >= 0 for every class (class {label!r} has {weight!r})",
            )


def check_sample_weight(sample_weight, n_samples: int, dtype) -> np.ndarray | None:
    """Validate ``sample_weight`` (an array or a scalar) and return a new float array.

    A scalar is checked like an array of that value; the result is never the
    caller's array.

    Raises
    ------
    ValueError
        On a wrong shape, NaN/inf, negative weights or weights that are all zero.
    """
    sw = sample_weight_values(sample_weight, n_samples, dtype)
    if sw is not None:
        check_some_weight(sw, "sample_weight is zero for every sample")
    return sw


def sample_weight_values(sample_weight, n_samples: int, dtype) -> np.ndarray | None:
    """:func:`check_sample_weight` without the check that some weight is positive.

    For a part of the data (a chunk of a dask collection), whose weights may
    all be zero as long as some other part's are not.
    """
    if sample_weight is None:
        return None
    # Checked in float64 whatever the data's dtype: a finite weight that the
    # cast to float32 would turn into inf is the user's value, not an inf.
    if isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, bool):
        sw = np.full(n_samples, sample_weight, dtype=np.float64)
    else:
        sw = np.array(sample_weight, dtype=np.float64)
    if sw.ndim != 1 or sw.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must be a scalar or a 1-D array of length n_samples={n_samples}; "
            f"got shape {sw.shape}."
        )
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight contains NaN or infinity; pass finite weights.")
    if np.any(sw < 0):
        raise ValueError("sample_weight has negative values; weights must be >= 0.")
    return weights_as(sw, np.dtype(dtype))


def weights_as(sw: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Checked float64 weights ``sw`` in ``dtype``, or an error if ``dtype`` cannot hold them.

    The cost divides by the weights' sum, so each weight and their sum must be
    finite in ``dtype``, and positive weights must not all round to zero.
    """
    info = np.finfo(dtype)
    wider = ", or pass X as float64" if info.bits < 64 else ""
    # The sum as a fraction of the largest number: no overflow on the way.
    if sw.shape[0] and np.add.reduce(sw / info.max) > 1.0:
        largest = float(sw.max())
        raise ValueError(
            f"sample_weight is too large for the training data's dtype {dtype.name}: the "
            f"largest weight is {largest:.3g} and the weights add up to more than "
            f"{info.max:.3g}, the largest {dtype.name} number. Only the weights' ratios "
            "matter to the cost (a weighted mean): divide them by their mean (the L2 "
            f"penalty then weighs as without weights){wider}."
        )
    cast = sw.astype(dtype)
    if sw.shape[0] and not np.any(cast > 0) and np.any(sw > 0):
        raise ValueError(
            f"sample_weight is too small for the training data's dtype {dtype.name}: the "
            f"largest weight is {float(sw.max()):.3g}, which rounds to 0 in {dtype.name} "
            f"(smallest positive number {info.smallest_subnormal:.3g}). Only the weights' "
            f"ratios matter to the cost: divide them by their mean{wider}."
        )
    return cast


def check_some_weight(weights: np.ndarray, what: str) -> None:
    """Raise scikit-learn's error for weights that are all zero (``what`` says whose)."""
    if weights.shape[0] and not weights.sum() > 0:
        raise ValueError(
            f"Sample weights must contain at least one non-zero number: {what}. "
            "Give at least one sample a positive weight."
        )


def check_initial_weights(coefs_init, intercepts_init, coef_shapes: Sequence[tuple]) -> None:
    """Check explicit starting weights against the network's layer shapes."""
    n = len(coef_shapes)
    expected_c = [tuple(s) for s in coef_shapes]
    expected_i = [(s[1],) for s in coef_shapes]
    for name, given, expected in (
        ("coefs_init", coefs_init, expected_c),
        ("intercepts_init", intercepts_init, expected_i),
    ):
        if given is None:
            continue
        if len(given) != n:
            raise ValueError(
                f"{name} has {len(given)} arrays but the network has {n} weight layers; "
                f"expected shapes {expected}."
            )
        for i, (arr, shape) in enumerate(zip(given, expected, strict=True)):
            arr = np.asarray(arr)
            if arr.shape != shape:
                raise ValueError(
                    f"{name}[{i}] has shape {arr.shape}; expected {shape} "
                    f"(all layers: {expected})."
                )
            if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
                raise ValueError(f"{name}[{i}] must contain finite numbers.")


def one_column_as_1d(y):
    """``y`` of shape (n, 1) as 1-D, with scikit-learn's DataConversionWarning."""
    return column_or_1d(y, warn=True) if y.ndim == 2 and y.shape[1] == 1 else y
