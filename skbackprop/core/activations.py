"""Activation functions, each defined once in the table ``ACTIVATIONS``.

Each entry (an :class:`Activation`) carries everything every path needs: the
array forward function and derivative, the compiled kernel's scalar (or block)
code, the ONNX graph, the documentation's formulas, whether it may be a hidden
activation and its output range. The compiled epoch, the ONNX converter, the
parameter checks, the docstrings and the documentation all read this table;
adding an activation is adding one entry (docs/design.rst, "Adding an
activation").

Every forward function works in place on the pre-activation ``Z`` and returns
it, so the forward pass keeps one buffer per layer. A derivative is written
from the activation's *output* ``A`` where it can be (sigmoid: ``a * (1 - a)``,
tanh: ``1 - a**2``), and otherwise from the pre-activation ``Z``
(``from_z=True``: the forward pass then keeps a copy of ``Z`` for those layers
only). It multiplies the incoming gradient ``delta`` in place: this is the
``(.) f'(Z)`` of the backpropagation equations.

Every function takes the operations layer of its arrays (``ops``, see
``core/ops.py``; NumPy's by default), so the same code runs on any array library.
This module knows nothing of scikit-learn and allocates as little as it can.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .ops import NUMPY

#: Slope of the leaky ReLU for negative inputs.
LEAKY_SLOPE = 0.01


def identity(Z: np.ndarray, ops=NUMPY) -> np.ndarray:
    """Identity: ``f(z) = z``."""
    return Z


def sigmoid(Z: np.ndarray, ops=NUMPY) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-z))``, computed without overflow."""
    return ops.expit(Z, out=Z)


def tanh(Z: np.ndarray, ops=NUMPY) -> np.ndarray:
    """Hyperbolic tangent."""
    return ops.tanh(Z, out=Z)


def relu(Z: np.ndarray, ops=NUMPY) -> np.ndarray:
    """Rectified linear unit ``max(z, 0)``."""
    return ops.maximum(Z, 0.0, out=Z)


def leaky_relu(Z: np.ndarray, ops=NUMPY) -> np.ndarray:
    """Leaky ReLU: ``z`` for ``z > 0``, ``LEAKY_SLOPE * z`` otherwise."""
    # max(z, slope * z) since 0 < slope < 1; a masked ``where=`` write is ten times slower.
    return ops.maximum(Z, LEAKY_SLOPE * Z, out=Z)


def softmax(Z: np.ndarray, ops=NUMPY) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so that ``exp`` cannot overflow."""
    # The reductions that Z.max(axis=1) and Z.sum(axis=1) run, without their wrappers.
    Z -= ops.max_reduce(Z, axis=1, keepdims=True)
    ops.exp(Z, out=Z)
    Z /= ops.add_reduce(Z, axis=1, keepdims=True)
    return Z


@lru_cache
def _half_log_max(dtype) -> float:
    """``log(sqrt(largest finite float))`` of ``dtype``."""
    return float(np.log(np.finfo(dtype).max)) / 2


@lru_cache
def exp_limit(dtype) -> float:
    """Largest output of :func:`exp` in ``dtype``: about the root of its largest float."""
    return float(np.exp(np.asarray(_half_log_max(dtype), dtype=dtype)))


def exp(Z: np.ndarray, ops=NUMPY) -> np.ndarray:
    """Exponential ``f(z) = e**z``, the output of the Poisson cost (log link).

    ``z`` is first capped at half the log of the largest float of its dtype
    (about 354 for float64, 44 for float32), so the output never exceeds
    :func:`exp_limit` and ``exp`` never overflows. The Poisson cost counts an
    output at that cap as infinite: a fit whose outputs get there has
    diverged.
    """
    ops.minimum(Z, _half_log_max(ops.host_dtype(Z.dtype)), out=Z)
    return ops.exp(Z, out=Z)


def identity_derivative(A: np.ndarray, delta: np.ndarray, ops=NUMPY) -> np.ndarray:
    """``f'(z) = 1``: nothing to do."""
    return delta


def sigmoid_derivative(A: np.ndarray, delta: np.ndarray, ops=NUMPY) -> np.ndarray:
    """``f'(z) = a (1 - a)``."""
    delta *= A
    delta *= 1 - A
    return delta


def tanh_derivative(A: np.ndarray, delta: np.ndarray, ops=NUMPY) -> np.ndarray:
    """``f'(z) = 1 - a**2``."""
    slope = ops.multiply(A, A)
    ops.subtract(1.0, slope, out=slope)
    delta *= slope
    return delta


def relu_derivative(A: np.ndarray, delta: np.ndarray, ops=NUMPY) -> np.ndarray:
    """``f'(z) = 1`` for ``z > 0`` and ``0`` otherwise (``a > 0`` iff ``z > 0``)."""
    # Multiplying by the mask is one vectorised pass; the equivalent
    # ``delta[A <= 0] = 0`` (a masked write) is about ten times slower.
    return ops.multiply(delta, ops.positive(A), out=delta)


def leaky_relu_derivative(A: np.ndarray, delta: np.ndarray, ops=NUMPY) -> np.ndarray:
    """``f'(z) = 1`` for ``z > 0`` and ``LEAKY_SLOPE`` otherwise."""
    return ops.multiply(delta, ops.where_positive(A, 1.0, LEAKY_SLOPE), out=delta)


def exp_derivative(A: np.ndarray, delta: np.ndarray, ops=NUMPY) -> np.ndarray:
    """``f'(z) = e**z = a``."""
    delta *= A
    return delta


def softmax_derivative(A: np.ndarray, delta: np.ndarray, ops=NUMPY) -> np.ndarray:
    """Jacobian-vector product of the softmax: ``s * (g - sum(g * s))`` per row.

    The softmax Jacobian is ``diag(s) - s s^T``; applied to the gradient ``g``
    with respect to the outputs it gives the expression above, row by row.
    """
    inner = ops.rowdot(delta, A)[:, None]
    delta -= inner
    delta *= A
    return delta


def elu(Z: np.ndarray, ops=NUMPY) -> np.ndarray:
    """ELU with scale 1: ``z`` for ``z > 0``, ``e**z - 1`` otherwise.

    Computed as ``max(z, 0) + expm1(min(z, 0))``: exactly ``z`` above 0 and
    ``expm1(z)`` below, without overflow.
    """
    tail = ops.expm1(ops.minimum(Z, 0.0))
    ops.maximum(Z, 0.0, out=Z)
    Z += tail
    return Z


def elu_derivative(A: np.ndarray, delta: np.ndarray, ops=NUMPY) -> np.ndarray:
    """``f'(z) = 1`` for ``z > 0`` and ``e**z = a + 1`` otherwise: ``min(a + 1, 1)``."""
    slope = A + 1.0
    ops.minimum(slope, 1.0, out=slope)
    delta *= slope
    return delta


def softplus(Z: np.ndarray, ops=NUMPY) -> np.ndarray:
    """Softplus ``log(1 + e**z)``, as ``max(z, 0) + log1p(e**-|z|)`` (no overflow)."""
    tail = ops.log1p(ops.exp(-abs(Z)))
    ops.maximum(Z, 0.0, out=Z)
    Z += tail
    return Z


def softplus_derivative(Z: np.ndarray, delta: np.ndarray, ops=NUMPY) -> np.ndarray:
    """``f'(z) = sigmoid(z)``, from the pre-activation."""
    delta *= ops.expit(Z)
    return delta


def silu(Z: np.ndarray, ops=NUMPY) -> np.ndarray:
    """SiLU (swish) ``z * sigmoid(z)``."""
    Z *= ops.expit(Z)
    return Z


def silu_derivative(Z: np.ndarray, delta: np.ndarray, ops=NUMPY) -> np.ndarray:
    """``f'(z) = s (1 + z (1 - s))`` with ``s = sigmoid(z)``, from the pre-activation."""
    s = ops.expit(Z)
    slope = 1.0 - s
    slope *= Z
    slope += 1.0
    slope *= s
    delta *= slope
    return delta


#: ``1 / sqrt(2)`` and ``1 / sqrt(2 pi)``, the constants of the GELU.
INV_SQRT2 = 1.0 / math.sqrt(2.0)
INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


def gelu(Z: np.ndarray, ops=NUMPY) -> np.ndarray:
    """GELU, the exact form ``z * Phi(z) = z (1 + erf(z / sqrt 2)) / 2`` (PyTorch's default)."""
    cdf = ops.erf(Z * INV_SQRT2)
    cdf += 1.0
    cdf *= 0.5
    Z *= cdf
    return Z


def gelu_derivative(Z: np.ndarray, delta: np.ndarray, ops=NUMPY) -> np.ndarray:
    """``f'(z) = Phi(z) + z phi(z)``, from the pre-activation."""
    slope = ops.erf(Z * INV_SQRT2)
    slope += 1.0
    slope *= 0.5
    density = ops.exp(-0.5 * (Z * Z))
    density *= INV_SQRT2PI
    density *= Z
    slope += density
    delta *= slope
    return delta


Forward = Callable[..., np.ndarray]
Derivative = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Activation:
    """One activation: everything the NumPy, compiled, ONNX and docs paths need.

    Parameters
    ----------
    forward : callable
        ``forward(Z, ops)``: ``f(Z)`` written into ``Z``, returned.
    derivative : callable
        ``derivative(A_or_Z, delta, ops)``: ``delta *= f'(z)`` in place, from the
        output ``A`` or, with ``from_z``, from the pre-activation ``Z``.
    from_z : bool
        Whether :attr:`derivative` (and :attr:`kernel_derivative`) read ``z``
        rather than ``a``; such activations may only be hidden ones.
    kernel_forward : str or None
        The compiled kernel's scalar forward: a Python expression of ``z``
        (a float of the parameters' dtype). It may use ``np``, ``math``,
        ``one`` and ``zero`` (1 and 0 of that dtype) and the constants ``c``
        of the kernel (``c[1]``: ``LEAKY_SLOPE``, ``c[2]``: the cap of
        ``exp``, see ``training/compiled_epoch.py``). ``"z"``: nothing to do.
    kernel_derivative : str or None
        The new delta, an expression of ``d`` (the incoming delta) and ``a``
        (or ``z`` with ``from_z``). ``"d"``: nothing to do.
    kernel_forward_block, kernel_derivative_block : str or None
        Instead of the scalar forms, kernel code over a whole layer (the
        softmax's rows): statements over ``Z`` (forward), or ``A`` and ``D``
        (derivative), of shape ``(m, n)``, indented by 8 spaces.
    onnx : callable or None
        ``onnx(graph, z)``: adds the nodes of ``f`` to ``graph`` (the ONNX
        converter's builder: ``node``, ``constant``, ``log1p``, ``erf``,
        ``dtype``, ``model_dtype``) and returns the output's name. None: the
        converter refuses it.
    formula, derivative_formula, range_formula : str
        LaTeX of ``f(z)``, ``f'(z)`` and the output range, for the docs' table.
    hidden : bool
        Whether it may be the activation of the hidden layers.
    output_range : tuple of float or None
        The output's range where it may be a regression output, else None.
    bound : float or None
        ``|f(z)| <= bound`` for every ``z`` where there is such a bound
        (sigmoid and tanh: 1); ``Network.outputs_finite`` uses it.
    kernel_values_limit : int or None
        Hidden values per training step above which the NumPy path runs
        instead of the compiled epoch, for activations whose scalar math
        function in the kernel is much slower than NumPy's vectorised one
        (``tanh``); None: no limit.
    needs : tuple of str
        Operations beyond the usual ones that the array forms call (``'erf'``):
        a library whose operations lack one is refused before fitting.
    note : str
        A remark for the docs' table (reST).
    """

    name: str
    forward: Forward
    derivative: Derivative
    from_z: bool = False
    kernel_forward: str | None = None
    kernel_derivative: str | None = None
    kernel_forward_block: str | None = None
    kernel_derivative_block: str | None = None
    onnx: Callable[..., str] | None = None
    formula: str = ""
    derivative_formula: str = ""
    range_formula: str = r"\mathbb{R}"
    hidden: bool = True
    output_range: tuple[float, float] | None = None
    bound: float | None = None
    kernel_values_limit: int | None = None
    needs: tuple[str, ...] = ()
    note: str = ""


def _op(op_type: str):
    """The ONNX graph of an activation that is one operator."""
    return lambda graph, z: graph.node(op_type, [z])


def _onnx_leaky_relu(graph, z):  # max(z, slope z), as the estimator (no float64 LeakyRelu)
    return graph.node("Max", [z, graph.node("Mul", [z, graph.constant(LEAKY_SLOPE)])])


def _onnx_exp(graph, z):  # capped as the estimator caps it (and within the graph's floats)
    cap = min(_half_log_max(np.dtype(graph.model_dtype)), _half_log_max(np.dtype(graph.dtype)))
    return graph.node("Exp", [graph.node("Min", [z, graph.constant(cap)])])


def _onnx_elu(graph, z):  # max(z, 0) + (exp(min(z, 0)) - 1): float64 operators only
    low = graph.node("Exp", [graph.node("Min", [z, graph.constant(0.0)])])
    tail = graph.node("Sub", [low, graph.constant(1.0)])
    return graph.node("Add", [graph.node("Max", [z, graph.constant(0.0)]), tail])


def _onnx_softplus(graph, z):  # max(z, 0) + log1p(exp(-|z|)) (no float64 Softplus)
    tail = graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [z])])])
    return graph.node("Add", [graph.node("Max", [z, graph.constant(0.0)]), graph.log1p(tail)])


def _onnx_silu(graph, z):
    return graph.node("Mul", [z, graph.node("Sigmoid", [z])])


def _onnx_gelu(graph, z):  # z (1 + erf(z / sqrt 2)) / 2
    erf = graph.erf(graph.node("Mul", [z, graph.constant(INV_SQRT2)]))
    cdf = graph.node("Mul", [graph.node("Add", [erf, graph.constant(1.0)]), graph.constant(0.5)])
    return graph.node("Mul", [z, cdf])


_SOFTMAX_FORWARD = """\
        for i in range(m):  # shifted by the row maximum
            top = Z[i, 0]
            for j in range(1, n):
                if Z[i, j] > top or np.isnan(Z[i, j]):
                    top = Z[i, j]
            total = Z[i, 0] - Z[i, 0]
            for j in range(n):
                e = np.exp(Z[i, j] - top)
                Z[i, j] = e
                total += e
            for j in range(n):
                Z[i, j] = Z[i, j] / total
"""

_SOFTMAX_DERIVATIVE = """\
        for i in range(m):  # s * (g - sum(g * s)) per row
            inner = zero
            for j in range(n):
                inner += D[i, j] * A[i, j]
            for j in range(n):
                D[i, j] = (D[i, j] - inner) * A[i, j]
"""

_EXP_FORWARD = """\
        for i in range(m):  # exp of min(z, half log max)
            for j in range(n):
                z = Z[i, j]
                if z > c[2]:
                    z = c[2]
                Z[i, j] = np.exp(z)
"""

_GELU_SCALAR = f"(one + math.erf(z * {INV_SQRT2!r})) * 0.5"

#: Every activation, by name. Order matters only to the compiled kernel's codes.
ACTIVATIONS: dict[str, Activation] = {
    entry.name: entry
    for entry in [
        Activation(
            "identity", identity, identity_derivative, kernel_forward="z",
            kernel_derivative="d", onnx=lambda graph, z: z, formula="z", derivative_formula="1",
            output_range=(-np.inf, np.inf),
        ),
        Activation(
            "sigmoid", sigmoid, sigmoid_derivative,
            kernel_forward="one / (one + np.exp(-z))",
            kernel_derivative="(d * a) * (one - a)", onnx=_op("Sigmoid"),
            formula=r"\sigma(z) = 1 / (1 + e^{-z})", derivative_formula="a (1 - a)",
            range_formula="(0, 1)", output_range=(0.0, 1.0), bound=1.0,
            note="alias ``'logistic'``",
        ),
        Activation(
            "tanh", tanh, tanh_derivative, kernel_forward="np.tanh(z)",
            kernel_derivative="d * (one - a * a)", onnx=_op("Tanh"), formula=r"\tanh z",
            derivative_formula="1 - a^2", range_formula="(-1, 1)", output_range=(-1.0, 1.0),
            bound=1.0, kernel_values_limit=4096,  # the kernel's scalar tanh: ten times slower
        ),
        Activation(
            "relu", relu, relu_derivative, kernel_forward="zero if z < zero else z",
            kernel_derivative="d * (one if a > 0 else zero)", onnx=_op("Relu"),
            formula=r"\max(z, 0)", derivative_formula=r"1 \text{ if } z > 0 \text{, else } 0",
            range_formula=r"[0, \infty)",
        ),
        Activation(
            "leaky_relu", leaky_relu, leaky_relu_derivative,
            kernel_forward="c[1] * z if z < c[1] * z else z",
            kernel_derivative="d * (one if a > 0 else c[1])", onnx=_onnx_leaky_relu,
            formula=r"z \text{ if } z > 0 \text{, else } 0.01 z",
            derivative_formula=r"1 \text{ if } z > 0 \text{, else } 0.01",
            note="slope 0.01 for negative inputs",
        ),
        Activation(
            "softmax", softmax, softmax_derivative, kernel_forward_block=_SOFTMAX_FORWARD,
            kernel_derivative_block=_SOFTMAX_DERIVATIVE,
            onnx=lambda graph, z: graph.node("Softmax", [z], axis=1),
            formula=r"e^{z_k} / \sum_j e^{z_j}",
            derivative_formula=r"\partial a_k / \partial z_j = a_k (\delta_{kj} - a_j)",
            range_formula="(0, 1)", hidden=False, output_range=(0.0, 1.0),
            note="output only; over the units of a layer, rows sum to 1",
        ),
        Activation(
            "exp", exp, exp_derivative, kernel_forward_block=_EXP_FORWARD,
            kernel_derivative="d * a", onnx=_onnx_exp, formula="e^z", derivative_formula="a",
            range_formula=r"(0, \infty)", hidden=False, output_range=(0.0, np.inf),
            note="output only (Poisson cost), input capped against overflow",
        ),
        Activation(
            "elu", elu, elu_derivative,
            kernel_forward="z if z > zero else np.expm1(z)",
            kernel_derivative="d * (one if a > zero else a + one)", onnx=_onnx_elu,
            formula=r"z \text{ if } z > 0 \text{, else } e^z - 1",
            derivative_formula=r"1 \text{ if } z > 0 \text{, else } a + 1",
            range_formula=r"(-1, \infty)", note="scale fixed at 1",
        ),
        Activation(
            "softplus", softplus, softplus_derivative, from_z=True,
            kernel_forward="max(z, zero) + np.log1p(np.exp(-abs(z)))",
            kernel_derivative="d * (one / (one + np.exp(-z)))", onnx=_onnx_softplus,
            formula=r"\log(1 + e^z)", derivative_formula=r"\sigma(z)",
            range_formula=r"(0, \infty)",
        ),
        Activation(
            "silu", silu, silu_derivative, from_z=True,
            kernel_forward="z * (one / (one + np.exp(-z)))",
            kernel_derivative=(
                "d * ((one + z * (one - one / (one + np.exp(-z)))) * (one / (one + np.exp(-z))))"
            ),
            onnx=_onnx_silu, formula=r"z \, \sigma(z)",
            derivative_formula=r"\sigma(z) (1 + z (1 - \sigma(z)))",
            range_formula=r"[-0.279, \infty)", note="also called swish",
        ),
        Activation(
            "gelu", gelu, gelu_derivative, from_z=True,
            kernel_forward=f"z * ({_GELU_SCALAR})",
            kernel_derivative=(
                f"d * ({_GELU_SCALAR} + z * (np.exp(-0.5 * (z * z)) * {INV_SQRT2PI!r}))"
            ),
            onnx=_onnx_gelu, formula=r"z \, \Phi(z) = \tfrac{z}{2} (1 + \operatorname{erf}(z / \sqrt{2}))",
            derivative_formula=r"\Phi(z) + z \, \varphi(z)", range_formula=r"[-0.170, \infty)",
            needs=("erf",),
            note="the exact form with erf, PyTorch's default (not the tanh approximation)",
        ),
    ]
}


def hidden_activations() -> tuple[str, ...]:
    """Names accepted for hidden layers, in table order."""
    return tuple(name for name, entry in ACTIVATIONS.items() if entry.hidden)


def output_ranges() -> dict[str, tuple[float, float]]:
    """Range of each activation that may be a regression output."""
    return {
        name: entry.output_range for name, entry in ACTIVATIONS.items()
        if entry.output_range is not None
    }


#: Names accepted for hidden layers, as the table stands on import.
HIDDEN_ACTIVATIONS = hidden_activations()

#: Aliases kept so that scikit-learn parameter grids keep working.
ALIASES = {"logistic": "sigmoid"}

#: Range of each output activation, used to check regression targets.
OUTPUT_RANGES = output_ranges()


def canonical_name(name: str) -> str:
    """Resolve aliases (``'logistic'`` -> ``'sigmoid'``)."""
    return ALIASES.get(name, name)


def check_supported(name: str, ops) -> None:
    """Raise if the operations layer ``ops`` lacks a function activation ``name`` needs."""
    for function in ACTIVATIONS[name].needs:
        if not ops.supports(function):
            raise ValueError(
                f"activation={name!r} needs {function}, which the array library "
                f"{ops.name!r} does not provide; choose another activation or fit on "
                "NumPy or PyTorch arrays."
            )
