"""Cost functions: each knows its value and the delta of the output layer.

Conventions (pinned in DESIGN.md, section 2), with weights ``w_i`` that are all
one unless the caller passes sample weights, and ``W = sum_i w_i``:

- ``squared_error``: ``C = (1/W) sum_i w_i * 1/2 * ||y_i - a_i||^2``. With a
  batch of one this is the textbook ``E_total = sum 1/2 (target - output)^2``.
  scikit-learn's squared loss also divides by the number of outputs; with one
  output the two agree.
- ``cross_entropy``: with a softmax output, ``-(1/W) sum_i w_i sum_k y_ik log
  a_ik``; with sigmoid outputs, ``-(1/W) sum_i w_i sum_k [y_ik log a_ik + (1 -
  y_ik) log(1 - a_ik)]``. Probabilities are clipped to ``[eps, 1 - eps]`` before
  the logarithm so that ``log(0)`` never reaches the user.

The output delta is ``dC/dZ_L``, already divided by ``W``. For the matched
pairs (softmax + cross-entropy, sigmoid + cross-entropy, identity + squared
error) it fuses to ``(A - Y) w / W``: the derivative of the output activation
cancels against the derivative of the cost. Every other pair multiplies
``dC/dA`` by the output activation's derivative (a Jacobian-vector product for
softmax).
"""

from __future__ import annotations

import numpy as np

from ._activations import ACTIVATIONS

#: (output activation, loss) pairs whose output delta is simply ``A - Y``.
FUSED = {
    ("identity", "squared_error"),
    ("sigmoid", "cross_entropy"),
    ("softmax", "cross_entropy"),
}

#: Output activations each loss accepts.
LOSS_OUTPUTS = {
    "squared_error": ("identity", "sigmoid", "tanh", "softmax"),
    "cross_entropy": ("sigmoid", "softmax"),
}


def _weighted_sum(row_values: np.ndarray, sample_weight: np.ndarray | None) -> float:
    if sample_weight is None:
        return float(row_values.sum())
    return float(np.dot(sample_weight, row_values))


def loss_value(
    loss: str,
    out_activation: str,
    Y: np.ndarray,
    A: np.ndarray,
    sample_weight: np.ndarray | None = None,
    weight_sum: float | None = None,
) -> float:
    """Value of the cost (without penalty) for targets ``Y`` and outputs ``A``.

    Parameters
    ----------
    loss : {'squared_error', 'cross_entropy'}
        Name of the cost.
    out_activation : str
        Output activation that produced ``A`` (selects the cross-entropy form).
    Y, A : ndarray of shape (m, n_outputs)
        Targets and network outputs.
    sample_weight : ndarray of shape (m,) or None
        Per-sample weights; None means all ones.
    weight_sum : float or None
        ``sum(sample_weight)`` (or ``m``), if the caller already has it.

    Returns
    -------
    float
        The cost, averaged over the (weighted) samples.
    """
    if weight_sum is None:
        weight_sum = Y.shape[0] if sample_weight is None else float(sample_weight.sum())
    if loss == "squared_error":
        diff = A - Y
        rows = np.einsum("ij,ij->i", diff, diff)
        return 0.5 * _weighted_sum(rows, sample_weight) / weight_sum
    if loss == "cross_entropy":
        eps = np.finfo(A.dtype).eps
        P = np.clip(A, eps, 1 - eps)
        if out_activation == "softmax":
            rows = np.einsum("ij,ij->i", Y, np.log(P))
        else:
            rows = np.einsum("ij,ij->i", Y, np.log(P)) + np.einsum(
                "ij,ij->i", 1 - Y, np.log1p(-P)
            )
        return -_weighted_sum(rows, sample_weight) / weight_sum
    raise ValueError(f"Unknown loss {loss!r}; expected one of {sorted(LOSS_OUTPUTS)}.")


def output_delta(
    loss: str,
    out_activation: str,
    Y: np.ndarray,
    A: np.ndarray,
    out: np.ndarray,
    sample_weight: np.ndarray | None = None,
    weight_sum: float | None = None,
) -> np.ndarray:
    """Write ``dC/dZ_L`` into ``out`` and return it (the first backprop equation).

    Parameters
    ----------
    loss, out_activation : str
        The cost and the output activation.
    Y, A : ndarray of shape (m, n_outputs)
        Targets and network outputs.
    out : ndarray of shape (m, n_outputs)
        Buffer that receives the delta.
    sample_weight : ndarray of shape (m,) or None
        Per-sample weights; None means all ones.
    weight_sum : float or None
        ``sum(sample_weight)`` (or ``m``), if the caller already has it.

    Returns
    -------
    ndarray
        ``out``, holding the delta of the output layer.
    """
    if out_activation not in LOSS_OUTPUTS[loss]:
        raise ValueError(
            f"loss={loss!r} cannot be used with output activation "
            f"{out_activation!r}; it accepts {LOSS_OUTPUTS[loss]}."
        )
    if weight_sum is None:
        weight_sum = Y.shape[0] if sample_weight is None else float(sample_weight.sum())
    # For squared error dC/dA = A - Y; for the fused pairs dC/dZ = A - Y too.
    np.subtract(A, Y, out=out)
    if (out_activation, loss) not in FUSED:
        # General path: dC/dZ = dC/dA (.) f'(Z), with dC/dA = A - Y (squared error).
        ACTIVATIONS[out_activation][1](A, out)
    if sample_weight is None:
        out *= 1.0 / weight_sum
    else:
        out *= (sample_weight / weight_sum)[:, np.newaxis]
    return out
