"""Cost functions: each knows its value and the delta of the output layer.

Conventions (pinned in the design record, docs/design.rst, section
"design-conventions"), with weights ``w_i`` that are all one unless the caller
passes sample weights, and ``W = sum_i w_i``:

- ``squared_error``: ``C = (1/W) sum_i w_i * 1/2 * ||y_i - a_i||^2``. With a
  batch of one this is the textbook ``E_total = sum 1/2 (target - output)^2``.
  scikit-learn's squared loss also divides by the number of outputs; with one
  output the two agree.
- ``cross_entropy``: with a softmax output, ``-(1/W) sum_i w_i sum_k y_ik log
  a_ik``; with sigmoid outputs, ``-(1/W) sum_i w_i sum_k [y_ik log a_ik + (1 -
  y_ik) log(1 - a_ik)]``. Probabilities are clipped to ``[eps, 1 - eps]`` before
  the logarithm so that ``log(0)`` never reaches the user.
- ``poisson``: the half Poisson deviance, ``(1/W) sum_i w_i sum_k [y_ik log(y_ik
  / a_ik) - y_ik + a_ik]`` with ``0 log 0 = 0``, for an exponential output
  (scikit-learn's MLPRegressor computes the same). Outputs are floored at the
  smallest normal float before the logarithm, so an output that underflowed to
  0 gives a large finite cost. An output at the cap of the exponential
  (``exp_limit``, about the square root of the largest float) makes the cost
  infinite and the delta zero: the fit has diverged, and the gradient of such
  outputs could overflow in the optimizer.

The output delta is ``dC/dZ_L``, already divided by ``W``. For the matched
pairs (softmax + cross-entropy, sigmoid + cross-entropy, identity + squared
error, exp + Poisson: each a canonical link) it fuses to ``(A - Y) w / W``:
the derivative of the output activation cancels against the derivative of
the cost. Every other pair multiplies ``dC/dA`` by the output activation's
derivative (a Jacobian-vector product for softmax).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .activations import ACTIVATIONS, exp_limit
from .ops import NUMPY

#: (output activation, loss) pairs whose output delta is simply ``A - Y``.
FUSED = {
    ("identity", "squared_error"),
    ("sigmoid", "cross_entropy"),
    ("softmax", "cross_entropy"),
    ("exp", "poisson"),
}

#: Output activations each loss accepts.
LOSS_OUTPUTS = {
    "squared_error": ("identity", "sigmoid", "tanh", "softmax", "exp"),
    "cross_entropy": ("sigmoid", "softmax"),
    "poisson": ("exp",),
}

#: The valid ``(output activation, loss)`` pairs, for a one-lookup check per step.
_VALID_PAIRS = frozenset((out, loss) for loss, outs in LOSS_OUTPUTS.items() for out in outs)


def _weighted_sum(row_values: np.ndarray, sample_weight: np.ndarray | None, ops=NUMPY) -> float:
    """``sum_i w_i r_i`` (a float; a 0-d array off the host, see ``ops.scalar``)."""
    if sample_weight is None:
        return ops.scalar(ops.add_reduce(row_values, axis=None))  # row_values.sum()
    return ops.scalar(ops.dot(sample_weight, row_values))


def _weighted_inner(
    U: np.ndarray, V: np.ndarray, sample_weight: np.ndarray | None, ops=NUMPY
) -> float:
    """``sum_i w_i sum_k U_ik V_ik`` (one dot product without weights)."""
    if sample_weight is None:
        return ops.scalar(ops.vdot(U, V))
    return _weighted_sum(ops.rowdot(U, V), sample_weight, ops)


def _check_pair(loss: str, out_activation: str) -> None:
    if (out_activation, loss) in _VALID_PAIRS:
        return
    if loss not in LOSS_OUTPUTS:
        raise ValueError(f"Unknown loss {loss!r}; expected one of {sorted(LOSS_OUTPUTS)}.")
    if out_activation not in LOSS_OUTPUTS[loss]:
        raise ValueError(
            f"loss={loss!r} cannot be used with output activation "
            f"{out_activation!r}; it accepts {LOSS_OUTPUTS[loss]}."
        )


@lru_cache
def _clip_bounds(dtype) -> tuple:
    """``(eps, 1 - eps)`` of ``dtype``: the range the cross-entropy clips probabilities to."""
    eps = np.finfo(dtype).eps
    return eps, 1 - eps


def _cross_entropy_sum(
    out_activation: str,
    Y: np.ndarray,
    A: np.ndarray,
    sample_weight: np.ndarray | None,
    work: np.ndarray,
    ops=NUMPY,
) -> float:
    """``-sum_i w_i sum_k [...]`` of the cross-entropy, using ``work`` (shape of ``A``) as scratch."""
    low, high = _clip_bounds(ops.host_dtype(A.dtype))
    # np.clip(A, low, high, out=work), which computes min(max(a, low), high),
    # without its Python wrapper.
    P = ops.minimum(ops.maximum(A, low, out=work), high, out=work)
    if out_activation != "softmax":
        # y log p + (1 - y) log(1 - p) = y (log p - log(1 - p)) + log(1 - p)
        log_q = ops.log1p(-P)
        ops.log(P, out=P)
        P -= log_q
        P *= Y
        P += log_q
        return -_weighted_sum(ops.add_reduce(P, axis=1), sample_weight, ops)
    ops.log(P, out=P)
    return -_weighted_inner(Y, P, sample_weight, ops)


def _poisson_sum(
    Y: np.ndarray, A: np.ndarray, sample_weight: np.ndarray | None, work: np.ndarray, ops=NUMPY
) -> float:
    """``sum_i w_i sum_k [y log(y/a) - y + a]`` (``0 log 0 = 0``), using ``work`` as scratch.

    The per-element term is split as ``(y log y - y + a) - y log a`` so that one
    buffer holds each part in turn: no temporary the size of ``A``. ``a`` is
    floored at the smallest normal float before the logarithm.
    """
    ops.xlogy(Y, Y, out=work)
    work -= Y
    work += A
    if sample_weight is None:
        first = ops.scalar(ops.add_reduce(work, axis=None))
    else:
        first = _weighted_sum(ops.add_reduce(work, axis=1), sample_weight, ops)
    ops.maximum(A, float(np.finfo(ops.host_dtype(A.dtype)).tiny), out=work)
    ops.log(work, out=work)
    return first - _weighted_inner(Y, work, sample_weight, ops)


def _squared_sum(diff: np.ndarray, sample_weight: np.ndarray | None, ops=NUMPY) -> float:
    """``1/2 sum_i w_i ||diff_i||^2``."""
    return 0.5 * _weighted_inner(diff, diff, sample_weight, ops)


def _total_weight(Y: np.ndarray, sample_weight: np.ndarray | None, ops=NUMPY) -> float:
    """``sum(sample_weight)``, or the number of rows without weights."""
    if sample_weight is None:
        return Y.shape[0]
    return ops.item(ops.add_reduce(sample_weight, axis=None))


def _finish_delta(
    loss: str,
    out_activation: str,
    A: np.ndarray,
    out: np.ndarray,
    sample_weight: np.ndarray | None,
    weight_sum: float,
    ops=NUMPY,
) -> None:
    """Turn ``out = A - Y`` into the output delta, in place.

    For squared error ``dC/dA = A - Y``; for the fused pairs ``dC/dZ = A - Y``
    too (the Poisson cost always takes this path: its one output, exp, is its
    canonical link). Otherwise (general path) ``dC/dZ = dC/dA (.) f'(Z)``.
    Then each row is scaled by its weight over ``weight_sum``.
    """
    if (out_activation, loss) not in FUSED:
        ACTIVATIONS[out_activation].derivative(A, out, ops)
    if sample_weight is None:
        out *= 1.0 / weight_sum
    else:
        out *= (sample_weight / weight_sum)[:, None]


def loss_and_output_delta(
    loss: str,
    out_activation: str,
    Y: np.ndarray,
    A: np.ndarray,
    out: np.ndarray,
    sample_weight: np.ndarray | None = None,
    weight_sum: float | None = None,
    ops=NUMPY,
) -> float:
    """The cost (without penalty) and, written into ``out``, the output delta ``dC/dZ_L``.

    One call computes the cost and the output delta
    without allocating: ``out`` serves as scratch for the cost before it
    receives the delta, and the squared error reuses ``A - Y`` for both.

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
        Divisor of the cost and of the delta: ``sum(sample_weight)`` (or ``m``)
        by default. A caller that splits a batch into pieces passes the total
        of the whole batch and adds up the pieces.
    ops : operations layer, default=NumPy's
        The operations of the arrays' library (``core/ops.py``).

    Returns
    -------
    float
        The cost of these rows, divided by ``weight_sum`` (a 0-d array where
        ``ops`` keeps costs on a device).
    """
    _check_pair(loss, out_activation)
    if weight_sum is None:
        weight_sum = _total_weight(Y, sample_weight, ops)
    if loss == "squared_error":
        ops.subtract(A, Y, out=out)
        value = _squared_sum(out, sample_weight, ops)
    elif loss == "poisson":
        limit = exp_limit(ops.host_dtype(A.dtype))
        if 0 not in A.shape and not ops.item(ops.max_reduce(A, axis=None)) < limit:
            out[...] = 0  # saturated (or NaN): diverged
            return np.inf
        value = _poisson_sum(Y, A, sample_weight, out, ops)
        ops.subtract(A, Y, out=out)
    else:
        value = _cross_entropy_sum(out_activation, Y, A, sample_weight, out, ops)
        ops.subtract(A, Y, out=out)
    _finish_delta(loss, out_activation, A, out, sample_weight, weight_sum, ops)
    return value / weight_sum
