"""The end-of-epoch path: small handlers run in order after every epoch.

The stochastic solvers call it after each epoch, L-BFGS after each iteration.
Each handler has one job and three hooks: ``begin`` (before an epoch),
``end`` (after it; returns True to stop training) and ``close`` (once, when
training ends). Every handler runs at every epoch; training stops when one of
them asked to. The handlers update the estimator's fitted attributes
(``n_iter_``, ``loss_curve_``, ``history_``, ``validation_scores_``, ...).
"""

from __future__ import annotations

import numpy as np

from ..core.ops import ops_of


class Handler:
    """A part of the end-of-epoch path; every hook does nothing by default."""

    def begin(self, est) -> None:
        """Called before an epoch (an L-BFGS iteration) starts."""

    def end(self, est, record: dict) -> bool:
        """Called after an epoch with its ``history_`` entry; True asks to stop."""
        return False

    def close(self, est) -> None:
        """Called once when training ends, however it ends."""


class EpochEnd:
    """The handlers of one training call, run in order."""

    def __init__(self, estimator, handlers: list[Handler]) -> None:
        self.estimator, self.handlers = estimator, handlers

    def begin(self) -> None:
        for handler in self.handlers:
            handler.begin(self.estimator)

    def end(self, loss: float, seconds: float, learning_rate: float | None) -> bool:
        """Build the epoch's record and run every handler on it; True: stop training."""
        record = {
            "epoch": None,
            "loss": float(loss),
            "validation_score": None,
            "learning_rate": learning_rate,
            "seconds": seconds,
        }
        stop = False
        for handler in self.handlers:
            stop = bool(handler.end(self.estimator, record)) or stop
        return stop

    def close(self) -> None:
        for handler in self.handlers:
            handler.close(self.estimator)


class ValidationScore(Handler):
    """The score on the validation set (``validation_scores_``, ``best_validation_score_``)."""

    def __init__(self, validation) -> None:
        self.validation = validation  # (X_val, y_val, sample_weight_val), already checked

    def end(self, est, record) -> bool:
        score = est._validation_score(*self.validation)
        est.validation_scores_.append(score)
        est.best_validation_score_ = max(est.best_validation_score_, score)
        record["validation_score"] = score
        return False


class History(Handler):
    """The training record: ``n_iter_``, ``t_``, ``loss_``, ``loss_curve_``, ``history_``."""

    def __init__(self, n_samples: int) -> None:
        self.n_samples = n_samples  # samples seen per epoch (0 for L-BFGS, as scikit-learn)

    def end(self, est, record) -> bool:
        est.n_iter_ += 1
        est.t_ += self.n_samples
        est.loss_ = record["loss"]
        est.loss_curve_.append(est.loss_)
        record["epoch"] = len(est.loss_curve_)
        est.history_.append(record)
        return False


class BestLoss(Handler):
    """``best_loss_``, the lowest training cost so far (L-BFGS)."""

    def end(self, est, record) -> bool:
        est.best_loss_ = min(est.best_loss_, est.loss_)
        return False


class VerboseLine(Handler):
    """One printed line per epoch, scikit-learn's ``Iteration N, loss = ...`` and more."""

    def end(self, est, record) -> bool:
        line = f"Iteration {est.n_iter_}, loss = {record['loss']:.8f}"
        if record["validation_score"] is not None:
            line += f", validation score = {record['validation_score']:.6f}"
        if record["learning_rate"] is not None:
            line += f", learning rate = {record['learning_rate']:.3g}"
        print(f"{line}, {record['seconds']:.3f}s")
        return False


class LearningRateSchedule(Handler):
    """Tell the optimizer an epoch ended (its ``'invscaling'`` schedule counts samples)."""

    def __init__(self, optimizer) -> None:
        self.optimizer = optimizer

    def end(self, est, record) -> bool:
        self.optimizer.epoch_end(est.t_)
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

    def __init__(self, est, params: np.ndarray, optimizer) -> None:
        self.params, self.optimizer = params, optimizer
        self.tol, self.patience, self.verbose = est.tol, est.n_iter_no_change, est.verbose
        self.early_stopping = est.early_stopping
        best = est.best_validation_score_ if est.early_stopping else None
        self.best_params = ops_of(params).copy(params) if best is not None and np.isfinite(best) else None
        self.best_score = best if self.best_params is not None else -np.inf

    def end(self, est, record) -> bool:
        score = record["validation_score"] if self.early_stopping else None
        improved = self._score_improved(score) if score is not None else self._loss_improved(est)
        est._no_improvement_count = 0 if improved else est._no_improvement_count + 1
        if est._no_improvement_count <= self.patience:
            return False
        what = "Validation score" if score is not None else "Training loss"
        message = (
            f"{what} did not improve more than tol={self.tol} for {self.patience} "
            "consecutive epochs."
        )
        if self.optimizer.on_plateau():
            est._no_improvement_count = 0
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

    def _loss_improved(self, est) -> bool:
        improved = not est.loss_ > est.best_loss_ - self.tol
        est.best_loss_ = min(est.best_loss_, est.loss_)
        return improved

    def _say(self, message: str) -> None:
        if self.verbose:
            print(message)

    def restore_best(self) -> None:
        """Put the weights of the best validation score back (early stopping)."""
        if self.best_params is not None:
            self.params[...] = self.best_params


class UserCallbacks(Handler):
    """The estimator's ``callbacks``: ``callback(estimator, record)``, True stops training."""

    def __init__(self, callbacks, verbose) -> None:
        self.callbacks, self.verbose = list(callbacks), verbose

    def end(self, est, record) -> bool:
        # The first callback that asks to stop is the last one called, as before.
        if not any(bool(callback(est, record)) for callback in self.callbacks):
            return False
        if self.verbose:
            print("A callback asked to stop training.")
        return True
