"""Optimizers: one small class per method, updating a flat parameter vector in place.

Each optimizer has ``step(params, grads)`` and keeps its state sized to the
parameters. It also owns its learning-rate schedule, as in scikit-learn: the
end-of-epoch path calls ``epoch_end(t)`` after every epoch (``t``: samples
seen so far) and ``on_plateau()`` when the score has stopped improving, which
returns True when the optimizer lowered its rate and training should go on.
L-BFGS is a function over ``scipy.optimize.minimize``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np
import scipy.optimize

from . import kernels
from .ops import NUMPY, ops_of

#: learning_rate='adaptive': on a plateau the rate is divided by this factor...
ADAPTIVE_DIVISOR = 5.0
#: ...until it falls to this value; the next plateau then ends training.
ADAPTIVE_MIN_RATE = 1e-6

#: Entries per block of the NumPy updates of large parameter vectors (see :meth:`Adam.step`).
BLOCK = 1 << 16


def _in_blocks(params) -> bool:
    """Whether the NumPy update of ``params`` goes block by block (two blocks or more)."""
    return isinstance(params, np.ndarray) and params.shape[0] >= 2 * BLOCK


def add_decay(params, grads, decay) -> None:
    """Add the L2 penalty's gradient to ``grads``: ``grads[:n] += scale * params[:n]``.

    ``decay`` is ``(n, scale)`` (None: nothing to add): the weight matrices
    are the first ``n`` entries of the flat vectors, and ``scale`` is
    ``alpha / W`` (see ``Network.add_penalty``, which computes the same
    rounded ``scale * params`` and adds it). The path of the updates that
    cannot take the term into their own pass.
    """
    if decay is None:
        return
    n, scale = decay
    n = min(n, params.shape[0])  # a block's share of the weights
    head = grads[:n]
    if isinstance(params, np.ndarray):  # the rounded product in a reused buffer, no allocation
        term = _scratch(params.dtype, n)
        np.multiply(params[:n], scale, out=term)
        head += term
        return
    head += ops_of(params).multiply(params[:n], scale)


_SCRATCH = threading.local()


def _scratch(dtype, n: int) -> np.ndarray:
    """A buffer of ``n`` entries of ``dtype``, kept per thread (at least :data:`BLOCK` long)."""
    buffer = getattr(_SCRATCH, "buffer", None)
    if buffer is None or buffer.dtype != dtype or buffer.shape[0] < n:
        buffer = _SCRATCH.buffer = np.empty(max(n, BLOCK), dtype)
    return buffer[:n]


class SGD:
    """Stochastic gradient descent with (optionally Nesterov) momentum and a schedule.

    ``velocity <- momentum * velocity - learning_rate * grad`` then
    ``params += velocity`` (or, with Nesterov,
    ``params += momentum * velocity - learning_rate * grad``).

    Parameters
    ----------
    n_params : int
        Size of the flat parameter vector.
    dtype : numpy dtype
        Dtype of the parameters.
    learning_rate : float
        Step size.
    momentum : float, default=0
        Momentum in ``[0, 1]``.
    nesterov : bool, default=False
        Use Nesterov's momentum.
    schedule : {'constant', 'invscaling', 'adaptive'}, default='constant'
        'invscaling': after each epoch the rate becomes
        ``learning_rate / (t + 1) ** power_t`` (``t``: samples seen);
        'adaptive': on a plateau it is divided by ``ADAPTIVE_DIVISOR`` while it
        is above ``ADAPTIVE_MIN_RATE``.
    power_t : float, default=0.5
        Exponent of 'invscaling'.
    like : array or None, default=None
        A parameter vector: the state lives in its library and on its device
        (NumPy when None).
    """

    kind = "sgd"

    def __init__(
        self, n_params, dtype, learning_rate, momentum=0.0, nesterov=False,
        schedule="constant", power_t=0.5, *, like=None,
    ):
        self.learning_rate_init = self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.schedule, self.power_t = schedule, float(power_t)
        ops = NUMPY if like is None else ops_of(like)
        self.velocity = ops.zeros(n_params, dtype, like) if momentum else None

    def epoch_end(self, time_step: int) -> None:
        """After an epoch: the 'invscaling' schedule sets the rate for ``time_step`` samples seen."""
        if self.schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def state_finite(self) -> bool:
        """Always True: a velocity that overflows makes the weights overflow, which the loop sees."""
        return True

    def on_plateau(self) -> bool:
        """The score stopped improving: True when the rate was lowered ('adaptive')."""
        if self.schedule != "adaptive" or self.learning_rate <= ADAPTIVE_MIN_RATE:
            return False
        self.learning_rate /= ADAPTIVE_DIVISOR
        return True

    def fuses_decay(self, params: np.ndarray) -> bool:
        """Whether :meth:`step` adds the L2 gradient within its own passes (compiled or in blocks)."""
        return (self.velocity is not None and kernels.use_for(params)) or _in_blocks(params)

    def step(self, params: np.ndarray, grads: np.ndarray, decay=None) -> None:
        """Update ``params`` in place from ``grads`` (which may be overwritten).

        Every scalar is a Python float, so float32 arrays stay float32, and
        ``grads`` serves as the scratch buffer: no temporary is allocated.
        ``decay`` is ``(n, scale)``: the L2 penalty's gradient
        ``scale * params[:n]`` is still to be added to ``grads[:n]`` (see
        :func:`add_decay`); the compiled update adds it in its own pass, the
        NumPy one first (block by block where it goes in blocks).
        NumPy vectors of two :data:`BLOCK` entries or more go block by block,
        as in :meth:`Adam.step`.
        """
        lr = float(self.learning_rate)
        velocity = self.velocity
        if velocity is not None and kernels.use_for(params):
            if decay is not None:
                from .kernels import decayed

                decayed.momentum_step(params, grads, velocity, self.momentum, lr,
                                      self.nesterov, *decay)
                return
            kernels.momentum_step(params, grads, velocity, self.momentum, lr, self.nesterov)
            return
        if not _in_blocks(params):
            if decay is not None:
                add_decay(params, grads, decay)
            self._passes(ops_of(params), params, grads, velocity, lr)
            return
        for part in range(0, params.shape[0], BLOCK):
            block = slice(part, part + BLOCK)
            if decay is not None and part < decay[0]:
                add_decay(params[block], grads[block], (decay[0] - part, decay[1]))
            self._passes(NUMPY, params[block], grads[block],
                         None if velocity is None else velocity[block], lr)

    def _passes(self, ops, params, grads, velocity, lr: float) -> None:
        """The NumPy passes of :meth:`step` over ``params`` (and the velocity's matching part)."""
        grads *= -lr  # grads now holds -lr * g
        if velocity is None:
            params += grads
            return
        momentum = self.momentum
        velocity *= momentum
        velocity += grads
        if self.nesterov:
            # params += momentum * velocity - lr * g
            params += grads
            ops.multiply(velocity, momentum, out=grads)
            params += grads
        else:
            params += velocity


class Adam:
    """Adam (Kingma & Ba, 2015) with the bias correction folded into the step size.

    The moments are kept divided by their constant weights,
    ``m / (1 - beta_1)`` and ``v / (1 - beta_2)``, so that each update is a
    plain ``decay * state + g`` (two passes) and ``(1 - beta)`` reappears only
    in the scalar step size: ten whole-array passes per step, no scratch
    vector. :attr:`first_moment` and :attr:`second_moment` give the moments
    themselves.

    Parameters
    ----------
    n_params : int
        Size of the flat parameter vector.
    dtype : numpy dtype
        Dtype of the parameters.
    learning_rate : float
        Initial step size.
    beta_1, beta_2 : float
        Decay rates of the first and second moment estimates.
    epsilon : float
        Added to the square root of the second moment.
    like : array or None, default=None
        A parameter vector: the state lives in its library and on its device
        (NumPy when None).
    """

    kind = "adam"

    def __init__(
        self, n_params, dtype, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8, *,
        like=None,
    ):
        self.learning_rate = float(learning_rate)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0
        ops = NUMPY if like is None else ops_of(like)
        self._m = ops.zeros(n_params, dtype, like)  # first moment / (1 - beta_1)
        self._v = ops.zeros(n_params, dtype, like)  # second moment / (1 - beta_2)

    def epoch_end(self, time_step: int) -> None:
        """Adam keeps its rate: the adaptive step sizes are its schedule."""

    def state_finite(self) -> bool:
        """Whether the moments are finite (one pass over the second moment).

        A gradient beyond about ``sqrt(max float / 1000)`` makes ``V`` infinite
        while the weights stay finite: every later step is then 0, and the
        run would stall without any other sign. ``V >= 0``, so its maximum
        tells (NaN fails the comparison too); an infinite ``M`` makes the
        weights NaN, which the loop already sees.
        """
        ops = ops_of(self._v)
        return ops.item(ops.max_reduce(self._v, axis=None)) < math.inf

    def on_plateau(self) -> bool:
        """Adam does not react to a plateau: training stops."""
        return False

    @property
    def first_moment(self) -> np.ndarray:
        """The running mean of the gradients, ``m`` (a new array)."""
        return self._m * (1.0 - self.beta_1)

    @property
    def second_moment(self) -> np.ndarray:
        """The running mean of the squared gradients, ``v`` (a new array)."""
        return self._v * (1.0 - self.beta_2)

    def step_scalars(self, t: int) -> tuple[float, float]:
        """``(eps / sqrt(1 - b2), -lr_t (1 - b1) / sqrt(1 - b2))`` of step ``t`` (see :meth:`step`)."""
        b1, b2 = self.beta_1, self.beta_2
        root = math.sqrt(1.0 - b2)
        lr_t = float(self.learning_rate) * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        return self.epsilon / root, -lr_t * (1.0 - b1) / root

    def fuses_decay(self, params: np.ndarray) -> bool:
        """Whether :meth:`step` adds the L2 gradient within its own passes (compiled or in blocks)."""
        return kernels.use_for(params) or _in_blocks(params)

    def step(self, params: np.ndarray, grads: np.ndarray, decay=None) -> None:
        """Update ``params`` in place from ``grads`` (which is overwritten).

        With ``M = m / (1 - b1)`` and ``V = v / (1 - b2)``::

            M <- b1 M + g
            V <- b2 V + g**2
            params -= lr_t (1 - b1) / sqrt(1 - b2) * M / (sqrt(V) + eps / sqrt(1 - b2))

        which is exactly ``params -= lr_t * m / (sqrt(v) + eps)`` with
        ``lr_t = lr * sqrt(1 - b2**t) / (1 - b1**t)``. ``grads`` holds every
        intermediate term and every scalar is a Python float, so float32
        arrays are never promoted to float64. ``decay`` is as in
        :meth:`SGD.step`: the compiled update adds the L2 gradient in its
        own pass, the NumPy one adds it to ``grads`` first (block by block
        where it works in blocks).

        NumPy vectors of at least two :data:`BLOCK` entries are updated
        block by block: the ten passes over a block run while it is in cache,
        instead of ten passes over the whole vectors (the same operations on
        every entry, so the same results).
        """
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        M, V = self._m, self._v
        eps, scale = self.step_scalars(self.t)
        if kernels.use_for(params):
            # The same operations in one compiled pass.
            if decay is not None:
                from .kernels import decayed

                decayed.adam_step(params, grads, M, V, b1, b2, eps, scale, *decay)
                return
            kernels.adam_step(params, grads, M, V, b1, b2, eps, scale)
            return
        ops = ops_of(params)
        if not _in_blocks(params):
            if decay is not None:
                add_decay(params, grads, decay)
            self._passes(ops, params, grads, M, V, eps, scale)
            return
        for part in range(0, params.shape[0], BLOCK):
            block = slice(part, part + BLOCK)
            if decay is not None and part < decay[0]:
                add_decay(params[block], grads[block], (decay[0] - part, decay[1]))
            self._passes(ops, params[block], grads[block], M[block], V[block], eps, scale)

    def _passes(self, ops, params, grads, M, V, eps: float, scale: float) -> None:
        """The ten NumPy passes of :meth:`step` over ``params`` (and the state's matching part)."""
        b1, b2 = self.beta_1, self.beta_2
        M *= b1
        M += grads
        ops.square(grads, out=grads)
        V *= b2
        V += grads
        ops.sqrt(V, out=grads)
        grads += eps
        ops.divide(M, grads, out=grads)
        grads *= scale
        params += grads


#: The optimizers by their ``kind`` (their saved state names it).
OPTIMIZERS = {cls.kind: cls for cls in (SGD, Adam)}


def minimize_lbfgs(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    max_iter: int,
    max_fun: int,
    tol: float,
    callback: Callable | None = None,
) -> scipy.optimize.OptimizeResult:
    """Run L-BFGS-B through ``scipy.optimize.minimize``.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (cost, gradient)`` on the flat float64 parameter vector.
    x0 : ndarray
        Starting point.
    max_iter, max_fun : int
        Caps on iterations and on function evaluations.
    tol : float
        Projected-gradient tolerance (``gtol``).
    callback : callable or None
        Called after each iteration with an ``OptimizeResult`` holding ``x`` and
        ``fun``; raising ``StopIteration`` ends the run. Progress printing is
        the caller's business (scipy's own printing options are deprecated).

    Returns
    -------
    scipy.optimize.OptimizeResult
    """
    return scipy.optimize.minimize(
        fun,
        np.asarray(x0, dtype=np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=callback,
        options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
    )
