"""One call's training run: the estimator's settings turned into the loop's parts.

The shell (``_base.py``) checks the data and sets the network up; the
functions here build the optimizer, the batch source, the step engine and the
end-of-epoch handlers from the estimator's parameters, run the loop
(``training/loop.py``) and turn its outcome into fitted attributes, warnings or
errors. ``est`` is the estimator being fitted.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from ..core.network import _chunk_rows, _place, abs_max
from ..core.optimizers import SGD, Adam
from ..exceptions import DivergenceError
from .compiled_epoch import epoch_trainer
from .epoch_end import (
    BestLoss,
    EpochEnd,
    History,
    LearningRateSchedule,
    Plateau,
    UserCallbacks,
    ValidationScore,
    VerboseLine,
)
from .loop import (
    WEIGHT_LIMIT,
    Batches,
    ChunkedData,
    DropoutStep,
    Step,
    run_epochs,
    run_lbfgs,
    train_epoch,
    train_epoch_on_device,
)
from .threads import SMALL_LBFGS, SMALL_STEP, blas_threads_for


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


def _optimizer_settings(est) -> tuple:
    """The parameters an optimizer is built from; a change starts a new one."""
    if est.solver == "sgd":
        return (
            "sgd", est.learning_rate_init, est.momentum, est.nesterovs_momentum,
            est.learning_rate, est.power_t,
        )
    return ("adam", est.learning_rate_init, est.beta_1, est.beta_2, est.epsilon)


def _optimizer_for(est, params: np.ndarray, incremental: bool):
    """The optimizer of this call: kept across partial_fit calls while its settings hold."""
    # The state lives where the parameters do: another library or device starts anew.
    settings = (*_optimizer_settings(est), _place(params))
    if incremental and est._optimizer is not None and est._optimizer_key == settings:
        return est._optimizer
    kind = SGD if est.solver == "sgd" else Adam
    opt = kind(params.shape[0], params.dtype, *settings[1:-1], like=params)
    est._optimizer, est._optimizer_key = opt, settings
    return opt


def _batch_size(est, n_samples: int) -> int:
    """``batch_size`` for ``n_samples`` rows ('auto': 200), with a warning when it is too large."""
    if est.batch_size == "auto":
        return min(200, n_samples)
    if est.batch_size > n_samples:
        warn_at_caller(
            f"batch_size={est.batch_size} is larger than the number of samples "
            f"({n_samples}); using batches of {n_samples}.",
        )
    return int(min(est.batch_size, n_samples))


def _epoch_end(est, validation, n_samples: int, solver_handlers, fit_task) -> EpochEnd:
    """The end-of-epoch path of this call: the handlers, in the order they run."""
    handlers = [ValidationScore(validation)] if validation is not None else []
    handlers.append(History(n_samples))
    if est.verbose:
        handlers.append(VerboseLine())
    handlers += solver_handlers
    if est.callbacks:
        handlers.append(UserCallbacks(est.callbacks, est.verbose))
    if fit_task is not None:
        handlers.append(fit_task.epochs())
    return EpochEnd(est, handlers)


def fit_stochastic(
    est, X, Y, sample_weight, params, validation, incremental, fit_task, start=None
) -> None:
    """Train with 'sgd' or 'adam': ``max_iter`` epochs (one for partial_fit) or fewer.

    ``params`` is the flat parameter vector, trained in place; ``validation``
    is ``(X_val, y_val, sample_weight_val)`` or None; ``fit_task`` is
    scikit-learn's fit task (``integrations.sklearn_callbacks.FitTask``) or None; ``start`` the
    weight matrices the call started from (looked at only if training
    diverges).
    """
    opt = _optimizer_for(est, params, incremental)
    batch_size = _batch_size(est, X.shape[0])
    if isinstance(X, ChunkedData):
        batches = X.batches(batch_size, est.shuffle, est._rng)
    else:
        batches = Batches(X, Y, sample_weight, batch_size, est.shuffle, est._rng)
    rates = est._dropout_rates()
    if any(rates):
        step = DropoutStep(est._network, est.loss_function_, est.alpha, params, opt, rates, est._rng)
    else:
        step = Step(est._network, est.loss_function_, est.alpha, params, opt)
    est.n_iter_ = 0
    if est.early_stopping:
        est.best_loss_ = None
    elif est.best_loss_ is None:
        est.best_loss_ = np.inf
    plateau = Plateau(est, params, opt)
    epoch_end = _epoch_end(est, validation, X.shape[0], [LearningRateSchedule(opt), plateau], fit_task)
    show_progress = est.verbose >= 2 and sys.stdout.isatty()
    max_epochs = 1 if incremental else est.max_iter
    threads = blas_threads_for(
        est._network.layer_units, batches.batch_size, len(batches) * max_epochs, SMALL_STEP
    )
    train = epoch_trainer(batches, step, show_progress) or (
        train_epoch if step.ops.host else train_epoch_on_device
    )
    try:
        with threads:
            why = run_epochs(batches, step, epoch_end, max_epochs, show_progress, train)
    finally:
        epoch_end.close()
    if why == "diverged":
        _diverged(est, plateau, X, Y, start)
    elif why == "interrupted":
        _warn_interrupted(est)
    elif why == "max_iter" and not incremental:
        warn_at_caller(
            f"Stochastic optimizer: maximum iterations ({est.max_iter}) reached and the "
            "optimization hasn't converged yet. Increase max_iter or tol.",
            ConvergenceWarning,
        )
    if est.early_stopping and not incremental:
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


def _largest(array) -> float | None:
    """``max |array|`` of in-memory data (dense, sparse, any library); None for chunks."""
    if array is None or isinstance(array, ChunkedData):
        return None
    return abs_max(array.data if sp.issparse(array) else array)


def divergence_advice(est, X, Y, start) -> str:
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
    largest_x = _largest(X)
    if largest_x is not None and largest_x > LARGE_DATA:
        advice.append(
            f"{LARGE_VALUES} X has values up to {largest_x:.3g}: scale the inputs, e.g. with "
            "StandardScaler in a Pipeline."
        )
    largest_y = _largest(Y) if not est._labels_as_targets else None
    if largest_y is not None and largest_y > LARGE_DATA:
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
    if est.solver == "lbfgs":
        advice.append(
            f"Increase alpha (now {est.alpha:g}): the L2 penalty keeps the weights bounded."
        )
    else:
        advice.append(f"Use a smaller learning_rate_init (now {est.learning_rate_init:g}).")
    return " ".join(advice)


def _diverged(est, plateau, X, Y, start) -> None:
    """A stochastic epoch diverged: an error, unless early stopping has a best epoch."""
    epoch = est.n_iter_ + 1
    advice = divergence_advice(est, X, Y, start)
    if not (est.early_stopping and plateau.best_params is not None):
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


def _warn_interrupted(est) -> None:
    """Ctrl-C: training kept the weights of the last finished epoch."""
    warn_at_caller(
        f"Training interrupted by the user after {est.n_iter_} finished epoch(s) of this "
        "call; the model keeps the weights of the last finished epoch.",
    )


def fit_lbfgs(est, X, Y, sample_weight, params, validation, fit_task, start=None) -> None:
    """Train with L-BFGS on the whole data; arguments as :func:`fit_stochastic`."""
    if isinstance(X, ChunkedData):
        step = X.lbfgs_step(est._network, est.loss_function_, est.alpha, params)
    else:
        step = Step(est._network, est.loss_function_, est.alpha, params)
    est.n_iter_ = 0
    if est.best_loss_ is None:
        est.best_loss_ = np.inf
    epoch_end = _epoch_end(est, validation, 0, [BestLoss()], fit_task)
    rows = min(X.shape[0], _chunk_rows(X))  # the rows of one block of an evaluation
    threads = blas_threads_for(est._network.layer_units, rows, est.max_iter, SMALL_LBFGS)
    try:
        with threads:
            result, why = run_lbfgs(
                step, (X, Y, sample_weight), epoch_end, est.max_iter, est.max_fun, est.tol
            )
    finally:
        epoch_end.close()
    if why == "interrupted":
        _warn_interrupted(est)
        return
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
        raise DivergenceError(
            "L-BFGS diverged: the cost or the weights became inf or NaN. "
            f"{divergence_advice(est, X, Y, start)} {_LEFT_AS_IT_WAS}"
        )
    params[...] = step.ops.from_host(result.x, params, params.dtype)
    est.loss_ = float(result.fun)
    est.best_loss_ = min(est.best_loss_, est.loss_)
    if result.status != 0 and why != "stopped":
        _warn_not_converged(est, result)


def _warn_not_converged(est, result) -> None:
    """L-BFGS stopped short of convergence (a limit, or a failed line search)."""
    warn_at_caller(
        f"lbfgs failed to converge after {est.n_iter_} iteration(s) (status="
        f"{result.status}: {result.message}). Increase max_iter or max_fun, or scale "
        "the data.",
        ConvergenceWarning,
    )
