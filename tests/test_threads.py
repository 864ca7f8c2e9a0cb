"""BLAS runs one thread during training runs of small products, and is restored after.

The oracle is threadpoolctl's report of the BLAS libraries' thread counts,
read from inside training (an epoch callback) and after it. Runs that overlap
(fits in several threads) share the process's counts, which must come back
exactly once the last run has ended, whatever the order the runs end in.
The counts start at 2 so that a count left at 1 shows.
"""

import contextlib
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import fit_quietly
from sklearn.datasets import load_digits

from skbackprop import BackpropClassifier
from skbackprop.training import threads as blas_threads

threadpoolctl = pytest.importorskip("threadpoolctl")
threadpool_limits = threadpoolctl.threadpool_limits

_reader = []


def _blas_threads() -> set:
    """The thread counts threadpoolctl reports for the BLAS libraries loaded."""
    if not _reader:  # scanning the loaded libraries takes milliseconds: once
        _reader.append(threadpoolctl.ThreadpoolController().select(user_api="blas"))
    return {lib["num_threads"] for lib in _reader[0].info()}


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
    with threadpool_limits(2, user_api="blas"):
        if _blas_threads() != {2}:  # e.g. an OpenBLAS capped at one core
            pytest.skip(f"BLAS cannot be set to 2 threads here: {_blas_threads()}")
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
    assert blas_threads.largest_product([600, 100, 3], 400) >= blas_threads.SMALL_STEP
    seen = _fit(X, y, hidden_layer_sizes=(100,), max_iter=2, batch_size=400)
    assert seen == [two_blas_threads] * 2


def test_short_runs_and_switched_off_keep_the_blas_threads(two_blas_threads, monkeypatch):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    # One epoch of one batch: fewer steps than MIN_STEPS, not worth the limit.
    assert _fit(X, y, max_iter=1, batch_size=40) == [two_blas_threads]
    monkeypatch.setattr(blas_threads, "ENABLED", False)
    assert _fit(X, y, max_iter=3, batch_size=5) == [two_blas_threads] * 3


def test_a_failing_fit_restores_the_blas_threads(two_blas_threads):
    def fail(est, record):
        raise RuntimeError("callback failed")

    X, y = np.random.default_rng(0).normal(size=(60, 3)), np.arange(60) % 2
    with pytest.raises(RuntimeError, match="callback failed"):
        BackpropClassifier(callbacks=[fail], max_iter=5, batch_size=10).fit(X, y)
    assert _blas_threads() == two_blas_threads


# --------------------------------------------------------------------------- #
# Overlapping runs: fits in threads share the process's BLAS thread counts
# --------------------------------------------------------------------------- #
def _let_go_of_blas():
    """Let any thread set OpenBLAS's threads (threadpoolctl 3.8 lets only one at a time)."""
    getattr(threadpoolctl.OpenBLASController, "clear_controlling_thread", lambda: None)()


@pytest.fixture
def two_blas_threads_for_all(two_blas_threads):
    """Two BLAS threads, which fits in other threads than this one may lower."""
    _let_go_of_blas()
    yield two_blas_threads


def _small_run():
    """The limit of a small run (as ``fit_stochastic`` asks for it)."""
    run = blas_threads.blas_threads_for([64, 20, 10], 200, 100, blas_threads.SMALL_STEP)
    assert not isinstance(run, contextlib.nullcontext)
    return run


def test_runs_left_in_the_order_entered_restore_the_threads(two_blas_threads):
    # Two overlapping fits: A starts, B starts, A ends, B ends. B must keep the
    # limit after A has ended, and the threads must come back when B ends.
    a, b = _small_run(), _small_run()
    a.__enter__()
    b.__enter__()
    assert _blas_threads() == {1}
    a.__exit__(None, None, None)
    assert _blas_threads() == {1}  # B still runs
    b.__exit__(None, None, None)
    assert _blas_threads() == two_blas_threads


def _interleavings(runs: int):
    """Every order of the starts and ends of ``runs`` runs, each start before its end."""
    events = [(run, kind) for run in range(runs) for kind in ("enter", "exit")]
    for order in itertools.permutations(events):
        if all(order.index((run, "enter")) < order.index((run, "exit")) for run in range(runs)):
            yield order


def test_every_interleaving_of_three_runs_restores_the_threads(two_blas_threads):
    orders = list(_interleavings(3))
    assert len(orders) == 90  # 6! / 2**3
    for order in orders:
        runs, running = [_small_run() for _ in range(3)], 0
        for run, kind in order:
            if kind == "enter":
                runs[run].__enter__()
                running += 1
            else:
                runs[run].__exit__(None, None, None)
                running -= 1
            assert _blas_threads() == ({1} if running else two_blas_threads), order


def test_runs_in_threads_ending_in_any_order_restore_the_threads(two_blas_threads_for_all):
    # Eight threads each start a run and meet at a barrier (all eight inside);
    # then each ends its run, from its own thread, when the test says so.
    n = 8
    inside = threading.Barrier(n + 1, timeout=10)
    turn, done = [threading.Event() for _ in range(n)], [threading.Event() for _ in range(n)]

    def run(i):
        with _small_run():
            inside.wait()
            assert turn[i].wait(10)
        done[i].set()

    for order in ([0, 1, 2, 3, 4, 5, 6, 7], [7, 6, 5, 4, 3, 2, 1, 0], [3, 0, 7, 1, 6, 2, 5, 4]):
        for event in turn + done:
            event.clear()
        with ThreadPoolExecutor(n) as pool:
            futures = [pool.submit(run, i) for i in range(n)]
            inside.wait()
            assert _blas_threads() == {1}
            for k, i in enumerate(order):
                turn[i].set()
                assert done[i].wait(10)
                expected = {1} if k < n - 1 else two_blas_threads_for_all
                assert _blas_threads() == expected, (order, k)
            for future in futures:
                future.result()


class MeetAtFirstEpoch:
    """A callback holding a fit at its first epoch until three other fits are there too.

    With four workers and a multiple of four fits, every fit reaches the
    barrier once and each wait ends, with four fits overlapping.
    """

    def __init__(self, barrier, seen):
        self.barrier, self.seen, self.met = barrier, seen, False

    def __call__(self, est, record):
        if not self.met:
            self.met = True
            self.barrier.wait()
            self.seen.append(_blas_threads())


def _fits_in_threads(pool, fits=24, longest=14):
    """The issue's case: digits fits, adam and lbfgs, in a pool of four threads.

    Fits end after 3 to 7 epochs (adam) or 10 to 14 iterations (lbfgs), at most
    ``longest``. Returns the thread counts each fit saw while four fits ran.
    """
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    barrier, seen = threading.Barrier(4, timeout=30), []

    def fit(i):
        solver = ("adam", "lbfgs")[i % 2]
        est = BackpropClassifier(
            hidden_layer_sizes=(20,), solver=solver, max_iter=min((3, 10)[i % 2] + i % 5, longest),
            callbacks=[MeetAtFirstEpoch(barrier, seen)], random_state=i,
        )
        return est.fit(X, y).n_iter_

    assert all(n_iter > 0 for n_iter in pool.map(fit, range(fits)))
    assert len(seen) == fits
    return seen


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_concurrent_fits_restore_the_threads(two_blas_threads_for_all):
    with ThreadPoolExecutor(4) as pool:
        seen = _fits_in_threads(pool)
        assert all(threads == {1} for threads in seen)
        assert _blas_threads() == two_blas_threads_for_all
        # No worker thread kept threadpoolctl's control: this thread can still
        # set the counts while the workers live.
        with threadpool_limits(1, user_api="blas"):
            assert _blas_threads() == {1}
        assert _blas_threads() == two_blas_threads_for_all


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_concurrent_fits_under_a_users_limit_restore_it(two_blas_threads):
    # The user's threadpoolctl context in this thread around the pool: with
    # threadpoolctl >= 3.8 it holds control and the fits leave the counts
    # alone; with earlier versions they lower them. Either way they come back.
    with ThreadPoolExecutor(4) as pool:
        seen = _fits_in_threads(pool, fits=4, longest=blas_threads.MIN_STEPS)  # 2 threads: slow
    assert all(threads in ({1}, two_blas_threads) for threads in seen)
    assert _blas_threads() == two_blas_threads


def test_a_users_own_limits_are_kept(two_blas_threads):
    X, y = np.random.default_rng(0).normal(size=(100, 4)), np.arange(100) % 2
    # A lower limit already in place is never raised, during the fit or after.
    with threadpool_limits(1, user_api="blas"):
        assert all(threads == {1} for threads in _fit(X, y, max_iter=3, batch_size=10))
        assert _blas_threads() == {1}
    assert _blas_threads() == two_blas_threads
    # A limit changed between fits is what the next fit restores.
    _fit(X, y, max_iter=3, batch_size=10)
    with threadpool_limits(3, user_api="blas"):
        three = _blas_threads()
        assert all(threads == {1} for threads in _fit(X, y, max_iter=3, batch_size=10))
        assert _blas_threads() == three
    assert _blas_threads() == two_blas_threads


def test_a_count_changed_during_a_run_is_kept(two_blas_threads):
    run = _small_run()
    with run:
        assert _blas_threads() == {1}
        threadpool_limits(3, user_api="blas")  # not undone by the test
        three = _blas_threads()
    assert _blas_threads() == three  # the run does not set 2 over the user's 3


class PerThreadLibrary:
    """A stand-in for OpenBLAS on OpenMP: a thread count for each calling thread."""

    internal_api, threading_layer = "openblas", "openmp"

    def __init__(self):
        self.local = threading.local()

    @property
    def num_threads(self):
        return getattr(self.local, "threads", 4)

    def set_num_threads(self, threads):
        self.local.threads = threads


def test_per_thread_counts_are_lowered_and_restored_in_their_own_thread():
    library = PerThreadLibrary()
    controller = type("Controller", (), {"lib_controllers": [library]})()
    both_in, first_out = threading.Barrier(2, timeout=10), threading.Event()
    counts = {}

    def run(name):
        with blas_threads._OneThread(controller):
            counts[name, "in"] = library.num_threads
            both_in.wait()
            if name == "b":
                assert first_out.wait(10)
                counts["b", "after a"] = library.num_threads
        if name == "a":
            first_out.set()
        counts[name, "out"] = library.num_threads

    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(run, "a"), pool.submit(run, "b")]:
            future.result()
    assert counts == {
        ("a", "in"): 1, ("b", "in"): 1, ("b", "after a"): 1, ("a", "out"): 4, ("b", "out"): 4,
    }
    assert library.num_threads == 4  # this thread's count was never touched
