"""BackpropRegressor: real-valued targets over the shared base."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array

from . import _scores
from . import _validation as v
from ._base import PARAMETER_RULES, BaseBackprop, _check_partial_fit
from ._docstrings import fill
from ._validation import one_column_as_1d
from .core.activations import output_ranges
from .core.losses import COSTS
from .core.ops import ops_of


class BackpropRegressor(RegressorMixin, BaseBackprop):
    __doc__ = fill(
        """Multi-layer network regressor trained by backpropagation.

    A drop-in for scikit-learn's ``MLPRegressor`` with the same parameter and
    attribute names (its squared-error and Poisson costs included), plus
    bounded output layers (sigmoid, tanh), the cross-entropy cost for targets
    in ``[0, 1]``, more hidden activations, explicit starting weights, sample
    weights, an explicit validation set and epoch callbacks.

    Parameters
    ----------
{head_parameters}

    output_activation : {{'auto', 'identity', 'sigmoid', 'tanh', 'exp'}}, default='auto'
        Output units. 'auto' follows ``loss``: 'identity' for the squared
        error, 'exp' for the Poisson cost and 'sigmoid' for the cross-entropy.
        'sigmoid' needs targets in ``[0, 1]``, 'tanh' targets in ``[-1, 1]``
        and 'exp' targets ``>= 0``.

    loss : {{'squared_error', 'poisson', 'cross_entropy', 'log_loss'}}, \
default='squared_error'
        Cost, averaged over the samples (their weights, if any) and summed
        over the outputs:

        - 'squared_error': ``1/2 ||y - a||^2``.
        - 'poisson': the half Poisson deviance
          ``sum_k [y_k log(y_k / a_k) - y_k + a_k]``, as scikit-learn's
          ``MLPRegressor(loss='poisson')``, for counts and other
          non-negative targets whose variance grows with their mean. It needs
          the exponential output ('exp', the log link) and targets ``>= 0``.
        - 'cross_entropy': the binary cross-entropy of each output, for
          targets in ``[0, 1]`` such as proportions. It needs
          ``output_activation='sigmoid'``.
        - 'log_loss': scikit-learn's name of the cross-entropy, an alias;
          ``loss_function_`` then reads 'cross_entropy'.

{training_parameters}

    Attributes
    ----------
{common_attributes}

    See Also
    --------
    BackpropClassifier : The same network for classification.
    sklearn.neural_network.MLPRegressor : scikit-learn's network.

    Notes
    -----
    scikit-learn's squared loss divides by the number of outputs as well; with
    one output the reported losses agree, and with several ours is that many
    times larger. The gradients, and so the training, are the same. The
    Poisson cost is scikit-learn's in every case.

    A target ``y`` of shape ``(n_samples, 1)`` is treated as 1-D, with a
    ``DataConversionWarning``, as in scikit-learn.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop import BackpropRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> y = X.ravel() ** 2
    >>> reg = BackpropRegressor(hidden_layer_sizes=(20,), activation="tanh",
    ...                         solver="lbfgs", random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.99)
    True
    """
    )

    _parameter_rules = {
        **PARAMETER_RULES,
        "output_activation": v.options("auto", "identity", "sigmoid", "tanh", "exp"),
        "loss": v.options("squared_error", "poisson", "cross_entropy", "log_loss"),
    }
    _y_numeric = True

    def _encode_targets(self, y, *, first_call, classes=None):
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if not first_call and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"The model was fitted on {self.n_outputs_} target(s); got {Y.shape[1]}."
            )
        out, loss = self._resolve_output()
        if loss == "poisson" and Y.size and Y.min() < 0:
            raise ValueError(
                f"loss='poisson' needs non-negative targets (counts, rates, amounts), but y "
                f"has values down to {Y.min():g}. Use loss='squared_error' for targets that "
                "can be negative."
            )
        low, high = output_ranges()[out]
        if Y.size and (Y.min() < low or Y.max() > high):
            other = (
                "output_activation='identity'" if loss == "squared_error"
                else "loss='squared_error'"
            )
            raise ValueError(
                f"output_activation={out!r} produces values in [{low}, {high}] but the targets "
                f"range over [{Y.min():g}, {Y.max():g}]. Rescale y (e.g. with MinMaxScaler) "
                f"or use {other}."
            )
        return Y

    def _resolve_output(self):
        loss = "cross_entropy" if self.loss == "log_loss" else self.loss
        out = self.output_activation
        if out == "auto":  # the cost's first output: its canonical link
            out = COSTS[loss].outputs[0]
        return out, loss

    @available_if(_check_partial_fit)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch of the stochastic solver over ``(X, y)``, keeping optimizer state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Its targets.

        sample_weight : float or array-like of shape (n_samples,), default=None
            Weight of each sample in the cost (finite, >= 0, not all zero).

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions; 1-D when the model has one output.
        """
        out = self._dask_output(X, "predict")
        if out is not None:
            return out
        out = self._forward_output(X, "predict")
        return ops_of(out).copy(out[:, 0]) if out.shape[1] == 1 else out

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R² of ``predict(X)`` against ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            R², as ``sklearn.metrics.r2_score`` (uniform average over outputs).
        """
        return self._score(X, y, sample_weight, super().score)

    def _check_validation_targets(self, y_val):
        try:
            y_val = check_array(y_val, ensure_2d=False, dtype=np.float64, input_name="y_val")
        except ValueError as exc:
            raise ValueError(f"y_val must hold finite numeric targets like y: {exc}") from exc
        y_val = one_column_as_1d(y_val)
        n_targets = 1 if y_val.ndim == 1 else y_val.shape[1]
        if n_targets != self.n_outputs_:
            raise ValueError(
                f"y_val has {n_targets} target(s) per sample; the model has "
                f"{self.n_outputs_} output(s), as y."
            )
        return y_val

    def _score_output(self, out, y, sample_weight) -> float:
        pred = out[:, 0] if out.shape[1] == 1 else out
        if y.shape[0] < 2:  # R² is undefined: scikit-learn's metric warns and gives NaN
            return float(r2_score(y, pred, sample_weight=sample_weight))
        return _scores.r2(y, pred, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
