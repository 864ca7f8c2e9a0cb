"""The optional compiled kernels (numba) give bit-for-bit the NumPy results.

The oracle is the pure-NumPy code path of the same optimizer, run on copies of
the same state. Without numba these tests are skipped, except where CI asks
for them with ``SKBACKPROP_TEST_ACCELERATOR=1`` (then a missing numba fails).
"""

import contextlib
import subprocess
import sys

import numpy as np
import pytest
from conftest import require_accelerator

from skbackprop import BackpropClassifier
from skbackprop.core import kernels
from skbackprop.core.network import BLOCK, _add_scaled
from skbackprop.core.optimizers import SGD, Adam

require_accelerator()

N = kernels.MIN_PARAMS + 12_345


def _state(dtype, seed=0):
    rng = np.random.default_rng(seed)
    params = rng.standard_normal(N).astype(dtype)
    grads = [rng.standard_normal(N).astype(dtype) for _ in range(5)]
    return params, grads


def _run(optimizer, params, grads, numpy_path):
    params = params.copy()
    with kernels.disabled() if numpy_path else contextlib.nullcontext():
        for g in grads:
            optimizer.step(params, g.copy())
    return params


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_kernel_matches_numpy_bitwise(dtype):
    params, grads = _state(dtype)
    make = lambda: Adam(N, dtype, 1e-3, 0.9, 0.999, 1e-8)  # noqa: E731
    fast_opt, slow_opt = make(), make()
    fast = _run(fast_opt, params, grads, numpy_path=False)
    slow = _run(slow_opt, params, grads, numpy_path=True)
    assert fast.dtype == dtype
    assert "adam" in kernels._kernels  # the compiled kernel did run
    assert not np.array_equal(fast, params)  # it did update
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(fast_opt.first_moment, slow_opt.first_moment)
    np.testing.assert_array_equal(fast_opt.second_moment, slow_opt.second_moment)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_kernel_matches_numpy_bitwise(dtype, nesterov):
    params, grads = _state(dtype, seed=1)
    make = lambda: SGD(N, dtype, 0.05, momentum=0.9, nesterov=nesterov)  # noqa: E731
    fast_opt, slow_opt = make(), make()
    fast = _run(fast_opt, params, grads, numpy_path=False)
    slow = _run(slow_opt, params, grads, numpy_path=True)
    assert not np.array_equal(fast, params)
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(fast_opt.velocity, slow_opt.velocity)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_penalty_kernel_matches_numpy_bitwise(dtype):
    rng = np.random.default_rng(2)
    src = rng.standard_normal((400, 300)).astype(dtype)  # 120,000 >= MIN_PARAMS
    dst = rng.standard_normal((400, 300)).astype(dtype)
    fast, slow = dst.copy(), dst.copy()
    _add_scaled([fast], [src], 3e-4, np.empty(BLOCK, dtype))
    with kernels.disabled():
        _add_scaled([slow], [src], 3e-4, np.empty(BLOCK, dtype))
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(slow, dst + src * dtype(3e-4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["adam", "momentum", "nesterov"])
def test_decayed_kernels_match_numpy_bitwise(dtype, kind):
    """The updates that add the L2 gradient in their own pass: as adding it first, then the update."""
    params, grads = _state(dtype, seed=4)
    n_decay, scale = N - 777, 1e-4 / 37  # weights first, then the "intercepts"
    if kind == "adam":
        make = lambda: Adam(N, dtype, 1e-3, 0.9, 0.999, 1e-8)  # noqa: E731
    else:
        make = lambda: SGD(N, dtype, 0.05, momentum=0.9, nesterov=kind == "nesterov")  # noqa: E731
    fast_opt, slow_opt = make(), make()
    assert fast_opt.fuses_decay(params)
    fast, slow = params.copy(), params.copy()
    for g in grads:
        fast_opt.step(fast, g.copy(), (n_decay, scale))
        g = g.copy()
        with kernels.disabled():
            assert not slow_opt.fuses_decay(slow)
            g[:n_decay] += slow[:n_decay] * dtype(scale)  # what Network.add_penalty adds
            slow_opt.step(slow, g)
    assert not np.array_equal(fast, params)
    np.testing.assert_array_equal(fast, slow)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "solver", [dict(solver="adam"), dict(solver="sgd", momentum=0.9, nesterovs_momentum=True)],
    ids=["adam", "nesterov"],
)
def test_fit_identical_with_and_without_kernels(dtype, solver):
    """A whole fit of a network above the size threshold gives the same weights.

    With ``alpha > 0`` the compiled updates add the penalty's gradient in their
    own pass; the NumPy path adds it in the network's.
    """
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 400)).astype(dtype)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    params = dict(hidden_layer_sizes=(300,), max_iter=3, batch_size=50, random_state=0,
                  alpha=1e-2, **solver)
    fast = BackpropClassifier(**params).fit(X, y)
    assert fast.coefs_[0].dtype == dtype
    assert "skbackprop.core.kernels.decayed" in sys.modules  # the fused updates did run
    assert sum(c.size + i.size for c, i in zip(fast.coefs_, fast.intercepts_, strict=True)) >= kernels.MIN_PARAMS
    with kernels.disabled():
        slow = BackpropClassifier(**params).fit(X, y)
    for a, b in zip(fast.coefs_ + fast.intercepts_, slow.coefs_ + slow.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_numba_imported_only_when_needed():
    # L-BFGS on a small network uses neither the update kernels (under
    # MIN_PARAMS) nor the compiled epoch (stochastic solvers only).
    code = (
        "import sys, numpy as np, skbackprop\n"
        "from sklearn.datasets import load_iris\n"
        "X, y = load_iris(return_X_y=True)\n"
        "skbackprop.BackpropClassifier(solver='lbfgs', max_iter=5).fit(X, y)\n"
        "assert 'numba' not in sys.modules, 'numba imported without a compiled kernel'\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_small_networks_stay_on_numpy():
    assert not kernels.use_for(np.zeros(kernels.MIN_PARAMS - 1))
    assert kernels.use_for(np.zeros(kernels.MIN_PARAMS))
    assert not kernels.use_for(np.zeros(kernels.MIN_PARAMS, dtype=np.float16))


def test_compiles_without_a_writable_cache(monkeypatch):
    """Where numba finds nowhere to cache (read-only install), the kernels still compile."""
    import numba.core.caching

    monkeypatch.setattr(numba.core.caching.CacheImpl, "_locator_classes", [])
    monkeypatch.setattr(kernels, "_kernels", {})
    kernels.warm_up()
    params = np.ones(8)
    kernels.add_scaled(params, np.ones(8), 0.5)
    np.testing.assert_array_equal(params, np.full(8, 1.5))
