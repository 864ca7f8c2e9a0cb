"""Early stopping and the validation set.

The stopping rule (written out here: an epoch counts when its validation score
is below the best score + ``tol``; stop after ``n_iter_no_change`` + 1 such
epochs), restoring the weights of the best epoch, the stratified validation
split and its size, an explicit ``X_val`` / ``y_val``, early stopping across a
warm start, validation scores recorded without early stopping, and L-BFGS
(which ignores early stopping, with a warning, but records the scores of an
explicit validation set).
"""

import math
import warnings

import numpy as np
import pytest
from conftest import ESTIMATORS, fit_quietly, noisy_problem
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor


def _expected_stop_epoch(scores, tol, patience):
    """The stopping rule, written out: count epochs whose score is below best + tol."""
    best, count = -np.inf, 0
    for epoch, score in enumerate(scores, start=1):
        count = count + 1 if score < best + tol else 0
        best = max(best, score)
        if count > patience:
            return epoch
    return None


def _snapshots_callback(store):
    def callback(estimator, record):
        store.append([a.copy() for a in estimator.coefs_ + estimator.intercepts_])

    return callback


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_early_stopping_restores_the_best_epoch(kind):
    X, y = noisy_problem(kind, n=120)
    X_tr, y_tr, X_val, y_val = X[:80], y[:80], X[80:], y[80:]
    snapshots = []
    est = ESTIMATORS[kind](
        (8,), solver="adam", learning_rate_init=0.05, early_stopping=True, n_iter_no_change=4,
        tol=1e-4, max_iter=300, random_state=0, callbacks=[_snapshots_callback(snapshots)],
    ).fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    scores = est.validation_scores_
    assert len(scores) == est.n_iter_ == len(snapshots)
    assert est.n_iter_ == _expected_stop_epoch(scores, 1e-4, 4)
    assert est.best_validation_score_ == max(scores)
    # The kept weights score best_validation_score_ on the validation data ...
    assert est.score(X_val, y_val) == pytest.approx(est.best_validation_score_, abs=1e-12)
    # ... and they are the weights at the end of the first best epoch.
    best_epoch = int(np.argmax(scores))
    assert best_epoch < est.n_iter_ - 1
    for kept, seen in zip(est.coefs_ + est.intercepts_, snapshots[best_epoch], strict=True):
        np.testing.assert_array_equal(kept, seen)
    assert [r["validation_score"] for r in est.history_] == scores


def _spy_validation(monkeypatch, cls):
    """Record the validation data handed to the scorer."""
    seen = []
    original = cls._validation_score

    def spy(self, X, y, sample_weight):
        seen.append((X, y))
        return original(self, X, y, sample_weight)

    monkeypatch.setattr(cls, "_validation_score", spy)
    return seen


def test_validation_split_is_stratified_and_restores_best(monkeypatch):
    X, y = noisy_problem("classifier", n=90)
    y = np.repeat([0, 1, 2], 30)  # balanced classes: a stratified 20% holds 6 of each
    X[:, 0] += y
    seen = _spy_validation(monkeypatch, BackpropClassifier)
    clf = BackpropClassifier(
        (6,), learning_rate_init=0.05, early_stopping=True, validation_fraction=0.2,
        n_iter_no_change=3, max_iter=200, random_state=0,
    ).fit(X, y)
    X_val, y_val = seen[0]
    assert len(seen) == clf.n_iter_
    assert all(v[0] is X_val for v in seen)  # the same held-out rows every epoch
    assert np.bincount(y_val).tolist() == [6, 6, 6]
    # The held-out rows come from X and are not trained on.
    assert {tuple(r) for r in X_val} <= {tuple(r) for r in X}
    assert clf.t_ == clf.n_iter_ * (90 - 18)
    assert clf.score(X_val, y_val) == pytest.approx(clf.best_validation_score_, abs=1e-12)
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_regressor_validation_split_size(monkeypatch):
    X, y = noisy_problem("regressor", n=50)
    seen = _spy_validation(monkeypatch, BackpropRegressor)
    reg = BackpropRegressor(
        (6,), early_stopping=True, validation_fraction=0.3, n_iter_no_change=2, max_iter=30,
        random_state=0,
    )
    fit_quietly(reg, X, y)
    assert seen[0][0].shape[0] == math.ceil(0.3 * 50)
    assert reg.t_ == reg.n_iter_ * (50 - 15)
    assert reg.score(*seen[0]) == pytest.approx(reg.best_validation_score_, abs=1e-12)


def test_explicit_validation_set_replaces_the_split(monkeypatch):
    X, y = noisy_problem("classifier", n=80)
    X_val, y_val = noisy_problem("classifier", n=20, seed=5)
    seen = _spy_validation(monkeypatch, BackpropClassifier)
    clf = BackpropClassifier(
        (6,), early_stopping=True, n_iter_no_change=2, max_iter=30, random_state=0
    )
    fit_quietly(clf, X, y, X_val=X_val, y_val=y_val)
    np.testing.assert_array_equal(seen[0][0], X_val)
    np.testing.assert_array_equal(seen[0][1], y_val)
    assert clf.t_ == clf.n_iter_ * 80  # every training row is trained on
    assert clf.score(X_val, y_val) == pytest.approx(clf.best_validation_score_, abs=1e-12)


def test_explicit_validation_set_needs_both_parts():
    X, y = noisy_problem("classifier")
    with pytest.raises(ValueError, match="X_val and y_val"):
        BackpropClassifier((3,), max_iter=2).fit(X, y, X_val=X[:5])


def test_too_small_validation_split_is_refused():
    X, y = noisy_problem("regressor", n=10)
    with pytest.raises(ValueError, match="validation set"):
        BackpropRegressor((3,), early_stopping=True, validation_fraction=0.1).fit(X, y)


def test_warm_start_with_early_stopping_keeps_best_weights():
    # A second (warm) fit that never beats the first fit's best validation
    # score must still leave the model holding weights that score
    # best_validation_score_.
    X, y = noisy_problem("regressor", n=100)
    X_tr, y_tr, X_val, y_val = X[:70], y[:70], X[70:], y[70:]
    reg = BackpropRegressor(
        (8,), solver="sgd", learning_rate_init=0.01, early_stopping=True, n_iter_no_change=3,
        max_iter=200, warm_start=True, random_state=0,
    ).fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    first_best = reg.best_validation_score_
    reg.set_params(learning_rate_init=0.5, momentum=0.99, max_iter=5)  # wrecks the fit
    fit_quietly(reg, X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert max(reg.validation_scores_[-5:]) < first_best  # the second fit did not improve
    assert reg.best_validation_score_ == first_best
    assert reg.score(X_val, y_val) == pytest.approx(first_best, abs=1e-12)


def test_explicit_validation_without_early_stopping_tracks_best_score():
    X, y = load_iris(return_X_y=True)
    clf = BackpropClassifier(
        hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=0.05, max_iter=15,
        random_state=0, n_iter_no_change=100,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[::2], y[::2], X_val=X[1::2], y_val=y[1::2])
    assert len(clf.validation_scores_) == clf.n_iter_ == 15
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # no early stopping: the final weights are the last epoch's, scored last
    assert clf.score(X[1::2], y[1::2]) == clf.validation_scores_[-1]


def test_lbfgs_ignores_early_stopping_with_a_warning_and_uses_all_rows():
    X, y = load_iris(return_X_y=True)
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(UserWarning, match="early_stopping applies to solver='sgd' and 'adam'"):
            flagged = BackpropClassifier(early_stopping=True, **params).fit(X, y)
        plain = BackpropClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(flagged.coefs_[0], plain.coefs_[0])


def test_lbfgs_records_scores_on_an_explicit_validation_set():
    X, y = load_iris(return_X_y=True)
    seen = []
    clf = BackpropClassifier(
        hidden_layer_sizes=(5,), solver="lbfgs", max_iter=10, random_state=0,
        callbacks=[lambda est, rec: seen.append(est.score(X[1::2], y[1::2]))],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[::2], y[::2], X_val=X[1::2], y_val=y[1::2])
    assert clf.validation_scores_ == seen
    assert [r["validation_score"] for r in clf.history_] == seen
    assert clf.best_validation_score_ == max(seen)
