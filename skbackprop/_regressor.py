"""BackpropRegressor: real-valued targets over the shared base."""

from __future__ import annotations

from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if

from . import _validation as v
from ._activations import OUTPUT_RANGES
from ._base import PARAMETER_RULES, BaseBackprop, _check_partial_fit
from ._docstrings import fill


class BackpropRegressor(RegressorMixin, BaseBackprop):
    __doc__ = fill(
        """Multi-layer network regressor trained by backpropagation.

    A drop-in for scikit-learn's ``MLPRegressor`` with the same parameter and
    attribute names, plus bounded output layers (sigmoid, tanh), the
    cross-entropy cost for targets in ``[0, 1]``, more hidden activations,
    explicit starting weights, sample weights, an explicit validation set and
    epoch callbacks.

    Parameters
    ----------
{head_parameters}

    output_activation : {{'auto', 'identity', 'sigmoid', 'tanh'}}, default='auto'
        Output units; 'auto' is 'identity'. 'sigmoid' needs targets in
        ``[0, 1]`` and 'tanh' targets in ``[-1, 1]``.

    loss : {{'auto', 'squared_error', 'cross_entropy'}}, default='auto'
        Cost; 'auto' is the squared error ``1/2 ||y - a||^2`` averaged over
        samples. 'cross_entropy' needs ``output_activation='sigmoid'``.

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
    times larger. The gradients, and so the training, are the same.

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
        "output_activation": v.options("auto", "identity", "sigmoid", "tanh"),
    }
    _y_numeric = True

    def _encode_targets(self, y, *, first_call, classes=None):
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if not first_call and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"The model was fitted on {self.n_outputs_} target(s); got {Y.shape[1]}."
            )
        out, _ = self._resolve_output()
        low, high = OUTPUT_RANGES[out]
        if Y.size and (Y.min() < low or Y.max() > high):
            raise ValueError(
                f"output_activation={out!r} produces values in [{low}, {high}] but the targets "
                f"range over [{Y.min():g}, {Y.max():g}]. Rescale y (e.g. with MinMaxScaler) "
                "or use output_activation='identity'."
            )
        return Y

    def _resolve_output(self):
        out = "identity" if self.output_activation == "auto" else self.output_activation
        loss = "squared_error" if self.loss == "auto" else self.loss
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

        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in the cost.

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
        out = self._forward_output(X)
        return out[:, 0].copy() if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
