"""Activation functions and their derivatives, as one small table.

Every forward function works in place on the pre-activation ``Z`` and returns
it, so the forward pass keeps one buffer per layer. Every derivative is written
from the activation's *output* ``A`` (sigmoid: ``a * (1 - a)``, tanh:
``1 - a**2``) and multiplies the incoming gradient ``delta`` in place: this is
the ``(.) f'(Z)`` of the backpropagation equations.

Every function takes the operations layer of its arrays (``ops``, see
``core/ops.py``; NumPy's by default), so the same code runs on any array library.
This module knows nothing of scikit-learn and allocates as little as it can.
"""

from __future__ import annotations

from collections.abc import Callable
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


Forward = Callable[..., np.ndarray]
Derivative = Callable[..., np.ndarray]

#: name -> (forward in place, derivative from the output in place).
ACTIVATIONS: dict[str, tuple[Forward, Derivative]] = {
    "identity": (identity, identity_derivative),
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (tanh, tanh_derivative),
    "relu": (relu, relu_derivative),
    "leaky_relu": (leaky_relu, leaky_relu_derivative),
    "softmax": (softmax, softmax_derivative),
    "exp": (exp, exp_derivative),
}

#: Names accepted for hidden layers (softmax and exp only make sense as outputs).
HIDDEN_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu")

#: Aliases kept so that scikit-learn parameter grids keep working.
ALIASES = {"logistic": "sigmoid"}

#: Range of each output activation, used to check regression targets.
OUTPUT_RANGES = {
    "identity": (-np.inf, np.inf),
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "softmax": (0.0, 1.0),
    "exp": (0.0, np.inf),
}


def canonical_name(name: str) -> str:
    """Resolve aliases (``'logistic'`` -> ``'sigmoid'``)."""
    return ALIASES.get(name, name)
