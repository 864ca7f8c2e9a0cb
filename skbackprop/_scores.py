"""The validation scores of early stopping, computed without per-call checks.

Early stopping scores the validation set after every epoch. scikit-learn's
:func:`~sklearn.metrics.accuracy_score` and :func:`~sklearn.metrics.r2_score`
check and classify their inputs on every call, which on a small validation
set costs ten times the epoch itself. The inputs here were checked once, when
the validation set was made, so the scores are computed directly, with the
same definitions (the tests compare them with scikit-learn's functions):

- accuracy: the (weighted) share of rows whose predicted label, or for
  multilabel targets whose whole row of labels, is right;
- R²: ``1 - SS_res / SS_tot`` per output, averaged uniformly over the
  outputs, with scikit-learn's convention for constant targets (1 when the
  prediction is exact, 0 otherwise).
"""

from __future__ import annotations

import numpy as np


def accuracy(y: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None) -> float:
    """Accuracy of the labels ``pred`` (1-D, or a 2-D indicator matrix) against ``y``."""
    correct = pred == y if pred.ndim == 1 else np.all(pred == y, axis=1)
    return float(np.average(correct, weights=sample_weight))


def r2(y: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None) -> float:
    """R² of ``pred`` against ``y`` (same shape), averaged over the outputs."""
    y = y.reshape(y.shape[0], -1)
    pred = pred.reshape(pred.shape[0], -1)
    weight = 1.0 if sample_weight is None else sample_weight[:, np.newaxis]
    residual = (weight * (y - pred) ** 2).sum(axis=0, dtype=np.float64)
    mean = np.average(y, axis=0, weights=sample_weight)
    total = (weight * (y - mean) ** 2).sum(axis=0, dtype=np.float64)
    scores = np.ones(y.shape[1])
    varying = total != 0
    scores[varying] = 1 - residual[varying] / total[varying]
    scores[~varying & (residual != 0)] = 0.0
    return float(scores.mean())


# --------------------------------------------------------------------------- #
# The same scores from parts: data held in chunks (dask) is scored chunk by
# chunk, each chunk giving a few sums that add up to the whole data's score.
# --------------------------------------------------------------------------- #
def accuracy_parts(y, pred, sample_weight) -> np.ndarray:
    """``[weight of the right rows, total weight]`` of one chunk."""
    correct = pred == y if pred.ndim == 1 else np.all(pred == y, axis=1)
    weight = np.ones(y.shape[0]) if sample_weight is None else sample_weight
    return np.array([np.dot(weight, correct), weight.sum(dtype=np.float64)], dtype=np.float64)


def accuracy_from_parts(parts) -> float:
    """The accuracy of the chunks whose :func:`accuracy_parts` are ``parts``."""
    right, total = np.sum(parts, axis=0)
    return float(right / total)


def r2_parts(y, pred, sample_weight) -> np.ndarray:
    """One chunk's rows ``[weight, weighted mean, sum of squares about it, residual]``.

    One column per output: the statistics from which R² is put together
    (the spread about the mean merged chunk by chunk, as Chan, Golub and
    LeVeque's pairwise variance update does, which loses no precision to
    cancellation).
    """
    y = (y[:, np.newaxis] if y.ndim == 1 else y).astype(np.float64, copy=False)
    pred = pred[:, np.newaxis] if pred.ndim == 1 else pred
    w = np.ones(y.shape[0]) if sample_weight is None else sample_weight.astype(np.float64)
    total = w.sum()
    mean = w @ y / total if total > 0 else np.zeros(y.shape[1])
    spread = w @ (y - mean) ** 2
    residual = w @ (y - pred) ** 2
    return np.array([np.full(y.shape[1], total), mean, spread, residual])


def r2_from_parts(parts) -> float:
    """R² (as :func:`r2`) of the chunks whose :func:`r2_parts` are ``parts``."""
    parts = np.asarray(parts)
    weight, mean, spread, residual = (parts[:, k, :] for k in range(4))
    total_weight = weight.sum(axis=0)
    overall = (weight * mean).sum(axis=0) / total_weight
    total = (spread + weight * (mean - overall) ** 2).sum(axis=0)
    residual = residual.sum(axis=0)
    scores = np.ones(total.shape[0])
    varying = total != 0
    scores[varying] = 1 - residual[varying] / total[varying]
    scores[~varying & (residual != 0)] = 0.0
    return float(scores.mean())
