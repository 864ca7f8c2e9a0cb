"""The operations layer: what the numerical core asks of an array library.

The core (``core/activations.py``, ``core/losses.py``, ``core/network.py``,
``core/optimizers.py``, ``training/loop.py``) is written once, over an ``ops`` object.
Each ``ops`` gives the same small set of operations in the fastest form its
library has:

- :data:`NUMPY`: NumPy's ufuncs themselves, with ``out=`` and their
  ``reduce`` methods, ``einsum``, ``vdot`` and SciPy's ``expit``. Every
  attribute the hot path uses is the NumPy function itself (no wrapper), so
  the NumPy path costs what it cost before this layer existed.
- :class:`ArrayAPIOps`: any library that follows the Array API standard
  (array-api-strict, and anything ``array-api-compat`` wraps): the standard's
  functions, results written into the ``out`` buffers by assignment.
- :class:`TorchOps` and :class:`CuPyOps`: the standard's functions where
  they suffice, the library's own ``out=`` forms where the standard has none.

Only the stochastic solvers' hot loop needs to avoid device round trips:
on a non-host library the costs stay 0-d arrays on the device
(:meth:`ArrayAPIOps.scalar`) until the end of the epoch reads them.

Arrays must be mutable and slices and reshapes of contiguous arrays must be
views, as in NumPy, PyTorch, CuPy and array-api-strict (the parameter vector
is one array that ``coefs_`` and ``intercepts_`` are views of). JAX arrays
are immutable and are refused with an error that says so.

Nothing here imports scikit-learn; ``array-api-compat`` (the ``array-api``
extra) is imported only when an array of another array library arrives
(:func:`compat`): NumPy arrays, sparse matrices and array-likes that are no
array library's (DataFrames, lists, the dask path's chunk lists) never need it.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import erf, expit, xlogy


class NumpyOps:
    """The NumPy forms: ufuncs with ``out=``, their reductions, ``einsum`` and ``expit``."""

    name = "numpy"
    #: Arrays live in host memory: a cost may be read at every step for free.
    host = True
    xp = np

    matmul = staticmethod(np.matmul)
    add_reduce = staticmethod(np.add.reduce)
    max_reduce = staticmethod(np.maximum.reduce)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    log1p = staticmethod(np.log1p)
    expm1 = staticmethod(np.expm1)
    erf = staticmethod(erf)
    tanh = staticmethod(np.tanh)
    sqrt = staticmethod(np.sqrt)
    square = staticmethod(np.square)
    expit = staticmethod(expit)
    xlogy = staticmethod(xlogy)
    multiply = staticmethod(np.multiply)
    subtract = staticmethod(np.subtract)
    divide = staticmethod(np.divide)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    logaddexp = staticmethod(np.logaddexp)
    dot = staticmethod(np.dot)
    vdot = staticmethod(np.vdot)
    #: ``sum_k U_ik V_ik`` per row.
    rowdot = staticmethod(functools.partial(np.einsum, "ij,ij->i"))
    #: A cost as the loop keeps it: a Python float.
    scalar = float

    @staticmethod
    def supports(function: str) -> bool:
        """Whether the optional element-wise ``function`` (``'erf'``) is available."""
        return True

    # ------------------------------------------------------------------ #
    # Creation and movement
    # ------------------------------------------------------------------ #
    @staticmethod
    def empty(shape, dtype, like=None):
        """A new uninitialised array of ``dtype`` (on ``like``'s device elsewhere)."""
        return np.empty(shape, dtype=dtype)

    @staticmethod
    def zeros(shape, dtype, like=None):
        """A new array of zeros of ``dtype`` (on ``like``'s device elsewhere)."""
        return np.zeros(shape, dtype=dtype)

    empty_like = staticmethod(np.empty_like)
    zeros_like = staticmethod(np.zeros_like)

    @staticmethod
    def copy(array):
        """A new array with the values of ``array``."""
        return array.copy()

    @staticmethod
    def reshape(array, shape):
        """A view of ``array`` (contiguous) with the shape ``shape``."""
        return array.reshape(shape)

    @staticmethod
    def astype(array, dtype):
        """``array`` converted to ``dtype`` (a new array)."""
        return array.astype(dtype)

    @staticmethod
    def to_host(array) -> np.ndarray:
        """``array`` as a NumPy array in host memory (itself for NumPy)."""
        return array

    @staticmethod
    def from_host(array, like=None, dtype=None):
        """A host array in this library, on ``like``'s device, as ``dtype``."""
        return np.asarray(array, dtype=dtype)

    @staticmethod
    def host_dtype(dtype) -> np.dtype:
        """The NumPy dtype of a dtype of this library."""
        return np.dtype(dtype)

    @staticmethod
    def item(value) -> float:
        """A scalar (a float or a 0-d array) as a Python float."""
        return float(value)

    # ------------------------------------------------------------------ #
    # Composite operations with a fast NumPy form
    # ------------------------------------------------------------------ #
    @staticmethod
    def take_rows(array, rows, out):
        """``out[:] = array[rows]`` (``rows`` a permutation's slice, always in range)."""
        # mode="clip": the indices are always valid; the default mode="raise"
        # copies through a buffer.
        return array.take(rows, axis=0, out=out, mode="clip")

    @staticmethod
    def positive(array):
        """``array > 0``, as a mask the arithmetic of this library can multiply by."""
        return array > 0

    @staticmethod
    def where_positive(array, positive: float, other: float):
        """``positive`` where ``array > 0``, ``other`` elsewhere, in ``array``'s dtype."""
        kind = array.dtype.type
        return np.where(array > 0, kind(positive), kind(other))

    @staticmethod
    def abs_max(array) -> float:
        """``max(|array|)`` (0 for an empty array) in two passes, without a copy."""
        # The ufuncs' reductions directly: what ``array.max(initial=0.0)`` runs.
        return max(
            float(np.maximum.reduce(array, axis=None, initial=0.0)),
            -float(np.minimum.reduce(array, axis=None, initial=0.0)),
        )

    @staticmethod
    def all_finite(array) -> bool:
        """Whether every value of ``array`` is finite."""
        return bool(np.isfinite(array).all())

    @staticmethod
    def concat_columns(arrays):
        """The arrays side by side."""
        return np.hstack(arrays)

    @staticmethod
    def argmax_rows(array):
        """The column of each row's largest value."""
        return np.argmax(array, axis=1)


#: The operations on NumPy arrays.
NUMPY = NumpyOps()


def _number(value) -> bool:
    """Whether ``value`` is a Python or NumPy number rather than an array."""
    return isinstance(value, (int, float, np.generic))


def _into(out, result):
    """``result`` written into ``out`` when given (the standard has no ``out=``)."""
    if out is None:
        return result
    out[...] = result
    return out


class ArrayAPIOps:
    """The operations of any library that follows the Array API standard.

    Parameters
    ----------
    xp : module
        The library's standard namespace (from ``array_api_compat``).
    """

    host = False

    def __init__(self, xp) -> None:
        self.xp = xp
        self.name = getattr(xp, "__name__", str(xp))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"

    def _device(self, like):
        return None if like is None else compat().device(like)

    # -- creation and movement -------------------------------------------- #
    def empty(self, shape, dtype, like=None):
        return self.xp.empty(shape, dtype=dtype, device=self._device(like))

    def zeros(self, shape, dtype, like=None):
        return self.xp.zeros(shape, dtype=dtype, device=self._device(like))

    def empty_like(self, array):
        return self.xp.empty_like(array)

    def zeros_like(self, array):
        return self.xp.zeros_like(array)

    def copy(self, array):
        return self.xp.asarray(array, copy=True)

    def astype(self, array, dtype):
        return self.xp.astype(array, dtype)

    def reshape(self, array, shape):
        return self.xp.reshape(array, shape, copy=False)

    def to_host(self, array) -> np.ndarray:
        if self.name.startswith("array_api_strict"):
            array = self.xp.asarray(array, device=self.xp.Device("CPU_DEVICE"))
            return np.from_dlpack(array)
        return np.asarray(compat().to_device(array, "cpu"))

    def from_host(self, array, like=None, dtype=None):
        array = np.ascontiguousarray(array)
        dtype = array.dtype if dtype is None else dtype
        if isinstance(dtype, (np.dtype, type)) and issubclass(np.dtype(dtype).type, np.generic):
            dtype = getattr(self.xp, np.dtype(dtype).name)  # a NumPy dtype: this library's
        return self.xp.asarray(array, dtype=dtype, device=self._device(like))

    def host_dtype(self, dtype) -> np.dtype:
        for name in ("float64", "float32", "int64", "int32", "bool"):
            if dtype == getattr(self.xp, name, None):
                return np.dtype(name)
        return np.dtype(dtype)  # a NumPy dtype already

    @staticmethod
    def scalar(value):
        """A cost stays a 0-d array on the device: no round trip per step."""
        return value

    def item(self, value) -> float:
        """A 0-d array read to the host (the only place a cost is read)."""
        return float(value)

    # -- products and reductions ----------------------------------------- #
    def matmul(self, a, b, out=None):
        return _into(out, a @ b)

    def add_reduce(self, a, axis=None, out=None, keepdims=False):
        return _into(out, self.xp.sum(a, axis=axis, keepdims=keepdims))

    def max_reduce(self, a, axis=None, out=None, keepdims=False):
        return _into(out, self.xp.max(a, axis=axis, keepdims=keepdims))

    def dot(self, a, b):
        return self.xp.vecdot(a, b)

    def vdot(self, a, b):
        """``sum(a * b)`` over every element, as one dot product of the flattened arrays."""
        xp = self.xp
        return xp.vecdot(xp.reshape(a, (-1,)), xp.reshape(b, (-1,)))

    def rowdot(self, a, b):
        return self.xp.vecdot(a, b, axis=-1)

    def add_scaled(self, target, source, scale: float) -> None:
        """``target += scale * source``."""
        target += scale * source

    # -- element-wise ---------------------------------------------------- #
    def exp(self, a, out=None):
        return _into(out, self.xp.exp(a))

    def log(self, a, out=None):
        return _into(out, self.xp.log(a))

    def log1p(self, a, out=None):
        return _into(out, self.xp.log1p(a))

    def expm1(self, a, out=None):
        return _into(out, self.xp.expm1(a))

    def supports(self, function: str) -> bool:
        """Whether the optional element-wise ``function`` (``'erf'``) is available."""
        return hasattr(self.xp, function)

    def erf(self, a, out=None):
        """The error function (not in the standard: only where the library has one)."""
        if not hasattr(self.xp, "erf"):
            raise ValueError(f"the array library {self.name!r} has no erf function")
        return _into(out, self.xp.erf(a))

    def tanh(self, a, out=None):
        return _into(out, self.xp.tanh(a))

    def sqrt(self, a, out=None):
        return _into(out, self.xp.sqrt(a))

    def square(self, a, out=None):
        return _into(out, a * a)

    def expit(self, a, out=None):
        xp = self.xp
        # 1 / (1 + exp(-|z|)) and its complement: no overflow on either side.
        e = xp.exp(-xp.abs(a))
        return _into(out, xp.where(a >= 0, 1 / (1 + e), e / (1 + e)))

    def xlogy(self, x, y, out=None):
        xp = self.xp
        # log(1) where x is 0: 0 log(anything) = 0 without a log(0) on the way.
        return _into(out, x * xp.log(xp.where(x == 0, xp.ones_like(y), y)))

    def multiply(self, a, b, out=None):
        return _into(out, a * b)

    def subtract(self, a, b, out=None):
        return _into(out, a - b)

    def divide(self, a, b, out=None):
        return _into(out, a / b)

    def maximum(self, a, b, out=None):
        return _into(out, self.xp.maximum(a, float(b) if _number(b) else b))

    def minimum(self, a, b, out=None):
        return _into(out, self.xp.minimum(a, float(b) if _number(b) else b))

    def logaddexp(self, a, b, out=None):
        xp = self.xp
        if _number(b):
            b = xp.full_like(a, float(b))
        elif _number(a):
            a = xp.full_like(b, float(a))
        return _into(out, xp.logaddexp(a, b))

    # -- composite ------------------------------------------------------- #
    def take_rows(self, array, rows, out):
        return _into(out, self.xp.take(array, rows, axis=0))

    def positive(self, array):
        return self.xp.astype(array > 0, array.dtype)

    def where_positive(self, array, positive: float, other: float):
        # other + (positive - other) * [a > 0]: exactly ``positive`` or ``other``
        # (1 and 0.01: 0.01 + 0.99 rounds to 1 in float32 and float64).
        values = self.xp.astype(array > 0, array.dtype)
        values *= positive - other
        values += other
        return values

    def abs_max(self, array) -> float:
        if 0 in tuple(array.shape):
            return 0.0
        return float(self.xp.max(self.xp.abs(array)))

    def all_finite(self, array) -> bool:
        return bool(self.xp.all(self.xp.isfinite(array)))

    def concat_columns(self, arrays):
        return self.xp.concat(arrays, axis=1)

    def argmax_rows(self, array):
        return self.xp.argmax(array, axis=1)


class TorchOps(ArrayAPIOps):
    """PyTorch: its ``out=`` forms where the standard has none."""

    def __init__(self, xp) -> None:
        super().__init__(xp)
        import torch

        self.torch = torch

    def matmul(self, a, b, out=None):
        return self.torch.matmul(a, b, out=out)

    def add_reduce(self, a, axis=None, out=None, keepdims=False):
        if axis is None:
            return _into(out, self.torch.sum(a))
        return self.torch.sum(a, dim=axis, keepdim=keepdims, out=out)

    def exp(self, a, out=None):
        return self.torch.exp(a, out=out)

    def supports(self, function: str) -> bool:
        return function == "erf" or super().supports(function)

    def erf(self, a, out=None):
        return self.torch.special.erf(a, out=out)

    def log(self, a, out=None):
        return self.torch.log(a, out=out)

    def tanh(self, a, out=None):
        return self.torch.tanh(a, out=out)

    def sqrt(self, a, out=None):
        return self.torch.sqrt(a, out=out)

    def square(self, a, out=None):
        return self.torch.mul(a, a, out=out)

    def expit(self, a, out=None):
        return self.torch.sigmoid(a, out=out)

    def xlogy(self, x, y, out=None):
        return self.torch.xlogy(x, y, out=out)

    def multiply(self, a, b, out=None):
        return self.torch.mul(a, b, out=out)

    def subtract(self, a, b, out=None):
        if _number(a):  # a number minus an array
            return self.torch.sub(b, a, out=out).neg_()
        return self.torch.sub(a, b, out=out)

    def divide(self, a, b, out=None):
        return self.torch.div(a, b, out=out)

    def maximum(self, a, b, out=None):
        if not _number(b):
            return self.torch.maximum(a, b, out=out)
        return self.torch.clamp_min(a, float(b), out=out)

    def minimum(self, a, b, out=None):
        if not _number(b):
            return self.torch.minimum(a, b, out=out)
        return self.torch.clamp_max(a, float(b), out=out)

    def take_rows(self, array, rows, out):
        return self.torch.index_select(array, 0, rows, out=out)

    def rowdot(self, a, b):
        return self.torch.einsum("ij,ij->i", a, b)

    def vdot(self, a, b):
        return self.torch.dot(a.reshape(-1), b.reshape(-1))

    def dot(self, a, b):
        return self.torch.dot(a, b)

    def add_scaled(self, target, source, scale: float) -> None:
        target.add_(source, alpha=scale)  # one pass, no temporary

    def positive(self, array):
        return array > 0  # PyTorch multiplies by boolean masks

    def to_host(self, array) -> np.ndarray:
        return array.detach().cpu().numpy()


#: NumPy ufuncs that CuPy mirrors with the same ``out=`` signature.
_CUPY_UFUNCS = (
    "matmul", "exp", "log", "tanh", "sqrt", "square", "multiply", "subtract", "divide",
    "maximum", "minimum",
)


class CuPyOps(ArrayAPIOps):
    """CuPy: NumPy's ``out=`` forms, which CuPy mirrors (its ufuncs are used directly)."""

    def __init__(self, xp) -> None:
        super().__init__(xp)
        import cupy

        self.cp = cupy
        for name in _CUPY_UFUNCS:
            setattr(self, name, getattr(cupy, name))

    def add_reduce(self, a, axis=None, out=None, keepdims=False):
        return self.cp.sum(a, axis=axis, out=out, keepdims=keepdims)

    def take_rows(self, array, rows, out):
        return self.cp.take(array, rows, axis=0, out=out)

    def to_host(self, array) -> np.ndarray:
        return array.get()


_BY_TYPE: dict[type, Any] = {np.ndarray: NUMPY}

#: Top-level modules of array libraries that ``array-api-compat`` wraps
#: without an ``__array_namespace__`` method on their arrays.
_WRAPPED_LIBRARIES = frozenset({"torch", "cupy", "jax", "jaxlib", "dask", "sparse", "ndonnx"})


def compat():
    """The ``array_api_compat`` module, or an ImportError naming the extra that installs it."""
    try:
        import array_api_compat
    except ImportError as exc:
        raise ImportError(
            "Arrays of libraries other than NumPy (PyTorch, CuPy, array-api-strict, ...) need "
            "the package array-api-compat, which is not installed. Install it with the "
            "'array-api' extra: pip install 'skbackprop[array-api]' (or pip install "
            "array-api-compat), or pass NumPy arrays."
        ) from exc
    return array_api_compat


def _library_array(array) -> bool:
    """Whether ``array`` is an array of an array library other than NumPy.

    Such arrays name their namespace (``__array_namespace__``) or come from a
    library ``array-api-compat`` wraps. Anything else with a ``shape`` (a
    DataFrame, the dask path's chunked data) is no library's array: NumPy
    converts it, and ``array-api-compat`` is not needed.
    """
    if hasattr(array, "__array_namespace__"):
        return True
    return type(array).__module__.partition(".")[0] in _WRAPPED_LIBRARIES


def _ops_for_namespace(xp):
    name = getattr(xp, "__name__", "")
    if name.startswith("jax"):
        raise TypeError(
            "JAX arrays are immutable, and the network trains its weights in place; "
            "use NumPy, PyTorch, CuPy or another library with mutable arrays."
        )
    if name == "array_api_compat.numpy" or xp is np:
        return NUMPY
    if name == "array_api_compat.torch":
        return TorchOps(xp)
    if name == "array_api_compat.cupy":
        return CuPyOps(xp)
    return ArrayAPIOps(xp)


def ops_of(array):
    """The operations for ``array`` (NumPy's for NumPy arrays, sparse matrices, array-likes).

    Raises
    ------
    ImportError
        For an array of another library when ``array-api-compat`` is not installed.
    """
    ops = _BY_TYPE.get(type(array))
    if ops is not None:
        return ops
    if isinstance(array, np.ndarray) or sp.issparse(array) or not hasattr(array, "shape"):
        return NUMPY
    if not _library_array(array):
        ops = NUMPY
    else:
        try:
            namespace = compat().array_namespace(array)
        except TypeError:  # not an array of a library it knows: NumPy's
            namespace = np
        ops = _ops_for_namespace(namespace)
    _BY_TYPE[type(array)] = ops
    return ops


def device_of(array):
    """The device of an array of any library (``'cpu'`` for NumPy arrays)."""
    if ops_of(array).host:
        return "cpu"
    return compat().device(array)


def same_place(a, b) -> bool:
    """Whether ``a`` and ``b`` are arrays of the same library on the same device."""
    ops_a, ops_b = ops_of(a), ops_of(b)
    if ops_a is not ops_b:
        return False
    if ops_a.host:
        return True
    return device_of(a) == device_of(b)
