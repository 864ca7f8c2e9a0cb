"""The element-wise passes of a hidden ReLU layer, each fused into one compiled pass (numba).

On the NumPy path a hidden ReLU layer of the step costs four element-wise
passes over its ``(m, units)`` values besides the matrix products: the bias
added to the product, ``max(z, 0)`` (forward), the mask ``a > 0`` built and
multiplied into the delta, and the delta's column sums, the bias gradient
(backward). Right after a product the values are in the caches of the BLAS
threads that wrote them, and each pass pays to bring them back. The kernels
here take them in two passes:

- :func:`bias_relu`: ``Z = max(Z + b, 0)``, what ``Z += b`` then
  ``np.maximum(Z, 0.0, out=Z)`` compute;
- :func:`relu_delta_sums`: ``D *= (A > 0)`` and ``out = D.sum(axis=0)``, what
  ``np.multiply(D, A > 0, out=D)`` then ``np.add.reduce(D, axis=0, out=out)``
  compute.

Each performs the NumPy operations in the same order, so the results are equal
bit for bit (the tests check it): the sum ``z + b`` rounded once; ``np.maximum``
keeps ``z`` where ``z > 0`` or ``z`` is NaN and gives ``+0.0`` elsewhere (``-0.0``
included); the mask multiplies by exactly 1 or 0 (so ``-0.0`` for a negative
``d``, NaN for an infinite one); and NumPy reduces a C-ordered array along
axis 0 row after row (its first row copied, each next row added to the
running sums) with no pairwise summation, which happens only along the
contiguous axis; the sums start from 0, the reduction's identity (so a
column of ``-0.0`` sums to ``+0.0``). Which NaN an operation on two NaNs
returns (its sign) is the compiler's choice, as it is NumPy's: NaN payloads are
not part of the promise. Imported only where the compiled kernels are loaded
(``kernels.fused_layers``).
"""

from . import jit


@jit
def bias_relu(Z, b, zero):  # pragma: no cover - compiled
    # Z += b; np.maximum(Z, 0.0, out=Z)
    m, n = Z.shape
    for i in range(m):
        row = Z[i]
        for j in range(n):
            z = row[j] + b[j]
            row[j] = z if (z > zero or z != z) else zero


@jit
def relu_delta_sums(D, A, out, zero, one):  # pragma: no cover - compiled
    # np.multiply(D, A > 0, out=D); np.add.reduce(D, axis=0, out=out)
    m, n = D.shape
    if m == 0:
        for j in range(n):
            out[j] = zero
        return
    first, mask = D[0], A[0]
    for j in range(n):  # NumPy starts from the identity: 0 + (-0.0) is +0.0
        d = first[j] * (one if mask[j] > zero else zero)
        first[j] = d
        out[j] = zero + d
    for i in range(1, m):
        row, mask = D[i], A[i]
        for j in range(n):
            d = row[j] * (one if mask[j] > zero else zero)
            row[j] = d
            out[j] = out[j] + d
