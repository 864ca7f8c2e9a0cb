"""One call's training run: the settings and the call turned into the loop's parts.

The shell (``_base.py``) checks the data, sets the network up and hands over
three objects (``record.py``): the :class:`~.record.Settings` taken from its
parameters, the :class:`~.record.Call` (network, data, parameter vector,
hooks) and the :class:`~.record.TrainingRecord` to continue. The functions
here build the optimizer, the batch source, the step engine and the
end-of-epoch handlers, run the loop (``training/loop.py``), report through
the record, and turn the outcome into warnings or errors. They write no
estimator attribute: the shell publishes the record.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..core.network import _place, abs_max
from ..core.optimizers import SGD, Adam
from ..exceptions import DivergenceError
from .compiled_epoch import epoch_trainer
from .epoch_end import (
    BestLoss,
    EpochEnd,
    History,
    LearningRateSchedule,
    Plateau,
    ValidationScore,
    VerboseLine,
)
from .loop import (
    WEIGHT_LIMIT,
    DropoutStep,
    Step,
    run_epochs,
    run_lbfgs,
    train_epoch,
    train_epoch_on_device,
)
from .record import Call, Settings, TrainingRecord
from .threads import SMALL_LBFGS, SMALL_STEP, blas_threads_for, small_step


def warn_at_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn with the line of the first caller outside skbackprop.

    Frames of skbackprop and of scikit-learn's callback wrapper are skipped,
    so the warning points at the user's ``fit`` call however deep it is raised.
    """
    frame, level = sys._getframe(1), 2  # level 1 is this function
    while frame is not None and frame.f_globals.get("__name__", "").startswith(
        ("skbackprop.", "sklearn.callback.")
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def optimizer_key(settings: Settings, params) -> tuple:
    """What an optimizer is made for: its settings and the parameters' place.

    A ``partial_fit`` call keeps the optimizer of the previous call while the
    key holds; the state lives where the parameters do, so another library or
    device starts anew.
    """
    return (*settings.optimizer_settings(), _place(params))


def make_optimizer(settings: Settings, params):
    """A new optimizer for ``params``, with the state of the solver ``settings`` names."""
    kind = SGD if settings.solver == "sgd" else Adam
    return kind(params.shape[0], params.dtype, *settings.optimizer_settings()[1:], like=params)


def _batch_size(settings: Settings, n_samples: int) -> int:
    """``batch_size`` for ``n_samples`` rows ('auto': 200), with a warning when it is too large."""
    if settings.batch_size == "auto":
        return min(200, n_samples)
    if settings.batch_size > n_samples:
        warn_at_caller(
            f"batch_size={settings.batch_size} is larger than the number of samples "
            f"({n_samples}); using batches of {n_samples}.",
        )
    return int(min(settings.batch_size, n_samples))


def _epoch_end(settings, record, call: Call, n_samples: int, solver_handlers) -> EpochEnd:
    """The end-of-epoch path of this call: the handlers, in the order they run."""
    handlers = [] if call.validation_score is None else [ValidationScore(call.validation_score)]
    handlers.append(History(n_samples))
    if settings.verbose:
        handlers.append(VerboseLine())
    handlers += solver_handlers
    return EpochEnd(record, handlers, call.observers, call.publish)


def fit_stochastic(settings: Settings, record: TrainingRecord, call: Call, opt) -> None:
    """Train with 'sgd' or 'adam': ``max_iter`` epochs (one for partial_fit) or fewer.

    ``opt`` is the optimizer (the shell keeps it across ``partial_fit``
    calls); ``call.params`` is trained in place and ``record`` updated.
    """
    data, params, rng = call.data, call.params, call.rng
    batch_size = _batch_size(settings, data.shape[0])
    batches = data.batches(
        batch_size, settings.shuffle, rng, small_step(call.network.layer_units, batch_size)
    )
    loss, alpha = settings.loss, settings.alpha
    if any(settings.dropout):
        step = DropoutStep(
            call.network, loss, alpha, params, opt, settings.dropout, rng, call.workspace,
            call.start_vector,
        )
    else:
        step = Step(call.network, loss, alpha, params, opt, call.workspace, call.start_vector)
    record.n_iter = 0
    if settings.early_stopping:
        record.best_loss = None
    elif record.best_loss is None:
        record.best_loss = np.inf
    plateau = Plateau(settings, record, params, opt)
    epoch_end = _epoch_end(
        settings, record, call, data.shape[0], [LearningRateSchedule(opt), plateau]
    )
    show_progress = settings.verbose >= 2 and sys.stdout.isatty()
    max_epochs = 1 if call.incremental else settings.max_iter
    threads = blas_threads_for(
        call.network.layer_units, batches.batch_size, len(batches) * max_epochs, SMALL_STEP
    )
    train = epoch_trainer(batches, step, show_progress, max_epochs) or (
        train_epoch if step.ops.host else train_epoch_on_device
    )
    try:
        with threads:
            why = run_epochs(batches, step, epoch_end, max_epochs, show_progress, train)
    finally:
        epoch_end.close()
    _stochastic_outcome(settings, record, call, plateau, why)


def _stochastic_outcome(settings, record, call, plateau, why: str) -> None:
    """Errors and warnings of how a stochastic run ended; early stopping's best weights."""
    if why == "diverged":
        _diverged(settings, record, plateau, call)
    elif why == "interrupted":
        _warn_interrupted(record)
    elif why == "max_iter" and not call.incremental:
        warn_at_caller(
            f"Stochastic optimizer: maximum iterations ({settings.max_iter}) reached and the "
            "optimization hasn't converged yet. Increase max_iter or tol.",
            ConvergenceWarning,
        )
    if settings.early_stopping and not call.incremental:
        plateau.restore_best()


#: scikit-learn's words for a fit whose weights overflowed (its own tests look for them).
LARGE_VALUES = (
    "Solver produced non-finite parameter weights. The input data may contain large values "
    "and need to be preprocessed."
)

#: Inputs or targets beyond this magnitude are named as a cause of a divergence.
LARGE_DATA = 1e3

#: Starting weights outside this range of magnitudes are named as a cause.
USUAL_WEIGHTS = (1e-8, 1e2)

_LEFT_AS_IT_WAS = "The estimator is left as it was before this call."


def divergence_advice(settings: Settings, data, start) -> str:
    """What to change after a divergence, from the facts that point at its cause.

    ``start`` holds the weight matrices the diverging call started from
    (None when unknown). Large inputs (and, for a regressor, large
    targets) come first, with scikit-learn's words, and alone: no step size
    tames them. Otherwise starting weights far from the usual scale, and the
    solver's own lever: the step size for 'sgd' and 'adam', the L2 penalty
    for 'lbfgs' (whose weights grow without bound on separable data when
    ``alpha`` is 0).
    """
    advice = []
    largest_x, largest_y = data.largest_values()
    if largest_x is not None and largest_x > LARGE_DATA:
        advice.append(
            f"{LARGE_VALUES} X has values up to {largest_x:.3g}: scale the inputs, e.g. with "
            "StandardScaler in a Pipeline."
        )
    if not settings.targets_are_labels and largest_y is not None and largest_y > LARGE_DATA:
        advice.append(
            f"The targets reach {largest_y:.3g}: scale them, e.g. with "
            "sklearn.compose.TransformedTargetRegressor(transformer=StandardScaler())."
        )
    if advice:  # the data explain it; the solver's lever would not help
        return " ".join(advice)
    low, high = USUAL_WEIGHTS
    start_weights = max(abs_max(W) for W in start) if start else None
    if start_weights is not None and not low <= start_weights <= high:
        kind = "tiny" if start_weights < low else "large"
        advice.append(
            f"The starting weights are {kind} (largest magnitude {start_weights:.3g}): start "
            "from weights of the usual scale (weight_init='auto', or coefs_init and "
            "intercepts_init of about 1/sqrt(fan_in))."
        )
    if settings.solver == "lbfgs":
        advice.append(
            f"Increase alpha (now {settings.alpha:g}): the L2 penalty keeps the weights bounded."
        )
    else:
        advice.append(f"Use a smaller learning_rate_init (now {settings.learning_rate_init:g}).")
    return " ".join(advice)


def _diverged(settings, record, plateau, call) -> None:
    """A stochastic epoch diverged: an error, unless early stopping has a best epoch."""
    epoch = record.n_iter + 1
    advice = divergence_advice(settings, call.data, call.start)
    if not (settings.early_stopping and plateau.best_params is not None):
        # No weights to put back: a raising call restores the whole estimator.
        raise DivergenceError(
            f"Training diverged in epoch {epoch}: the cost, the weights or the optimizer's "
            f"state became inf, NaN or (weights) larger than {WEIGHT_LIMIT:g}. {advice} "
            f"{_LEFT_AS_IT_WAS}"
        )
    warn_at_caller(
        f"Training diverged in epoch {epoch}; early stopping ends training there and "
        "keeps the weights of the best validation score "
        f"({plateau.best_score:.6g}). To train further: {advice}",
    )


def _warn_interrupted(record) -> None:
    """Ctrl-C: training kept the weights of the last finished epoch."""
    warn_at_caller(
        f"Training interrupted by the user after {record.n_iter} finished epoch(s) of this "
        "call; the model keeps the weights of the last finished epoch.",
    )


def fit_lbfgs(settings: Settings, record: TrainingRecord, call: Call) -> None:
    """Train with L-BFGS on the whole data; ``call.params`` in place, ``record`` updated."""
    data, params = call.data, call.params
    step = data.lbfgs_step(call.network, settings.loss, settings.alpha, params)
    record.n_iter = 0
    if record.best_loss is None:
        record.best_loss = np.inf
    epoch_end = _epoch_end(settings, record, call, 0, [BestLoss()])
    threads = blas_threads_for(
        call.network.layer_units, data.block_rows(), settings.max_iter, SMALL_LBFGS
    )
    try:
        with threads:
            result, why = run_lbfgs(
                step, data.lbfgs_arguments(), epoch_end, settings.max_iter, settings.max_fun,
                settings.tol,
            )
    finally:
        epoch_end.close()
    if why == "interrupted":
        _warn_interrupted(record)
        return
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
        raise DivergenceError(
            "L-BFGS diverged: the cost or the weights became inf or NaN. "
            f"{divergence_advice(settings, data, call.start)} {_LEFT_AS_IT_WAS}"
        )
    params[...] = step.ops.from_host(result.x, params, params.dtype)
    record.loss = float(result.fun)
    record.best_loss = min(record.best_loss, record.loss)
    if result.status != 0 and why != "stopped":
        _warn_not_converged(record, result)


def _warn_not_converged(record, result) -> None:
    """L-BFGS stopped short of convergence (a limit, or a failed line search)."""
    warn_at_caller(
        f"lbfgs failed to converge after {record.n_iter} iteration(s) (status="
        f"{result.status}: {result.message}). Increase max_iter or max_fun, or scale "
        "the data.",
        ConvergenceWarning,
    )
