"""The validation scores of early stopping equal scikit-learn's metrics.

Oracle: :func:`sklearn.metrics.accuracy_score` and
:func:`sklearn.metrics.r2_score`, on random inputs and, end to end, on the
scores an estimator records after every epoch.
"""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score

from skbackprop import BackpropClassifier, BackpropRegressor, _scores

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "labels",
    [
        RNG.integers(0, 2, 40),
        RNG.integers(0, 5, 40),
        np.array(["cat", "dog", "emu"])[RNG.integers(0, 3, 40)],
        RNG.integers(0, 2, (40, 3)),  # multilabel indicator
    ],
    ids=["binary", "multiclass", "strings", "multilabel"],
)
def test_accuracy_matches_scikit_learn(labels, weighted):
    flip = RNG.random(labels.shape[0]) < 0.3
    pred = labels.copy()
    pred[flip] = labels[RNG.permutation(labels.shape[0])][flip]
    weights = RNG.uniform(0, 2, labels.shape[0]) if weighted else None
    if weighted:
        weights[:5] = 0.0
    expected = accuracy_score(labels, pred, sample_weight=weights)
    assert _scores.accuracy(labels, pred, weights) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_r2_matches_scikit_learn(n_outputs, weighted):
    y = RNG.normal(size=(30, n_outputs))
    pred = y + RNG.normal(scale=0.5, size=y.shape)
    weights = RNG.uniform(0, 2, 30) if weighted else None
    if n_outputs == 1:
        y, pred = y[:, 0], pred[:, 0]
    expected = r2_score(y, pred, sample_weight=weights)
    assert _scores.r2(y, pred, weights) == pytest.approx(expected, rel=1e-12)


def test_r2_of_constant_targets_follows_scikit_learn():
    y = np.column_stack([np.full(10, 2.0), np.full(10, 3.0), RNG.normal(size=10)])
    pred = y.copy()
    pred[:, 1] += 0.1  # constant target, inexact prediction: 0
    pred[:, 2] += RNG.normal(scale=0.3, size=10)
    assert _scores.r2(y, pred, None) == pytest.approx(r2_score(y, pred), rel=1e-12)


def _scores_per_epoch(est, X, y, X_val, y_val, metric):
    """Fit with an explicit validation set; return (recorded, metric of predict) per epoch."""
    recomputed = []

    def score_by_hand(model, record):
        recomputed.append(metric(y_val, model.predict(X_val)))

    est.set_params(callbacks=[score_by_hand])
    est.fit(X, y, X_val=X_val, y_val=y_val)
    return est.validation_scores_, recomputed


def test_recorded_validation_scores_are_scikit_learns():
    X = RNG.normal(size=(120, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    clf = BackpropClassifier(hidden_layer_sizes=(6,), max_iter=8, random_state=0)
    with pytest.warns(Warning):  # max_iter reached
        recorded, by_hand = _scores_per_epoch(clf, X[:90], y[:90], X[90:], y[90:],
                                              accuracy_score)
    assert recorded == by_hand and len(recorded) == 8
    target = np.sin(X[:, 0]) + X[:, 1]
    reg = BackpropRegressor(hidden_layer_sizes=(6,), max_iter=8, random_state=0)
    with pytest.warns(Warning):
        recorded, by_hand = _scores_per_epoch(reg, X[:90], target[:90], X[90:], target[90:],
                                              r2_score)
    np.testing.assert_allclose(recorded, by_hand, rtol=1e-12)


def _split(n: int, pieces: int) -> list[slice]:
    """``n`` rows cut into ``pieces`` uneven runs (one of them empty)."""
    cuts = np.sort(RNG.choice(np.arange(1, n), pieces - 2, replace=False))
    bounds = [0, 0, *cuts, n]  # the first run is empty
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _parts_of_chunks(parts, truth, pred, weights, n_chunks):
    """``parts(truth, pred, weights)`` of each of ``n_chunks`` uneven chunks (one empty)."""
    return [
        parts(truth[s], pred[s], None if weights is None else weights[s])
        for s in _split(len(truth), n_chunks)
    ]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("multilabel", [False, True])
def test_accuracy_from_parts_of_chunks_matches_scikit_learn(weighted, multilabel):
    """Chunked data (dask) is scored from per-chunk sums: the whole data's accuracy."""
    shape = (300, 3) if multilabel else (300,)
    labels = RNG.integers(0, 3 if not multilabel else 2, shape)
    pred = np.where(RNG.random(shape) < 0.2, 1 - labels, labels)
    weights = RNG.uniform(0, 2, 300) if weighted else None
    parts = _parts_of_chunks(_scores.accuracy_parts, labels, pred, weights, 5)
    expected = accuracy_score(labels, pred, sample_weight=weights)
    assert _scores.accuracy_from_parts(parts) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_r2_from_parts_of_chunks_matches_scikit_learn(weighted, n_outputs):
    """R² merged from per-chunk means and spreads equals r2_score on the whole data."""
    y = 1e3 + RNG.normal(size=(400, n_outputs))  # a large mean: cancellation would show
    pred = y + 0.3 * RNG.normal(size=y.shape)
    weights = RNG.uniform(0, 2, 400) if weighted else None
    parts = _parts_of_chunks(_scores.r2_parts, y, pred, weights, 6)
    expected = r2_score(y, pred, sample_weight=weights)
    assert _scores.r2_from_parts(parts) == pytest.approx(expected, rel=1e-12)
