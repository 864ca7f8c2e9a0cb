"""The NumPy updates of large parameter vectors, block by block, give the whole-vector results.

The oracle is the same optimizer's passes over the whole vectors (and the L2
gradient added first, as ``Network.add_penalty`` adds it), run on copies of
the same state with the compiled kernels switched off.
"""

import contextlib

import numpy as np
import pytest

from skbackprop.core import kernels
from skbackprop.core.optimizers import BLOCK, SGD, Adam

N = 2 * BLOCK + 1234  # two blocks and a part


def _blocked_and_whole(make, dtype, seed, decay, whole_step):
    """Two optimizers from ``make`` trained on the same vector and three gradients.

    One through ``step`` (block by block, the penalty's gradient added within,
    the NumPy path); the other by ``whole_step(optimizer, params, grad)`` on
    the whole vectors, after the penalty's gradient was added to the gradient
    as ``Network.add_penalty`` adds it. Both must end with the same weights,
    bit for bit; returns the two optimizers.
    """
    rng = np.random.default_rng(seed)
    params = rng.standard_normal(N).astype(dtype)
    grads = [rng.standard_normal(N).astype(dtype) for _ in range(3)]
    blocked, whole = make(), make()
    fast, slow = params.copy(), params.copy()
    with kernels.disabled():
        assert blocked.fuses_decay(fast)
        for g in grads:
            blocked.step(fast, g.copy(), decay)
            g = g.copy()
            if decay is not None:
                n_decay, scale = decay
                g[:n_decay] += slow[:n_decay] * dtype(scale)
            whole_step(whole, slow, g)
    assert fast.dtype == dtype
    assert not np.array_equal(fast, params)
    np.testing.assert_array_equal(fast, slow)
    return blocked, whole


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_decay", [None, BLOCK + 77, N - 5])
def test_adam_in_blocks_matches_whole_vectors_bitwise(dtype, n_decay):
    def whole_step(adam, params, grad):
        adam.t += 1
        eps, scale = adam.step_scalars(adam.t)
        adam._passes(np, params, grad, adam._m, adam._v, eps, scale)

    decay = None if n_decay is None else (n_decay, 1e-4 / 37)
    blocked, whole = _blocked_and_whole(
        lambda: Adam(N, dtype, 1e-3), dtype, 0, decay, whole_step
    )
    np.testing.assert_array_equal(blocked.first_moment, whole.first_moment)
    np.testing.assert_array_equal(blocked.second_moment, whole.second_moment)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["plain", "momentum", "nesterov"])
def test_sgd_in_blocks_matches_whole_vectors_bitwise(dtype, kind):
    def make():
        return SGD(N, dtype, 0.05, momentum=0.0 if kind == "plain" else 0.9,
                   nesterov=kind == "nesterov")

    def whole_step(sgd, params, grad):
        sgd._passes(np, params, grad, sgd.velocity, sgd.learning_rate)

    blocked, whole = _blocked_and_whole(make, dtype, 1, (N - 99, 1e-4 / 37), whole_step)
    if kind != "plain":
        np.testing.assert_array_equal(blocked.velocity, whole.velocity)


def test_only_large_vectors_go_in_blocks():
    with kernels.disabled():
        adam = Adam(8, np.float64, 1e-3)
        assert not adam.fuses_decay(np.zeros(2 * BLOCK - 1))
        assert adam.fuses_decay(np.zeros(2 * BLOCK))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("accelerated", [False, True], ids=["numpy", "compiled"])
@pytest.mark.parametrize(
    "solver", [dict(solver="adam"), dict(solver="sgd", momentum=0.9), dict(solver="sgd", momentum=0.0)],
    ids=["adam", "nesterov", "sgd"],
)
def test_fit_identical_whether_the_update_or_the_network_adds_the_penalty(
    monkeypatch, accelerated, solver
):
    """The step engine leaves the L2 gradient to updates that take it in their own passes."""
    from skbackprop import BackpropClassifier

    if accelerated and not kernels.available():
        pytest.skip("needs numba")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((120, 600))
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    params = dict(hidden_layer_sizes=(250,), max_iter=2, batch_size=40, alpha=0.05, random_state=0,
                  **solver)
    with kernels.disabled() if not accelerated else contextlib.nullcontext():
        deferred = BackpropClassifier(**params).fit(X, y)
        for optimizer in (Adam, SGD):
            monkeypatch.setattr(optimizer, "fuses_decay", lambda self, params: False)
        in_network = BackpropClassifier(**params).fit(X, y)
    assert sum(c.size for c in deferred.coefs_) >= 2 * BLOCK
    for a, b in zip(deferred.coefs_ + deferred.intercepts_,
                    in_network.coefs_ + in_network.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(deferred.loss_curve_, in_network.loss_curve_)
