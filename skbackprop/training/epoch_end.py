"""The end-of-epoch path: small handlers run in order after every epoch.

The stochastic solvers call it after each epoch, L-BFGS after each iteration.
Each handler has one job and three hooks: ``begin`` (before an epoch),
``end`` (after it; returns True to stop training) and ``close`` (once, when
training ends). Every handler runs at every epoch; training stops when one of
them asked to. The handlers update the training record
(``record.TrainingRecord``: epochs, loss curve, history, validation scores,
best loss, no-improvement count); none of them writes the estimator. After
them the record is published (the shell copies it to the estimator's
attributes) and the observers run: handlers the shell built to look at the
estimator, the user's ``callbacks`` and scikit-learn's callback API.
"""

from __future__ import annotations

import numpy as np

from ..core.ops import ops_of
from .record import Settings, TrainingRecord


class Handler:
    """A part of the end-of-epoch path; every hook does nothing by default."""

    def begin(self) -> None:
        """Called before an epoch (an L-BFGS iteration) starts."""

    def end(self, record: TrainingRecord, entry: dict) -> bool:
        """Called after an epoch with the record and the epoch's ``history_`` entry.

        True asks to stop.
        """
        return False

    def close(self) -> None:
        """Called once when training ends, however it ends."""


class EpochEnd:
    """The handlers of one training call, run in order, then the record published.

    ``publish(record)`` is the shell's: it copies the record to the
    estimator's attributes before the ``observers`` (which look at the
    estimator) run.
    """

    def __init__(self, record: TrainingRecord, handlers: list[Handler],
                 observers: list[Handler], publish) -> None:
        self.record, self.handlers, self.observers = record, handlers, observers
        self.publish = publish

    def begin(self) -> None:
        for handler in self.handlers + self.observers:
            handler.begin()

    def end(self, loss: float, seconds: float, learning_rate: float | None) -> bool:
        """Build the epoch's entry and run every handler on it; True: stop training."""
        entry = {
            "epoch": None,
            "loss": float(loss),
            "validation_score": None,
            "learning_rate": learning_rate,
            "seconds": seconds,
        }
        stop = False
        for handler in self.handlers:
            stop = bool(handler.end(self.record, entry)) or stop
        self.publish(self.record)
        for handler in self.observers:
            stop = bool(handler.end(self.record, entry)) or stop
        return stop

    def close(self) -> None:
        for handler in self.handlers + self.observers:
            handler.close()


class ValidationScore(Handler):
    """The score on the validation set (``validation_scores``, ``best_validation_score``)."""

    def __init__(self, score) -> None:
        self.score = score  # score() of the current weights on the checked validation set

    def end(self, record, entry) -> bool:
        score = self.score()
        record.validation_scores.append(score)
        record.best_validation_score = max(record.best_validation_score, score)
        entry["validation_score"] = score
        return False


class History(Handler):
    """Epochs, samples seen, the loss, the loss curve and the history entry."""

    def __init__(self, n_samples: int) -> None:
        self.n_samples = n_samples  # samples seen per epoch (0 for L-BFGS, as scikit-learn)

    def end(self, record, entry) -> bool:
        record.n_iter += 1
        record.t += self.n_samples
        record.loss = entry["loss"]
        record.loss_curve.append(record.loss)
        entry["epoch"] = len(record.loss_curve)
        record.history.append(entry)
        return False


class BestLoss(Handler):
    """The lowest training cost so far (L-BFGS)."""

    def end(self, record, entry) -> bool:
        record.best_loss = min(record.best_loss, record.loss)
        return False


class VerboseLine(Handler):
    """One printed line per epoch, scikit-learn's ``Iteration N, loss = ...`` and more."""

    def end(self, record, entry) -> bool:
        line = f"Iteration {record.n_iter}, loss = {entry['loss']:.8f}"
        if entry["validation_score"] is not None:
            line += f", validation score = {entry['validation_score']:.6f}"
        if entry["learning_rate"] is not None:
            line += f", learning rate = {entry['learning_rate']:.3g}"
        print(f"{line}, {entry['seconds']:.3f}s")
        return False


class LearningRateSchedule(Handler):
    """Tell the optimizer an epoch ended (its ``'invscaling'`` schedule counts samples)."""

    def __init__(self, optimizer) -> None:
        self.optimizer = optimizer

    def end(self, record, entry) -> bool:
        self.optimizer.epoch_end(record.t)
        return False


class Plateau(Handler):
    """Stop when the score stops improving; with early stopping, keep the best weights.

    Counts epochs in which the validation score (early stopping) or the
    training cost did not improve by ``tol``. After ``n_iter_no_change`` of
    them the optimizer may react (``learning_rate='adaptive'`` divides the
    rate by 5); otherwise training stops. A warm start with early stopping
    begins from the weights the previous fit kept, those of
    ``best_validation_score_``: they stay the ones to restore unless an
    epoch of this call beats that score.
    """

    def __init__(self, settings: Settings, record: TrainingRecord, params, optimizer) -> None:
        self.params, self.optimizer = params, optimizer
        self.tol, self.patience = settings.tol, settings.n_iter_no_change
        self.verbose, self.early_stopping = settings.verbose, settings.early_stopping
        best = record.best_validation_score if settings.early_stopping else None
        self.best_params = ops_of(params).copy(params) if best is not None and np.isfinite(best) else None
        self.best_score = best if self.best_params is not None else -np.inf

    def end(self, record, entry) -> bool:
        score = entry["validation_score"] if self.early_stopping else None
        improved = self._score_improved(score) if score is not None else self._loss_improved(record)
        record.no_improvement_count = 0 if improved else record.no_improvement_count + 1
        if record.no_improvement_count <= self.patience:
            return False
        what = "Validation score" if score is not None else "Training loss"
        message = (
            f"{what} did not improve more than tol={self.tol} for {self.patience} "
            "consecutive epochs."
        )
        if self.optimizer.on_plateau():
            record.no_improvement_count = 0
            self._say(f"{message} Setting learning rate to {self.optimizer.learning_rate:g}.")
            return False
        self._say(f"{message} Stopping.")
        return True

    def _score_improved(self, score: float) -> bool:
        improved = not score < self.best_score + self.tol
        if score > self.best_score:
            self.best_score = score
            self.best_params = ops_of(self.params).copy(self.params)
        return improved

    def _loss_improved(self, record) -> bool:
        improved = not record.loss > record.best_loss - self.tol
        record.best_loss = min(record.best_loss, record.loss)
        return improved

    def _say(self, message: str) -> None:
        if self.verbose:
            print(message)

    def restore_best(self) -> None:
        """Put the weights of the best validation score back (early stopping)."""
        if self.best_params is not None:
            self.params[...] = self.best_params


class UserCallbacks(Handler):
    """The estimator's ``callbacks``: ``callback(estimator, entry)``, True stops training.

    An observer: it runs after the record is published, so the callbacks
    see the estimator's attributes of this epoch.
    """

    def __init__(self, estimator, callbacks, verbose) -> None:
        self.estimator, self.callbacks, self.verbose = estimator, list(callbacks), verbose

    def end(self, record, entry) -> bool:
        # The first callback that asks to stop is the last one called, as before.
        if not any(bool(callback(self.estimator, entry)) for callback in self.callbacks):
            return False
        if self.verbose:
            print("A callback asked to stop training.")
        return True
