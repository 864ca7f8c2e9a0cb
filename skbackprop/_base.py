"""The shared estimator: parameters, validation, the training loop.

``BackpropClassifier`` and ``BackpropRegressor`` add only what differs: how
targets are encoded, which output activation and cost are the default, and how
predictions are decoded. Array math stays in ``_network.py`` and
``_optimizers.py``; this module moves validated arrays between them.
"""

from __future__ import annotations

import contextlib
import sys
import time
import warnings
from abc import abstractmethod

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _validation as v
from ._activations import HIDDEN_ACTIVATIONS, canonical_name
from ._losses import LOSS_OUTPUTS
from ._network import INITIALIZERS, Network
from ._optimizers import SGD, Adam, minimize_lbfgs


class DivergenceError(RuntimeError):
    """Raised when training diverges (the cost or a weight becomes inf or NaN)."""


#: Parameter -> rule, shared by both estimators (subclasses extend it).
PARAMETER_RULES = {
    "hidden_layer_sizes": v.layer_sizes,
    "activation": v.options(*HIDDEN_ACTIVATIONS, "logistic"),
    "solver": v.options("sgd", "adam", "lbfgs"),
    "loss": v.options("auto", "squared_error", "cross_entropy"),
    "alpha": v.number(0.0),
    "batch_size": v.any_of(v.options("auto"), v.number(1, integer=True)),
    "learning_rate": v.options("constant", "invscaling", "adaptive"),
    "learning_rate_init": v.number(0.0, low_open=True),
    "power_t": v.number(0.0),
    "max_iter": v.number(1, integer=True),
    "shuffle": v.boolean,
    "random_state": v.random_state,
    "tol": v.number(0.0),
    "verbose": v.any_of(v.boolean, v.number(0, integer=True)),
    "warm_start": v.boolean,
    "momentum": v.number(0.0, 1.0),
    "nesterovs_momentum": v.boolean,
    "early_stopping": v.boolean,
    "validation_fraction": v.number(0.0, 1.0, low_open=True, high_open=True),
    "beta_1": v.number(0.0, 1.0, high_open=True),
    "beta_2": v.number(0.0, 1.0, high_open=True),
    "epsilon": v.number(0.0, low_open=True),
    "n_iter_no_change": v.number(1, integer=True),
    "max_fun": v.number(1, integer=True),
    "weight_init": v.callable_or("auto", *INITIALIZERS),
    "coefs_init": v.optional_list,
    "intercepts_init": v.optional_list,
    "callbacks": v.callbacks,
}


def _as_generator(random_state) -> np.random.Generator:
    """An explicit ``numpy.random.Generator`` from a scikit-learn style ``random_state``."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)


#: Weights beyond this magnitude mean the run has blown up, even where a clipped
#: cost (cross-entropy) stays finite.
WEIGHT_LIMIT = 1e10


def _exploded(params: np.ndarray) -> bool:
    """True when a weight is NaN, infinite or beyond ``WEIGHT_LIMIT`` (two passes, no copy)."""
    high, low = params.max(initial=0.0), params.min(initial=0.0)
    return not (np.isfinite(high) and np.isfinite(low) and max(high, -low) < WEIGHT_LIMIT)


def _check_partial_fit(estimator) -> bool:
    """``partial_fit`` exists only for the stochastic solvers (used with ``available_if``)."""
    if estimator.solver == "lbfgs":
        raise AttributeError(
            "partial_fit is not available with solver='lbfgs' (a full-batch method); use "
            "solver='sgd' or 'adam', or call fit."
        )
    return True


class _ProgressBar:
    """A dependency-free progress bar, redrawn in place with ``\\r``.

    Works in terminals and in notebooks (both honour the carriage return).
    Redraws are throttled to ten per second so that printing costs nothing.
    """

    def __init__(self, total: int, stream=None, width: int = 30) -> None:
        self.total, self.width = total, width
        self.stream = stream or sys.stdout
        self._last = 0.0

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if done < self.total and now - self._last < 0.1:
            return
        self._last = now
        filled = int(self.width * done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r  [{bar}] {done}/{self.total} batches")
        if done >= self.total:
            self.stream.write("\r" + " " * (self.width + 30) + "\r")
        self.stream.flush()


@contextlib.contextmanager
def _explain_strings(X):
    """Re-raise NumPy's "could not convert string to float" as an error about ``X``.

    Only when ``X`` itself holds strings; a failure to convert string targets
    (regressor) passes through unchanged.
    """
    try:
        yield
    except ValueError as exc:
        if "string" not in str(exc) or sp.issparse(X):
            raise
        try:
            kind = np.asarray(X).dtype.kind
        except Exception:  # noqa: BLE001 - the original error is the one to show
            raise exc from None
        if kind not in "OUS":
            raise
        raise ValueError(
            f"X contains strings or other non-numeric values ({exc}). The network needs "
            "numeric features: encode categorical columns first, for example with "
            "sklearn.preprocessing.OneHotEncoder in a Pipeline."
        ) from exc


class BaseBackprop(BaseEstimator):
    """Shared logic of the backpropagation estimators; not for direct use."""

    _parameter_rules = PARAMETER_RULES

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        output_activation="auto",
        loss="auto",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        weight_init="auto",
        coefs_init=None,
        intercepts_init=None,
        callbacks=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.weight_init = weight_init
        self.coefs_init = coefs_init
        self.intercepts_init = intercepts_init
        self.callbacks = callbacks

    # ------------------------------------------------------------------ #
    # Hooks for the subclasses
    # ------------------------------------------------------------------ #
    @abstractmethod
    def _encode_targets(self, y, *, first_call: bool, classes=None) -> np.ndarray:
        """Validate ``y`` and return the target matrix ``Y`` (n_samples, n_outputs)."""

    @abstractmethod
    def _resolve_output(self) -> tuple[str, str]:
        """``(output activation, loss)`` after resolving 'auto' for the targets seen."""

    def _target_weights(self, y) -> np.ndarray | None:
        """Per-sample weights implied by the targets (class_weight); None by default."""
        return None

    def _validation_score(self, X, y, sample_weight) -> float:
        return self.score(X, y, sample_weight=sample_weight)

    # ------------------------------------------------------------------ #
    # Validation
    # ------------------------------------------------------------------ #
    def _validate_hyperparameters(self) -> None:
        params = self.get_params(deep=False)
        for name, rule in self._parameter_rules.items():
            rule(name, params[name])

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        return [int(sizes)] if np.isscalar(sizes) else [int(s) for s in sizes]

    def _validate_X(self, X, *, reset: bool):
        with _explain_strings(X):
            return validate_data(
                self,
                X,
                reset=reset,
                accept_sparse=["csr", "csc"],
                dtype=[np.float64, np.float32],
            )

    def _validate_Xy(self, X, y, *, reset: bool, y_numeric: bool):
        with _explain_strings(X):
            X, y = validate_data(
                self,
                X,
                y,
                reset=reset,
                accept_sparse=["csr", "csc"],
                dtype=[np.float64, np.float32],
                multi_output=True,
                y_numeric=y_numeric,
            )
        if y_numeric and y.dtype.kind not in "biuf":
            # scikit-learn's y_numeric converts object arrays only; strings and
            # bytes pass through it unconverted.
            try:
                y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
            except ValueError as exc:
                raise ValueError(
                    f"A regressor needs numeric targets, but y holds non-numeric values of "
                    f"dtype {y.dtype} ({exc}). For class labels use BackpropClassifier."
                ) from exc
        if X.shape[0] == 0:
            raise ValueError("Found array with 0 sample(s); at least one sample is required.")
        return X, y

    # ------------------------------------------------------------------ #
    # Fit entry points
    # ------------------------------------------------------------------ #
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 stays float32; sparse CSR/CSC input is used
            without densifying the whole matrix.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets: class labels or a label-indicator matrix (classifier),
            real values (regressor).

        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in the cost; None gives every sample weight 1.

        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Explicit validation data, used instead of a random split for the
            validation scores and for early stopping.

        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Targets of ``X_val``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, X_val=X_val, y_val=y_val)

    def _fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, incremental=False, classes=None):
        self._validate_hyperparameters()
        fitted = hasattr(self, "coefs_")
        first_call = not (fitted and (incremental or self.warm_start))
        if incremental and self.solver == "lbfgs":
            raise ValueError(
                "partial_fit is not available with solver='lbfgs'; use solver='sgd' or 'adam', "
                "or call fit."
            )
        if incremental and self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True: each call is one epoch "
                "over the data it is given. Set early_stopping=False."
            )
        X, y = self._validate_Xy(X, y, reset=first_call, y_numeric=self._y_numeric)
        Y = self._encode_targets(y, first_call=first_call, classes=classes)
        Y = np.asarray(Y, dtype=X.dtype)
        sample_weight = v.check_sample_weight(sample_weight, X.shape[0], X.dtype)
        implied = self._target_weights(y)
        if implied is not None:
            sample_weight = implied.astype(X.dtype) if sample_weight is None else sample_weight * implied

        out_activation, loss = self._resolve_output()
        if out_activation not in LOSS_OUTPUTS[loss]:
            raise ValueError(
                f"loss={loss!r} cannot be used with output_activation={out_activation!r}; "
                f"it needs one of {LOSS_OUTPUTS[loss]}."
            )
        activation = canonical_name(self.activation)
        units = [X.shape[1], *self._hidden_sizes(), Y.shape[1]]
        if first_call:
            self._initialize(units, activation, out_activation, loss, X.dtype)
        else:
            self._check_continuation(units, activation, out_activation, loss)
        network = self._network
        params = network.pack(self.coefs_, self.intercepts_, X.dtype)
        self.coefs_, self.intercepts_ = network.unpack(params)

        validation = None
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ValueError("Pass both X_val and y_val, or neither.")
            X_val = self._validate_X(X_val, reset=False)
            validation = (X_val, y_val, None)
        elif self.early_stopping and self.solver == "lbfgs":
            warnings.warn(
                "early_stopping applies to solver='sgd' and 'adam' only; 'lbfgs' trains on all "
                "the data and ignores it. Pass X_val and y_val to monitor a validation score.",
                UserWarning,
                stacklevel=3,
            )
        elif self.early_stopping and not incremental:
            X, Y, sample_weight, validation = self._split_validation(X, Y, y, sample_weight)

        try:
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, Y, sample_weight, params, validation)
            else:
                self._fit_stochastic(X, Y, sample_weight, params, validation, incremental)
        finally:
            if not incremental:
                network.release()
        return self

    def _initialize(self, units, activation, out_activation, loss, dtype) -> None:
        self._network = Network(units, activation, out_activation, loss)
        self.n_layers_ = len(units)
        self.n_outputs_ = units[-1]
        self.out_activation_ = out_activation
        self.loss_function_ = loss
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.history_ = []
        self.best_loss_ = np.inf
        self.loss_ = np.inf
        self._no_improvement_count = 0
        self._rng = _as_generator(self.random_state)
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        if self.coefs_init is not None or self.intercepts_init is not None:
            v.check_initial_weights(self.coefs_init, self.intercepts_init, self._network.coef_shapes)
        params = self._network.init_params(self.weight_init, self._rng, dtype)
        coefs, intercepts = self._network.unpack(params)
        for given, layers in ((self.coefs_init, coefs), (self.intercepts_init, intercepts)):
            for dst, src in zip(layers, given or layers, strict=True):
                dst[...] = src
        self.coefs_, self.intercepts_ = coefs, intercepts
        self._optimizer = None

    def _check_continuation(self, units, activation, out_activation, loss) -> None:
        previous = [self.coefs_[0].shape[0]] + [W.shape[1] for W in self.coefs_]
        if previous != units:
            raise ValueError(
                f"The fitted network has layer sizes {previous} but this call needs {units}. "
                "With warm_start=True or partial_fit, keep hidden_layer_sizes and the number "
                "of features and outputs unchanged, or refit from scratch."
            )
        if not hasattr(self, "_network"):  # e.g. coefs_ set by hand or after unpickling
            self._network = Network(units, activation, out_activation, loss)
        self._network.activation = activation
        self._network.out_activation = out_activation
        self._network.loss = loss
        self.out_activation_ = out_activation
        self.loss_function_ = loss
        if self.early_stopping and self.validation_scores_ is None:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf

    def _split_validation(self, X, Y, y, sample_weight):
        stratify = self._stratify_labels(y)
        arrays = [X, Y, y] + ([sample_weight] if sample_weight is not None else [])
        # An int random_state gives the same split at every (warm) fit, as in scikit-learn.
        source = self._rng if self.random_state is None else _as_generator(self.random_state)
        if isinstance(self.random_state, (np.random.RandomState, np.random.Generator)):
            source = self._rng
        split_seed = int(source.integers(np.iinfo(np.int32).max))
        parts = train_test_split(
            *arrays, test_size=self.validation_fraction, random_state=split_seed, stratify=stratify
        )
        X_tr, X_val, Y_tr, _, _, y_val = parts[:6]
        sw_tr, sw_val = (parts[6], parts[7]) if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                f"The validation set has {X_val.shape[0]} sample(s); early stopping needs at "
                "least 2. Increase validation_fraction, add data, or pass X_val and y_val."
            )
        return X_tr, Y_tr, sw_tr, (X_val, y_val, sw_val)

    def _stratify_labels(self, y):
        return None

    # ------------------------------------------------------------------ #
    # Stochastic solvers
    # ------------------------------------------------------------------ #
    def _make_optimizer(self, n_params, dtype):
        if self.solver == "sgd":
            return SGD(n_params, dtype, self.learning_rate_init, self.momentum, self.nesterovs_momentum)
        return Adam(n_params, dtype, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the number of samples "
                f"({n_samples}); using batches of {n_samples}.",
                UserWarning,
                stacklevel=5,
            )
        return int(min(self.batch_size, n_samples))

    def _fit_stochastic(self, X, Y, sample_weight, params, validation, incremental):
        network = self._network
        n_samples = X.shape[0]
        batch_size = self._batch_size(n_samples)
        opt = self._optimizer
        if not incremental or type(opt) is not (SGD if self.solver == "sgd" else Adam):
            opt = self._optimizer = self._make_optimizer(network.n_params, params.dtype)
        grads = np.empty_like(params)
        coef_grads, intercept_grads = network.unpack(grads)
        snapshot = params.copy()
        callbacks = list(self.callbacks or [])
        total_weight = float(n_samples if sample_weight is None else sample_weight.sum())
        dense = not sp.issparse(X)
        order = np.arange(n_samples)
        if dense and self.shuffle:
            X_buf = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
        starts = range(0, n_samples, batch_size)
        epochs = 1 if incremental else self.max_iter
        stopped = False
        # A warm start with early stopping begins from the weights the previous
        # fit kept, those of best_validation_score_: they stay the ones to
        # restore unless an epoch of this fit beats that score.
        best = self.best_validation_score_ if self.early_stopping else None
        self._best_params = params.copy() if best is not None and np.isfinite(best) else None
        self._best_score_seen = best if self._best_params is not None else -np.inf

        for _ in range(epochs):
            epoch = self.n_iter_ + 1
            tic = time.perf_counter()
            snapshot[...] = params
            progress = _ProgressBar(len(starts)) if self.verbose >= 2 and len(starts) > 1 else None
            try:
                if self.shuffle:
                    self._rng.shuffle(order)
                accumulated = 0.0
                for b, start in enumerate(starts):
                    stop = min(start + batch_size, n_samples)
                    if self.shuffle:
                        idx = order[start:stop]
                        if dense:
                            # mode="clip": the indices are a permutation, always valid;
                            # the default mode="raise" copies through a buffer.
                            X_batch = np.take(
                                X, idx, axis=0, out=X_buf[: stop - start], mode="clip"
                            )
                        else:
                            X_batch = X[idx]
                        Y_batch = Y[idx]
                        sw_batch = None if sample_weight is None else sample_weight[idx]
                    else:
                        X_batch, Y_batch = X[start:stop], Y[start:stop]
                        sw_batch = None if sample_weight is None else sample_weight[start:stop]
                    batch_weight = float(stop - start if sw_batch is None else sw_batch.sum())
                    if batch_weight == 0:
                        continue  # only zero-weight samples: nothing to learn from
                    batch_loss = network.loss_and_grad(
                        X_batch, Y_batch, self.coefs_, self.intercepts_,
                        coef_grads, intercept_grads, self.alpha, sw_batch,
                    )
                    if not np.isfinite(batch_loss):
                        self._diverged(params, snapshot, epoch)
                    accumulated += batch_loss * batch_weight
                    opt.step(params, grads)
                    if progress is not None:
                        progress.update(b + 1)
                if _exploded(params):
                    self._diverged(params, snapshot, epoch)
            except KeyboardInterrupt:
                params[...] = snapshot
                warnings.warn(
                    f"Training interrupted by the user during epoch {epoch}; the model keeps "
                    f"the weights of the last finished epoch ({epoch - 1}).",
                    UserWarning,
                    stacklevel=4,
                )
                stopped = True
                break

            self.n_iter_ = epoch
            self.t_ += n_samples
            self.loss_ = accumulated / total_weight
            self.loss_curve_.append(self.loss_)
            val_score = None
            if validation is not None:
                val_score = self._validation_score(*validation)
                if self.validation_scores_ is None:
                    self.validation_scores_ = []
                    self.best_validation_score_ = -np.inf
                self.validation_scores_.append(val_score)
            record = {
                "epoch": epoch,
                "loss": self.loss_,
                "validation_score": val_score,
                "learning_rate": opt.learning_rate,
                "seconds": time.perf_counter() - tic,
            }
            self.history_.append(record)
            if self.verbose:
                line = f"Epoch {epoch}, loss = {self.loss_:.8f}"
                if val_score is not None:
                    line += f", validation score = {val_score:.6f}"
                line += f", learning rate = {opt.learning_rate:.3g}, {record['seconds']:.3f}s"
                print(line)

            use_validation = self.early_stopping and val_score is not None
            if val_score is not None:
                self.best_validation_score_ = max(self.best_validation_score_, val_score)
            self._update_no_improvement(val_score if use_validation else None, params)
            if self.learning_rate == "invscaling" and self.solver == "sgd":
                opt.learning_rate = self.learning_rate_init / (self.t_ + 1) ** self.power_t
            if any(bool(callback(self, record)) for callback in callbacks):
                if self.verbose:
                    print("A callback asked to stop training.")
                stopped = True
                break
            if self._no_improvement_count > self.n_iter_no_change:
                what = "Validation score" if use_validation else "Training loss"
                msg = (
                    f"{what} did not improve more than tol={self.tol} for "
                    f"{self.n_iter_no_change} consecutive epochs."
                )
                if self.learning_rate == "adaptive" and self.solver == "sgd" and opt.learning_rate > 1e-6:
                    opt.learning_rate /= 5.0
                    self._no_improvement_count = 0
                    if self.verbose:
                        print(f"{msg} Setting learning rate to {opt.learning_rate:g}.")
                else:
                    if self.verbose:
                        print(f"{msg} Stopping.")
                    stopped = True
                    break
        if not incremental and not stopped:
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet. Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=4,
            )
        if self.early_stopping and getattr(self, "_best_params", None) is not None and not incremental:
            params[...] = self._best_params
        self._best_params = None

    def _update_no_improvement(self, val_score, params) -> None:
        """Count epochs without improvement (of ``val_score`` if given, else of the loss)."""
        if val_score is not None:
            best_before = self._best_score_seen
            if val_score < best_before + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if val_score > best_before:
                self._best_score_seen = val_score
                self._best_params = params.copy()
        else:
            if self.loss_ > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
        self.best_loss_ = min(self.best_loss_, self.loss_)

    def _diverged(self, params, snapshot, epoch):
        params[...] = snapshot
        raise DivergenceError(
            f"Training diverged in epoch {epoch}: the cost or the weights became inf, NaN or "
            f"larger than {WEIGHT_LIMIT:g} "
            f"(learning_rate_init={self.learning_rate_init}). Use a smaller "
            "learning_rate_init, scale the inputs (e.g. StandardScaler), or use "
            "solver='adam'. The model keeps the weights from before that epoch."
        )

    # ------------------------------------------------------------------ #
    # L-BFGS
    # ------------------------------------------------------------------ #
    def _fit_lbfgs(self, X, Y, sample_weight, params, validation):
        network = self._network
        grads = np.empty_like(params)
        coef_grads, intercept_grads = network.unpack(grads)
        callbacks = list(self.callbacks or [])
        start = params.copy()
        finished = params.copy()  # the iterate of the last finished iteration
        tic = [time.perf_counter()]

        def cost_and_grad(x):
            params[...] = x
            loss = network.loss_and_grad(
                X, Y, self.coefs_, self.intercepts_, coef_grads, intercept_grads,
                self.alpha, sample_weight,
            )
            if not np.isfinite(loss):
                return np.inf, np.zeros_like(x)
            return loss, grads.astype(np.float64)

        def on_iteration(intermediate_result):
            self.n_iter_ += 1
            self.loss_ = float(intermediate_result.fun)
            self.loss_curve_.append(self.loss_)
            self.best_loss_ = min(self.best_loss_, self.loss_)
            now = time.perf_counter()
            record = {
                "epoch": self.n_iter_,
                "loss": self.loss_,
                "validation_score": None,
                "learning_rate": None,
                "seconds": now - tic[0],
            }
            tic[0] = now
            self.history_.append(record)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
            params[...] = intermediate_result.x
            if validation is not None:
                record["validation_score"] = self._validation_score(*validation)
                if self.validation_scores_ is None:
                    self.validation_scores_, self.best_validation_score_ = [], -np.inf
                self.validation_scores_.append(record["validation_score"])
                self.best_validation_score_ = max(
                    self.best_validation_score_, record["validation_score"]
                )
            finished[...] = intermediate_result.x
            if any(bool(callback(self, record)) for callback in callbacks):
                raise StopIteration

        try:
            result = minimize_lbfgs(
                cost_and_grad, params, self.max_iter, self.max_fun, self.tol,
                on_iteration,
            )
        except KeyboardInterrupt:
            warnings.warn(
                "Training interrupted by the user; the model keeps the weights of the last "
                "finished iteration.",
                UserWarning,
                stacklevel=4,
            )
            # params may hold a line-search trial point of the unfinished iteration
            params[...] = finished
            return
        if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
            params[...] = start
            raise DivergenceError(
                "L-BFGS diverged: the cost became inf or NaN. Scale the inputs (e.g. "
                "StandardScaler) or increase alpha. The model keeps its starting weights."
            )
        params[...] = result.x
        self.loss_ = float(result.fun)
        if not self.loss_curve_:
            self.loss_curve_.append(self.loss_)
        self.best_loss_ = min(self.best_loss_, self.loss_)
        if result.status == 1:  # iteration or evaluation limit reached
            warnings.warn(
                f"lbfgs failed to converge after {result.nit} iterations "
                f"({result.message}). Increase max_iter or max_fun, or scale the data.",
                ConvergenceWarning,
                stacklevel=4,
            )

    # ------------------------------------------------------------------ #
    # Prediction
    # ------------------------------------------------------------------ #
    def _forward_output(self, X) -> np.ndarray:
        check_is_fitted(self, "coefs_")
        X = self._validate_X(X, reset=False)
        coefs, intercepts = self.coefs_, self.intercepts_
        if coefs[0].dtype != X.dtype:
            X = X.astype(coefs[0].dtype)
        network = getattr(self, "_network", None)
        if network is None:
            units = [coefs[0].shape[0]] + [W.shape[1] for W in coefs]
            network = Network(units, canonical_name(self.activation), self.out_activation_, "squared_error")
        return network.output(X, coefs, intercepts)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
