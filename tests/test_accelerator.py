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


def _relu_layer_values(dtype, shape, seed):
    """A delta, a ReLU layer's activations and a bias with the special values mixed in."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal(shape).astype(dtype)
    D = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape[1]).astype(dtype)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype=dtype)
    for array in (Z, D, b):
        flat = array.reshape(-1)
        if flat.shape[0] == 0:
            continue
        picks = rng.integers(0, flat.shape[0], size=max(1, flat.shape[0] // 7))
        flat[picks] = specials[rng.integers(0, specials.shape[0], size=picks.shape[0])]
    Z[..., :1] = -0.0  # -0.0 + -0.0 = -0.0: np.maximum makes it +0.0
    b[:1] = -0.0
    return Z, D, b


def _same_bits(a, b):
    """Equal bit for bit, signed zeros included; NaN where NaN (of any sign or payload)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    nan = np.isnan(a)
    np.testing.assert_array_equal(nan, np.isnan(b))
    a, b = np.where(nan, 0, a), np.where(nan, 0, b)
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (1, 17), (3, 5), (200, 256), (37, 129), (0, 6)])
def test_fused_relu_layer_kernels_match_numpy_bitwise(dtype, shape):
    """The compiled passes of a hidden ReLU layer against the NumPy operations they replace."""
    kernels.warm_up()
    layers = kernels.fused_layers(np.zeros(1, dtype))
    zero, one = kernels.unit_scalars(np.dtype(dtype))
    Z, D, b = _relu_layer_values(dtype, shape, seed=sum(shape))
    with np.errstate(invalid="ignore"):
        fast = Z.copy()
        layers.bias_relu(fast, b, zero)
        slow = Z.copy()
        slow += b
        np.maximum(slow, 0.0, out=slow)
        _same_bits(fast, slow)
        A = slow
        fast_d, fast_sums = D.copy(), np.full(shape[1], 7.0, dtype)
        layers.relu_delta_sums(fast_d, A, fast_sums, zero, one)
        slow_d, slow_sums = D.copy(), np.full(shape[1], 7.0, dtype)
        np.multiply(slow_d, A > 0, out=slow_d)
        np.add.reduce(slow_d, axis=0, out=slow_sums)
    _same_bits(fast_d, slow_d)
    _same_bits(fast_sums, slow_sums)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dropout", [False, True])
def test_relu_steps_identical_with_and_without_layer_kernels(dtype, dropout):
    """The cost and gradient of ReLU networks, with the fused layer passes and without."""
    from skbackprop.core.network import DropoutMasks, Network

    kernels.warm_up()
    rng = np.random.default_rng(5)
    net = Network([33, 40, 25, 4], "relu", "softmax")
    params = net.init_params("glorot_uniform", rng, dtype)
    X = rng.standard_normal((61, 33)).astype(dtype)
    Y = np.eye(4, dtype=dtype)[rng.integers(0, 4, 61)]
    masks = DropoutMasks.draw((0.3, 0.2), 61, (40, 25), rng, params) if dropout else None
    results = []
    for path in (contextlib.nullcontext(), kernels.disabled()):
        grads = np.full_like(params, np.nan)
        with path:
            loss = net.loss_and_grad(X, Y, *net.unpack(params), *net.unpack(grads),
                                     "cross_entropy", 1e-3, dropout=masks)
            outputs = net.output(X, *net.unpack(params))
        results.append((loss, grads, outputs))
    (fast_loss, fast_grads, fast_out), (slow_loss, slow_grads, slow_out) = results
    assert fast_loss == slow_loss
    _same_bits(fast_grads, slow_grads)
    _same_bits(fast_out, slow_out)


def test_layer_kernels_only_where_loaded():
    kernels.warm_up()
    assert kernels.fused_layers(np.zeros(3)) is not None
    assert kernels.fused_layers(np.zeros(3, dtype=np.float16)) is None
    with kernels.disabled():
        assert kernels.fused_layers(np.zeros(3)) is None
