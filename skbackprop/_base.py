"""The shared estimator shell: parameters, validation, set-up, a transactional fit.

``BackpropClassifier`` and ``BackpropRegressor`` add only what differs: how
targets are encoded, which output activation and cost are the default, and how
predictions are decoded. The training run is in ``training/run.py``, the loop's
parts in ``training/loop.py`` and ``training/epoch_end.py``, the array math in ``core/network.py``
and ``core/optimizers.py``; this module checks the data and moves it between them.
"""

from __future__ import annotations

import contextlib
import copy
import types
from abc import ABCMeta, abstractmethod

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _validation as v
from ._validation import one_column_as_1d
from .core.activations import ALIASES, canonical_name, check_supported, hidden_activations
from .core.losses import COSTS
from .core.network import INITIALIZERS, Network
from .core.ops import NUMPY, device_of, ops_of, same_place
from .exceptions import DivergenceError
from .integrations import dask as _dask
from .integrations import persist as _persist
from .integrations import sklearn_callbacks as _callbacks
from .training.epoch_end import UserCallbacks
from .training.loop import ArrayData, TrainingData
from .training.record import Call, Settings, TrainingRecord
from .training.run import (
    LARGE_VALUES,
    fit_lbfgs,
    fit_stochastic,
    make_optimizer,
    optimizer_key,
    warn_at_caller,
)
from .training.workspace import FRESH, SavedState, Workspace

__all__ = ["BaseBackprop"]


def _hidden_activation(name, value) -> None:
    """Rule: a hidden activation of the table (read when checked) or an alias."""
    v.options(*hidden_activations(), *ALIASES)(name, value)


#: Parameter -> rule, shared by both estimators (subclasses extend it).
PARAMETER_RULES = {
    "hidden_layer_sizes": v.layer_sizes,
    "activation": _hidden_activation,
    "solver": v.options("sgd", "adam", "lbfgs"),
    "alpha": v.number(0.0),
    "dropout": v.dropout_rates,
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


#: Parameter values whose validity cannot change while the estimator holds the same object.
_FROZEN = (int, float, str, bytes, type(None), np.generic, np.random.RandomState,
           np.random.Generator, types.FunctionType, types.BuiltinFunctionType)


def _frozen(value) -> bool:
    """Whether ``value`` is immutable as far as the parameter rules look (tuples of such)."""
    if isinstance(value, tuple):
        return all(_frozen(item) for item in value)
    return isinstance(value, _FROZEN)


#: Estimator class -> the names ``get_params`` reports (read once per class).
_PARAMETER_NAMES: dict[type, tuple[str, ...]] = {}


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


def input_ops(X):
    """The operations layer for input ``X``: its library's under array API dispatch.

    Without ``sklearn.set_config(array_api_dispatch=True)`` every input is
    converted to NumPy (today's behaviour); with it, ``X`` keeps its library
    and device and everything follows it.
    """
    if not get_config().get("array_api_dispatch", False):
        return NUMPY
    return ops_of(X)


def to_host(array):
    """An array of any library as NumPy in host memory (other inputs unchanged)."""
    if array is None or isinstance(array, np.ndarray) or sp.issparse(array):
        return array
    if not get_config().get("array_api_dispatch", False) or not hasattr(array, "shape"):
        return array
    return ops_of(array).to_host(array)


def _describe_place(array) -> str:
    """``'<library> arrays on <device>'`` for an error message."""
    ops = ops_of(array)
    if ops.host:
        return "NumPy arrays"
    return f"{ops.name} arrays on device {device_of(array)!r}"


def _take(array, rows: np.ndarray):
    """The rows ``rows`` (host indices) of an array of any library, or of a sparse matrix."""
    if sp.issparse(array):
        return array[rows]
    ops = ops_of(array)
    if ops.host:
        return array.take(rows, axis=0)
    return ops.xp.take(array, ops.from_host(rows, array), axis=0)


def _like(X):
    """``X`` where arrays must follow it to another library or device, else None."""
    return None if ops_of(X).host else X


def _check_partial_fit(estimator) -> bool:
    """``partial_fit`` exists only for the stochastic solvers (used with ``available_if``)."""
    if estimator.solver == "lbfgs":
        raise AttributeError(
            "partial_fit is not available with solver='lbfgs' (a full-batch method); use "
            "solver='sgd' or 'adam', or call fit."
        )
    return True


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


class BaseBackprop(_callbacks.CallbackSupportMixin, BaseEstimator, metaclass=ABCMeta):
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
        dropout=0.0,
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
        self.dropout = dropout
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

    #: Whether the targets are class labels (summarised by their values) or numbers.
    _labels_as_targets = False

    def _chunk_targets(self, y) -> np.ndarray:
        """A chunk's checked targets as the network's targets (the classes already known)."""
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _class_weight_table(self, counts) -> np.ndarray | None:
        """The weight of each class in ``classes_`` (``counts`` per class), or None."""
        return None

    # ------------------------------------------------------------------ #
    # Validation
    # ------------------------------------------------------------------ #
    def _validate_hyperparameters(self, workspace=FRESH) -> dict:
        """Check every parameter; return ``get_params(deep=False)`` (training reads it too).

        With a :class:`~.training.workspace.Workspace` (``partial_fit``), the
        checks are skipped when every parameter is the very object found
        valid at the previous call and of an immutable type (numbers,
        strings, None, tuples of them, generators, functions): their checks
        could not give another answer. A list, a dict or an array among the
        values is checked at every call.
        """
        params = self._parameters()
        values = tuple(params.values())
        validated = getattr(workspace, "validated", None)
        if validated is not None and len(validated) == len(values) and all(
            old is new for old, new in zip(validated, values, strict=True)
        ):
            return params
        self._check_hyperparameters(params)
        if isinstance(workspace, Workspace) and _frozen(values):
            workspace.validated = values
        return params

    def _parameters(self) -> dict:
        """``get_params(deep=False)``, with the parameter names read once per class."""
        cls = type(self)
        if cls.get_params is not BaseEstimator.get_params:  # a subclass's own: ask it
            return self.get_params(deep=False)
        names = _PARAMETER_NAMES.get(cls)
        if names is None:
            names = _PARAMETER_NAMES[cls] = tuple(self.get_params(deep=False))
        return {name: getattr(self, name) for name in names}

    def _check_hyperparameters(self, params: dict) -> None:
        """Apply every parameter's rule, and the rules between parameters."""
        for name, rule in self._parameter_rules.items():
            rule(name, params[name])
        rates = self._dropout_rates()
        if any(rates) and self.solver == "lbfgs":
            raise ValueError(
                f"dropout={self.dropout!r} cannot be used with solver='lbfgs': dropout draws "
                "new masks at every step, so the cost changes between evaluations, and "
                "L-BFGS's line search needs one fixed cost. Use solver='adam' or 'sgd', or "
                "set dropout=0."
            )

    def _dropout_rates(self) -> list[float]:
        """The dropout rate of each hidden layer (checked against ``hidden_layer_sizes``)."""
        n_hidden = len(self._hidden_sizes())
        if np.isscalar(self.dropout):
            return [float(self.dropout)] * n_hidden
        rates = [float(rate) for rate in self.dropout]
        if len(rates) != n_hidden:
            raise ValueError(
                f"dropout has {len(rates)} rate(s) but hidden_layer_sizes="
                f"{self.hidden_layer_sizes!r} has {n_hidden} hidden layer(s). Give one rate "
                "per hidden layer, or one float for all of them."
            )
        return rates

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        return [int(sizes)] if np.isscalar(sizes) else [int(s) for s in sizes]

    @staticmethod
    def _float_dtypes(X) -> list:
        """The float dtypes ``X`` may keep: float64 and float32 of its library."""
        ops = input_ops(X)
        return [np.float64, np.float32] if ops.host else [ops.xp.float64, ops.xp.float32]

    def _validate_X(self, X, *, reset: bool):
        with _explain_strings(X):
            return validate_data(
                self,
                X,
                reset=reset,
                accept_sparse=["csr", "csc"],
                dtype=self._float_dtypes(X),
            )

    def _validate_Xy(self, X, y, *, reset: bool, y_numeric: bool):
        # Targets are encoded on the host (labels, checks); the network's
        # targets are moved to X's library and device afterwards.
        y = to_host(y)
        with _explain_strings(X):
            X, y = validate_data(
                self,
                X,
                y,
                reset=reset,
                accept_sparse=["csr", "csc"],
                dtype=self._float_dtypes(X),
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

    @_callbacks.with_callbacks
    def _fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, incremental=False, classes=None):
        """Validate, set up and train; a call that raises leaves the estimator as it was."""
        saved = self._state_copy(incremental)
        try:
            self._fit_unguarded(X, y, sample_weight, X_val, y_val, incremental, classes)
        except BaseException:
            self._restore(saved)
            raise
        return self

    def _workspace(self, incremental: bool):
        """The buffers of this call: the estimator's own for ``partial_fit``, else new ones.

        The workspace (``training.workspace``) is transient: never pickled or
        copied (see ``__getstate__``), made again when missing.
        """
        if not incremental:
            return FRESH
        workspace = self.__dict__.get("_call_buffers")
        if workspace is None:
            workspace = self._call_buffers = Workspace()
        return workspace

    def _state_copy(self, incremental: bool = False) -> tuple:
        """What undoes a call that fails, saved without copying the weights.

        - the attributes, a shallow copy: the weights are never written in
          place (each call trains a vector the published weights are not views
          of, see :meth:`_start_params`), and the training record works on
          copies of its lists and publishes new ones;
        - the random generator's state (its bit generator's small state dict):
          training advances the generator in place;
        - the optimizer's attributes, its arrays copied into buffers of the
          workspace (for ``partial_fit`` the same buffers at every call, so
          nothing is allocated after the first): training updates them in place.
        """
        state = dict(self.__dict__)
        rng, optimizer = state.get("_rng"), state.get("_optimizer")
        rng_state = rng.bit_generator.state if isinstance(rng, np.random.Generator) else None
        if optimizer is not None:
            optimizer = SavedState(optimizer, self._workspace(incremental), "optimizer ")
        return state, rng_state, optimizer

    def _restore(self, saved: tuple) -> None:
        """Put the estimator back as :meth:`_state_copy` saved it."""
        state, rng_state, optimizer = saved
        transient = {k: self.__dict__[k] for k in _callbacks.TRANSIENT if k in self.__dict__}
        self.__dict__.clear()
        self.__dict__.update(state)
        self.__dict__.update(transient)  # scikit-learn's callbacks still get torn down
        if rng_state is not None:
            state["_rng"].bit_generator.state = rng_state
        if optimizer is not None:
            optimizer.restore()

    def _fit_unguarded(self, X, y, sample_weight, X_val, y_val, incremental, classes) -> None:
        workspace = self._workspace(incremental)
        params = self._validate_hyperparameters(workspace)
        # Before any state changes: a library that lacks a function the activation needs.
        if not _dask.is_dask_collection(X):
            check_supported(canonical_name(self.activation), input_ops(X))
        first_call = not (hasattr(self, "coefs_") and (incremental or self.warm_start))
        if incremental and self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True: each call is one epoch "
                "over the data it is given. Set early_stopping=False."
            )
        # The kind of data is decided here, once: the loop gets a TrainingData
        # (in-memory arrays of any library, or dask chunks) and a validation
        # scorer, and asks them; it never asks which kind they are.
        if _dask.is_dask_collection(X):
            # Chunks of a dask collection: Y and the weights are inside ``data``.
            data, n_outputs = _dask.training_data(
                self, X, y, sample_weight, first_call=first_call, incremental=incremental,
                classes=classes,
            )
            X_task, y_task, given_weight = X, y, sample_weight
            X, Y, sample_weight = data, None, None
        else:
            X, Y, y, given_weight, sample_weight = self._in_memory_data(
                X, y, sample_weight, first_call, incremental, classes
            )
            X_task, y_task, n_outputs = X, y, Y.shape[1]
        self._setup_network(X, n_outputs, first_call)
        data, scorer = self._training_and_validation(
            X, Y, y, sample_weight, X_val, y_val, workspace
        )
        fit_task = self._fit_task(X_task, y_task, given_weight, incremental)
        self._train(data, scorer, incremental, fit_task, params, workspace)
        if fit_task is not None:
            fit_task.finish(self)

    def _next_step(self, X, y, sample_weight=None) -> dict:
        """What a training step on ``(X, y)`` would start from, set up on a deep copy.

        The seam of :mod:`skbackprop.inspect`: the estimator's own checks and
        encoding run on a copy (the estimator is not changed), and the result
        holds the network, the weights the step starts from (fitted, or those
        ``fit`` would draw), the encoded batch, the cost and ``alpha``.
        """
        est = copy.deepcopy(self)
        est._validate_hyperparameters()
        fitted = hasattr(est, "coefs_")
        X, Y, _, _, weight = est._in_memory_data(X, y, sample_weight, not fitted, fitted, None)
        est._setup_network(X, Y.shape[1], first_call=not fitted)
        return {
            "network": est._network, "coefs": est.coefs_, "intercepts": est.intercepts_,
            "X": X, "Y": Y, "sample_weight": weight, "loss": est.loss_function_,
            "alpha": float(est.alpha),
        }

    def _in_memory_data(self, X, y, sample_weight, first_call, incremental, classes):
        """``(X, Y, y, given sample_weight, sample_weight)`` checked, targets encoded."""
        X, y = self._validate_Xy(X, y, reset=first_call, y_numeric=self._y_numeric)
        y = one_column_as_1d(y)
        if not (first_call or incremental):
            self._check_warm_start_targets(y)
        Y = self._encode_targets(y, first_call=first_call, classes=classes)
        ops = ops_of(X)
        host_dtype = ops.host_dtype(X.dtype)
        # Checked and combined with the class weights in float64, then cast.
        given_weight = v.check_sample_weight(to_host(sample_weight), X.shape[0], np.float64)
        sample_weight = self._with_target_weights(given_weight, y)
        if sample_weight is not None:
            sample_weight = v.weights_as(sample_weight, host_dtype)
        if not ops.host:  # the network's targets and weights follow X
            Y = ops.from_host(Y, X, X.dtype)
            if sample_weight is not None:
                sample_weight = ops.from_host(sample_weight, X, X.dtype)
        return X, Y, y, given_weight, sample_weight

    def _with_target_weights(self, sample_weight, y) -> np.ndarray | None:
        """``sample_weight`` (checked, float64) multiplied by the weights the targets imply."""
        implied = self._target_weights(y)
        if implied is None:
            return sample_weight
        implied = implied.astype(np.float64)
        combined = implied if sample_weight is None else sample_weight * implied
        v.check_some_weight(combined, "class_weight (times sample_weight) is zero for every sample")
        return combined

    def _training_and_validation(self, X, Y, y, sample_weight, X_val, y_val, workspace=FRESH):
        """The ``TrainingData`` to train on and the validation scorer (or None).

        ``X`` is a checked array (``Y`` and ``sample_weight`` beside it) or
        chunked data (``Y`` and ``sample_weight`` None). The scorer, called
        with no argument, scores the current weights on the validation set.
        The batch source takes its buffers from ``workspace``.
        """
        validation = None
        if X_val is not None or y_val is not None:
            validation = self._validate_validation_set(X_val, y_val, X)
        elif self.early_stopping and self.solver == "lbfgs":
            warn_at_caller(
                "early_stopping applies to solver='sgd' and 'adam' only; 'lbfgs' trains on "
                "all the data and ignores it. Pass X_val and y_val to monitor a validation "
                "score."
            )
        elif self.early_stopping:
            X, Y, sample_weight, validation = self._split_validation(X, Y, y, sample_weight)
        if validation is not None and self.validation_scores_ is None:
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
        data = X if Y is None else ArrayData(X, Y, sample_weight, workspace)
        return data, validation

    def _fit_task(self, X, y, sample_weight, incremental: bool):
        """scikit-learn's fit task of this call (scikit-learn >= 1.9), or None."""
        if not _callbacks.AVAILABLE:
            return None
        # L-BFGS begins one more iteration than it finishes (see run_lbfgs).
        epochs = 1 if incremental else self.max_iter + (self.solver == "lbfgs")
        return _callbacks.FitTask(self, X, y, sample_weight, epochs)

    def _train(
        self, data, validation_score, incremental, fit_task, parameters, workspace=FRESH
    ) -> None:
        """Train from the current weights, copied into one flat vector (:meth:`_start_params`).

        The loop gets the settings, the call (with the ``TrainingData`` and
        the validation scorer) and the training record, and reports through
        the record; this method publishes it as the fitted attributes (after
        every epoch, for the observers, and at the end). ``parameters`` are the
        estimator's parameters as validated (``get_params(deep=False)``).
        """
        network = self._network
        start = self.coefs_  # never modified: named in the advice if training diverges
        params, start_vector = self._start_params(network, data, workspace)
        self.coefs_, self.intercepts_ = network.unpack(params)
        if isinstance(workspace, Workspace):
            workspace.published = (params, (*self.coefs_, *self.intercepts_))
        settings = Settings.from_params(
            parameters, loss=self.loss_function_,
            dropout=self._dropout_rates(), targets_are_labels=self._labels_as_targets,
        )
        record = TrainingRecord.from_attributes(vars(self))
        call = Call(
            network, params, data, self._rng, incremental, start,
            validation_score=validation_score, observers=self._observers(fit_task),
            publish=self._publish, workspace=workspace, start_vector=start_vector,
        )
        try:
            if self.solver == "lbfgs":
                fit_lbfgs(settings, record, call)
            else:
                optimizer = self._optimizer_for(settings, params, incremental)
                fit_stochastic(settings, record, call, optimizer)
            self._publish(record)
            self._check_finite_outputs(data)
        finally:
            if not incremental:
                network.release()

    def _start_params(self, network, data, workspace) -> tuple:
        """``(params, start)``: a flat vector holding the current weights, which this call trains.

        ``params`` is never a vector the published weights (``coefs_``,
        ``intercepts_``) are views of, so they are not written during the
        call, and a call that fails leaves them as they were without a copy.
        A new vector, except with a :class:`~.training.workspace.Workspace`
        (``partial_fit`` on NumPy arrays), where two vectors serve in turn: a
        call trains the one the published weights are not views of, which
        then becomes the published one. Weights published two calls ago are
        therefore overwritten by the next call (keep a copy to compare with).

        ``start`` is the vector the published weights are exactly the views
        of, when it is the one the previous call published (then the step
        engine undoes an interrupted epoch from it, without a snapshot copy),
        else None.
        """
        published = (*self.coefs_, *self.intercepts_)
        if (
            not isinstance(workspace, Workspace)
            or data.device_like() is not None
            or not all(isinstance(array, np.ndarray) for array in published)
        ):
            params = network.pack(self.coefs_, self.intercepts_, data.dtype, data.device_like())
            return params, None
        first = workspace.get("parameters 1")
        in_use = first is not None and any(array.base is first for array in published)
        params = workspace.empty(
            "parameters 2" if in_use else "parameters 1", (network.n_params,), data.dtype
        )
        start, views = workspace.published or (None, ())
        if (
            start is not None and start.dtype == params.dtype and start.shape == params.shape
            and len(views) == len(published)
            and all(a is b for a, b in zip(views, published, strict=True))
        ):  # the published weights are the views of ``start`` the previous call made
            params[...] = start
            return params, start
        return network.pack(self.coefs_, self.intercepts_, data.dtype, out=params), None

    def _observers(self, fit_task) -> list:
        """The end-of-epoch handlers that look at the estimator: callbacks of both kinds."""
        observers = [UserCallbacks(self, self.callbacks, self.verbose)] if self.callbacks else []
        if fit_task is not None:
            observers.append(fit_task.epochs(self))
        return observers

    def _publish(self, record: TrainingRecord) -> None:
        """The training record as the fitted attributes (``n_iter_``, ``loss_curve_``, ...)."""
        self.__dict__.update(record.attributes())

    def _optimizer_for(self, settings: Settings, params, incremental: bool):
        """The optimizer of this call: kept across ``partial_fit`` calls while its key holds."""
        key = optimizer_key(settings, params)
        if incremental and self._optimizer is not None and self._optimizer_key == key:
            return self._optimizer
        self._optimizer, self._optimizer_key = make_optimizer(settings, params), key
        return self._optimizer

    def _validate_validation_set(self, X_val, y_val, X):
        """``(X_val, y_val, None)`` checked and converted like the training data ``X``."""
        if X_val is None or y_val is None:
            raise ValueError("Pass both X_val and y_val, or neither.")
        if _dask.is_dask_collection(X_val):
            chunks = _dask.validation_data(self, X_val, y_val, X.dtype)
            return lambda: chunks.score(self)
        X_val = self._validate_X(X_val, reset=False)
        X_val = self._moved_like(X_val, X)
        y_val = self._check_validation_targets(to_host(y_val))
        if y_val.shape[0] != X_val.shape[0]:
            raise ValueError(
                f"X_val has {X_val.shape[0]} samples but y_val has {y_val.shape[0]}; pass one "
                "target per validation sample."
            )
        return lambda: self._validation_score(X_val, y_val, None)

    @staticmethod
    def _moved_like(array, like):
        """``array`` in the library and on the device of ``like`` (unchanged if already)."""
        if sp.issparse(array) or same_place(array, like):
            return array
        ops = ops_of(like)
        host = ops_of(array).to_host(array)
        return ops.from_host(host, like, array.dtype if ops_of(array) is ops else None)

    def _setup_network(self, X, n_outputs: int, first_call: bool) -> None:
        """Check the layers against the data; start new weights or continue the old ones."""
        n_features, dtype = X.shape[1], X.dtype
        out_activation, loss = self._resolve_output()
        accepted = COSTS[loss].outputs
        if out_activation not in accepted:
            raise ValueError(
                f"loss={loss!r} cannot be used with output_activation={out_activation!r}; "
                f"it needs one of {accepted}."
            )
        activation = canonical_name(self.activation)
        units = [n_features, *self._hidden_sizes(), n_outputs]
        if first_call:
            self._initialize(units, activation, out_activation, loss, dtype, _like(X))
        else:
            self._check_continuation(units, activation, out_activation, loss)

    def _initialize(self, units, activation, out_activation, loss, dtype, like) -> None:
        network = Network(units, activation, out_activation)
        if self.coefs_init is not None or self.intercepts_init is not None:
            v.check_initial_weights(self.coefs_init, self.intercepts_init, network.coef_shapes)
        self._rng = _as_generator(self.random_state)
        params = network.init_params(self.weight_init, self._rng, dtype, like)
        coefs, intercepts = network.unpack(params)
        if self.coefs_init is not None or self.intercepts_init is not None:
            given = network.pack(
                self.coefs_init or coefs, self.intercepts_init or intercepts, dtype, like
            )
            params[...] = given
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
        if network is None or (network.activation, network.out_activation) != (
            activation,
            out_activation,
        ):
            self._network = Network(units, activation, out_activation)
        self.out_activation_ = public_name(out_activation)
        self.loss_function_ = loss

    def _split_seed(self) -> int:
        """The seed of the validation split of early stopping."""
        # An int random_state gives the same split at every (warm) fit, as in scikit-learn.
        source = self._rng if self.random_state is None else _as_generator(self.random_state)
        if isinstance(self.random_state, (np.random.RandomState, np.random.Generator)):
            source = self._rng
        return int(source.integers(np.iinfo(np.int32).max))

    def _split_validation(self, X, Y, y, sample_weight):
        if isinstance(X, TrainingData):  # chunks kept elsewhere: whole chunks held out
            X_tr, val = X.hold_out(self.validation_fraction, self._split_seed())
            return X_tr, None, None, lambda: val.score(self)
        stratify = self._stratify_labels(y)
        split_seed = self._split_seed()
        # The split's rows (they depend only on the number of rows and the
        # labels), then the rows themselves where the arrays live.
        train_rows, val_rows = train_test_split(
            np.arange(X.shape[0]), test_size=self.validation_fraction, random_state=split_seed,
            stratify=stratify,
        )
        X_tr, X_val = _take(X, train_rows), _take(X, val_rows)
        Y_tr, y_val = _take(Y, train_rows), _take(y, val_rows)
        sw_tr = sw_val = None
        if sample_weight is not None:
            sw_tr, sw_val = _take(sample_weight, train_rows), _take(sample_weight, val_rows)
            sw_val = to_host(sw_val)
        if X_val.shape[0] < 2:
            raise ValueError(
                f"The validation set is too small: {X_val.shape[0]} sample(s), and early "
                "stopping needs at least 2. Increase 'validation_fraction' or the size of your "
                "dataset, or pass X_val and y_val."
            )
        return X_tr, Y_tr, sw_tr, lambda: self._validation_score(X_val, y_val, sw_val)

    def _stratify_labels(self, y):
        return None

    def _check_finite_outputs(self, data) -> None:
        """Refuse to return a model whose outputs on its own training data are not finite."""
        if data.outputs_finite(self._network, self.coefs_, self.intercepts_):
            return
        raise DivergenceError(
            "Training produced weights whose outputs on the training data are inf or NaN "
            f"(some inputs are so large that the products overflow). {LARGE_VALUES} Scale "
            "the inputs (e.g. StandardScaler in a Pipeline). The estimator is left as it was "
            "before this call."
        )

    # ------------------------------------------------------------------ #
    # Prediction
    # ------------------------------------------------------------------ #
    def _forward_output(self, X, method: str) -> np.ndarray:
        """The network's output for ``X`` after checking ``X`` (see :meth:`_raw_output`).

        ``method`` names the public method asking, for the error raised when
        ``X`` is not of the library and device the model was fitted on.
        """
        check_is_fitted(self, "coefs_")
        X = self._validate_X(X, reset=False)
        self._check_same_place(X, method)
        W = self.coefs_[0]
        if W.dtype != X.dtype:
            X = X.astype(W.dtype) if sp.issparse(X) else ops_of(W).astype(X, W.dtype)
        return self._raw_output(X)

    def _check_same_place(self, X, method: str) -> None:
        """Refuse ``X`` of another library or device than the fitted weights.

        The error is the one scikit-learn's array API convention prescribes
        (its estimator checks look for its wording).
        """
        W = self.coefs_[0]
        if sp.issparse(X) and ops_of(W).host or same_place(X, W):
            return
        where = _describe_place(W), _describe_place(X)
        raise ValueError(
            f"Inputs passed to {type(self).__name__}.{method}() must use the same namespace "
            f"and the same device as those passed to fit(). The model was fitted on "
            f"{where[0]}; X is {where[1]}. Pass X in the model's array library and on its "
            "device (with sklearn.set_config(array_api_dispatch=True) for arrays other "
            "than NumPy), or fit the model on arrays like X."
        )

    def _raw_output(self, X) -> np.ndarray:
        """The output layer for checked ``X``; subclasses may ask for it before its activation."""
        network = self._fitted_network()
        return network.output(X, self.coefs_, self.intercepts_, self._prediction_activation())

    def _fitted_network(self) -> Network:
        """The network predictions use (also the ONNX converters' description of the model)."""
        network = getattr(self, "_network", None)
        if network is None:  # coefs_ set by hand: the parameters name the activations
            units = [self.coefs_[0].shape[0]] + [W.shape[1] for W in self.coefs_]
            network = Network(
                units, canonical_name(self.activation), canonical_name(self.out_activation_)
            )
        return network

    def _dask_output(self, X, method: str):
        """``method``'s result for a dask ``X`` (a dask array, computed blockwise), else None."""
        if _dask.is_dask_collection(X):
            return _dask.predict(self, X, method)
        return None

    def _prediction_activation(self) -> str | None:
        """The output activation predictions are computed with (None: the trained one)."""
        return None

    def _validation_score(self, X, y, sample_weight) -> float:
        """The score of ``(X, y)``, already checked, without checking them again.

        ``y`` and ``sample_weight`` are on the host; so is the output, once
        computed (one transfer of ``n_samples x n_outputs`` values). Chunked
        validation data (dask) scores itself chunk by chunk instead.
        """
        out = self._raw_output(X)
        return self._score_output(ops_of(out).to_host(out), y, sample_weight)

    def _score(self, X, y, sample_weight, mixin_score) -> float:
        """``score``: scikit-learn's mixin for NumPy input, else computed on the host.

        For arrays of other libraries (array API dispatch) the network's output
        is moved to the host and scored with the definitions of scikit-learn's
        ``accuracy_score`` / ``r2_score``, whatever library ``y`` and
        ``sample_weight`` come from.
        """
        if _dask.is_dask_collection(X):
            return _dask.score(self, X, y, sample_weight)
        if input_ops(X).host:
            return mixin_score(X, y, sample_weight)
        check_is_fitted(self, "coefs_")
        out = self._forward_output(X, "score")
        y = one_column_as_1d(check_array(to_host(y), ensure_2d=False, dtype=None, input_name="y"))
        sample_weight = to_host(sample_weight)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
        return float(self._score_output(ops_of(out).to_host(out), y, sample_weight))

    # ------------------------------------------------------------------ #
    # Pickling and skops
    # ------------------------------------------------------------------ #
    def __getstate__(self):
        # The network, the optimizer and the random generator as plain dicts
        # (skops then trusts everything but the estimator's own class); the
        # work buffers of partial_fit are not part of the state.
        state = dict(super().__getstate__())  # object's is the live __dict__ itself
        state.pop("_call_buffers", None)
        return _persist.plain_state(state)

    def __setstate__(self, state):
        super().__setstate__(_persist.live_state(state))

    def __reduce_ex__(self, protocol):
        # A lambda among the callbacks: an error naming the parameter and the fix.
        _persist.check_picklable(self)
        return super().__reduce_ex__(protocol)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True
        return tags
