"""BLAS runs one thread during training runs of small products, and is restored after.

The oracle is threadpoolctl's report of the BLAS libraries' thread counts,
read from inside training (an epoch callback) and after it.
"""

import numpy as np
import pytest
from conftest import fit_quietly

from skbackprop import BackpropClassifier, _threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> set:
    return {lib["num_threads"] for lib in threadpoolctl.threadpool_info()
            if lib["user_api"] == "blas"}


class ThreadsSeen:
    """An epoch callback recording the BLAS thread counts during training."""

    def __init__(self):
        self.seen = []

    def __call__(self, est, record):
        self.seen.append(_blas_threads())


@pytest.fixture
def two_blas_threads():
    if not _blas_threads():
        pytest.skip("no BLAS library reported by threadpoolctl")
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        yield _blas_threads()


def _fit(X, y, **params):
    seen = ThreadsSeen()
    fit_quietly(BackpropClassifier(callbacks=[seen], random_state=0, **params), X, y)
    return seen.seen


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_small_products_train_on_one_blas_thread(two_blas_threads, solver):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 8)), rng.integers(0, 3, 300)
    seen = _fit(X, y, hidden_layer_sizes=(20,), solver=solver, max_iter=10, batch_size=50)
    assert seen and all(threads == {1} for threads in seen)
    assert _blas_threads() == two_blas_threads  # restored


def test_large_products_keep_the_blas_threads(two_blas_threads):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(400, 600)), rng.integers(0, 3, 400)
    assert _threads.largest_product([600, 100, 3], 400) >= _threads.SMALL_STEP
    seen = _fit(X, y, hidden_layer_sizes=(100,), max_iter=2, batch_size=400)
    assert seen == [two_blas_threads] * 2


def test_short_runs_and_switched_off_keep_the_blas_threads(two_blas_threads, monkeypatch):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    # One epoch of one batch: fewer steps than MIN_STEPS, not worth the limit.
    assert _fit(X, y, max_iter=1, batch_size=40) == [two_blas_threads]
    monkeypatch.setattr(_threads, "ENABLED", False)
    assert _fit(X, y, max_iter=3, batch_size=5) == [two_blas_threads] * 3


def test_a_failing_fit_restores_the_blas_threads(two_blas_threads):
    def fail(est, record):
        raise RuntimeError("callback failed")

    X, y = np.random.default_rng(0).normal(size=(60, 3)), np.arange(60) % 2
    with pytest.raises(RuntimeError, match="callback failed"):
        BackpropClassifier(callbacks=[fail], max_iter=5, batch_size=10).fit(X, y)
    assert _blas_threads() == two_blas_threads
