"""``partial_fit`` one batch at a time: every call checked, every failing call undone.

A call after the first reuses its buffers (the parameter vector it trains,
the step's gradient and snapshot, the batch buffers, the copy of the
optimizer's state) and skips nothing that matters:

- every call checks its input, whatever came before;
- a call that raises, at any point, leaves the estimator exactly as it was:
  the same pickle bytes, weights, optimizer state and generator state, and
  training on from there gives bit for bit the results of an estimator that
  never saw the failing call;
- the oracle of the reuse: the same calls, each made on a fresh copy of the
  estimator (unpickled, so without buffers), give the same bits, through
  changes of dtype, solver, step size and batch shape between calls;
- after the first call, a call holds little memory beyond what the estimator
  holds (no per-call copy of the parameters or of the optimizer's state).
"""

import contextlib
import copy
import pickle
import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.core import kernels
from skbackprop.exceptions import DivergenceError

CLASSES = np.arange(3)


def _path(compiled: bool):
    """The compiled epoch where numba allows it, or the NumPy path."""
    return contextlib.nullcontext() if compiled else kernels.disabled()


def _data(rows=20, features=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features)).astype(dtype)
    return X, rng.integers(0, 3, rows)


def _stream(n, rows=20, features=4, dtype=np.float64):
    return [_data(rows, features, seed, dtype) for seed in range(n)]


def _classifier(**params):
    settings = dict(hidden_layer_sizes=(8,), batch_size=20, random_state=0)
    return BackpropClassifier(**{**settings, **params})


def _feed(est, chunks):
    for X, y in chunks:
        est.partial_fit(X, y, classes=CLASSES)
    return est


def _assert_same_state(est, saved: bytes, reference):
    """``est`` pickles to ``saved`` and holds exactly the state of ``reference``."""
    assert pickle.dumps(est) == saved
    _assert_same_training(est, reference)


def _without_seconds(history):
    return [{k: v for k, v in entry.items() if k != "seconds"} for entry in history]


def _assert_same_training(est, reference):
    """The same weights (bits and dtype), generator, optimizer and record (timings aside)."""
    for a, b in zip([*est.coefs_, *est.intercepts_], [*reference.coefs_, *reference.intercepts_],
                    strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    assert est._rng.bit_generator.state == reference._rng.bit_generator.state
    ours, theirs = vars(est._optimizer), vars(reference._optimizer)
    assert ours.keys() == theirs.keys()
    for name, value in ours.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, theirs[name])
        else:
            assert value == theirs[name], name
    public = {k for k in vars(est) if not k.startswith("_")}
    assert public == {k for k in vars(reference) if not k.startswith("_")}
    assert est.n_iter_ == reference.n_iter_ and est.t_ == reference.t_
    assert est.loss_curve_ == reference.loss_curve_
    assert _without_seconds(est.history_) == _without_seconds(reference.history_)


class _RaiseAt:
    """A callback that raises at its ``n``-th call (and only then)."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def __call__(self, est, entry):
        self.calls += 1
        if self.calls == self.n:
            raise KeyError("the callback failed")
        return False


def _bad_call(kind, est, monkeypatch):
    """Make the call of kind ``kind`` on ``est``; it must raise."""
    X, y = _data(seed=99)
    if kind == "nan":
        X[3, 1] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            est.partial_fit(X, y)
    elif kind == "inf":
        X[0, 0] = np.inf
        with pytest.raises(ValueError, match="infinity"):
            est.partial_fit(X, y)
    elif kind == "features":
        with pytest.raises(ValueError, match="features"):
            est.partial_fit(X[:, :3], y)
    elif kind == "strings":
        with pytest.raises(ValueError, match="strings"):
            est.partial_fit(X.astype(str).astype(object) + "a", y)
    elif kind == "empty":
        with pytest.raises(ValueError, match="0 sample"):
            est.partial_fit(X[:0], y[:0])
    elif kind == "unseen label":
        y[5] = 7
        with pytest.raises(ValueError, match="not in classes"):
            est.partial_fit(X, y)
    elif kind == "float labels":
        with pytest.raises(ValueError, match="Unknown label type"):
            est.partial_fit(X, y + 0.5)
    elif kind == "other classes":
        with pytest.raises(ValueError, match="differs from the classes"):
            est.partial_fit(X, y, classes=np.arange(4))
    elif kind == "divergence":  # trains, then the weights overflow
        with pytest.raises(DivergenceError, match="left as it was"):
            est.partial_fit(X * 1e300, y)
    elif kind == "error after training":
        def fail(*args, **kwargs):
            raise RuntimeError("after training")

        monkeypatch.setattr(type(est), "_check_finite_outputs", fail)
        with pytest.raises(RuntimeError, match="after training"):
            est.partial_fit(X, y)
        monkeypatch.undo()
    else:
        raise AssertionError(kind)


FAILURES = ["nan", "inf", "features", "strings", "empty", "unseen label", "float labels",
            "other classes", "divergence", "error after training"]


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("failing_call", [2, 5])
@pytest.mark.parametrize("kind", FAILURES)
def test_a_later_call_that_fails_leaves_the_estimator_as_it_was(
    kind, failing_call, compiled, monkeypatch
):
    chunks = _stream(failing_call + 3)
    with warnings.catch_warnings(), _path(compiled):
        warnings.simplefilter("ignore")
        est = _feed(_classifier(), chunks[: failing_call - 1])
        twin = copy.deepcopy(est)
        saved = pickle.dumps(est)
        _bad_call(kind, est, monkeypatch)
        _assert_same_state(est, saved, twin)
        # Training on gives the bits of the estimator that never saw the failing call.
        _feed(est, chunks[failing_call - 1 :])
        _feed(twin, chunks[failing_call - 1 :])
    _assert_same_training(est, twin)


def test_a_callback_that_raises_in_a_later_call_leaves_the_estimator_as_it_was():
    chunks = _stream(6)
    est = _classifier(callbacks=[_RaiseAt(4)])
    _feed(est, chunks[:3])
    twin = copy.deepcopy(est)
    twin.callbacks[0].n = 0  # the twin's never raises
    with pytest.raises(KeyError, match="the callback failed"):
        est.partial_fit(*chunks[3])
    assert vars(est).keys() - {"_call_buffers"} == vars(twin).keys()  # deepcopy: no buffers
    _assert_same_training(est, twin)
    _feed(est, chunks[3:])
    _feed(twin, chunks[3:])
    _assert_same_training(est, twin)


@pytest.mark.parametrize("k", [1, 3])
def test_continuing_after_pickling_is_bit_identical(k):
    chunks = _stream(k + 4)
    est = _feed(_classifier(), chunks[:k])
    loaded = pickle.loads(pickle.dumps(est))
    assert "_call_buffers" not in vars(loaded)
    _feed(est, chunks[k:])
    _feed(loaded, chunks[k:])
    _assert_same_training(est, loaded)


def _each_call_fresh(est, calls):
    """The calls, each made on a copy of the estimator without buffers (unpickled)."""
    for method, args, kwargs in calls:
        if method == "set_params":
            est.set_params(**kwargs)
            continue
        est = pickle.loads(pickle.dumps(est))
        getattr(est, method)(*args, **kwargs)
    return est


def _apply(est, calls):
    for method, args, kwargs in calls:
        getattr(est, method)(*args, **kwargs)
    return est


def _calls():
    f64, f32 = _stream(3), _stream(3, dtype=np.float32)
    big = _data(rows=45, seed=7)
    pf = "partial_fit"
    return [
        (pf, f32[0], {"classes": CLASSES}), (pf, f32[1], {}),
        (pf, f64[0], {}), (pf, f64[1], {}),  # float64 after float32: new buffers
        ("set_params", (), {"learning_rate_init": 0.01}), (pf, f64[2], {}),  # a new optimizer
        ("set_params", (), {"solver": "sgd"}), (pf, f64[0], {}), (pf, f64[1], {}),
        ("set_params", (), {"solver": "adam", "batch_size": 10}), (pf, big, {}),
        (pf, f64[2], {"sample_weight": np.linspace(0.5, 2.0, 20)}),
        (pf, f32[2], {}),
        ("fit", f64[0], {}), (pf, f64[1], {}), (pf, f64[2], {}),
        ("set_params", (), {"warm_start": True, "max_iter": 3}), ("fit", f64[0], {}),
        (pf, f64[1], {}),
    ]


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_reused_buffers_give_the_bits_of_fresh_ones(compiled):
    with warnings.catch_warnings(), _path(compiled):
        warnings.simplefilter("ignore")
        reused = _apply(_classifier(), _calls())
        fresh = _each_call_fresh(_classifier(), _calls())
    assert reused.coefs_[0].dtype == np.float64
    _assert_same_training(reused, fresh)


def test_regressor_reused_buffers_give_the_bits_of_fresh_ones():
    rng = np.random.default_rng(0)
    chunks = [(rng.standard_normal((30, 3)), rng.standard_normal((30, 2))) for _ in range(4)]
    calls = [("partial_fit", chunk, {}) for chunk in chunks]
    reg = BackpropRegressor(hidden_layer_sizes=(6,), batch_size=30, random_state=0)
    reused = _apply(clone(reg), calls)
    fresh = _each_call_fresh(clone(reg), calls)
    _assert_same_training(reused, fresh)


def test_a_call_does_not_write_the_weights_the_previous_call_published():
    chunks = _stream(3)
    est = _feed(_classifier(), chunks[:1])
    published = est.coefs_ + est.intercepts_
    values = [a.copy() for a in published]
    est.partial_fit(*chunks[1])
    for array, value in zip(published, values, strict=True):
        np.testing.assert_array_equal(array, value)
    assert not np.array_equal(est.coefs_[0], values[0])


def test_the_buffers_are_transient():
    est = _feed(_classifier(), _stream(2))
    assert "_call_buffers" in vars(est)
    for other in (copy.deepcopy(est), copy.copy(est), pickle.loads(pickle.dumps(est))):
        assert "_call_buffers" not in vars(other)
    assert "_call_buffers" not in vars(clone(est))
    assert "_call_buffers" not in est.get_params()


@pytest.mark.parametrize(
    "name, value, match",
    [("alpha", -1.0, "alpha"), ("learning_rate_init", 0.0, "learning_rate_init"),
     ("hidden_layer_sizes", (8, 0), "hidden_layer_sizes"), ("solver", "lbfgs", "partial_fit")],
)
def test_parameters_changed_between_calls_are_checked(name, value, match):
    chunks = _stream(3)
    est = _feed(_classifier(), chunks[:2])
    setattr(est, name, value)  # not through set_params: the next call must still see it
    with pytest.raises((ValueError, AttributeError), match=match):
        est.partial_fit(*chunks[2])


def test_a_list_parameter_changed_in_place_is_checked():
    chunks = _stream(3)
    est = _feed(_classifier(hidden_layer_sizes=[8]), chunks[:2])
    est.hidden_layer_sizes.append(-1)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        est.partial_fit(*chunks[2])


def test_a_call_after_the_first_holds_little_memory():
    """Traced peak per call (beyond what is held before it) under 10% of the parameters.

    784-256-256-10 with 200 rows per call (the NumPy step): the parameters
    take 2.1 MB; copying them, the optimizer's moments or the batch would
    each exceed the limit many times over.
    """
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((200, 784)), rng.integers(0, 10, 200)
    est = BackpropClassifier(hidden_layer_sizes=(256, 256), batch_size=200, random_state=0)
    est.partial_fit(X, y, classes=np.arange(10))
    est.partial_fit(X, y)
    parameter_bytes = sum(a.nbytes for a in [*est.coefs_, *est.intercepts_])
    peaks = []
    tracemalloc.start()
    try:
        for _ in range(30):
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            est.partial_fit(X, y)
            peaks.append(tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    assert max(peaks) < 0.1 * parameter_bytes, (max(peaks), parameter_bytes)


def test_partial_fit_benchmark_quick_run():
    """benchmarks/bench_partial_fit.py's smoke run: every row timed, the memory figure printed."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_partial_fit.py"
    run = subprocess.run([sys.executable, str(script), "--quick", "--rst"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = [line.split() for line in run.stdout.splitlines()]
    table = [r for r in rows if len(r) == 10 and r[2] in ("float64", "float32")]
    assert len(table) == 6
    for row in table:
        assert float(row[3]) > 0 and float(row[4]) > 0 and row[5].endswith("x")
    wide = [r for r in table if r[0] == "784-256-256-10" and r[2] == "float64"]
    assert int(wide[0][7]) < 0.1 * int(wide[0][6])  # peak bytes per call vs parameter bytes
