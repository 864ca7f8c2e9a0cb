"""The shared estimator: parameters, validation, the training loop.

``BackpropClassifier`` and ``BackpropRegressor`` add only what differs: how
targets are encoded, which output activation and cost are the default, and how
predictions are decoded. Array math stays in ``_network.py`` and
``_optimizers.py``; this module moves validated arrays between them.
"""

from __future__ import annotations

import contextlib
import copy
import math
import sys
import time
import warnings
from abc import ABCMeta, abstractmethod

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from . import _validation as v
from ._activations import HIDDEN_ACTIVATIONS, canonical_name
from ._losses import LOSS_OUTPUTS
from ._network import INITIALIZERS, Network, abs_max
from ._optimizers import SGD, Adam, minimize_lbfgs


class DivergenceError(ValueError):
    """Raised when training diverges (the cost, a weight or an output becomes inf or NaN).

    A ``ValueError``, as scikit-learn raises for a diverging MLP, so that
    ``except ValueError`` and ``error_score`` handling keep working.
    """


#: Parameter -> rule, shared by both estimators (subclasses extend it).
PARAMETER_RULES = {
    "hidden_layer_sizes": v.layer_sizes,
    "activation": v.options(*HIDDEN_ACTIVATIONS, "logistic"),
    "solver": v.options("sgd", "adam", "lbfgs"),
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
    "n_iter_no_change": v.any_of(v.number(1, integer=True), v.infinity),
    "max_fun": v.number(1, integer=True),
    "weight_init": v.callable_or("auto", *INITIALIZERS),
    "coefs_init": v.optional_list,
    "intercepts_init": v.optional_list,
    "callbacks": v.callbacks,
}


def one_column_as_1d(y):
    """``y`` of shape (n, 1) as 1-D, with scikit-learn's DataConversionWarning."""
    return column_or_1d(y, warn=True) if y.ndim == 2 and y.shape[1] == 1 else y


def public_name(activation: str) -> str:
    """scikit-learn's name of an activation, as ``out_activation_`` reports it."""
    return "logistic" if activation == "sigmoid" else activation


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
    # NaN propagates through max and min, and fails the comparison.
    return not abs_max(params) < WEIGHT_LIMIT


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


class _Batches:
    """The mini-batches of an epoch: in order, or shuffled anew at each pass.

    Iterating yields ``(X_batch, Y_batch, sample_weight_batch, batch_weight)``
    and skips batches whose samples all have weight zero. Shuffled dense rows
    are gathered into one reused buffer.
    """

    def __init__(self, X, Y, sample_weight, batch_size: int, shuffle: bool, rng) -> None:
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self.batch_size, self.shuffle, self.rng = batch_size, shuffle, rng
        n_samples = X.shape[0]
        self.starts = range(0, n_samples, batch_size)
        self.total_weight = float(n_samples if sample_weight is None else sample_weight.sum())
        self.order = np.arange(n_samples)
        gather = shuffle and not sp.issparse(X)
        self.X_buf = np.empty((batch_size, X.shape[1]), dtype=X.dtype) if gather else None

    def __len__(self) -> int:
        return len(self.starts)

    def __iter__(self):
        X, Y, sw = self.X, self.Y, self.sample_weight
        n_samples = X.shape[0]
        if self.shuffle:
            self.rng.shuffle(self.order)
        for start in self.starts:
            stop = min(start + self.batch_size, n_samples)
            rows = self.order[start:stop] if self.shuffle else slice(start, stop)
            if self.X_buf is not None:
                # mode="clip": the indices are a permutation, always valid; the
                # default mode="raise" copies through a buffer.
                X_batch = np.take(X, rows, axis=0, out=self.X_buf[: stop - start], mode="clip")
            else:
                X_batch = X[rows]
            sw_batch = None if sw is None else sw[rows]
            weight = float(stop - start if sw_batch is None else sw_batch.sum())
            if weight > 0:  # a batch of zero-weight samples has nothing to teach
                yield X_batch, Y[rows], sw_batch, weight


class _Step:
    """One gradient step on a batch (forward, backward, update), and the epoch's undo."""

    def __init__(self, network, coefs, intercepts, grads, alpha, optimizer, params) -> None:
        self.network, self.coefs, self.intercepts = network, coefs, intercepts
        self.grads, self.alpha, self.optimizer, self.params = grads, alpha, optimizer, params
        self.coef_grads, self.intercept_grads = network.unpack(grads)
        self.snapshot = params.copy()

    def begin_epoch(self) -> None:
        self.snapshot[...] = self.params

    def undo_epoch(self) -> None:
        self.params[...] = self.snapshot

    def loss(self, X, Y, sample_weight) -> float:
        """The batch's cost; its gradient goes to the buffer :meth:`update` reads."""
        return self.network.loss_and_grad(
            X, Y, self.coefs, self.intercepts, self.coef_grads, self.intercept_grads,
            self.alpha, sample_weight,
        )

    def update(self) -> None:
        """One optimizer step along the last gradient."""
        self.optimizer.step(self.params, self.grads)


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


class BaseBackprop(BaseEstimator, metaclass=ABCMeta):
    """Shared logic of the backpropagation estimators; not for direct use.

    Its ``__init__`` is the regressor's (the classifier adds ``class_weight``
    and its own default ``loss``).
    """

    _parameter_rules = PARAMETER_RULES

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        output_activation="auto",
        loss="squared_error",
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

    def _check_warm_start_targets(self, y) -> None:
        """Check that a warm-started fit's targets suit the fitted model; nothing by default."""

    @abstractmethod
    def _check_validation_targets(self, y_val) -> np.ndarray:
        """``y_val`` checked and converted as ``y`` is (labels known, numeric, shape)."""

    @abstractmethod
    def _score_output(self, out: np.ndarray, y, sample_weight) -> float:
        """The estimator's ``score`` from the network's output ``out`` for the rows of ``y``."""

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

        sample_weight : float or array-like of shape (n_samples,), default=None
            Weight of each sample in the cost (finite, >= 0, not all zero); a
            float weighs every sample alike; None gives every sample weight 1.

        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Explicit validation data, used instead of a random split for the
            validation scores and for early stopping.

        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Targets of ``X_val``.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        DivergenceError
            When the cost, a weight or an output becomes inf or NaN (unless
            early stopping has a best epoch to fall back on).
        ValueError
            On invalid parameters or data. Whatever is raised, the estimator
            is left exactly as it was before the call.
        """
        return self._fit(X, y, sample_weight, X_val=X_val, y_val=y_val)

    def _fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, incremental=False, classes=None):
        """Validate, set up and train; a call that raises leaves the estimator as it was."""
        saved = self._state_copy()
        try:
            self._fit_unguarded(X, y, sample_weight, X_val, y_val, incremental, classes)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        return self

    def _state_copy(self) -> dict:
        """The estimator's state, copied deep enough to undo a call that fails.

        Training appends to the record lists and advances the optimizer and the
        random generator in place; the weights are always copied into a new
        vector before training, so the arrays held here are never modified.
        """
        state = dict(self.__dict__)
        for name in ("loss_curve_", "history_", "validation_scores_"):
            if isinstance(state.get(name), list):
                state[name] = list(state[name])
        for name in ("_optimizer", "_rng"):
            if state.get(name) is not None:
                state[name] = copy.deepcopy(state[name])
        return state

    def _fit_unguarded(self, X, y, sample_weight, X_val, y_val, incremental, classes) -> None:
        self._validate_hyperparameters()
        first_call = not (hasattr(self, "coefs_") and (incremental or self.warm_start))
        if incremental and self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True: each call is one epoch "
                "over the data it is given. Set early_stopping=False."
            )
        X, y = self._validate_Xy(X, y, reset=first_call, y_numeric=self._y_numeric)
        y = one_column_as_1d(y)
        if not (first_call or incremental):
            self._check_warm_start_targets(y)
        Y = self._encode_targets(y, first_call=first_call, classes=classes)
        sample_weight = self._sample_weights(sample_weight, y, X)
        self._setup_network(X.shape[1], Y.shape[1], X.dtype, first_call)
        validation = None
        if X_val is not None or y_val is not None:
            validation = self._validate_validation_set(X_val, y_val)

        if validation is None and self.early_stopping:
            if self.solver == "lbfgs":
                warnings.warn(
                    "early_stopping applies to solver='sgd' and 'adam' only; 'lbfgs' trains on "
                    "all the data and ignores it. Pass X_val and y_val to monitor a validation "
                    "score.",
                    UserWarning,
                    stacklevel=4,
                )
            else:
                X, Y, sample_weight, validation = self._split_validation(X, Y, y, sample_weight)
        if validation is not None and self.validation_scores_ is None:
            self.validation_scores_, self.best_validation_score_ = [], -np.inf

        network = self._network
        params = network.pack(self.coefs_, self.intercepts_, X.dtype)
        self.coefs_, self.intercepts_ = network.unpack(params)
        try:
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, Y, sample_weight, params, validation)
            else:
                self._fit_stochastic(X, Y, sample_weight, params, validation, incremental)
            self._check_finite_outputs(X)
        finally:
            if not incremental:
                network.release()

    def _sample_weights(self, sample_weight, y, X) -> np.ndarray | None:
        """``sample_weight`` validated and multiplied by the weights the targets imply."""
        sample_weight = v.check_sample_weight(sample_weight, X.shape[0], X.dtype)
        implied = self._target_weights(y)
        if implied is None:
            return sample_weight
        implied = implied.astype(X.dtype)
        combined = implied if sample_weight is None else sample_weight * implied
        v.check_some_weight(combined, "class_weight (times sample_weight) is zero for every sample")
        return combined

    def _validate_validation_set(self, X_val, y_val):
        """``(X_val, y_val, None)`` checked and converted like the training data."""
        if X_val is None or y_val is None:
            raise ValueError("Pass both X_val and y_val, or neither.")
        X_val = self._validate_X(X_val, reset=False)
        y_val = self._check_validation_targets(y_val)
        if y_val.shape[0] != X_val.shape[0]:
            raise ValueError(
                f"X_val has {X_val.shape[0]} samples but y_val has {y_val.shape[0]}; pass one "
                "target per validation sample."
            )
        return X_val, y_val, None

    def _setup_network(self, n_features: int, n_outputs: int, dtype, first_call: bool) -> None:
        """Check the layers against the data; start new weights or continue the old ones."""
        out_activation, loss = self._resolve_output()
        if out_activation not in LOSS_OUTPUTS[loss]:
            raise ValueError(
                f"loss={loss!r} cannot be used with output_activation={out_activation!r}; "
                f"it needs one of {LOSS_OUTPUTS[loss]}."
            )
        activation = canonical_name(self.activation)
        units = [n_features, *self._hidden_sizes(), n_outputs]
        if first_call:
            self._initialize(units, activation, out_activation, loss, dtype)
        else:
            self._check_continuation(units, activation, out_activation, loss)

    def _initialize(self, units, activation, out_activation, loss, dtype) -> None:
        network = Network(units, activation, out_activation, loss)
        if self.coefs_init is not None or self.intercepts_init is not None:
            v.check_initial_weights(self.coefs_init, self.intercepts_init, network.coef_shapes)
        self._rng = _as_generator(self.random_state)
        params = network.init_params(self.weight_init, self._rng, dtype)
        coefs, intercepts = network.unpack(params)
        for given, layers in ((self.coefs_init, coefs), (self.intercepts_init, intercepts)):
            for dst, src in zip(layers, given or layers, strict=True):
                dst[...] = src
        self._network = network
        self.coefs_, self.intercepts_ = coefs, intercepts
        self.n_layers_ = len(units)
        self.n_outputs_ = units[-1]
        self.out_activation_ = public_name(out_activation)
        self.loss_function_ = loss
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.history_ = []
        self.best_loss_ = np.inf
        self.loss_ = np.inf
        self._no_improvement_count = 0
        self.validation_scores_ = None
        self.best_validation_score_ = None
        self._optimizer = None

    def _check_continuation(self, units, activation, out_activation, loss) -> None:
        previous = [self.coefs_[0].shape[0]] + [W.shape[1] for W in self.coefs_]
        if previous != units:
            raise ValueError(
                f"The fitted network has layer sizes {previous} but this call needs {units}. "
                "With warm_start=True or partial_fit, keep hidden_layer_sizes and the number "
                "of features and outputs unchanged, or refit from scratch."
            )
        network = getattr(self, "_network", None)  # None: coefs_ set by hand, say
        if network is None or (network.activation, network.out_activation, network.loss) != (
            activation,
            out_activation,
            loss,
        ):
            self._network = Network(units, activation, out_activation, loss)
        self.out_activation_ = public_name(out_activation)
        self.loss_function_ = loss

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
                f"The validation set is too small: {X_val.shape[0]} sample(s), and early "
                "stopping needs at least 2. Increase 'validation_fraction' or the size of your "
                "dataset, or pass X_val and y_val."
            )
        return X_tr, Y_tr, sw_tr, (X_val, y_val, sw_val)

    def _stratify_labels(self, y):
        return None

    # ------------------------------------------------------------------ #
    # Stochastic solvers
    # ------------------------------------------------------------------ #
    def _optimizer_settings(self) -> tuple:
        """The parameters an optimizer is built from; a change starts a new one."""
        if self.solver == "sgd":
            return ("sgd", self.learning_rate_init, self.momentum, self.nesterovs_momentum)
        return ("adam", self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)

    def _optimizer_for(self, params: np.ndarray, incremental: bool):
        """The optimizer of this call: kept across partial_fit calls while its settings hold."""
        settings = self._optimizer_settings()
        if incremental and self._optimizer is not None and self._optimizer_key == settings:
            return self._optimizer
        if self.solver == "sgd":
            opt = SGD(params.shape[0], params.dtype, *settings[1:])
        else:
            opt = Adam(params.shape[0], params.dtype, *settings[1:])
        self._optimizer, self._optimizer_key = opt, settings
        return opt

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the number of samples "
                f"({n_samples}); using batches of {n_samples}.",
                UserWarning,
                stacklevel=6,
            )
        return int(min(self.batch_size, n_samples))

    def _fit_stochastic(self, X, Y, sample_weight, params, validation, incremental):
        opt = self._optimizer_for(params, incremental)
        batches = _Batches(X, Y, sample_weight, self._batch_size(X.shape[0]), self.shuffle, self._rng)
        grads = np.empty_like(params)
        step = _Step(self._network, self.coefs_, self.intercepts_, grads, self.alpha, opt, params)
        self.n_iter_ = 0
        if self.early_stopping:
            self.best_loss_ = None
        elif self.best_loss_ is None:
            self.best_loss_ = np.inf
        # A warm start with early stopping begins from the weights the previous
        # fit kept, those of best_validation_score_: they stay the ones to
        # restore unless an epoch of this fit beats that score.
        best = self.best_validation_score_ if self.early_stopping else None
        self._best_params = params.copy() if best is not None and np.isfinite(best) else None
        self._best_score_seen = best if self._best_params is not None else -np.inf

        stopped = False
        for _ in range(1 if incremental else self.max_iter):
            recorded = False
            try:
                loss, seconds = self._train_epoch(batches, step)
                recorded = True
                stopped = self._end_epoch(loss, seconds, X.shape[0], params, validation, opt)
            except KeyboardInterrupt:
                self._interrupted(step if not recorded else None)
                stopped = True
            except DivergenceError:
                if not (self.early_stopping and self._best_params is not None):
                    raise
                warnings.warn(
                    f"Training diverged in epoch {self.n_iter_ + 1}; early stopping ends "
                    "training there and keeps the weights of the best validation score "
                    f"({self._best_score_seen:.6g}). A smaller learning_rate_init or scaled "
                    "inputs may train further.",
                    UserWarning,
                    stacklevel=5,
                )
                stopped = True
            if stopped:
                break
        if not incremental and not stopped:
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet. Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=5,
            )
        if self.early_stopping and self._best_params is not None and not incremental:
            params[...] = self._best_params
        self._best_params = None

    def _train_epoch(self, batches, step) -> tuple[float, float]:
        """One pass over the batches; returns the mean cost and the seconds it took.

        Raises DivergenceError when the cost or the weights stop being finite.
        """
        tic = time.perf_counter()
        step.begin_epoch()
        show = self.verbose >= 2 and len(batches) > 1 and sys.stdout.isatty()
        progress = _ProgressBar(len(batches)) if show else None
        accumulated = 0.0
        for b, (X_batch, Y_batch, sw_batch, batch_weight) in enumerate(batches):
            batch_loss = step.loss(X_batch, Y_batch, sw_batch)
            if not math.isfinite(batch_loss):
                self._diverged()
            step.update()
            accumulated += batch_loss * batch_weight
            if progress is not None:
                progress.update(b + 1)
        if _exploded(step.params):
            self._diverged()
        return accumulated / batches.total_weight, time.perf_counter() - tic

    def _end_epoch(self, loss, seconds, n_samples, params, validation, opt) -> bool:
        """Book-keeping after an epoch; returns True when training should stop."""
        self.n_iter_ += 1
        self.t_ += n_samples
        record = self._record_epoch(loss, seconds, validation, opt.learning_rate)
        if self.verbose:
            self._print_epoch(record)
        val_score = record["validation_score"]
        use_validation = self.early_stopping and val_score is not None
        self._update_no_improvement(val_score if use_validation else None, params)
        if self.learning_rate == "invscaling" and self.solver == "sgd":
            opt.learning_rate = self.learning_rate_init / (self.t_ + 1) ** self.power_t
        if self._callbacks_stop(record):
            return True
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        what = "Validation score" if use_validation else "Training loss"
        msg = f"{what} did not improve more than tol={self.tol} for {self.n_iter_no_change} consecutive epochs."
        if self.learning_rate == "adaptive" and self.solver == "sgd" and opt.learning_rate > 1e-6:
            opt.learning_rate /= 5.0
            self._no_improvement_count = 0
            if self.verbose:
                print(f"{msg} Setting learning rate to {opt.learning_rate:g}.")
            return False
        if self.verbose:
            print(f"{msg} Stopping.")
        return True

    def _record_epoch(self, loss, seconds, validation, learning_rate) -> dict:
        """Append an epoch (or L-BFGS iteration) to the training record and return its entry."""
        self.loss_ = float(loss)
        self.loss_curve_.append(self.loss_)
        val_score = None
        if validation is not None:
            val_score = self._validation_score(*validation)
            self.validation_scores_.append(val_score)
            self.best_validation_score_ = max(self.best_validation_score_, val_score)
        record = {
            "epoch": len(self.loss_curve_),
            "loss": self.loss_,
            "validation_score": val_score,
            "learning_rate": learning_rate,
            "seconds": seconds,
        }
        self.history_.append(record)
        return record

    def _print_epoch(self, record) -> None:
        line = f"Iteration {self.n_iter_}, loss = {record['loss']:.8f}"
        if record["validation_score"] is not None:
            line += f", validation score = {record['validation_score']:.6f}"
        if record["learning_rate"] is not None:
            line += f", learning rate = {record['learning_rate']:.3g}"
        print(f"{line}, {record['seconds']:.3f}s")

    def _callbacks_stop(self, record) -> bool:
        """Call the user's callbacks; True when one asks to stop."""
        if not any(bool(callback(self, record)) for callback in self.callbacks or []):
            return False
        if self.verbose:
            print("A callback asked to stop training.")
        return True

    def _interrupted(self, step) -> None:
        """Ctrl-C: keep the weights of the last finished epoch (``step`` given: undo the current one)."""
        if step is not None:
            step.undo_epoch()
        warnings.warn(
            f"Training interrupted by the user after {self.n_iter_} finished epoch(s) of this "
            "call; the model keeps the weights of the last finished epoch.",
            UserWarning,
            stacklevel=6,
        )

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
            return
        if self.loss_ > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        self.best_loss_ = min(self.best_loss_, self.loss_)

    def _diverged(self):
        # No weights to put back: a raising call restores the whole estimator,
        # and early stopping that absorbs the error restores its best epoch.
        raise DivergenceError(
            f"Training diverged in epoch {self.n_iter_ + 1}: the cost or the weights became "
            f"inf, NaN or larger than {WEIGHT_LIMIT:g} "
            f"(learning_rate_init={self.learning_rate_init}). Use a smaller "
            "learning_rate_init, scale the inputs (e.g. StandardScaler), or use "
            "solver='adam'. The estimator is left as it was before this call."
        )

    def _check_finite_outputs(self, X) -> None:
        """Refuse to return a model whose outputs on its own training data are not finite."""
        if self._network.outputs_finite(X, self.coefs_, self.intercepts_):
            return
        raise DivergenceError(
            "Training produced weights whose outputs on the training data are inf or NaN "
            "(some inputs are so large that the products overflow). Scale the inputs (e.g. "
            "StandardScaler) or use a smaller learning_rate_init. The estimator is left as it "
            "was before this call."
        )

    # ------------------------------------------------------------------ #
    # L-BFGS
    # ------------------------------------------------------------------ #
    def _fit_lbfgs(self, X, Y, sample_weight, params, validation):
        network = self._network
        grads = np.empty_like(params)
        coef_grads, intercept_grads = network.unpack(grads)
        finished = params.copy()  # the iterate of the last finished iteration
        tic = [time.perf_counter()]
        self.n_iter_ = 0
        if self.best_loss_ is None:
            self.best_loss_ = np.inf
        stopped = [False]

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
            params[...] = intermediate_result.x
            finished[...] = intermediate_result.x
            self.n_iter_ += 1
            now = time.perf_counter()
            record = self._record_epoch(intermediate_result.fun, now - tic[0], validation, None)
            tic[0] = now
            self.best_loss_ = min(self.best_loss_, self.loss_)
            if self.verbose:
                self._print_epoch(record)
            if self._callbacks_stop(record):
                stopped[0] = True
                raise StopIteration

        try:
            result = minimize_lbfgs(
                cost_and_grad, params, self.max_iter, self.max_fun, self.tol, on_iteration
            )
        except KeyboardInterrupt:
            # params may hold a line-search trial point of the unfinished iteration
            params[...] = finished
            self._interrupted(None)
            return
        if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
            raise DivergenceError(
                "L-BFGS diverged: the cost became inf or NaN. Scale the inputs (e.g. "
                "StandardScaler) or increase alpha. The estimator is left as it was before "
                "this call."
            )
        params[...] = result.x
        self.loss_ = float(result.fun)
        self.best_loss_ = min(self.best_loss_, self.loss_)
        if result.status != 0 and not stopped[0]:
            self._warn_not_converged(result)

    def _warn_not_converged(self, result) -> None:
        """L-BFGS stopped short of convergence (a limit, or a failed line search)."""
        warnings.warn(
            f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status="
            f"{result.status}: {result.message}). Increase max_iter or max_fun, or scale "
            "the data.",
            ConvergenceWarning,
            stacklevel=6,
        )

    # ------------------------------------------------------------------ #
    # Prediction
    # ------------------------------------------------------------------ #
    def _forward_output(self, X) -> np.ndarray:
        """The network's output for ``X`` after checking ``X`` (see :meth:`_raw_output`)."""
        check_is_fitted(self, "coefs_")
        X = self._validate_X(X, reset=False)
        if self.coefs_[0].dtype != X.dtype:
            X = X.astype(self.coefs_[0].dtype)
        return self._raw_output(X)

    def _raw_output(self, X) -> np.ndarray:
        """The output layer for checked ``X``; subclasses may ask for it before its activation."""
        network = getattr(self, "_network", None)
        if network is None:  # coefs_ set by hand
            units = [self.coefs_[0].shape[0]] + [W.shape[1] for W in self.coefs_]
            network = Network(
                units, canonical_name(self.activation), canonical_name(self.out_activation_),
                "squared_error",
            )
        return network.output(X, self.coefs_, self.intercepts_, self._prediction_activation())

    def _prediction_activation(self) -> str | None:
        """The output activation predictions are computed with (None: the trained one)."""
        return None

    def _validation_score(self, X, y, sample_weight) -> float:
        """The score of ``(X, y)``, already checked, without checking them again."""
        return self._score_output(self._raw_output(X), y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
