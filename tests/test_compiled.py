"""The compiled epoch (numba) trains as the NumPy path does.

Oracle: the pure-NumPy training path of the same estimator, same data, same
starting weights and same batch order (``kernels.disabled()`` switches the
compiled code off). float64 weights must agree within 1e-12 relative after
several epochs, for every hidden activation x output x cost x solver the
compiled path takes; float32 within float32 rounding. Without numba these
tests are skipped, except where CI asks for them with
``SKBACKPROP_TEST_ACCELERATOR=1`` (then a missing numba fails).
"""

import contextlib
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import require_accelerator
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor, DivergenceError
from skbackprop.core import kernels
from skbackprop.core.activations import ACTIVATIONS, hidden_activations
from skbackprop.core.losses import COSTS
from skbackprop.core.network import Network
from skbackprop.core.optimizers import SGD
from skbackprop.training import compiled_epoch
from skbackprop.training.loop import WEIGHT_LIMIT, Batches, Diverged, Step, train_epoch

require_accelerator()

HIDDEN = list(hidden_activations())

SOLVERS = {
    "sgd": dict(solver="sgd", momentum=0.0, learning_rate_init=0.05),
    "momentum": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False,
                     learning_rate_init=0.02),
    "nesterov": dict(solver="sgd", momentum=0.9, learning_rate_init=0.02),
    "adam": dict(solver="adam", learning_rate_init=0.01),
}


def _data(kind, dtype=np.float64, n=45, seed=0):
    """``(X, y)`` for each output x cost pair (45 rows: batches 16, 16 and 13)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)).astype(dtype)
    score = X[:, 0] - X[:, 1] + 0.5 * X[:, 2]
    if kind == "multiclass":
        return X, np.digitize(score, [-0.7, 0.7])
    if kind == "binary":
        return X, (score > 0).astype(int)
    if kind == "multilabel":
        return X, np.column_stack([score > 0, X[:, 3] > 0]).astype(int)
    if kind == "real":
        return X, np.column_stack([score, X[:, 3]])
    if kind == "unit":
        return X, 1 / (1 + np.exp(-score))
    if kind == "signed":
        return X, np.tanh(score)
    return X, rng.poisson(np.exp(0.3 * score))  # counts


#: name -> (estimator class, its output settings, data kind): every output x cost pair.
PAIRS = {
    "softmax-ce": (BackpropClassifier, {}, "multiclass"),
    "sigmoid-ce-binary": (BackpropClassifier, {}, "binary"),
    "sigmoid-ce-multilabel": (BackpropClassifier, {}, "multilabel"),
    "softmax-se": (BackpropClassifier, dict(loss="squared_error"), "multiclass"),
    "sigmoid-se": (BackpropClassifier, dict(output_activation="sigmoid", loss="squared_error"),
                   "binary"),
    "identity-se": (BackpropRegressor, {}, "real"),
    "sigmoid-se-reg": (BackpropRegressor, dict(output_activation="sigmoid"), "unit"),
    "tanh-se": (BackpropRegressor, dict(output_activation="tanh"), "signed"),
    "exp-se": (BackpropRegressor, dict(output_activation="exp"), "counts"),
    "exp-poisson": (BackpropRegressor, dict(loss="poisson"), "counts"),
    "sigmoid-ce-reg": (BackpropRegressor, dict(loss="cross_entropy"), "unit"),
}


def _pair_loss(cls, output):
    """The cost a PAIRS entry trains with (its estimator's default, aliases resolved)."""
    loss = output.get("loss", "auto" if cls is BackpropClassifier else "squared_error")
    return "cross_entropy" if loss in ("auto", "log_loss") else loss


def test_pairs_cover_every_output_of_every_cost():
    covered = {(name.split("-")[0], _pair_loss(cls, output))
               for name, (cls, output, _) in PAIRS.items()}
    assert covered == {(out, loss) for loss, entry in COSTS.items() for out in entry.outputs}


@pytest.fixture
def compiled_calls(monkeypatch):
    """Counts the epochs the compiled path trains."""
    calls = []
    original = compiled_epoch.CompiledEpoch.__call__

    def spy(self, batches, step, show_progress=False):
        calls.append(1)
        return original(self, batches, step, show_progress)

    monkeypatch.setattr(compiled_epoch.CompiledEpoch, "__call__", spy)
    return calls


def _fit_both(make, X, y, **fit_params):
    """The same estimator fitted on the compiled path and on the NumPy path."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fast = make().fit(X, y, **fit_params)
        with kernels.disabled():
            slow = make().fit(X, y, **fit_params)
    return fast, slow


def _assert_close(fast, slow, rtol):
    for a, b in zip(fast.coefs_ + fast.intercepts_, slow.coefs_ + slow.intercepts_, strict=True):
        assert a.dtype == b.dtype
        scale = max(float(np.abs(b).max()), 1e-300)
        assert float(np.abs(a - b).max()) <= rtol * scale
    np.testing.assert_allclose(fast.loss_curve_, slow.loss_curve_, rtol=rtol * 10)
    assert fast.n_iter_ == slow.n_iter_


@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("hidden", HIDDEN)
def test_compiled_epoch_matches_numpy(hidden, pair, solver, compiled_calls):
    cls, output, kind = PAIRS[pair]
    X, y = _data(kind)

    def make():
        return cls(hidden_layer_sizes=(6, 4), activation=hidden, batch_size=16, max_iter=4,
                   random_state=0, **output, **SOLVERS[solver])

    fast, slow = _fit_both(make, X, y)
    assert len(compiled_calls) == 4  # the fast fit ran all its epochs compiled
    assert fast.n_iter_ == 4
    _assert_close(fast, slow, 1e-12)
    if cls is BackpropClassifier:
        np.testing.assert_array_equal(fast.predict(X), slow.predict(X))


@pytest.mark.parametrize("pair", ["softmax-ce", "identity-se", "exp-poisson"])
@pytest.mark.parametrize("solver", ["nesterov", "adam"])
def test_compiled_float32_matches_numpy(pair, solver, compiled_calls):
    cls, output, kind = PAIRS[pair]
    X, y = _data(kind, dtype=np.float32)

    def make():
        return cls(hidden_layer_sizes=(6,), activation="tanh", batch_size=16, max_iter=4,
                   random_state=0, **output, **SOLVERS[solver])

    fast, slow = _fit_both(make, X, y)
    assert compiled_calls and fast.coefs_[0].dtype == np.float32
    _assert_close(fast, slow, 1e-5)


@pytest.mark.parametrize("hidden", HIDDEN)
def test_compiled_float32_every_hidden_activation(hidden, compiled_calls):
    cls, output, kind = PAIRS["softmax-ce"]
    X, y = _data(kind, dtype=np.float32)

    def make():
        return cls(hidden_layer_sizes=(6, 4), activation=hidden, batch_size=16, max_iter=4,
                   random_state=0, **output, **SOLVERS["adam"])

    fast, slow = _fit_both(make, X, y)
    assert compiled_calls and fast.coefs_[0].dtype == np.float32
    _assert_close(fast, slow, 1e-5)


@pytest.mark.parametrize("shuffle", [True, False])
def test_compiled_with_weights_penalty_and_zero_weight_batches(shuffle, compiled_calls):
    X, y = _data("multiclass")
    weights = np.random.default_rng(3).uniform(0.2, 3.0, X.shape[0])
    if not shuffle:
        weights[16:32] = 0.0  # the second batch has nothing to teach: it is skipped
    make = lambda: BackpropClassifier(  # noqa: E731
        hidden_layer_sizes=(7,), alpha=0.3, batch_size=16, max_iter=5, shuffle=shuffle,
        random_state=1,
    )
    fast, slow = _fit_both(make, X, y, sample_weight=weights)
    assert compiled_calls
    _assert_close(fast, slow, 1e-12)
    # Adam counted the same steps (the skipped batch is not one).
    assert fast._optimizer.t == slow._optimizer.t


def test_compiled_early_stopping_and_schedules(compiled_calls):
    X, y = _data("multiclass", n=120)
    for settings in (
        dict(early_stopping=True, n_iter_no_change=3, max_iter=30),
        dict(solver="sgd", learning_rate="invscaling", power_t=0.3, learning_rate_init=0.2),
        dict(solver="sgd", learning_rate="adaptive", n_iter_no_change=2, tol=0.5),
    ):
        make = lambda s=settings: BackpropClassifier(  # noqa: E731
            hidden_layer_sizes=(5,), batch_size=20, random_state=2, **{"max_iter": 12, **s}
        )
        fast, slow = _fit_both(make, X, y)
        _assert_close(fast, slow, 1e-12)
        if settings.get("early_stopping"):
            assert fast.validation_scores_ == slow.validation_scores_
    assert compiled_calls


def test_compiled_partial_fit_and_warm_start(compiled_calls):
    X, y = _data("multiclass")
    runs = []
    for disabled in (False, True):
        est = BackpropClassifier(hidden_layer_sizes=(5,), batch_size=10, random_state=0)
        with kernels.disabled() if disabled else contextlib.nullcontext():
            for _ in range(3):
                est.partial_fit(X, y, classes=[0, 1, 2])
            est.set_params(warm_start=True, max_iter=2)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(X, y)
        runs.append(est)
    assert compiled_calls
    _assert_close(*runs, 1e-12)


def test_compiled_fortran_ordered_input(compiled_calls):
    X, y = _data("multiclass")
    make = lambda: BackpropClassifier(hidden_layer_sizes=(5,), max_iter=3,  # noqa: E731
                                      random_state=0)
    fast = make().fit(np.asfortranarray(X), y)
    assert compiled_calls
    with kernels.disabled():
        slow = make().fit(X, y)
    _assert_close(fast, slow, 1e-12)


def test_numpy_path_where_compiled_does_not_apply(compiled_calls):
    X, y = _data("multiclass")
    settings = dict(hidden_layer_sizes=(5,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        BackpropClassifier(**settings).fit(sp.csr_matrix(X), y)  # sparse
        BackpropClassifier(solver="lbfgs", **settings).fit(X, y)  # full batch
        # a step whose products are large: bound by BLAS, the NumPy path runs
        wide = np.random.default_rng(0).standard_normal((300, 600))
        BackpropClassifier(hidden_layer_sizes=(800,), max_iter=1, batch_size=300,
                           random_state=0).fit(wide, np.arange(300) % 3)
        # wide tanh layers: NumPy's vectorised tanh is faster than the kernel's
        assert 45 * 100 > ACTIVATIONS["tanh"].kernel_values_limit
        BackpropClassifier(hidden_layer_sizes=(100,), activation="tanh", batch_size=45,
                           max_iter=2, random_state=0).fit(X, y)
        # dropout: the thinned network's pass is the NumPy path's
        BackpropClassifier(dropout=0.2, **settings).fit(X, y)
    assert compiled_calls == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # a narrow tanh layer takes the compiled path
        BackpropClassifier(hidden_layer_sizes=(10,), activation="tanh", batch_size=45,
                           max_iter=2, random_state=0).fit(X, y)
        # dropout rates of 0: no dropout, the compiled path
        BackpropClassifier(dropout=[0.0], **settings).fit(X, y)
    assert len(compiled_calls) == 4


def test_compiled_divergence_raises_and_keeps_the_estimator():
    X, y = _data("real")
    est = BackpropRegressor(hidden_layer_sizes=(5,), solver="sgd", momentum=0.0,
                            learning_rate_init=1e6, max_iter=5, random_state=0)
    with pytest.raises(DivergenceError, match="diverged in epoch 1"):
        est.fit(X * 1e3, y * 1e3)
    assert not hasattr(est, "coefs_")


def _run_python(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "SKBACKPROP_ACCELERATOR"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env=env).stdout


def test_import_does_not_import_numba():
    out = _run_python("import sys, skbackprop; print('numba' in sys.modules)")
    assert out.strip() == "False"


def test_second_process_loads_the_kernel_from_numbas_cache():
    # A process loads numba only when its work makes that pay (test_first_fits.py):
    # here warm_up loads it, and the fit then runs compiled.
    fit = (
        "import numpy as np; from skbackprop import BackpropClassifier; from skbackprop.training import compiled_epoch;"
        "compiled_epoch.warm_up();"
        "X = np.random.default_rng(0).standard_normal((30, 3)); y = np.arange(30) % 2;"
        "BackpropClassifier(max_iter=1).fit(X, y);"
        "stats = compiled_epoch._compile().epoch.stats;"
        "print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))"
    )
    _run_python(fit)  # compiles, or loads an earlier run's cache
    hits, misses = map(int, _run_python(fit).split())
    assert hits >= 1 and misses == 0


@pytest.mark.parametrize("bad", [2 * WEIGHT_LIMIT, -3 * WEIGHT_LIMIT, np.nan])
def test_weights_beyond_the_limit_are_divergence_on_both_paths(bad):
    """A finite cost with exploded weights (a clipped cross-entropy) still diverges."""
    X, y = _data("multiclass")
    Y = np.eye(3, dtype=bool)[y]
    for compiled in (True, False):
        net = Network([5, 4, 3], "relu", "softmax")
        params = net.init_params("glorot_uniform", np.random.default_rng(0))
        params[-1] = bad  # the last intercept: the cost stays finite for a large value
        step = Step(net, "cross_entropy", 0.0, params, SGD(params.size, params.dtype, 1e-9))
        batches = Batches(X, Y, None, 16, True, np.random.default_rng(0))
        train = compiled_epoch.epoch_trainer(batches, step) if compiled else train_epoch
        assert train is not None
        with pytest.raises(Diverged):
            train(batches, step)
