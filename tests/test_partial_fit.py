"""partial_fit: one epoch per call, optimizer state kept between calls.

The oracle is ``fit`` itself: with ``shuffle=False`` and chunks as large as a
batch, ``partial_fit`` over the chunks takes exactly the steps of one epoch of
``fit`` over the same batches in the same order, momentum and Adam moments
included. Resetting the optimizer between calls would break the equality.
"""

import warnings

import numpy as np
import pytest
from conftest import ESTIMATORS

from skbackprop import BackpropClassifier, BackpropRegressor


def _data(kind, n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    if kind == "classifier":
        y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    else:
        y = np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2]
    return X, y


def _assert_same_weights(a, b, atol=1e-12):
    for x, z in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_allclose(x, z, rtol=0, atol=atol)


def _classes(kind, y):
    return {"classes": np.unique(y)} if kind == "classifier" else {}


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_partial_fit_over_chunks_equals_one_epoch_of_fit(kind, solver):
    X, y = _data(kind)
    params = dict(
        hidden_layer_sizes=(6,), solver=solver, momentum=0.9, nesterovs_momentum=True,
        learning_rate_init=0.05, shuffle=False, batch_size=12, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after one epoch
        whole = ESTIMATORS[kind](**params, max_iter=1).fit(X, y)
    chunked = ESTIMATORS[kind](**params)
    for start in range(0, 60, 12):
        chunked.partial_fit(X[start : start + 12], y[start : start + 12], **_classes(kind, y))
    _assert_same_weights(chunked, whole)
    assert chunked.t_ == whole.t_ == 60
    # One epoch per call: n_iter_ counts the last call (as scikit-learn's), the
    # record keeps every epoch.
    assert chunked.n_iter_ == 1
    assert len(chunked.loss_curve_) == len(chunked.history_) == 5
    assert [r["epoch"] for r in chunked.history_] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_continues_a_fit(solver):
    # fit for 2 epochs, then partial_fit over the batches of a 3rd epoch ==
    # fit for 3 epochs: the optimizer state of fit carries over.
    X, y = _data("regressor")
    params = dict(
        hidden_layer_sizes=(6,), solver=solver, momentum=0.9, shuffle=False, batch_size=20,
        learning_rate_init=0.02, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = BackpropRegressor(**params, max_iter=2).fit(X, y)
        three = BackpropRegressor(**params, max_iter=3).fit(X, y)
    for start in range(0, 60, 20):
        est.partial_fit(X[start : start + 20], y[start : start + 20])
    _assert_same_weights(est, three)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_partial_fit_refuses_lbfgs(kind):
    # As in scikit-learn, the method is absent for L-BFGS (hasattr is False);
    # the error says why.
    X, y = _data(kind)
    est = ESTIMATORS[kind]((4,), solver="lbfgs")
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError) as error:
        est.partial_fit(X, y, **_classes(kind, y))
    assert "solver='lbfgs'" in str(error.value.__cause__)
    assert not hasattr(est, "coefs_")
    est.set_params(solver="sgd")
    est.partial_fit(X, y, **_classes(kind, y))
    # Switching to L-BFGS after fitting does not sneak an incremental step in.
    est.set_params(solver="lbfgs")
    assert not hasattr(est, "partial_fit")


def test_partial_fit_refuses_early_stopping():
    X, y = _data("regressor")
    with pytest.raises(ValueError, match="early_stopping"):
        BackpropRegressor((4,), early_stopping=True).partial_fit(X, y)


def test_classes_are_required_on_the_first_call():
    X, y = _data("classifier")
    clf = BackpropClassifier((4,))
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y)  # later calls may omit them


def test_labels_outside_classes_are_refused():
    X, y = _data("classifier")
    clf = BackpropClassifier((4,))
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X, y, classes=[0, 1])  # y also holds 2
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    before = [c.copy() for c in clf.coefs_]
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X[:3], [0, 1, 5])
    for kept, old in zip(clf.coefs_, before, strict=True):
        np.testing.assert_array_equal(kept, old)  # a refused call changes nothing


def test_classes_not_yet_seen_get_an_output():
    X, y = _data("classifier")
    clf = BackpropClassifier((4,), random_state=0)
    clf.partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (60, 3)
    clf.partial_fit(X, y)
    assert set(clf.predict(X)) <= {0, 1, 2}


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_partial_fit_sample_weight_equals_repeated_rows(kind, solver):
    # Each chunk is one batch, so weighted and repeated chunks take the same steps.
    X, y = _data(kind, n=40)
    w = np.random.default_rng(2).integers(0, 3, size=40)
    w[w.argmax()] = 3  # some rows dropped (0), some repeated
    params = dict(hidden_layer_sizes=(5,), solver=solver, alpha=0.0, batch_size=200,
                  shuffle=False, learning_rate_init=0.05, random_state=0)
    weighted, repeated = ESTIMATORS[kind](**params), ESTIMATORS[kind](**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # batch_size larger than the chunk
        for start in range(0, 40, 20):
            part = slice(start, start + 20)
            Xp, yp, wp = X[part], y[part], w[part]
            weighted.partial_fit(Xp, yp, sample_weight=wp, **_classes(kind, y))
            repeated.partial_fit(np.repeat(Xp, wp, axis=0), np.repeat(yp, wp), **_classes(kind, y))
    _assert_same_weights(weighted, repeated, atol=1e-10)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-10)


def test_partial_fit_class_weight():
    # A dict works and equals the per-sample weights; 'balanced' needs the
    # whole training set and is refused.
    X, y = _data("classifier")
    params = dict(hidden_layer_sizes=(5,), solver="sgd", shuffle=False, random_state=0)
    a = BackpropClassifier(**params, class_weight={0: 2.0, 2: 0.5})
    b = BackpropClassifier(**params)
    a.partial_fit(X, y, classes=[0, 1, 2])
    b.partial_fit(X, y, classes=[0, 1, 2], sample_weight=np.choose(y, [2.0, 1.0, 0.5]))
    _assert_same_weights(a, b)
    with pytest.raises(ValueError, match="balanced"):
        BackpropClassifier((4,), class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
