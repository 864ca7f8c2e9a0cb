"""The row-chunked paths of the numerical core give the results of one pass.

Batches with more rows than ``skbackprop.core.network.CHUNK_ROWS`` (full-batch
L-BFGS, prediction) are processed in blocks of that many rows: the cost and
the gradients of the blocks are added up, and the output is written block by
block. With ``CHUNK_ROWS`` patched down to 7, a batch of 30 rows takes that
path (blocks of 7, 7, 7, 7 and 2 rows); the oracle is the same computation
in one block (the path that ``tests/test_gradients.py`` checks against finite
differences), and for the output also the reference forward pass of
``conftest.py`` (docs/design.rst, section design-model).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import reference_forward
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.core import network as network_module
from skbackprop.core.network import Network

SMALL_CHUNK = 7
N_ROWS = 30  # blocks of 7, 7, 7, 7 and 2 rows
UNITS = [5, 6, 4, 3]
CASES = [
    ("relu", "softmax", "cross_entropy"),
    ("tanh", "identity", "squared_error"),
    ("sigmoid", "sigmoid", "cross_entropy"),
    ("tanh", "exp", "poisson"),
]
TOLERANCE = {
    np.float64: dict(rtol=1e-12, atol=1e-14),
    np.float32: dict(rtol=2e-5, atol=1e-6),
}


def _problem(out, loss, dtype, sparse, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_ROWS, UNITS[0]))
    X[rng.random(X.shape) < 0.3] = 0.0  # zeros for the sparse format to drop
    n_out = UNITS[-1]
    if loss == "poisson":
        Y = rng.poisson(1.5, (N_ROWS, n_out)).astype(float)
    elif out == "softmax":
        Y = np.eye(n_out)[rng.integers(0, n_out, N_ROWS)]
    elif out == "sigmoid":
        Y = rng.integers(0, 2, (N_ROWS, n_out)).astype(float)
    else:
        Y = rng.normal(size=(N_ROWS, n_out))
    coefs = [rng.normal(0.0, 0.6, (a, b)) for a, b in zip(UNITS[:-1], UNITS[1:], strict=True)]
    intercepts = [rng.normal(0.0, 0.3, b) for b in UNITS[1:]]
    sample_weight = rng.uniform(0.2, 3.0, N_ROWS)
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(X)
    cast = lambda arrays: [a.astype(dtype) for a in arrays]  # noqa: E731
    return X, Y.astype(dtype), cast(coefs), cast(intercepts), sample_weight.astype(dtype)


def _count_calls(monkeypatch, name):
    """Count the calls of ``Network.<name>`` (the unit of work per block of rows)."""
    original = getattr(Network, name)
    calls = [0]

    def counting(self, *args, **kwargs):
        calls[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Network, name, counting)
    return calls


def _loss_and_grad(net, X, Y, coefs, intercepts, loss, alpha, sample_weight):
    # Gradient buffers start as NaN: every entry must be written, in both paths.
    coef_grads = [np.full_like(W, np.nan) for W in coefs]
    intercept_grads = [np.full_like(b, np.nan) for b in intercepts]
    value = net.loss_and_grad(
        X, Y, coefs, intercepts, coef_grads, intercept_grads, loss, alpha, sample_weight
    )
    return value, coef_grads + intercept_grads


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 0.3], ids=["alpha0", "alpha0.3"])
@pytest.mark.parametrize(
    "dtype, sparse",
    [(np.float64, False), (np.float32, False), (np.float64, True)],
    ids=["float64", "float32", "csr"],
)
@pytest.mark.parametrize("hidden, out, loss", CASES)
def test_chunked_loss_and_grad_equals_one_block(
    monkeypatch, hidden, out, loss, dtype, sparse, alpha, weighted
):
    X, Y, coefs, intercepts, sw = _problem(out, loss, dtype, sparse)
    sw = sw if weighted else None
    calls = _count_calls(monkeypatch, "_backprop")

    whole = _loss_and_grad(Network(UNITS, hidden, out), X, Y, coefs, intercepts, loss, alpha, sw)
    assert calls[0] == 1  # one block: the unchunked path
    monkeypatch.setattr(network_module, "CHUNK_ROWS", SMALL_CHUNK)
    chunked = _loss_and_grad(Network(UNITS, hidden, out), X, Y, coefs, intercepts, loss, alpha, sw)
    assert calls[0] == 1 + 5  # blocks of 7, 7, 7, 7 and 2 rows

    tol = TOLERANCE[dtype]
    assert np.isfinite(whole[0])
    np.testing.assert_allclose(chunked[0], whole[0], **tol)
    for got, expected in zip(chunked[1], whole[1], strict=True):
        assert got.dtype == expected.dtype == dtype
        assert np.isfinite(expected).all()
        np.testing.assert_allclose(got, expected, **tol)


@pytest.mark.parametrize(
    "dtype, sparse",
    [(np.float64, False), (np.float32, False), (np.float64, True)],
    ids=["float64", "float32", "csr"],
)
@pytest.mark.parametrize("hidden, out, loss", CASES)
def test_chunked_output_equals_one_block(monkeypatch, hidden, out, loss, dtype, sparse):
    X, _, coefs, intercepts, _ = _problem(out, loss, dtype, sparse)
    calls = _count_calls(monkeypatch, "forward")

    whole = Network(UNITS, hidden, out).output(X, coefs, intercepts)
    assert calls[0] == 1
    monkeypatch.setattr(network_module, "CHUNK_ROWS", SMALL_CHUNK)
    chunked = Network(UNITS, hidden, out).output(X, coefs, intercepts)
    assert calls[0] == 1 + 5

    assert chunked.dtype == whole.dtype == dtype
    np.testing.assert_allclose(chunked, whole, **TOLERANCE[dtype])
    # Both equal the reference forward pass (computed in float64).
    dense = X.toarray() if sparse else X
    _, expected = reference_forward(dense, coefs, intercepts, hidden, out)
    np.testing.assert_allclose(chunked, expected, **TOLERANCE[dtype])


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_lbfgs_fit_does_not_depend_on_the_chunk_size(monkeypatch, kind, sparse):
    # Full-batch L-BFGS evaluates the cost of all 60 rows at once: 9 blocks of 7
    # rows when patched. The same cost and gradient give the same iterates.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    if kind == "classifier":
        y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    else:
        y = np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2]
    if sparse:
        X = sp.csr_matrix(X)
    cls = BackpropClassifier if kind == "classifier" else BackpropRegressor
    params = dict(hidden_layer_sizes=(6, 5), activation="tanh", solver="lbfgs", alpha=1e-3,
                  max_iter=25, random_state=0)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return cls(**params).fit(X, y)

    whole = fit()
    calls = _count_calls(monkeypatch, "_backprop")
    monkeypatch.setattr(network_module, "CHUNK_ROWS", SMALL_CHUNK)
    chunked = fit()
    assert calls[0] >= 9 * chunked.n_iter_  # every evaluation went through the blocks
    assert chunked.n_iter_ == whole.n_iter_ > 5
    for got, expected in zip(
        chunked.coefs_ + chunked.intercepts_, whole.coefs_ + whole.intercepts_, strict=True
    ):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(chunked.loss_curve_, whole.loss_curve_, rtol=1e-10)
    predict = "predict_proba" if kind == "classifier" else "predict"
    np.testing.assert_allclose(
        getattr(chunked, predict)(X), getattr(whole, predict)(X), rtol=1e-10, atol=1e-12
    )
