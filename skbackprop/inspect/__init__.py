"""Look inside one training step: a backpropagation trace and a gradient check.

:func:`trace` runs one forward and one backward pass of an estimator on a
batch and returns every intermediate value (pre-activations, activations,
deltas, gradients, cost), the numbers a textbook walk-through of
backpropagation works out by hand. :func:`check_gradients` compares the
gradient backpropagation gives with central finite differences of the cost,
layer by layer.

Both go through the estimator's own checks and target encoding (labels,
``class_weight``, sample weights) and through the numerical core that
training uses, on a copy: the estimator itself is not changed. A fitted
estimator is looked at with its fitted weights; an unfitted one with the
weights ``fit`` would start from (``coefs_init`` and ``intercepts_init`` where
given, else drawn from ``random_state``). The cost is the one training
minimises: the mean over the batch (weighted by the sample weights), plus
the L2 penalty ``alpha / (2 m) * sum ||W||^2``. Dropout, which thins the
network at random during training only, is not applied: both functions look
at the network predictions use.

:class:`NetworkDisplay` draws a trace as the network it ran through, and
:class:`LossCurveDisplay` the loss and validation curves of a fitted
estimator; both need matplotlib (the ``plot`` extra), imported only when they
draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.network import Network
from ..integrations import dask as _dask
from ._display import LossCurveDisplay, NetworkDisplay

__all__ = [
    "GradientCheck", "LossCurveDisplay", "NetworkDisplay", "Trace", "check_gradients", "trace",
]

#: Rows of a table printed in full; longer tables show their start and end.
MAX_ROWS = 60


# --------------------------------------------------------------------------- #
# The estimator's step, set up on a copy
# --------------------------------------------------------------------------- #
def _step_inputs(estimator, X, y, sample_weight, dtype=None) -> dict:
    """The network, parameters and encoded batch of ``estimator``'s next step, on the host.

    Runs the estimator's checks and encoding on a deep copy; ``dtype``
    (None: the data's float dtype, as training uses) is the dtype of the
    returned weights and inputs.
    """
    from .._base import BaseBackprop, to_host

    if not isinstance(estimator, BaseBackprop):
        raise TypeError(
            f"Expected a BackpropClassifier or BackpropRegressor, got {type(estimator).__name__}. "
            "For a Pipeline, pass its last step and the data transformed by the steps before "
            "it: pipeline[-1] and pipeline[:-1].transform(X)."
        )
    if _dask.is_dask_collection(X) or _dask.is_dask_collection(y):
        raise TypeError(
            "A trace or gradient check needs an in-memory batch, not a dask collection; "
            "compute a few rows first, for example X[:10].compute()."
        )
    step = estimator._next_step(X, y, sample_weight)  # the estimator's one seam for this
    # Arrays of another library (array API dispatch) come to the host;
    # ``pack`` brings the weights there too.
    X, Y, weight = to_host(step["X"]), to_host(step["Y"]), to_host(step["sample_weight"])
    dtype = np.dtype(dtype or X.dtype)
    if X.dtype != dtype:
        X = X.astype(dtype)
    fitted = step["network"]
    network = Network(fitted.layer_units, fitted.activation, fitted.out_activation)
    params = network.pack(step["coefs"], step["intercepts"], dtype)
    return {
        "network": network, "params": params, "X": X, "Y": Y.astype(dtype),
        "sample_weight": None if weight is None else weight.astype(dtype),
        "loss": step["loss"], "alpha": step["alpha"],
    }


# --------------------------------------------------------------------------- #
# Tables
# --------------------------------------------------------------------------- #
def _format_table(header: list[str], rows: list[list], title: str) -> str:
    """A plain-text table, numbers to 9 significant digits, long tables shortened."""
    cells = [[f"{c:.9g}" if isinstance(c, (float, np.floating)) else str(c) for c in row] for row in rows]
    if len(cells) > MAX_ROWS:
        half = MAX_ROWS // 2
        skipped = len(cells) - 2 * half
        cells = [*cells[:half], [f"... {skipped} more rows"] + [""] * (len(header) - 1), *cells[-half:]]
    widths = [max([len(h)] + [len(row[j]) for row in cells]) for j, h in enumerate(header)]
    lines = [title, "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def _layer_name(i: int, n_layers: int) -> str:
    return "output" if i == n_layers - 1 else f"hidden {i + 1}"


def _pandas():
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is in the test extra
        raise ImportError("to_frame() needs pandas: pip install pandas") from exc
    return pd


# --------------------------------------------------------------------------- #
# The trace
# --------------------------------------------------------------------------- #
@dataclass(repr=False)
class Trace:
    """Every intermediate value of one forward and backward pass (see :func:`trace`).

    Attributes
    ----------
    z : list of ndarray
        Pre-activations ``z[i] = a[i-1] @ coefs[i] + intercepts[i]`` (``a[-1]``
        meaning ``X``), one array of shape ``(n_samples, units)`` per layer
        after the input; rows are samples.
    activations : list of ndarray
        The layers' outputs ``f(z[i])``, same shapes; the last one is the
        network's output. ``X`` itself is not included.
    deltas : list of ndarray
        ``deltas[i] = dC/dz[i]``, the derivative of the batch's cost ``C``
        with respect to each pre-activation. ``C`` is the mean over the batch,
        so each row is the textbook's per-sample delta times that sample's
        share of the batch (``1 / n_samples`` without sample weights).
    coef_grads, intercept_grads : list of ndarray
        ``dC/dcoefs[i]`` (penalty included) and ``dC/dintercepts[i]``, shaped
        as ``coefs_[i]`` and ``intercepts_[i]``.
    loss : float
        The batch's cost ``C``, L2 penalty included (as ``loss_`` reports).
    coefs, intercepts : list of ndarray
        The weights the pass ran with.
    """

    z: list
    activations: list
    deltas: list
    coef_grads: list
    intercept_grads: list
    loss: float
    coefs: list = field(default_factory=list)
    intercepts: list = field(default_factory=list)

    def _unit_rows(self) -> list[list]:
        rows = []
        for i, (Z, A, D) in enumerate(zip(self.z, self.activations, self.deltas, strict=True)):
            name = _layer_name(i, len(self.z))
            for sample in range(Z.shape[0]):
                for unit in range(Z.shape[1]):
                    values = (Z[sample, unit], A[sample, unit], D[sample, unit])
                    rows.append([name, sample, unit, *(float(x) for x in values)])
        return rows

    def _parameter_rows(self) -> list[list]:
        rows = []
        n_layers = len(self.coefs)
        for i, (W, G) in enumerate(zip(self.coefs, self.coef_grads, strict=True)):
            name = _layer_name(i, n_layers)
            for j, k in np.ndindex(W.shape):
                rows.append([name, "weight", j, k, float(W[j, k]), float(G[j, k])])
            for k in range(W.shape[1]):
                b, g = self.intercepts[i][k], self.intercept_grads[i][k]
                rows.append([name, "bias", "", k, float(b), float(g)])
        return rows

    def __str__(self) -> str:
        units = _format_table(
            ["layer", "sample", "unit", "z", "activation", "delta"], self._unit_rows(),
            "Units (delta = dC/dz)",
        )
        params = _format_table(
            ["layer", "parameter", "from", "to", "value", "gradient"], self._parameter_rows(),
            "Parameters (gradient = dC/dparameter)",
        )
        return f"Backpropagation trace: cost C = {self.loss:.9g}\n\n{units}\n\n{params}"

    def __repr__(self) -> str:
        sizes = [self.coefs[0].shape[0], *(W.shape[1] for W in self.coefs)] if self.coefs else []
        rows = self.z[0].shape[0] if self.z else 0
        return f"Trace(layers={sizes}, samples={rows}, loss={self.loss:.9g})"

    def to_frame(self, kind: str = "units"):
        """The trace as a pandas DataFrame, one row per unit and sample or per parameter.

        Parameters
        ----------
        kind : {'units', 'parameters'}, default='units'
            ``'units'``: columns ``layer, sample, unit, z, activation, delta``;
            ``'parameters'``: columns ``layer, parameter, from, to, value,
            gradient`` (``from`` is empty for biases).

        Returns
        -------
        pandas.DataFrame
        """
        pd = _pandas()
        if kind == "units":
            return pd.DataFrame(
                self._unit_rows(), columns=["layer", "sample", "unit", "z", "activation", "delta"]
            )
        if kind == "parameters":
            frame = pd.DataFrame(
                self._parameter_rows(),
                columns=["layer", "parameter", "from", "to", "value", "gradient"],
            )
            frame["from"] = pd.array([None if f == "" else f for f in frame["from"]], dtype="Int64")
            return frame
        raise ValueError(f"kind must be 'units' or 'parameters'; got {kind!r}.")


def trace(estimator, X, y, sample_weight=None) -> Trace:
    """One forward and backward pass of ``estimator`` on ``(X, y)``, every value kept.

    The pass is the one a training step takes on the batch ``(X, y)`` (all
    rows at once): the estimator's checks and target encoding, the forward
    pass, the cost, the output delta, the backward pass and the gradients
    (L2 penalty included), before any update. The estimator is not changed.

    Parameters
    ----------
    estimator : BackpropClassifier or BackpropRegressor
        A fitted estimator (its fitted weights), or an unfitted one (the
        weights ``fit`` would start from: ``coefs_init`` / ``intercepts_init``,
        else drawn from ``random_state``).
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The batch.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Its targets (labels for a classifier, which must be known to a
        fitted one).
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples in the cost.

    Returns
    -------
    Trace
        ``z``, ``activations``, ``deltas``, ``coef_grads``, ``intercept_grads``
        and ``loss``; ``str(result)`` is a readable table and
        ``result.to_frame()`` a DataFrame. Arrays are NumPy arrays of the
        data's float dtype.

    Examples
    --------
    The textbook's worked example: two inputs, two sigmoid hidden units, two
    sigmoid outputs, squared error.

    >>> import numpy as np
    >>> from skbackprop import BackpropRegressor
    >>> from skbackprop.inspect import trace
    >>> net = BackpropRegressor(
    ...     hidden_layer_sizes=(2,), activation="sigmoid", output_activation="sigmoid",
    ...     alpha=0.0,
    ...     coefs_init=[np.array([[0.15, 0.25], [0.20, 0.30]]),
    ...                 np.array([[0.40, 0.50], [0.45, 0.55]])],
    ...     intercepts_init=[np.array([0.35, 0.35]), np.array([0.60, 0.60])])
    >>> result = trace(net, [[0.05, 0.10]], [[0.01, 0.99]])
    >>> print(f"{result.loss:.9f}")
    0.298371109
    >>> print(f"{result.coef_grads[1][0, 0]:.9f}")  # dE/dw5
    0.082167041
    """
    inputs = _step_inputs(estimator, X, y, sample_weight)
    network, params = inputs["network"], inputs["params"]
    coefs, intercepts = network.unpack(params)
    values = network.trace(
        inputs["X"], inputs["Y"], coefs, intercepts, inputs["loss"], inputs["alpha"],
        inputs["sample_weight"],
    )
    coefs, intercepts = network.unpack(params.copy())
    return Trace(**values, coefs=coefs, intercepts=intercepts)


# --------------------------------------------------------------------------- #
# The gradient check
# --------------------------------------------------------------------------- #
#: Below this size, a parameter's gradient counts as zero in its relative error.
GRADIENT_FLOOR = 1e-8


@dataclass(repr=False)
class GradientCheck:
    """Backpropagation against central finite differences (see :func:`check_gradients`).

    Attributes
    ----------
    layer_errors : list of float
        Per layer (the weights and biases feeding it together), the relative
        error ``||g - n|| / (||g|| + ||n||)`` of the backpropagated gradient
        ``g`` against the numerical one ``n`` (0 where both are 0).
    max_error : float
        The largest of :attr:`layer_errors`.
    worst : dict
        The parameter with the largest relative error ``|g - n| / max(|g| +
        |n|, 1e-8)``: ``layer``, ``parameter`` ('weight' or 'bias'),
        ``index`` (into ``coefs_[layer]`` or ``intercepts_[layer]``),
        ``backprop``, ``numerical`` and ``error``.
    coef_grads, intercept_grads : list of ndarray
        The gradient by backpropagation.
    numerical_coef_grads, numerical_intercept_grads : list of ndarray
        The gradient by central differences.
    loss : float
        The cost at the estimator's weights.
    eps : float
        The step of the differences.
    """

    layer_errors: list
    worst: dict
    coef_grads: list
    intercept_grads: list
    numerical_coef_grads: list
    numerical_intercept_grads: list
    loss: float
    eps: float

    @property
    def max_error(self) -> float:
        return max(self.layer_errors)

    def __str__(self) -> str:
        rows = [
            [_layer_name(i, len(self.layer_errors)), W.size + b.size, error]
            for i, (W, b, error) in enumerate(
                zip(self.coef_grads, self.intercept_grads, self.layer_errors, strict=True)
            )
        ]
        table = _format_table(
            ["layer", "parameters", "relative error"], rows,
            f"Gradient check: backpropagation vs central differences (eps={self.eps:g}), "
            f"cost {self.loss:.9g}",
        )
        w = self.worst
        worst = (
            f"Worst parameter: {w['parameter']} {w['index']} of layer {w['layer']} "
            f"({_layer_name(w['layer'], len(self.layer_errors))}): backprop {w['backprop']:.9g}, "
            f"numerical {w['numerical']:.9g}, relative error {w['error']:.3g}"
        )
        return f"{table}\n{worst}"

    def __repr__(self) -> str:
        return f"GradientCheck(max_error={self.max_error:.3g}, layers={len(self.layer_errors)})"


def _relative(g: np.ndarray, n: np.ndarray) -> float:
    """``||g - n|| / (||g|| + ||n||)``, 0 where both vanish."""
    scale = np.linalg.norm(g) + np.linalg.norm(n)
    return float(np.linalg.norm(g - n) / scale) if scale > 0 else 0.0


def _numerical_gradient(cost, params: np.ndarray, eps: float) -> np.ndarray:
    """Central differences ``(C(p + eps e_k) - C(p - eps e_k)) / (2 eps)``, parameter by parameter."""
    numerical = np.empty_like(params)
    for k in range(params.shape[0]):
        saved = params[k]
        params[k] = saved + eps
        upper = cost()
        params[k] = saved - eps
        lower = cost()
        params[k] = saved
        numerical[k] = (upper - lower) / (2 * eps)
    return numerical


def _worst(network: Network, grads: np.ndarray, numerical: np.ndarray) -> dict:
    """The parameter whose gradients differ most, relative to their size."""
    errors = np.abs(grads - numerical) / np.maximum(np.abs(grads) + np.abs(numerical), GRADIENT_FLOOR)
    flat = int(np.argmax(errors))
    marker = np.zeros_like(grads)
    marker[flat] = 1.0
    coefs, intercepts = network.unpack(marker)
    for layer, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        for kind, part in (("weight", W), ("bias", b)):
            if part.any():
                index = tuple(int(i) for i in np.unravel_index(int(np.argmax(part)), part.shape))
                return {
                    "layer": layer, "parameter": kind, "index": index,
                    "backprop": float(grads[flat]), "numerical": float(numerical[flat]),
                    "error": float(errors[flat]),
                }
    raise AssertionError("unreachable")  # pragma: no cover


def check_gradients(estimator, X, y, eps: float = 1e-6, *, sample_weight=None) -> GradientCheck:
    """Compare backpropagation's gradient with central finite differences of the cost.

    For every weight and bias ``p``, the numerical derivative is ``(C(p +
    eps) - C(p - eps)) / (2 eps)``, ``C`` the cost training minimises on ``(X,
    y)`` (penalty included), against backpropagation's (the pass of
    :func:`trace`); both in float64, on a copy of the estimator. Two cost
    evaluations per parameter: give large networks a small batch.

    Parameters
    ----------
    estimator : BackpropClassifier or BackpropRegressor
        Fitted (its weights) or unfitted (the weights ``fit`` would start
        from), as for :func:`trace`.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The batch.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Its targets.
    eps : float, default=1e-6
        The step of the central differences (their error shrinks as
        ``eps**2`` until rounding, about ``1e-16 / eps``, takes over).
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples in the cost.

    Returns
    -------
    GradientCheck
        ``layer_errors``, ``max_error``, ``worst``, both gradients; a table
        as ``str(result)``. Errors near ``1e-7`` or below mean agreement; a
        (leaky) ReLU unit with a pre-activation within ``eps`` of 0 sits on a
        kink, where the two may differ.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop import BackpropClassifier
    >>> from skbackprop.inspect import check_gradients
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(8, 3)), np.array([0, 1, 2, 0, 1, 2, 0, 1])
    >>> net = BackpropClassifier(hidden_layer_sizes=(4,), activation="tanh", random_state=0)
    >>> check_gradients(net, X, y).max_error < 1e-7
    True
    """
    if not (np.isscalar(eps) and np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number; got {eps!r}.")
    inputs = _step_inputs(estimator, X, y, sample_weight, dtype=np.float64)
    network, params = inputs["network"], inputs["params"]
    coefs, intercepts = network.unpack(params)
    grads = np.empty_like(params)
    coef_grads, intercept_grads = network.unpack(grads)
    args = (inputs["loss"], inputs["alpha"], inputs["sample_weight"])

    def cost() -> float:
        return float(network.loss_and_grad(
            inputs["X"], inputs["Y"], coefs, intercepts, coef_grads, intercept_grads, *args
        ))

    numerical = _numerical_gradient(cost, params, float(eps))
    loss = cost()  # last: the backpropagated gradient at the unperturbed weights
    return _compared(network, grads.copy(), numerical, loss, float(eps))


def _compared(network: Network, grads: np.ndarray, numerical: np.ndarray, loss, eps) -> GradientCheck:
    """The :class:`GradientCheck` of two flat gradients laid out as ``network``'s parameters."""
    coef_grads, intercept_grads = network.unpack(grads)
    n_coefs, n_intercepts = network.unpack(numerical)
    errors = [
        _relative(np.concatenate([g.ravel(), h]), np.concatenate([n.ravel(), m]))
        for g, h, n, m in zip(coef_grads, intercept_grads, n_coefs, n_intercepts, strict=True)
    ]
    return GradientCheck(
        layer_errors=errors, worst=_worst(network, grads, numerical), coef_grads=coef_grads,
        intercept_grads=intercept_grads, numerical_coef_grads=n_coefs,
        numerical_intercept_grads=n_intercepts, loss=loss, eps=eps,
    )
