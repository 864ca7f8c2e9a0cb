"""Optimizers: one small class per method, updating a flat parameter vector in place.

Each optimizer has ``step(params, grads)`` and keeps its state sized to the
parameters. Learning-rate schedules and the decision to stop belong to the
training loop (``_base.py``), which sets ``optimizer.learning_rate`` between
epochs. L-BFGS is a function over ``scipy.optimize.minimize``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.optimize


class SGD:
    """Stochastic gradient descent with (optionally Nesterov) momentum.

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
    """

    def __init__(self, n_params, dtype, learning_rate, momentum=0.0, nesterov=False):
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.velocity = np.zeros(n_params, dtype=dtype) if momentum else None
        self._scratch = np.empty(n_params, dtype=dtype) if momentum and nesterov else None

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Update ``params`` in place from ``grads`` (which may be overwritten)."""
        lr = self.learning_rate
        if self.velocity is None:
            grads *= -lr
            params += grads
            return
        velocity = self.velocity
        velocity *= self.momentum
        grads *= -lr
        velocity += grads
        if self.nesterov:
            np.multiply(velocity, self.momentum, out=self._scratch)
            self._scratch += grads
            params += self._scratch
        else:
            params += velocity


class Adam:
    """Adam (Kingma & Ba, 2015) with the bias correction folded into the step size.

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
    """

    def __init__(self, n_params, dtype, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = float(learning_rate)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0
        self.first_moment = np.zeros(n_params, dtype=dtype)
        self.second_moment = np.zeros(n_params, dtype=dtype)
        self._scratch = np.empty(n_params, dtype=dtype)

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Update ``params`` in place from ``grads`` (which may be overwritten)."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        m, v, tmp = self.first_moment, self.second_moment, self._scratch
        step = self.learning_rate * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        # v <- b2 v + (1 - b2) g^2
        np.multiply(grads, grads, out=tmp)
        tmp *= 1 - b2
        v *= b2
        v += tmp
        # m <- b1 m + (1 - b1) g
        grads *= 1 - b1
        m *= b1
        m += grads
        # params -= step * m / (sqrt(v) + eps)
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= -step
        params += tmp


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
