"""The low-overhead paths of the NumPy training loop give exactly the results of the plain ones.

- ``Batches`` gathers the rows of a shuffled epoch in one of two ways: the
  whole epoch at once (dense data whose copy fits in
  ``loop.EPOCH_GATHER_BYTES``) or batch by batch. The oracle is the plain
  definition: the rows ``order[start:stop]`` of the permutation that
  ``rng.shuffle`` gives, taken by fancy indexing; both ways must yield
  exactly those rows, and whole fits must not depend on the way.
- ``Network._workspace`` keeps the views of its buffers between calls; after
  the buffers grow, the views must be those of the new buffers.
- The cross-entropy clips with ``np.maximum`` and ``np.minimum`` instead of
  ``np.clip``: the same values, bit for bit.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier
from skbackprop.core import kernels
from skbackprop.core.losses import _clip_bounds, _cross_entropy_sum
from skbackprop.core.network import MAX_VIEWS, Network
from skbackprop.training import loop

N_ROWS, BATCH = 53, 10  # five batches of 10 and one of 3


def _data(dtype, n_outputs=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_ROWS, 6)).astype(dtype)
    Y = rng.integers(0, 2, (N_ROWS, n_outputs)).astype(bool)
    sw = rng.uniform(0.5, 2.0, N_ROWS).astype(dtype)
    return X, Y, sw


def _expected(X, Y, sw, seed, epochs):
    """The batches by definition: the same permutations, rows taken by fancy indexing."""
    rng, order = np.random.default_rng(seed), np.arange(N_ROWS)
    for _ in range(epochs):
        rng.shuffle(order)
        batches = []
        for start in range(0, N_ROWS, BATCH):
            rows = order[start : start + BATCH]
            sw_batch = None if sw is None else sw[rows]
            weight = float(len(rows) if sw is None else sw_batch.sum())
            if weight > 0:
                batches.append((X[rows], Y[rows], sw_batch, weight))
        yield batches


def _collect(batches):
    """The batches of one epoch, copied as they come (a buffer may serve every batch)."""
    copy = lambda a: None if a is None else a.copy()  # noqa: E731
    return [(copy(X), copy(Y), copy(sw), w) for X, Y, sw, w in batches]


def _assert_same_batches(got, expected):
    assert len(got) == len(expected)
    for (X, Y, sw, w), (eX, eY, esw, ew) in zip(got, expected, strict=True):
        eX = eX.toarray() if sp.issparse(eX) else eX
        np.testing.assert_array_equal(X.toarray() if sp.issparse(X) else X, eX)
        assert X.dtype == eX.dtype and Y.dtype == eY.dtype
        np.testing.assert_array_equal(Y, eY)
        assert (sw is None) == (esw is None)
        if sw is not None:
            np.testing.assert_array_equal(sw, esw)
        assert w == ew


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("way", ["whole epoch", "per batch", "sparse"])
def test_shuffled_batches_are_the_permuted_rows(monkeypatch, way, dtype, weighted):
    X, Y, sw = _data(dtype)
    if weighted:
        sw[: N_ROWS - 6] = 0.0  # most batches weigh nothing: they are skipped
    else:
        sw = None
    if way == "per batch":
        monkeypatch.setattr(loop, "EPOCH_GATHER_BYTES", 0)
    source = sp.csr_matrix(X) if way == "sparse" else X
    batches = loop.Batches(source, Y, sw, BATCH, True, np.random.default_rng(7))
    assert batches.gathers_epoch == (way == "whole epoch")
    assert batches._epoch is None  # nothing allocated before the first pass
    for expected in _expected(X, Y, sw, 7, epochs=3):
        _assert_same_batches(_collect(batches), expected)
        assert len(expected) < len(batches) if weighted else len(expected) == len(batches)
    assert (batches._epoch is not None) == batches.gathers_epoch


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_batches_in_order_are_consecutive_rows(sparse):
    X, Y, sw = _data(np.float64)
    sw[BATCH : 2 * BATCH] = 0.0  # the second batch is skipped
    batches = loop.Batches(sp.csr_matrix(X) if sparse else X, Y, sw, BATCH, False, None)
    expected = [
        (X[a : a + BATCH], Y[a : a + BATCH], sw[a : a + BATCH], float(sw[a : a + BATCH].sum()))
        for a in range(0, N_ROWS, BATCH)
        if a != BATCH
    ]
    for _ in range(2):
        _assert_same_batches(_collect(batches), expected)


def test_targets_wider_than_the_inputs_are_gathered_per_batch():
    # Many classes: copying the targets would more than double the data.
    X, Y, _ = _data(np.float64, n_outputs=100)
    batches = loop.Batches(X, Y, None, BATCH, True, np.random.default_rng(3))
    assert not batches.gathers_epoch
    for expected in _expected(X, Y, None, 3, epochs=2):
        _assert_same_batches(_collect(batches), expected)


def _peak_bytes_of_fit(clf, X, y) -> int:
    tracemalloc.start()
    try:
        with kernels.disabled(), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_only_small_steps_copy_the_shuffled_epoch_whole():
    # 8000 x 784 float32 (25 MB): under EPOCH_GATHER_BYTES. With 8 hidden units a
    # step is small (200 x 784 x 8 multiply-adds) and the epoch is gathered in one
    # take, a copy of X; with 256 the step is large, a take per batch is a small
    # part of it, and the copy would only double the data's memory.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8000, 784)).astype(np.float32)
    y = rng.integers(0, 10, 8000)
    assert X.nbytes < loop.EPOCH_GATHER_BYTES
    params = dict(batch_size=200, max_iter=1, random_state=0)
    small = _peak_bytes_of_fit(BackpropClassifier(hidden_layer_sizes=(8,), **params), X, y)
    large = _peak_bytes_of_fit(BackpropClassifier(hidden_layer_sizes=(256,), **params), X, y)
    assert small > X.nbytes
    assert large < X.nbytes / 2


@pytest.mark.parametrize(
    "settings",
    [
        dict(solver="adam"),
        dict(solver="sgd", momentum=0.9, alpha=0.01),
        dict(solver="adam", early_stopping=True, activation="tanh"),
    ],
    ids=["adam", "sgd-momentum", "early-stopping"],
)
def test_fit_does_not_depend_on_how_rows_are_gathered(monkeypatch, settings):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 8))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    sw = rng.uniform(0.0, 2.0, 300)
    params = dict(hidden_layer_sizes=(12,), batch_size=32, max_iter=8, random_state=0, **settings)
    fits = []
    for limit in (loop.EPOCH_GATHER_BYTES, 0):
        monkeypatch.setattr(loop, "EPOCH_GATHER_BYTES", limit)
        with kernels.disabled(), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits.append(BackpropClassifier(**params).fit(X, y, sample_weight=sw))
    whole, per_batch = fits
    assert whole.loss_curve_ == per_batch.loss_curve_
    for a, b in zip(whole.coefs_ + whole.intercepts_, per_batch.coefs_ + per_batch.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_workspace_views_follow_the_buffers():
    net = Network([4, 5, 3], "relu", "softmax")
    small = net._workspace(10, np.zeros(1))
    assert net._workspace(10, np.zeros(1)) is small  # kept, not made again
    assert [a.shape for a in small[0]] == [(10, 5), (10, 3)]
    large = net._workspace(20, np.zeros(1))  # the buffers grow
    again = net._workspace(10, np.zeros(1))
    assert again is not small
    for view, buffer in zip(again[0] + again[1], large[0] + large[1], strict=True):
        assert view.shape[0] == 10 and np.shares_memory(view, buffer)
    for rows in range(1, 3 * MAX_VIEWS):  # the kept views stay few
        assert net._workspace(rows, np.zeros(1))[1][0].shape == (rows, 5)
    assert sum(1 for key in net._buffers if key[0] == "views") <= MAX_VIEWS
    net.release()
    assert net._buffers == {}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("out", ["softmax", "sigmoid"])
def test_cross_entropy_clip_is_np_clip(dtype, out):
    rng = np.random.default_rng(2)
    A = rng.uniform(0.0, 1.0, (40, 4)).astype(dtype)
    A[:5] = [0.0, 1.0, np.finfo(dtype).eps / 2, 1 - np.finfo(dtype).eps / 4]  # clipped
    Y = rng.integers(0, 2, A.shape).astype(dtype)
    eps = np.finfo(dtype).eps
    assert _clip_bounds(np.dtype(dtype)) == (eps, 1 - eps)
    got = _cross_entropy_sum(out, Y, A, None, np.empty_like(A))
    # The original formulation, with np.clip, operation by operation.
    P = np.clip(A, eps, 1 - eps)
    if out == "softmax":
        expected = -float(np.vdot(Y, np.log(P)))
    else:
        log_q = np.log1p(-P)
        terms = np.log(P)
        terms -= log_q
        terms *= Y
        terms += log_q
        expected = -float(terms.sum(axis=1).sum())
    assert np.isfinite(got)
    assert got == expected
