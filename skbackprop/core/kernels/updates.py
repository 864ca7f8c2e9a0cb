"""The optimizer updates, compiled (numba): one fused pass over the parameters each.

Imported on first use (``kernels._compile``), never with the package, so that
importing skbackprop never imports numba. The NumPy updates in
``core/optimizers.py`` are the reference: every kernel performs the same
floating-point operations in the same order, so the results are equal bit for
bit (the tests check it). The compiled epoch (``epoch.py``) calls the same
kernels for its updates, and ``decayed.py`` the per-entry updates
(``adam_entry``, ``momentum_entry``), so each update is written once for the
compiled paths.
"""

import numpy as np

from . import jit


@jit
def adam_entry(params, i, g, M, V, b1, b2, eps, scale):  # pragma: no cover - compiled
    # The NumPy path for entry i with gradient g:
    # M = b1 M + g; V = b2 V + g*g; params += (M / (sqrt(V) + eps)) * scale
    m = b1 * M[i]
    m = m + g
    M[i] = m
    g2 = g * g
    v = b2 * V[i]
    v = v + g2
    V[i] = v
    q = m / (np.sqrt(v) + eps)
    params[i] = params[i] + q * scale


@jit
def adam(params, grads, M, V, b1, b2, eps, scale):  # pragma: no cover - compiled
    for i in range(params.shape[0]):
        adam_entry(params, i, grads[i], M, V, b1, b2, eps, scale)


@jit
def momentum_entry(params, i, g, velocity, mu, neg_lr, nesterov):  # pragma: no cover
    # g' = -lr g; velocity = mu velocity + g';
    # params += velocity, or (Nesterov) params = (params + g') + mu velocity
    step = g * neg_lr
    v = velocity[i] * mu
    v = v + step
    velocity[i] = v
    if nesterov:
        p = params[i] + step
        params[i] = p + v * mu
    else:
        params[i] = params[i] + v


@jit
def momentum(params, grads, velocity, mu, neg_lr, nesterov):  # pragma: no cover
    for i in range(params.shape[0]):
        momentum_entry(params, i, grads[i], velocity, mu, neg_lr, nesterov)


@jit
def axpy(dst, src, scale):  # pragma: no cover - compiled
    for i in range(dst.shape[0]):
        dst[i] = dst[i] + src[i] * scale
