"""The optimizer updates with the L2 penalty's gradient added in the same pass (numba).

Training with ``alpha > 0`` adds ``(alpha / W) * Wl`` to the gradient of every
weight matrix before the update (``Network.add_penalty``): one more pass over
the weights and the gradient, which for a network of a few hundred thousand
weights costs about half as much as the whole fused Adam update. The kernels
here take that term into the update's own pass: element ``i`` of the gradient
becomes ``g + p * decay`` for the first ``n_decay`` parameters (the weight
matrices come first in the flat vector, the intercepts after them, see
``Network.unpack``), and the update then goes on as in ``updates.py``. The
gradient vector is only read.

The floating-point operations are those of the path they replace, in the same
order (``p * decay`` rounded, then added to ``g``, as ``Network.add_penalty``
does; then the update of ``updates.py``), so the results are equal bit for
bit; the tests check it. Imported only where the compiled updates run
(``kernels.use_for``), so numba is loaded nowhere it would not be loaded
anyway.
"""

from . import jit
from .updates import adam_entry, momentum_entry


@jit
def adam(params, grads, M, V, b1, b2, eps, scale, n_decay, decay):  # pragma: no cover - compiled
    # Two loops rather than a test per entry, so that both vectorise.
    for i in range(n_decay):
        adam_entry(params, i, grads[i] + params[i] * decay, M, V, b1, b2, eps, scale)
    for i in range(n_decay, params.shape[0]):
        adam_entry(params, i, grads[i], M, V, b1, b2, eps, scale)


@jit
def momentum(params, grads, velocity, mu, neg_lr, nesterov, n_decay, decay):  # pragma: no cover
    for i in range(n_decay):
        g = grads[i] + params[i] * decay
        momentum_entry(params, i, g, velocity, mu, neg_lr, nesterov)
    for i in range(n_decay, params.shape[0]):
        momentum_entry(params, i, grads[i], velocity, mu, neg_lr, nesterov)


def adam_step(params, grads, M, V, b1, b2, eps, scale, n_decay, decay) -> None:
    """:func:`kernels.adam_step` with ``grads[:n_decay] + decay * params[:n_decay]`` as the gradient."""
    t = params.dtype.type
    adam(params, grads, M, V, t(b1), t(b2), t(eps), t(scale), int(n_decay), t(decay))


def momentum_step(params, grads, velocity, mu, learning_rate, nesterov, n_decay, decay) -> None:
    """:func:`kernels.momentum_step` with the penalty's gradient added as in :func:`adam_step`."""
    t = params.dtype.type
    momentum(params, grads, velocity, t(mu), t(-learning_rate), bool(nesterov), int(n_decay),
             t(decay))
