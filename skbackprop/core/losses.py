"""Cost functions, each defined once in the table ``COSTS``.

Each entry (a :class:`Cost`) carries everything every path needs: the array
function of its value, the output activations it accepts, the pairings whose
output delta fuses to ``A - Y`` (with the reason), the compiled kernel's code
for its per-element term and the documentation's formula. ``LOSS_OUTPUTS``,
``FUSED``, the parameter check, the compiled epoch (whose cost dispatch is
generated from the table, see ``core/kernels/source.py``) and the docs' table
read it; adding a cost is adding one entry (docs/design.rst, "Adding a cost").

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

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .activations import ACTIVATIONS, exp_limit
from .ops import NUMPY


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


def _squared_error(out_activation, Y, A, sample_weight, out, ops=NUMPY) -> float:
    """The squared error's sum, from ``out = A - Y``."""
    ops.subtract(A, Y, out=out)
    return _squared_sum(out, sample_weight, ops)


def _cross_entropy(out_activation, Y, A, sample_weight, out, ops=NUMPY) -> float:
    """The cross-entropy's sum (``out`` as scratch), then ``out = A - Y``."""
    value = _cross_entropy_sum(out_activation, Y, A, sample_weight, out, ops)
    ops.subtract(A, Y, out=out)
    return value


def _poisson(out_activation, Y, A, sample_weight, out, ops=NUMPY) -> float:
    """The half Poisson deviance's sum (``out`` as scratch), then ``out = A - Y``."""
    value = _poisson_sum(Y, A, sample_weight, out, ops)
    ops.subtract(A, Y, out=out)
    return value


def _exp_saturated(A: np.ndarray, ops=NUMPY) -> bool:
    """Whether an output reached the cap of ``exp`` (or is NaN): the fit has diverged."""
    limit = exp_limit(ops.host_dtype(A.dtype))
    return 0 not in A.shape and not ops.item(ops.max_reduce(A, axis=None)) < limit


@dataclass(frozen=True)
class Cost:
    """One cost: everything the NumPy, compiled and docs paths need.

    Parameters
    ----------
    name : str
        The value of ``loss`` (after aliases such as ``'log_loss'`` are resolved
        by the estimators).
    sum_and_residual : callable
        ``sum_and_residual(out_activation, Y, A, sample_weight, out, ops)``: the
        cost summed over the rows, each row times its weight (not yet divided by
        the total weight), leaving in ``out`` (which it may use as scratch
        before) the residual: the derivative of each sample's cost with
        respect to its outputs, which is also the derivative with respect to
        the pre-activations for the :attr:`fused` outputs (``A - Y`` for every
        cost of the table). The caller scales each row by its weight over the
        total.
    outputs : tuple of str
        The output activations it accepts (names of the activation table); the
        first is the regressor's ``output_activation='auto'`` for this cost.
    fused : dict of str to str
        The accepted outputs whose delta ``dC/dZ`` is the residual itself
        (``A - Y``: a canonical link), each with the one-line reason; for every
        other output the residual is ``dC/dA``, and it is multiplied by the
        output activation's derivative.
    diverged : callable or None
        ``diverged(A, ops)``: whether the outputs mean the fit has diverged; the
        cost is then infinite and the delta zero. None: never.
    kernel_term : str
        The compiled kernel's per-element term: statements that add the term of
        output ``a`` and target ``y`` to ``row`` (floats of the parameters' dtype;
        they may use ``np``, ``out_code``, ``SOFTMAX`` and the kernel's constants
        ``c``: ``c[3]``, ``c[4]`` the clip bounds of the cross-entropy, ``c[5]``
        the smallest normal float, ``c[6]`` the cap of ``exp``, see
        ``training/compiled_epoch.py``).
    kernel_delta : str
        The kernel's residual of one element, an expression of ``a`` and ``y``
        (see :attr:`sum_and_residual`).
    kernel_total : str
        A statement that turns the sum of the terms, ``total``, into the cost
        sum (``"total *= 0.5"``); empty: nothing to do.
    kernel_diverged : str or None
        The kernel's form of :attr:`diverged`: an expression of one output ``a``,
        true when that output means divergence.
    formula : str
        LaTeX of the cost of one sample, for the docs' table.
    note : str
        A remark for the docs' table (reST).
    """

    name: str
    sum_and_residual: Callable[..., float]
    outputs: tuple[str, ...]
    fused: dict[str, str] = field(default_factory=dict, hash=False)
    diverged: Callable[..., bool] | None = None
    kernel_term: str = ""
    kernel_delta: str = "a - y"
    kernel_total: str = ""
    kernel_diverged: str | None = None
    formula: str = ""
    note: str = ""


_CROSS_ENTROPY_TERM = """\
p = min(max(a, c[3]), c[4])
if out_code == SOFTMAX:  # y log p; a zero target adds exactly 0
    if y != 0:
        row += y * np.log(p)
else:  # y (log p - log(1 - p)) + log(1 - p)
    q = np.log1p(-p)
    row += (np.log(p) - q) * y + q
"""

#: Every cost, by name. Order matters only to the compiled kernel's codes.
COSTS: dict[str, Cost] = {
    entry.name: entry
    for entry in [
        Cost(
            "squared_error", _squared_error, ("identity", "sigmoid", "tanh", "softmax", "exp"),
            fused={"identity": "f' = 1: dC/dZ is dC/dA = A - Y (Gaussian, identity link)"},
            kernel_term="d = a - y\nrow += d * d\n", kernel_total="total *= 0.5",
            formula=r"\tfrac{1}{2} \lVert y - a \rVert^2",
            note="divided by the samples only (scikit-learn also divides by the outputs)",
        ),
        Cost(
            "cross_entropy", _cross_entropy, ("sigmoid", "softmax"),
            fused={
                "sigmoid": "dC/da = (a - y) / (a (1 - a)) and f' = a (1 - a) (Bernoulli, logit link)",
                "softmax": "the Jacobian's product with -y / a is a - y, since each row of "
                           "Y sums to 1 (categorical, softmax link)",
            },
            kernel_term=_CROSS_ENTROPY_TERM, kernel_total="total = -total",
            formula=r"-\sum_k y_k \log a_k \text{ (softmax)}; \; "
                    r"-\sum_k [y_k \log a_k + (1 - y_k) \log (1 - a_k)] \text{ (sigmoid)}",
            note=r"alias ``'log_loss'``; probabilities clipped to :math:`[\epsilon, 1 - \epsilon]`",
        ),
        Cost(
            "poisson", _poisson, ("exp",),
            fused={"exp": "dC/da = 1 - y / a and f' = a (Poisson, log link)"},
            diverged=_exp_saturated,
            kernel_term=(
                "t = (y * np.log(y) if y != 0 else y - y) - y + a\n"
                "row += t - y * np.log(max(a, c[5]))\n"
            ),
            kernel_diverged="not a < c[6]",
            formula=r"\sum_k [y_k \log (y_k / a_k) - y_k + a_k]",
            note=r"half the Poisson deviance, :math:`0 \log 0 = 0`; infinite once an output "
                 r"reaches the cap of ``exp``",
        ),
    ]
}


def loss_outputs() -> dict[str, tuple[str, ...]]:
    """The output activations each cost accepts, in table order."""
    return {name: entry.outputs for name, entry in COSTS.items()}


def fused_pairs() -> frozenset[tuple[str, str]]:
    """The ``(output activation, loss)`` pairs whose output delta is ``(A - Y) / W``."""
    return frozenset((out, name) for name, entry in COSTS.items() for out in entry.fused)


#: Output activations each loss accepts, as the table stands on import.
LOSS_OUTPUTS = loss_outputs()

#: (output activation, loss) pairs whose output delta is simply ``A - Y``, as the
#: table stands on import.
FUSED = fused_pairs()


def cost_for(loss: str, out_activation: str) -> Cost:
    """The table's entry of ``loss``, checked against ``out_activation``."""
    entry = COSTS.get(loss)
    if entry is None:
        raise ValueError(f"Unknown loss {loss!r}; expected one of {sorted(COSTS)}.")
    if out_activation not in entry.outputs:
        raise ValueError(
            f"loss={loss!r} cannot be used with output activation "
            f"{out_activation!r}; it accepts {entry.outputs}."
        )
    return entry


def _total_weight(Y: np.ndarray, sample_weight: np.ndarray | None, ops=NUMPY) -> float:
    """``sum(sample_weight)``, or the number of rows without weights."""
    if sample_weight is None:
        return Y.shape[0]
    return ops.item(ops.add_reduce(sample_weight, axis=None))


def _finish_delta(
    cost: Cost,
    out_activation: str,
    A: np.ndarray,
    out: np.ndarray,
    sample_weight: np.ndarray | None,
    weight_sum: float,
    ops=NUMPY,
) -> None:
    """Turn the residual in ``out`` (``A - Y``) into the output delta, in place.

    For the fused pairs of ``cost`` the residual is ``dC/dZ`` already;
    otherwise it is ``dC/dA`` and ``dC/dZ = dC/dA (.) f'(Z)``. Then each row
    is scaled by its weight over ``weight_sum``.
    """
    if out_activation not in cost.fused:
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
    cost = cost_for(loss, out_activation)
    if weight_sum is None:
        weight_sum = _total_weight(Y, sample_weight, ops)
    if cost.diverged is not None and cost.diverged(A, ops):
        out[...] = 0  # saturated (or NaN): diverged
        return np.inf
    value = cost.sum_and_residual(out_activation, Y, A, sample_weight, out, ops)
    _finish_delta(cost, out_activation, A, out, sample_weight, weight_sum, ops)
    return value / weight_sum
