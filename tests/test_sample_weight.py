"""``sample_weight`` and ``class_weight`` in ``fit``, against their definitions.

An integer weight k counts a row k times, a zero weight drops it, a constant
factor on every weight changes nothing (without penalty); ``class_weight``
multiplies into the sample weights, and ``'balanced'`` is
``n_samples / (n_classes * count(class))``, computed here by hand. Each
definition gives an unweighted problem the weighted fit must match.
"""

import re
import warnings

import numpy as np
import pytest
from conftest import (
    ESTIMATORS,
    assert_same_weights,
    fit_quietly,
    max_abs_diff,
    noisy_problem,
    starting_weights,
)
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor


def _weights_case(kind, case, rng):
    """(X, y, w) and the equivalent unweighted (X2, y2), per the definition."""
    X, y = noisy_problem(kind, n=30)
    if case == "repeat":
        w = rng.integers(1, 4, size=30)
        return X, y, w, np.repeat(X, w, axis=0), np.repeat(y, w)
    if case == "zero":
        w = np.ones(30)
        w[rng.choice(30, 8, replace=False)] = 0
        keep = w > 0
        return X, y, w, X[keep], y[keep]
    w = np.full(30, 3.5)  # a constant factor: same as no weights
    return X, y, w, X, y


@pytest.mark.parametrize("case", ["repeat", "zero", "scale"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_sample_weight_definitions_in_fit(kind, solver, case):
    # Full-batch training (one batch of every row, or L-BFGS) so that weighted
    # and unweighted runs see the same batches. alpha=0: the L2 term is divided
    # by the sum of the weights (as in scikit-learn), so a constant factor on
    # all weights does change the penalty's relative strength.
    X, y, w, X2, y2 = _weights_case(kind, case, np.random.default_rng(3))
    params = dict(
        hidden_layer_sizes=(5,), activation="tanh", solver=solver, alpha=0.0, batch_size=200,
        shuffle=False, learning_rate_init=0.05, max_iter=15, random_state=0,
    )
    coefs, intercepts = starting_weights([4, 5, 3 if kind == "classifier" else 1])
    params.update(coefs_init=coefs, intercepts_init=intercepts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # batch_size larger than n, convergence
        weighted = ESTIMATORS[kind](**params).fit(X, y, sample_weight=w)
        plain = ESTIMATORS[kind](**params).fit(X2, y2)
    assert weighted.n_iter_ == plain.n_iter_
    np.testing.assert_allclose(weighted.loss_curve_, plain.loss_curve_, rtol=1e-9)
    assert_same_weights(weighted, plain, atol=1e-8)


def test_sample_weight_matters():
    # The counterpart of the tests above: unequal weights change the result.
    X, y = noisy_problem("regressor", n=30)
    w = np.random.default_rng(0).integers(1, 4, size=30)
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = BackpropRegressor(**params).fit(X, y, sample_weight=w)
        b = BackpropRegressor(**params).fit(X, y)
    assert max_abs_diff(a.coefs_, b.coefs_) > 1e-4


def _balanced_by_hand(y):
    labels, y_index = np.unique(y, return_inverse=True)
    per_class = len(y) / (len(labels) * np.bincount(y_index))
    return per_class[y_index]


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_balanced_class_weight_equals_its_sample_weights(solver):
    X, y = noisy_problem("classifier", n=60)
    y = np.where(y == 2, 1, y)
    y[:6] = 2  # unbalanced: 2 is rare
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=20, random_state=0)
    a = fit_quietly(BackpropClassifier(**params, class_weight="balanced"), X, y)
    b = fit_quietly(BackpropClassifier(**params), X, y, sample_weight=_balanced_by_hand(y))
    assert_same_weights(a, b, atol=1e-12)
    c = fit_quietly(BackpropClassifier(**params), X, y)
    assert max_abs_diff(a.coefs_, c.coefs_) > 1e-6  # the weights did matter


def test_class_weight_dict_multiplies_sample_weight():
    X, y = noisy_problem("classifier", n=60)
    labels = np.array(["a", "b", "c"])[y]
    class_weight = {"a": 0.5, "c": 3.0}  # 'b' keeps weight 1
    sw = np.random.default_rng(1).uniform(0.5, 2.0, size=60)
    per_sample = np.array([class_weight.get(label, 1.0) for label in labels])
    params = dict(hidden_layer_sizes=(5,), solver="sgd", max_iter=10, random_state=0)
    a = fit_quietly(BackpropClassifier(**params, class_weight=class_weight), X, labels, sw)
    b = fit_quietly(BackpropClassifier(**params), X, labels, sw * per_sample)
    assert_same_weights(a, b, atol=1e-12)
    c = fit_quietly(BackpropClassifier(**params, class_weight="balanced"), X, labels, sw)
    d = fit_quietly(BackpropClassifier(**params), X, labels, sw * _balanced_by_hand(labels))
    assert_same_weights(c, d, atol=1e-12)


def test_class_weight_with_unknown_label_is_refused():
    X, y = noisy_problem("classifier")
    with pytest.raises(ValueError, match="class_weight"):
        BackpropClassifier((3,), class_weight={7: 2.0}, max_iter=2).fit(X, y)


# --------------------------------------------------------------------------- #
# Weights are checked in float64, before the cast to the data's dtype
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "weights, dtype, message",
    [
        # finite weights that float32 cannot hold: the user's values, not NaN or inf
        (1e300, np.float32, "too large for the training data's dtype float32"),
        (np.r_[np.ones(29), 1e39], np.float32, "largest weight is 1e+39"),
        (np.full(30, 1.5e37), np.float32, "add up to more than 3.4e+38"),
        (np.full(30, 1e307), np.float64, "too large for the training data's dtype float64"),
        (1e-60, np.float32, "rounds to 0 in float32"),
    ],
)
def test_weights_beyond_the_data_dtype_are_named(weights, dtype, message):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3)).astype(dtype)
    y = np.arange(30) % 2
    clf = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no "overflow encountered in cast"
        with pytest.raises(ValueError, match=re.escape(message)) as info:
            clf.fit(X, y, sample_weight=weights)
    assert "NaN or infinity" not in str(info.value)
    assert ("pass X as float64" in str(info.value)) == (dtype == np.float32)
    assert not hasattr(clf, "coefs_")


def test_class_weights_times_sample_weights_beyond_float32_are_named():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3)).astype(np.float32)
    y = np.arange(30) % 2
    clf = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=2, class_weight={0: 1e30})
    with pytest.raises(ValueError, match="too large for the training data's dtype float32"):
        clf.fit(X, y, sample_weight=np.full(30, 1e10))


def test_large_float32_weights_within_range_train_like_their_ratios():
    # Only the ratios matter to the cost (a weighted mean) when alpha is 0.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3)).astype(np.float32)
    y = np.arange(30) % 2
    w = rng.uniform(0.5, 2.0, size=30)
    params = dict(hidden_layer_sizes=(3,), max_iter=3, alpha=0.0, random_state=0, solver="sgd")
    a = fit_quietly(BackpropClassifier(**params), X, y, sample_weight=w)
    b = fit_quietly(BackpropClassifier(**params), X, y, sample_weight=w * 2.0**100)
    for W, V in zip(a.coefs_, b.coefs_, strict=True):
        np.testing.assert_allclose(W, V, rtol=1e-5)
