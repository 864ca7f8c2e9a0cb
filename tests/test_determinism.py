"""Determinism: the same ``random_state`` gives bit-identical fits, another one does not.

For every solver, with and without early stopping (whose validation split is
drawn from ``random_state`` too).
"""

import pytest
from conftest import ESTIMATORS, assert_same_weights, fit_quietly, max_abs_diff, noisy_problem


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam"),
        dict(solver="sgd"),
        dict(solver="lbfgs"),
        dict(solver="adam", early_stopping=True, n_iter_no_change=3),
        dict(solver="sgd", early_stopping=True, n_iter_no_change=3),
    ],
    ids=["adam", "sgd", "lbfgs", "adam-early", "sgd-early"],
)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_same_random_state_gives_bit_identical_weights(kind, params):
    X, y = noisy_problem(kind)
    make = lambda seed: ESTIMATORS[kind]((6,), max_iter=25, random_state=seed, **params)  # noqa: E731
    a = fit_quietly(make(7), X, y)
    b = fit_quietly(make(7), X, y)
    assert_same_weights(a, b)
    assert a.loss_curve_ == b.loss_curve_
    c = fit_quietly(make(8), X, y)
    assert max_abs_diff(a.coefs_, c.coefs_) > 0  # the seed does matter
