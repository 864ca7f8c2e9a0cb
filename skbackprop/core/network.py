"""The numerical core: initialisation, forward pass and backpropagation.

Pure arrays in, arrays out. Nothing here imports scikit-learn or stores
estimator state; randomness comes from an explicit ``numpy.random.Generator``.

Layout (row-major batches, as scikit-learn's MLP)::

    A0 = X                                  (m samples x n features)
    Zl = A(l-1) @ Wl + bl                   Wl: (units in l-1, units in l)
    Al = f_l(Zl)

Backpropagation, the four equations::

    D_L    = dC/dA_L (.) f'_L(Z_L)          (output delta, see core/losses.py)
    D_l    = (D_(l+1) @ W_(l+1).T) (.) f'_l(Z_l)
    dC/dWl = A(l-1).T @ D_l  (+ alpha * Wl / W)
    dC/dbl = sum over rows of D_l

All parameters live in one flat vector; ``coefs`` and ``intercepts`` are views
into it, and so are the gradients. An optimizer then updates every parameter
in a handful of whole-array passes, and L-BFGS gets its flat vector for free.

Speed (see docs/performance.rst): activations and deltas live in buffers
reused from batch to batch, the matrix products write into them, products read
transposed views directly, and the cost is computed from the buffers the output
delta uses anyway. What still allocates per step: a
temporary the size of a layer in the derivatives of sigmoid, tanh, ReLU (on
the NumPy path; where numba is loaded, a hidden ReLU layer's passes are
compiled, see ``core/kernels/layers.py``) and leaky ReLU and in the forward
leaky ReLU (one or two in both passes of the
smooth activations built on ``exp`` or ``erf``), the binary cross-entropy's ``log1p``
term, and the rows and products of a sparse batch (the rows of a shuffled
dense batch are gathered into reused buffers, see ``training.loop.Batches``). The
hot path calls the ufuncs and their reductions directly (``np.add.reduce``
rather than ``np.sum``): the same computations without the Python wrappers,
which cost more than the arithmetic on small batches.
Batches larger than ``CHUNK_ROWS`` rows (full-batch L-BFGS, prediction) are
processed in blocks whose gradients are summed, so memory stays bounded and
the element-wise passes run in cache.

The cost is not part of the network: it is an argument of
:meth:`Network.loss_and_grad`, chosen where training is set up. Prediction
needs only the architecture.

The arrays may belong to any library of the Array API standard: every method
takes the operations layer of its parameters (``core.ops.ops_of``), whose NumPy
form is NumPy's own functions. Starting weights are always drawn by NumPy's
generator on the host and then moved, so every library starts from the same
weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from . import kernels
from .activations import ACTIVATIONS, relu, relu_derivative
from .losses import _total_weight, loss_and_output_delta
from .ops import NUMPY, device_of, ops_of

Params = list[np.ndarray]

#: Batches with more rows than this are processed in blocks of this many rows.
CHUNK_ROWS = 2048


#: Entries per block of the element-wise passes that go through a work vector.
BLOCK = 32768

#: Most row counts whose work-buffer views :meth:`Network._workspace` keeps.
MAX_VIEWS = 4


def _add_scaled(targets, sources, scale: float, block: np.ndarray | None) -> None:
    """``targets[i] += scale * sources[i]`` without a temporary the size of the arrays.

    The product goes through ``block`` piece by piece (which also keeps it in
    cache); arrays that are not contiguous fall back to a plain expression.
    Every path computes the same rounded product ``scale * src`` and adds it,
    so the results do not depend on the path. Arrays of other libraries
    (``block`` None) take the plain expression.
    """
    if block is None:
        for src, dst in zip(sources, targets, strict=True):
            ops_of(dst).add_scaled(dst, src, scale)
        return
    n = block.shape[0]
    for src, dst in zip(sources, targets, strict=True):
        if not (src.flags.c_contiguous and dst.flags.c_contiguous):
            dst += scale * src
            continue
        size = dst.size
        if size <= n and size < kernels.MIN_PARAMS:
            # The common case of a small network: one block, no reshaping.
            dst += np.multiply(src, scale, out=block[:size].reshape(src.shape))
            continue
        flat_src, flat_dst = src.reshape(-1), dst.reshape(-1)
        if kernels.use_for(flat_dst):
            kernels.add_scaled(flat_dst, flat_src, scale)
            continue
        for start in range(0, flat_dst.shape[0], n):
            piece = flat_src[start : start + n]
            flat_dst[start : start + n] += np.multiply(piece, scale, out=block[: piece.shape[0]])


def _fusable(dtype, *arrays) -> bool:
    """Whether a fused layer kernel (``kernels.fused_layers``) takes these NumPy arrays.

    C-ordered arrays of ``dtype`` (the parameters', which the kernels took):
    the kernels are compiled for that layout only, so a strided view would
    cost a new compilation.
    """
    return all(a.flags.c_contiguous and a.dtype == dtype for a in arrays)


def abs_max(array: np.ndarray) -> float:
    """``max(|array|)`` in two passes, without the copy that ``np.abs`` makes."""
    return ops_of(array).abs_max(array)


def _chunk_rows(X) -> int:
    """Rows per block for ``X``: ``CHUNK_ROWS``, or all rows where slicing rows is costly."""
    if sp.issparse(X) and X.format != "csr":
        return X.shape[0]
    return CHUNK_ROWS


# --------------------------------------------------------------------------- #
# Initialisation schemes: name -> (fan_in, fan_out, rng) -> (W, b), the
# signature of a user's ``weight_init`` callable.
# --------------------------------------------------------------------------- #
def _glorot_uniform(fan_in, fan_out, rng, factor=6.0):
    # Glorot & Bengio (2010).
    bound = np.sqrt(factor / (fan_in + fan_out))
    return (
        rng.uniform(-bound, bound, (fan_in, fan_out)),
        rng.uniform(-bound, bound, fan_out),
    )


def _glorot_uniform_sigmoid(fan_in, fan_out, rng):
    # A bound sqrt(3) times smaller for sigmoid layers, as recommended in
    # Glorot & Bengio (2010) and as scikit-learn does.
    return _glorot_uniform(fan_in, fan_out, rng, factor=2.0)


def _glorot_normal(fan_in, fan_out, rng):
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(0.0, std, (fan_in, fan_out)), np.zeros(fan_out)


def _he_normal(fan_in, fan_out, rng):
    # He et al. (2015), designed for ReLU units.
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)), np.zeros(fan_out)


def _he_uniform(fan_in, fan_out, rng):
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, (fan_in, fan_out)), np.zeros(fan_out)


def _normal(fan_in, fan_out, rng):
    # The seeds' reference network: standard normal weights and biases.
    return rng.standard_normal((fan_in, fan_out)), rng.standard_normal(fan_out)


def _normal_scaled(fan_in, fan_out, rng):
    # The reference network's improved scheme: N(0, 1/fan_in) weights.
    return (
        rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in),
        rng.standard_normal(fan_out),
    )


def _uniform(fan_in, fan_out, rng):
    # The seeds' textbook recipe: weights and biases drawn in (0, 1).
    return rng.uniform(0.0, 1.0, (fan_in, fan_out)), rng.uniform(0.0, 1.0, fan_out)


Initializer = Callable[[int, int, np.random.Generator], tuple[np.ndarray, np.ndarray]]

#: name -> initialiser; the single list of valid ``weight_init`` strings.
INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": _glorot_uniform,
    "glorot_normal": _glorot_normal,
    "he_normal": _he_normal,
    "he_uniform": _he_uniform,
    "normal": _normal,
    "normal_scaled": _normal_scaled,
    "uniform": _uniform,
}


#: Schemes with a variant for sigmoid layers: name -> that variant.
SIGMOID_VARIANTS: dict[str, Initializer] = {"glorot_uniform": _glorot_uniform_sigmoid}


def resolve_init(weight_init: str | Callable) -> str | Callable:
    """The scheme behind ``'auto'``: Glorot-uniform for every activation.

    Glorot-uniform (with the sigmoid-specific bound) is what scikit-learn's MLP
    draws, so 'auto' keeps the two libraries comparable and trains well for the
    default depths; He initialisation is available by name for deep ReLU nets.
    """
    if weight_init == "auto":
        return "glorot_uniform"
    return weight_init


def _place(array) -> tuple:
    """A key for the dtype, library and device of ``array`` (work buffers are kept per key).

    Strings only: the optimizer's key, which holds it, is saved with the model.
    NumPy's dtype by its one-letter code ('d', 'f'): ``dtype.name`` costs
    microseconds, and buffers are looked up at every step.
    """
    if isinstance(array, np.ndarray):
        return (array.dtype.char,)
    kind = type(array)
    device = str(device_of(array))
    return (f"{kind.__module__}.{kind.__qualname__}", str(array.dtype), device)


class DropoutMasks:
    """Inverted dropout masks of one batch: which hidden units each sample keeps.

    ``masks[l]`` is None (hidden layer ``l`` keeps every unit) or an array of
    shape ``(m, units)`` holding 0 for a dropped unit and ``1 / (1 - p)`` for
    a kept one, ``p`` the layer's dropout rate: the kept outputs are scaled
    up during training so that their expected value is the output of the
    whole layer, and predictions use the whole network unscaled. The masked
    outputs are new arrays kept by this object (one batch's masks are used
    once); the unmasked activations stay where the network keeps them (their
    derivatives need them).
    """

    def __init__(self, masks: Sequence[np.ndarray | None]) -> None:
        self.masks = list(masks)
        self._outputs: list = [None] * len(self.masks)

    @classmethod
    def draw(cls, rates: Sequence[float], n_rows: int, units: Sequence[int], rng, like) -> DropoutMasks:
        """New masks for ``n_rows`` samples: each unit kept with probability ``1 - rate``.

        Drawn on the host by ``rng`` (so every array library gets the same
        masks) and moved to the library, device and dtype of ``like``.
        """
        ops = ops_of(like)
        dtype = ops.host_dtype(like.dtype)
        masks = []
        for rate, n_units in zip(rates, units, strict=True):
            if rate == 0:
                masks.append(None)
                continue
            mask = (rng.random((n_rows, n_units)) >= rate).astype(dtype)
            mask *= dtype.type(1.0 / (1.0 - rate))
            masks.append(mask if ops.host else ops.from_host(mask, like, like.dtype))
        return cls(masks)

    def rows(self, rows: slice) -> DropoutMasks:
        """The masks of the rows ``rows`` (a block of the batch)."""
        return DropoutMasks([None if M is None else M[rows, ...] for M in self.masks])

    def apply(self, layer: int, A, ops):
        """Hidden layer ``layer``'s output as the next layer sees it: ``A * M``."""
        M = self.masks[layer]
        if M is None:
            return A
        out = self._outputs[layer] = ops.multiply(A, M)
        return out

    def outputs(self, activations: list) -> list:
        """The layers' outputs as the next layers saw them (masked where masked)."""
        return [
            A if i >= len(self.masks) or self.masks[i] is None else self._outputs[i]
            for i, A in enumerate(activations)
        ]

    def backward(self, layer: int, delta, ops) -> None:
        """Multiply the error arriving at hidden layer ``layer`` by its mask, in place."""
        M = self.masks[layer]
        if M is not None:
            ops.multiply(delta, M, out=delta)


class Network:
    """A fully connected feed-forward network: structure and work buffers.

    Parameters
    ----------
    layer_units : sequence of int
        Units per layer, input first and output last.
    activation : str
        Hidden activation (a key of ``ACTIVATIONS``).
    out_activation : str
        Output activation.

    The cost is not part of the network: :meth:`loss_and_grad` takes it.
    """

    def __init__(self, layer_units: Sequence[int], activation: str, out_activation: str) -> None:
        self.layer_units = [int(u) for u in layer_units]
        self.activation = activation
        self.out_activation = out_activation
        shapes = []
        for fan_in, fan_out in zip(self.layer_units[:-1], self.layer_units[1:], strict=True):
            shapes.append((fan_in, fan_out))
        self.coef_shapes = shapes
        offsets = [0]
        for fan_in, fan_out in shapes:
            offsets.append(offsets[-1] + fan_in * fan_out)
        self._coef_offsets = offsets
        ioffsets = [offsets[-1]]
        for _, fan_out in shapes:
            ioffsets.append(ioffsets[-1] + fan_out)
        self._intercept_offsets = ioffsets
        self.n_params = ioffsets[-1]
        self._buffers: dict = {}

    @property
    def n_coefs(self) -> int:
        """Entries of the weight matrices, the head of the flat vector (the intercepts follow)."""
        return self._coef_offsets[-1]

    # ------------------------------------------------------------------ #
    # Parameter packing
    # ------------------------------------------------------------------ #
    def unpack(self, flat: np.ndarray) -> tuple[Params, Params]:
        """Views of ``flat`` shaped as ``(coefs, intercepts)``."""
        co, io = self._coef_offsets, self._intercept_offsets
        reshape = ops_of(flat).reshape
        coefs = [reshape(flat[co[i] : co[i + 1]], shape) for i, shape in enumerate(self.coef_shapes)]
        intercepts = [flat[io[i] : io[i + 1]] for i in range(len(self.coef_shapes))]
        return coefs, intercepts

    def pack(
        self, coefs: Sequence[np.ndarray], intercepts: Sequence[np.ndarray], dtype, like=None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Copy ``coefs`` and ``intercepts`` into a new flat vector of ``dtype`` (or into ``out``).

        The vector belongs to the library and device of ``like`` (NumPy when
        None); parameters of another library are moved there. ``out``: a
        vector of ``n_params`` entries of ``dtype`` in that library to fill
        instead of a new one.
        """
        ops = NUMPY if like is None else ops_of(like)
        flat = ops.empty(self.n_params, dtype, like) if out is None else out
        flat_coefs, flat_intercepts = self.unpack(flat)
        for dst, src in zip(flat_coefs + flat_intercepts, list(coefs) + list(intercepts), strict=True):
            if ops_of(src) is not ops:
                src = ops.from_host(ops_of(src).to_host(src), like, dtype)
            dst[...] = src
        return flat

    def init_params(
        self,
        weight_init: str | Callable,
        rng: np.random.Generator,
        dtype=np.float64,
        like=None,
    ) -> np.ndarray:
        """Draw starting weights with the named scheme (or a callable).

        A callable is called as ``weight_init(fan_in, fan_out, rng)`` for each
        layer and must return ``(W, b)`` of shapes ``(fan_in, fan_out)`` and
        ``(fan_out,)``. The weights are drawn on the host and moved to the
        library and device of ``like`` (see :meth:`pack`).
        """
        weight_init = resolve_init(weight_init)
        coefs, intercepts = [], []
        for i, (fan_in, fan_out) in enumerate(self.coef_shapes):
            layer_activation = self.out_activation if i == len(self.coef_shapes) - 1 else self.activation
            if callable(weight_init):
                W, b = weight_init(fan_in, fan_out, rng)
                W, b = ops_of(W).to_host(W), ops_of(b).to_host(b)
                if W.shape != (fan_in, fan_out) or b.shape != (fan_out,):
                    raise ValueError(
                        f"weight_init callable returned shapes {W.shape} and {b.shape} for "
                        f"layer {i}; expected {(fan_in, fan_out)} and {(fan_out,)}."
                    )
            else:
                table = SIGMOID_VARIANTS if layer_activation == "sigmoid" else {}
                W, b = table.get(weight_init, INITIALIZERS[weight_init])(fan_in, fan_out, rng)
            coefs.append(W)
            intercepts.append(b)
        if like is None:
            return self.pack(coefs, intercepts, dtype)
        ops = ops_of(like)
        host = self.pack(coefs, intercepts, ops.host_dtype(dtype))
        return ops.from_host(host, like, dtype)  # one transfer

    # ------------------------------------------------------------------ #
    # Buffers
    # ------------------------------------------------------------------ #
    def _workspace(self, n_rows: int, like) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Activation and delta buffers for ``n_rows`` rows, reused across calls.

        The buffers have room for the most rows asked for so far. The lists of
        their first ``n_rows`` rows are kept as well (training asks for the
        same one or two row counts at every step), so that a repeated call
        makes no new views; callers must not modify the lists. The buffers
        have the dtype, library and device of ``like`` (a parameter array).
        """
        key = _place(like)
        views = self._buffers.get(("views", key, n_rows))
        if views is not None:
            return views
        cached = self._buffers.get(("work", key))
        if cached is None or cached[0] < n_rows:
            ops, dtype = ops_of(like), like.dtype
            acts = [ops.empty((n_rows, u), dtype, like) for u in self.layer_units[1:]]
            deltas = [ops.empty((n_rows, u), dtype, like) for u in self.layer_units[1:]]
            cached = (n_rows, acts, deltas)
            self._buffers[("work", key)] = cached
            self._forget_views()  # views of the replaced buffers
        elif sum(1 for k in self._buffers if k[0] == "views") >= MAX_VIEWS:
            self._forget_views()
        _, acts, deltas = cached
        views = [a[:n_rows, ...] for a in acts], [d[:n_rows, ...] for d in deltas]
        self._buffers[("views", key, n_rows)] = views
        return views

    def _pre_activations(self, n_rows: int, like) -> list[np.ndarray]:
        """Buffers for the hidden pre-activations of ``n_rows`` rows, reused across calls.

        Only hidden activations whose derivative reads ``z`` ask for them.
        """
        key = ("z", _place(like))
        cached = self._buffers.get(key)
        if cached is None or cached[0] < n_rows:
            ops = ops_of(like)
            cached = (n_rows, [ops.empty((n_rows, u), like.dtype, like)
                               for u in self.layer_units[1:-1]])
            self._buffers[key] = cached
        return [z[:n_rows, ...] for z in cached[1]]

    def _forget_views(self) -> None:
        """Drop the views kept by :meth:`_workspace`."""
        for k in [k for k in self._buffers if k[0] == "views"]:
            del self._buffers[k]

    def _scratch(self, like) -> np.ndarray:
        """A flat work vector of ``n_params`` entries (partial gradients) like ``like``."""
        key = ("scratch", _place(like))
        scratch = self._buffers.get(key)
        if scratch is None:
            ops = ops_of(like)
            scratch = self._buffers[key] = ops.empty(self.n_params, like.dtype, like)
        return scratch

    def _block(self, like) -> np.ndarray | None:
        """A small NumPy work vector of ``BLOCK`` entries, reused across calls.

        None for the arrays of other libraries (see :func:`_add_scaled`).
        """
        if not isinstance(like, np.ndarray):
            return None
        key = ("block", like.dtype)
        block = self._buffers.get(key)
        if block is None:
            block = self._buffers[key] = np.empty(BLOCK, dtype=like.dtype)
        return block

    def release(self) -> None:
        """Drop the work buffers (for instance before pickling)."""
        self._buffers = {}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_buffers"] = {}
        return state

    # ------------------------------------------------------------------ #
    # Forward and backward
    # ------------------------------------------------------------------ #
    def forward(
        self,
        X,
        coefs: Sequence[np.ndarray],
        intercepts: Sequence[np.ndarray],
        activations: list[np.ndarray] | None = None,
        out_activation: str | None = None,
        dropout: DropoutMasks | None = None,
        pre_activations: list[np.ndarray] | None = None,
    ) -> list[np.ndarray]:
        """Forward pass. Returns ``[A1, ..., AL]`` (``A0 = X`` is not copied).

        ``activations`` are buffers to write into; new arrays are allocated when
        None. ``out_activation`` replaces the output activation (``'identity'``
        gives the output layer's pre-activation ``Z_L``). With ``dropout``, each
        hidden layer passes ``Al * Ml`` on to the next (see :class:`DropoutMasks`);
        the returned ``Al`` are not masked. ``pre_activations`` (buffers of the
        hidden layers, or None) receive a copy of each hidden ``Zl`` before
        its activation: the derivatives that read ``z`` need them.
        """
        ops = ops_of(coefs[0])
        if activations is None:
            W = coefs[0]
            activations = [ops.empty((X.shape[0], u), W.dtype, W) for u in self.layer_units[1:]]
        hidden = ACTIVATIONS[self.activation].forward
        output = ACTIVATIONS[out_activation or self.out_activation].forward
        last = len(coefs) - 1
        # Hidden ReLU layers: the bias and max(z, 0) in one compiled pass where loaded.
        fuse = hidden is relu and pre_activations is None
        layers = kernels.fused_layers(coefs[0]) if fuse else None
        A = X
        for i in range(last + 1):
            Z = activations[i]
            if i == 0 and sp.issparse(A):  # only the input can be sparse
                Z[...] = A @ coefs[0]
            else:
                ops.matmul(A, coefs[i], out=Z)
            if layers is not None and i < last and _fusable(coefs[0].dtype, Z, intercepts[i]):
                layers.bias_relu(Z, intercepts[i], kernels.unit_scalars(Z.dtype)[0])
                A = Z if dropout is None else dropout.apply(i, Z, ops)
                continue
            Z += intercepts[i]
            if pre_activations is not None and i < last:
                pre_activations[i][...] = Z
            (output if i == last else hidden)(Z, ops)
            A = Z if dropout is None or i == last else dropout.apply(i, Z, ops)
        return activations

    def output(
        self,
        X,
        coefs: Sequence[np.ndarray],
        intercepts: Sequence[np.ndarray],
        out_activation: str | None = None,
    ) -> np.ndarray:
        """The network's output ``A_L`` for ``X``, computed in blocks of rows.

        Only the output is allocated in full; the hidden layers live in
        buffers of at most ``CHUNK_ROWS`` rows, so memory does not grow with
        the hidden sizes times ``n_samples`` and the element-wise work stays
        in cache. ``out_activation`` is as in :meth:`forward`.
        """
        W = coefs[0]
        ops, dtype = ops_of(W), W.dtype
        n = X.shape[0]
        out = ops.empty((n, self.layer_units[-1]), dtype, W)
        chunk = _chunk_rows(X)
        if chunk >= n:
            buffers = [ops.empty((n, u), dtype, W) for u in self.layer_units[1:-1]]
            return self.forward(X, coefs, intercepts, [*buffers, out], out_activation)[-1]
        buffers = [ops.empty((chunk, u), dtype, W) for u in self.layer_units[1:-1]]
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            rows = stop - start
            self.forward(
                X[start:stop, ...], coefs, intercepts,
                [b[:rows, ...] for b in buffers] + [out[start:stop, ...]], out_activation,
            )
        return out

    def outputs_finite(self, X, coefs: Sequence[np.ndarray], intercepts: Sequence[np.ndarray]) -> bool:
        """Whether the outputs for every row of ``X`` (finite inputs) are finite.

        Usually decided without a forward pass, from a bound on the
        pre-activations: ``|Z_l| <= fan_in * max|W_l| * max|A_(l-1)| + max|b_l|``,
        where sigmoid and tanh units bring the bound back to 1. Only when the
        bound of some layer comes near overflow are the outputs computed and
        looked at: a product that overflows can give ``inf - inf = NaN``
        (whether it does depends on the BLAS kernel's order of summation),
        and no activation makes a NaN finite again.
        """
        ops = ops_of(coefs[0])
        safe = float(np.finfo(ops.host_dtype(coefs[0].dtype)).max) / 16
        bound = abs_max(X.data if sp.issparse(X) else X)
        for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
            bound = W.shape[0] * abs_max(W) * bound + abs_max(b)
            if not bound < safe:  # also inf and NaN
                break
            limit = ACTIVATIONS[self.activation].bound
            if i < len(coefs) - 1 and limit is not None:
                bound = min(bound, limit)
        else:  # every output activation is finite where its input is (exp caps it)
            return True
        with np.errstate(over="ignore", invalid="ignore"):
            return ops.all_finite(self.output(X, coefs, intercepts))

    def loss_and_grad(
        self,
        X,
        Y: np.ndarray,
        coefs: Sequence[np.ndarray],
        intercepts: Sequence[np.ndarray],
        coef_grads: Sequence[np.ndarray],
        intercept_grads: Sequence[np.ndarray],
        loss: str,
        alpha: float = 0.0,
        sample_weight: np.ndarray | None = None,
        weight_sum: float | None = None,
        dropout: DropoutMasks | None = None,
        penalty_gradient: bool = True,
    ) -> float:
        """Cost of a batch and its gradient, written into ``coef_grads`` / ``intercept_grads``.

        Parameters
        ----------
        X : ndarray or sparse matrix of shape (m, n_features)
            The batch.
        Y : ndarray of shape (m, n_outputs)
            Targets, already encoded (one-hot for classes).
        coefs, intercepts : list of ndarray
            Parameters, ``coefs[i]`` of shape ``(fan_in, fan_out)``.
        coef_grads, intercept_grads : list of ndarray
            Buffers of the same shapes that receive the gradient.
        loss : {'squared_error', 'cross_entropy', 'poisson'}
            The cost (it must suit the output activation, see ``core.losses.COSTS``).
        alpha : float
            L2 penalty; adds ``alpha / (2 W) * sum ||Wl||^2`` to the cost.
        sample_weight : ndarray of shape (m,) or None
            Per-sample weights; the cost is their weighted mean.
        weight_sum : float or None
            ``sum(sample_weight)`` (or ``m``) when the caller knows it, which
            spares a device round trip on other libraries.
        dropout : DropoutMasks or None
            The batch's dropout masks (None: the whole network).
        penalty_gradient : bool, default=True
            Whether to add the penalty's gradient ``(alpha / W) * Wl`` to
            ``coef_grads``. False leaves it to the caller (an optimizer whose
            update adds it within its own passes, see ``fuses_decay`` in
            ``core/optimizers.py``); the returned cost includes the penalty
            either way.

        Returns
        -------
        float
            The cost of the batch, penalty included (a 0-d array where the
            operations layer keeps costs on a device).

        Notes
        -----
        Batches of more than ``CHUNK_ROWS`` rows (full-batch L-BFGS) go in
        blocks whose gradients are added up: the same sum, in small buffers.
        """
        ops = ops_of(coefs[0])
        if weight_sum is None:
            weight_sum = float(_total_weight(Y, sample_weight, ops))
        params, grads = (coefs, intercepts), (coef_grads, intercept_grads)
        whole = X.shape[0] <= CHUNK_ROWS or _chunk_rows(X) >= X.shape[0]
        backprop = self._backprop if whole else self._backprop_in_blocks
        value = backprop(X, Y, sample_weight, params, grads, loss, weight_sum, dropout)
        if alpha:
            value += self.add_penalty(coefs, coef_grads, alpha, weight_sum, penalty_gradient)
        return value

    def add_penalty(self, coefs, coef_grads, alpha: float, weight_sum: float, gradient=True):
        """Add the L2 penalty's gradient ``(alpha / W) * Wl`` to ``coef_grads``; return the penalty.

        The penalty is ``alpha / (2 W) * sum ||Wl||^2``, ``W`` the total sample
        weight of the cost it is added to. ``gradient=False``: only the penalty.
        """
        ops = ops_of(coefs[0])
        scale = alpha / weight_sum
        penalty = 0.5 * scale * sum([ops.scalar(ops.vdot(W, W)) for W in coefs])
        if gradient:
            _add_scaled(coef_grads, coefs, scale, self._block(coefs[0]))
        return penalty

    def trace(
        self,
        X,
        Y: np.ndarray,
        coefs: Sequence[np.ndarray],
        intercepts: Sequence[np.ndarray],
        loss: str,
        alpha: float = 0.0,
        sample_weight: np.ndarray | None = None,
    ) -> dict:
        """One forward and backward pass over the whole batch, keeping every intermediate.

        The pass is the one training takes (:meth:`_backprop`, then the
        penalty), over all the rows at once. Returns a dict of new arrays:
        ``z``, ``activations`` and ``deltas`` (one ``(m, units)`` array per
        layer after the input), ``coef_grads`` and ``intercept_grads`` (the
        shapes of the parameters), and ``loss`` (a float, penalty included).
        """
        ops = ops_of(coefs[0])
        weight_sum = float(_total_weight(Y, sample_weight, ops))
        coef_grads = [ops.empty_like(W) for W in coefs]
        intercept_grads = [ops.empty_like(b) for b in intercepts]
        grads = (coef_grads, intercept_grads)
        value = self._backprop(X, Y, sample_weight, (coefs, intercepts), grads, loss, weight_sum)
        if alpha:
            value += self.add_penalty(coefs, coef_grads, alpha, weight_sum)
        activations, deltas = self._workspace(X.shape[0], coefs[0])
        activations = [ops.copy(A) for A in activations]
        deltas = [ops.copy(D) for D in deltas]
        # The pre-activations again: the forward pass overwrote them in place.
        inputs = [X, *activations[:-1]]
        z = [inputs[i] @ W + b for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True))]
        return {
            "z": z, "activations": activations, "deltas": deltas, "coef_grads": coef_grads,
            "intercept_grads": intercept_grads, "loss": ops.item(value),
        }

    def _backprop_in_blocks(
        self, X, Y, sample_weight, params, grads, loss, weight_sum, dropout=None
    ) -> float:
        """:meth:`_backprop` over blocks of ``CHUNK_ROWS`` rows, gradients added up."""
        chunk = _chunk_rows(X)
        partial = self.unpack(self._scratch(params[0][0]))
        value = 0.0
        for start in range(0, X.shape[0], chunk):
            rows = slice(start, start + chunk)
            sw = None if sample_weight is None else sample_weight[rows]
            masks = None if dropout is None else dropout.rows(rows)
            first = start == 0
            value += self._backprop(
                X[rows, ...], Y[rows, ...], sw, params, grads if first else partial, loss,
                weight_sum, masks,
            )
            if not first:
                for total, part in zip([*grads[0], *grads[1]], [*partial[0], *partial[1]], strict=True):
                    total += part
        return value

    def _backprop(
        self, X, Y, sample_weight, params, grads, loss, weight_sum, dropout=None
    ) -> float:
        """Forward and backward pass over the rows of ``X``, without the penalty.

        Both the cost and the gradients are divided by ``weight_sum`` (the
        weight of the whole batch when ``X`` is one block of it). With
        ``dropout``, the pass of the thinned network: each hidden layer's
        masked output feeds the next layer and its weight gradient, and the
        mask multiplies the delta coming back (BP2 with ``Al * Ml`` in place
        of ``Al``).
        """
        (coefs, intercepts), (coef_grads, intercept_grads) = params, grads
        ops = ops_of(coefs[0])
        activations, deltas = self._workspace(X.shape[0], coefs[0])
        hidden = ACTIVATIONS[self.activation]
        # Derivatives from z read a copy of the hidden pre-activations; the
        # others read the activations the forward pass left in place.
        slopes_from = self._pre_activations(X.shape[0], coefs[0]) if hidden.from_z else activations
        self.forward(X, coefs, intercepts, activations, dropout=dropout,
                     pre_activations=slopes_from if hidden.from_z else None)
        inputs = activations if dropout is None else dropout.outputs(activations)
        last = len(coefs) - 1
        value = loss_and_output_delta(
            loss, self.out_activation, Y, activations[last], deltas[last], sample_weight,
            weight_sum, ops,
        )
        hidden_derivative = hidden.derivative
        # Hidden ReLU layers: the mask and the bias gradient's column sums in one
        # compiled pass where loaded; ``summed`` says the sums of D_i are done.
        layers = kernels.fused_layers(coefs[0]) if hidden_derivative is relu_derivative else None
        summed = False
        for i in range(last, -1, -1):
            D = deltas[i]
            if i > 0:
                # A transposed view: BLAS reads it in place, no copy.
                ops.matmul(inputs[i - 1].T, D, out=coef_grads[i])
            elif sp.issparse(X):  # only the input can be sparse
                coef_grads[0][...] = X.T @ D
            else:
                ops.matmul(X.T, D, out=coef_grads[0])
            if not summed:
                # np.sum(D, axis=0, out=...) without its Python wrapper.
                ops.add_reduce(D, axis=0, out=intercept_grads[i])
            summed = False
            if i > 0:
                D_prev = deltas[i - 1]
                ops.matmul(D, coefs[i].T, out=D_prev)
                if dropout is not None:
                    dropout.backward(i - 1, D_prev, ops)
                A_prev, sums = slopes_from[i - 1], intercept_grads[i - 1]
                if layers is not None and _fusable(coefs[0].dtype, D_prev, sums, A_prev):
                    # D_(i-1) is not changed again before its column sums were due.
                    layers.relu_delta_sums(D_prev, A_prev, sums, *kernels.unit_scalars(D_prev.dtype))
                    summed = True
                else:
                    hidden_derivative(A_prev, D_prev, ops)
        return value
