"""The numba kernels of the compiled epoch (see ``training/compiled_epoch.py``): a template.

This file is never imported as it is. ``core/kernels/source.py`` replaces the
line ``# {activation dispatch}`` by the functions generated from the activation
table (``activate``, ``derive``, the constant ``SOFTMAX`` and the dict ``CODES``: the
activation codes are the positions of the entries in the table), the lines
``# {cost ...}`` by the code of the cost table (``core/losses.py``; the dict
``LOSS_CODES`` holds their positions), writes the
whole module to a file named after a hash of its text in a cache directory,
and imports that file. numba caches the compiled code next to it (in
``__pycache__``), so a second process loads it instead of compiling, and a
changed table gives a new file and a new compilation. Importing skbackprop
never imports numba. Comments name the NumPy code each part mirrors.
"""

import math  # noqa: F401  (the generated activations may use it)

import numpy as np

from skbackprop.core.kernels import jit as _jit
from skbackprop.core.kernels.updates import adam, axpy, momentum


@_jit
def view(flat, offset, rows, cols):  # pragma: no cover - compiled
    return flat[offset : offset + rows * cols].reshape((rows, cols))

@_jit
def copy_row(src, dst):  # pragma: no cover - compiled
    # Loops over 1-D views, not over offsets into a larger array: numba then
    # knows the indices are in range and LLVM vectorises the loop.
    for j in range(dst.shape[0]):
        dst[j] = src[j]


@_jit
def add_row(src, dst):  # pragma: no cover - compiled
    for j in range(dst.shape[0]):
        dst[j] = dst[j] + src[j]


# {activation dispatch}

# {cost codes}


@_jit
def cost_and_delta(A, Y, D, sw, use_sw, out_code, loss, weight, c, s):  # pragma: no cover
    # losses.loss_and_output_delta: the cost of the rows (over `weight`)
    # and, in D, the output delta dC/dZ_L. The costs' code comes from the cost
    # table (`loss` is the position of the entry, see LOSS_CODES).
    m, n = A.shape
    total = 0.0
    # {cost divergence}
    for i in range(m):
        row = 0.0
        for j in range(n):
            a, y = A[i, j], Y[i, j]  # noqa: F841  (read by the generated terms)
            # {cost terms}
        total += row * sw[i] if use_sw else row
    # {cost totals}
    if use_sw:  # D *= (sample_weight / weight)[:, None]
        s[0] = weight
        for i in range(m):
            f = sw[i] / s[0]
            for j in range(n):
                D[i, j] = D[i, j] * f
    else:  # D *= 1 / weight
        s[0] = 1.0 / weight
        f = s[0]
        for i in range(m):
            for j in range(n):
                D[i, j] = D[i, j] * f
    return total / weight

@_jit
def update(params, grads, code, state1, state2, scalars, scale):  # pragma: no cover
    # _optimizers: SGD.step and Adam.step, through the kernels of updates.py.
    if code == 3:  # Adam
        adam(params, grads, state1, state2, scalars[0], scalars[1], scalars[2], scale)
    elif code == 0:  # params += -lr g
        axpy(params, grads, scalars[0])
    else:  # momentum / Nesterov
        momentum(params, grads, state1, scalars[1], scalars[0], code == 2)

@_jit
def layer_view(buffer, offsets, layer, batch_size, rows, cols):  # pragma: no cover
    # Layer `layer`'s block of an activation or delta buffer, for a batch of `rows`.
    return view(buffer, offsets[layer] // batch_size * rows, rows, cols)


@_jit
def gather(X, Y, sw, use_sw, order, start, Xb, Yb, sw_buf):  # pragma: no cover - compiled
    # _loop.Batches: the batch's rows, in the epoch's order; returns its weight.
    m = Xb.shape[0]
    weight = 0.0
    for r in range(m):
        src = order[start + r]
        copy_row(X[src], Xb[r])
        copy_row(Y[src], Yb[r])
        if use_sw:
            sw_buf[r] = sw[src]
            weight += sw[src]
    return weight if use_sw else float(m)


@_jit
def forward(Xb, params, units, co, io, ao, acts, zs, batch_size, hidden, out_code,
            c):  # pragma: no cover - compiled
    # Network.forward: Z_l = A_(l-1) @ W_l + b_l; A_l = f_l(Z_l); hidden Z_l
    # copied into zs first where the derivative reads z (zs empty otherwise)
    m = Xb.shape[0]
    n_layers = units.shape[0] - 1
    A_prev = Xb
    for layer in range(n_layers):
        fan_in, fan_out = units[layer], units[layer + 1]
        Z = layer_view(acts, ao, layer, batch_size, m, fan_out)
        np.dot(A_prev, view(params, co[layer], fan_in, fan_out), Z)
        bias = params[io[layer] : io[layer] + fan_out]
        for i in range(m):
            add_row(bias, Z[i])
        if layer < n_layers - 1 and zs.shape[0] > 0:
            Z_kept = layer_view(zs, ao, layer, batch_size, m, fan_out)
            for i in range(m):
                copy_row(Z[i], Z_kept[i])
        activate(Z, out_code if layer == n_layers - 1 else hidden, c)
        A_prev = Z


@_jit
def backward(Xb, params, grads, units, co, io, ao, acts, deltas, zs, batch_size, hidden,
             c):  # pragma: no cover - compiled
    # Network._backprop from the output delta: dC/dW_l = A_(l-1).T @ D_l;
    # dC/db_l = column sums of D_l; D_(l-1) = (D_l @ W_l.T) (.) f'(Z_(l-1))
    m = Xb.shape[0]
    for layer in range(units.shape[0] - 2, -1, -1):
        fan_in, fan_out = units[layer], units[layer + 1]
        D = layer_view(deltas, ao, layer, batch_size, m, fan_out)
        A_in = Xb if layer == 0 else layer_view(acts, ao, layer - 1, batch_size, m, fan_in)
        np.dot(A_in.T, D, view(grads, co[layer], fan_in, fan_out))
        bias_grad = grads[io[layer] : io[layer] + fan_out]
        copy_row(D[0], bias_grad)
        for i in range(1, m):  # row after row, as np.add.reduce(D, axis=0)
            add_row(D[i], bias_grad)
        if layer > 0:
            D_prev = layer_view(deltas, ao, layer - 1, batch_size, m, fan_in)
            np.dot(D, view(params, co[layer], fan_in, fan_out).T, D_prev)
            if zs.shape[0] > 0:  # the derivative reads the kept pre-activations
                derive(layer_view(zs, ao, layer - 1, batch_size, m, fan_in), D_prev, hidden, c)
            else:
                derive(A_in, D_prev, hidden, c)


@_jit
def penalty(params, grads, co, alpha, weight, s):  # pragma: no cover - compiled
    # Network.loss_and_grad: alpha / (2 W) sum ||W_l||^2, gradient += (alpha / W) W_l
    scale = alpha / weight
    squares = 0.0
    for layer in range(co.shape[0] - 1):  # BLAS dot products, as np.vdot
        W_flat = params[co[layer] : co[layer + 1]]
        squares += float(np.dot(W_flat, W_flat))
    s[0] = scale
    f = s[0]
    weight_grads, weights = grads[: co[-1]], params[: co[-1]]
    for k in range(weights.shape[0]):
        weight_grads[k] = weight_grads[k] + weights[k] * f
    return 0.5 * scale * squares


@_jit
def exploded(params, limit):  # pragma: no cover - compiled
    # _loop.exploded: a weight that is NaN, infinite or beyond the limit
    bad = False
    for k in range(params.shape[0]):
        bad |= not abs(params[k]) < limit
    return bad


@_jit
def epoch(X, Y, sw, order, params, grads, state1, state2, layout, codes, alpha, limit, work,
          opt_scalars):  # pragma: no cover - compiled
    # One epoch of _loop.train_epoch over _loop.Batches with _loop.Step;
    # returns (sum of batch cost x batch weight, steps taken, diverged).
    # layout: units, weight offsets, intercept offsets, activation offsets;
    # codes: hidden, output, loss, optimizer, batch size, sample weights given,
    # hidden pre-activations kept;
    # work: 8 constants, then the work buffers (see _compiled.CompiledEpoch).
    n_layers = layout.shape[0] // 4 - 1
    units = layout[: n_layers + 1]
    co = layout[n_layers + 1 : 2 * n_layers + 2]
    io = layout[2 * n_layers + 2 : 3 * n_layers + 3]
    ao = layout[3 * n_layers + 3 :]
    hidden, out_code, loss, opt = codes[0], codes[1], codes[2], codes[3]
    batch_size, use_sw = codes[4], codes[5] != 0
    n_samples, n_features = X.shape
    n_out = Y.shape[1]
    c, s = work[:8], work[7:8]
    z_size = ao[n_layers] if codes[6] != 0 else 0
    sizes = (batch_size * n_features, batch_size * n_out, batch_size, ao[n_layers], ao[n_layers],
             z_size)
    bounds = np.cumsum(np.array(sizes)) + 8
    X_buf, Y_buf, sw_buf = work[8 : bounds[0]], work[bounds[0] : bounds[1]], work[bounds[1] : bounds[2]]
    acts, deltas = work[bounds[2] : bounds[3]], work[bounds[3] : bounds[4]]
    zs = work[bounds[4] : bounds[5]]
    scalars, scales = opt_scalars[:3], opt_scalars[3:]
    accumulated = 0.0
    steps = 0
    for start in range(0, n_samples, batch_size):
        m = min(batch_size, n_samples - start)
        Xb, Yb = view(X_buf, 0, m, n_features), view(Y_buf, 0, m, n_out)
        weight = gather(X, Y, sw, use_sw, order, start, Xb, Yb, sw_buf)
        if not weight > 0:  # zero-weight batch: nothing to teach
            continue
        forward(Xb, params, units, co, io, ao, acts, zs, batch_size, hidden, out_code, c)
        A_out = layer_view(acts, ao, n_layers - 1, batch_size, m, n_out)
        D_out = layer_view(deltas, ao, n_layers - 1, batch_size, m, n_out)
        value = cost_and_delta(A_out, Yb, D_out, sw_buf, use_sw, out_code, loss, weight, c, s)
        backward(Xb, params, grads, units, co, io, ao, acts, deltas, zs, batch_size, hidden, c)
        if alpha != 0.0:
            value += penalty(params, grads, co, alpha, weight, s)
        if not np.isfinite(value):
            return accumulated, steps, True
        update(params, grads, opt, state1, state2, scalars,
               scales[steps] if opt == 3 else scalars[0])
        steps += 1
        accumulated += value * weight
    return accumulated, steps, exploded(params, limit)
