"""What goes into a training run and what comes out: settings, the call, the record.

The estimator shell builds the three objects of this module; the loop reads
the first two and reports through the third. Nothing here knows the
estimator classes: :data:`RECORD_ATTRIBUTES` names the fitted attributes the
shell copies the record to.

- :class:`Settings`: the parameters the loop needs, taken once from the
  estimator's ``get_params()`` (validated already).
- :class:`Call`: this call's network, data, parameter vector and the
  estimator-side hooks the loop calls (the validation score, the observers
  of each epoch, the publication of the record).
- :class:`TrainingRecord`: epochs, samples seen, the loss curve, the
  history, the validation scores, the best loss and the no-improvement
  count, updated by the end-of-epoch handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .workspace import FRESH

#: Record field -> the estimator's attribute the shell publishes it as.
RECORD_ATTRIBUTES = {
    "n_iter": "n_iter_",
    "t": "t_",
    "loss": "loss_",
    "loss_curve": "loss_curve_",
    "history": "history_",
    "validation_scores": "validation_scores_",
    "best_validation_score": "best_validation_score_",
    "best_loss": "best_loss_",
    "no_improvement_count": "_no_improvement_count",
}


@dataclass(frozen=True)
class Settings:
    """The estimator's parameters as the training loop reads them.

    ``loss`` is the resolved cost (``loss_function_``), ``dropout`` one rate
    per hidden layer, and ``targets_are_labels`` tells a classifier's encoded
    labels from a regressor's targets (the divergence advice looks at the
    latter's magnitude).
    """

    solver: str
    loss: str
    alpha: float
    dropout: tuple[float, ...]
    batch_size: Any
    shuffle: bool
    max_iter: int
    max_fun: int
    tol: float
    n_iter_no_change: float
    early_stopping: bool
    verbose: Any
    learning_rate: str
    learning_rate_init: float
    power_t: float
    momentum: float
    nesterovs_momentum: bool
    beta_1: float
    beta_2: float
    epsilon: float
    targets_are_labels: bool

    @classmethod
    def from_params(cls, params: dict, *, loss: str, dropout: Sequence[float],
                    targets_are_labels: bool) -> Settings:
        """The settings from ``get_params(deep=False)`` and what the shell resolved."""
        names = {f.name for f in fields(cls)} - {"loss", "dropout", "targets_are_labels"}
        return cls(
            loss=loss, dropout=tuple(dropout), targets_are_labels=targets_are_labels,
            **{name: params[name] for name in names},
        )

    def optimizer_settings(self) -> tuple:
        """The settings an optimizer is built from; a change starts a new one."""
        if self.solver == "sgd":
            return (
                "sgd", self.learning_rate_init, self.momentum, self.nesterovs_momentum,
                self.learning_rate, self.power_t,
            )
        return ("adam", self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)


@dataclass
class TrainingRecord:
    """What training has done so far, kept by the loop and published by the shell.

    The lists are the record's own (copies of the estimator's at the start of
    the call), so a call that fails leaves the estimator's lists untouched.
    """

    n_iter: int = 0
    t: int = 0
    loss: float = np.inf
    loss_curve: list = field(default_factory=list)
    history: list = field(default_factory=list)
    validation_scores: list | None = None
    best_validation_score: float | None = None
    best_loss: float | None = np.inf
    no_improvement_count: int = 0

    @classmethod
    def from_attributes(cls, values: dict) -> TrainingRecord:
        """A record continuing from the published attributes ``values`` (lists copied).

        Attributes missing from ``values`` (weights set by hand) start afresh.
        """
        record = cls(**{
            name: values[attr] for name, attr in RECORD_ATTRIBUTES.items() if attr in values
        })
        record.loss_curve, record.history = list(record.loss_curve), list(record.history)
        if record.validation_scores is not None:
            record.validation_scores = list(record.validation_scores)
        return record

    def attributes(self) -> dict:
        """The record as the estimator's attributes (:data:`RECORD_ATTRIBUTES`)."""
        return {attr: getattr(self, name) for name, attr in RECORD_ATTRIBUTES.items()}


@dataclass
class Call:
    """One ``fit``/``partial_fit`` call's inputs to the loop, besides the settings.

    Parameters
    ----------
    network : Network
        The architecture (and its work buffers).
    params : array
        The flat parameter vector, trained in place.
    data : TrainingData
        The training data, checked and encoded (``loop.ArrayData`` in memory,
        ``integrations.dask.DaskData`` on a cluster): the loop asks it for its
        batch source and L-BFGS engine, never which kind it is.
    rng : numpy.random.Generator
        The estimator's generator (shuffling, dropout masks).
    incremental : bool
        ``partial_fit``: one epoch, the optimizer kept.
    start : list of arrays or None
        The weight matrices the call started from (looked at only if
        training diverges).
    validation_score : callable or None
        ``validation_score()`` scores the current weights on the validation set.
    observers : list of Handler
        Handlers that look at the estimator (the user's callbacks,
        scikit-learn's callback API): they run after the record is published.
    publish : callable
        ``publish(record)`` copies the record to the estimator's attributes.
    workspace : Workspace or FreshBuffers
        Where the step engine takes its buffers (``training.workspace``):
        those of the previous call for ``partial_fit``, new ones otherwise.
    start_vector : array or None
        A flat vector holding the values ``params`` starts from, which
        training never writes (``partial_fit``: the published weights), or
        None: the step engine's undo of the first epoch reads it instead of a
        snapshot copy.
    """

    network: Any
    params: Any
    data: Any
    rng: np.random.Generator
    incremental: bool = False
    start: list | None = None
    validation_score: Callable[[], float] | None = None
    observers: list = field(default_factory=list)
    publish: Callable[[TrainingRecord], None] = lambda record: None
    workspace: Any = FRESH
    start_vector: Any = None
