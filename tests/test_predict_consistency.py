"""``predict`` agrees with ``predict_proba`` and ``predict_log_proba``, ties included.

scikit-learn's contract for a classifier: ``predict(X)`` is
``classes_[np.argmax(predict_proba(X), axis=1)]`` (the first of tied
classes, as ``np.argmax``), and for multilabel targets the labels whose
probability exceeds 0.5. ``predict_log_proba`` is the logarithm of
``predict_proba``: it ranks the classes alike, ties included.

The oracle is the estimator's own ``predict_proba``. The networks are set to
extreme weights (sigmoids that all round to 1 or to 0, softmaxes of
pre-activations in the hundreds, duplicated output units): the rounding of
saturated units is where the labels and the probabilities parted before
(a fuzz trial: several sigmoid units for three classes all at 1.0, a tie in
``predict_proba``, and ``predict`` took the argmax of the pre-activations).

Every output layer and cost the classifier accepts (softmax, one sigmoid
unit per class, one sigmoid unit for two classes, sigmoid units for
multilabel targets; cross-entropy and squared error), float32 and float64
models, NumPy, array-api-strict and PyTorch arrays (under array API
dispatch, where installed) and dask arrays (blockwise, where installed).
The ONNX graph's labels are tested in ``tests/test_onnx.py``.

The property test needs hypothesis, which the ``test`` extra does not
install: without it that test is skipped, and a fixed set of extreme
networks (``test_extreme_networks``) runs the same checks.
"""

import importlib.util
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier
from skbackprop.core.ops import ops_of

try:
    from hypothesis import example, given, settings
    from hypothesis import strategies as st
except ImportError:  # not in the test extra
    given = None

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

#: (name, output_activation, loss, kind of targets).
CONFIGS = {
    "softmax-ce": ("softmax", "cross_entropy", "multiclass"),
    "softmax-se": ("softmax", "squared_error", "multiclass"),
    "sigmoid-multiclass-ce": ("sigmoid", "cross_entropy", "multiclass"),
    "sigmoid-multiclass-se": ("sigmoid", "squared_error", "multiclass"),
    "sigmoid-binary-ce": ("auto", "cross_entropy", "binary"),
    "sigmoid-binary-se": ("sigmoid", "squared_error", "binary"),
    "softmax-binary-ce": ("softmax", "log_loss", "binary"),
    "softmax-binary-se": ("softmax", "squared_error", "binary"),
    "multilabel-ce": ("auto", "cross_entropy", "multilabel"),
    "multilabel-se": ("sigmoid", "squared_error", "multilabel"),
}

N_FEATURES = 2

#: Values of weights and inputs: zero, small, and large enough to saturate.
EXTREMES = [0.0, 1e-3, 0.5, 1.0, 7.0, 40.0, 100.0, 800.0]


def _targets(kind, n=12, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "multilabel":
        Y = rng.integers(0, 2, size=(n, 3))
        Y[0], Y[1] = 0, 1  # every label both set and unset
        return Y
    labels = np.array([-4, 9]) if kind == "binary" else np.array([3, 7, 11])
    return labels[np.arange(n) % len(labels)]


def _model(config, dtype=np.float64, hidden=(), activation="relu"):
    """A classifier of ``config`` after one short fit (its weights set afterwards)."""
    output, loss, kind = CONFIGS[config]
    y = _targets(kind)
    X = np.random.default_rng(1).normal(size=(len(y), N_FEATURES)).astype(dtype)
    clf = BackpropClassifier(
        hidden_layer_sizes=hidden, activation=activation, output_activation=output, loss=loss,
        max_iter=1, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


def _set_weights(clf, coefs, intercepts):
    """Overwrite the fitted weights in place (in their dtype and library)."""
    for W, new in zip(clf.coefs_ + clf.intercepts_, list(coefs) + list(intercepts), strict=True):
        ops = ops_of(W)
        W[...] = new.astype(W.dtype) if ops.host else ops.from_host(new, W, W.dtype)


def _host(array):
    return ops_of(array).to_host(array)


def assert_consistent(clf, X, proba, log_proba, pred):
    """The three outputs of ``clf`` for ``X`` (as NumPy arrays) agree as scikit-learn requires."""
    dtype = proba.dtype
    assert dtype == log_proba.dtype == _host(clf.coefs_[0]).dtype
    assert proba.shape == log_proba.shape == (X.shape[0], len(clf.classes_))
    if clf._multilabel():
        np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    else:
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-5)
        np.testing.assert_array_equal(pred, clf.classes_[np.argmax(proba, axis=1)])
        # predict's class has the largest log-probability too (log may merge two
        # probabilities that differ in their last digit, never split a tie).
        codes = np.searchsorted(clf.classes_, pred)
        chosen = log_proba[np.arange(X.shape[0]), codes]
        np.testing.assert_array_equal(chosen, log_proba.max(axis=1))
    # The logarithm keeps ties and order ...
    same = proba[:, :, None] == proba[:, None, :]
    assert (log_proba[:, :, None] == log_proba[:, None, :])[same].all()
    above = proba[:, :, None] > proba[:, None, :]
    assert (log_proba[:, :, None] >= log_proba[:, None, :])[above].all()
    # ... and is the logarithm (to rounding; exp(-inf) = 0 where proba underflowed).
    tiny = float(np.finfo(dtype).tiny)
    rtol = 1e-5 if str(dtype) == "float32" else 1e-12
    with np.errstate(under="ignore"):
        np.testing.assert_allclose(np.exp(log_proba), proba, rtol=rtol, atol=tiny)


def check_numpy(clf, X):
    X = np.asarray(X, dtype=clf.coefs_[0].dtype)
    assert_consistent(clf, X, clf.predict_proba(X), clf.predict_log_proba(X), clf.predict(X))


def _extreme_weights(clf, rng, duplicate):
    """Weights drawn from :data:`EXTREMES` with random signs; a duplicated output unit."""
    coefs, intercepts = [], []
    for W, b in zip(clf.coefs_, clf.intercepts_, strict=True):
        draw = [rng.choice(EXTREMES, size=a.shape) * rng.choice([-1, 1], size=a.shape)
                for a in (W, b)]
        coefs.append(draw[0])
        intercepts.append(draw[1])
    if duplicate and coefs[-1].shape[1] > 1:  # two output units alike: an exact tie
        coefs[-1][:, -1], intercepts[-1][-1] = coefs[-1][:, 0], intercepts[-1][0]
    return coefs, intercepts


def _extreme_inputs(rng, n=16):
    return rng.choice(EXTREMES, size=(n, N_FEATURES)) * rng.choice([-1, 1], size=(n, N_FEATURES))


# --------------------------------------------------------------------------- #
# The fuzz trial's case, and fixed extreme networks
# --------------------------------------------------------------------------- #
REPRO_X = [[125.7], [-132.1], [640.4], [104.9]]
REPRO_Y = [3, 2, 2, 1]


def _repro(seed):
    """The fuzz trial's model: three sigmoid units, one step on inputs in the hundreds."""
    clf = BackpropClassifier(
        hidden_layer_sizes=(), output_activation="sigmoid", max_iter=1, learning_rate_init=1e-4,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(REPRO_X, REPRO_Y)


@pytest.mark.parametrize("seed", range(10))
def test_saturated_sigmoid_units_fuzz_case(seed):
    clf = _repro(seed)
    proba = clf.predict_proba(REPRO_X)
    np.testing.assert_array_equal(clf.predict(REPRO_X), clf.classes_[np.argmax(proba, axis=1)])
    check_numpy(clf, REPRO_X)
    assert clf.score(REPRO_X, REPRO_Y) == np.mean(clf.predict(REPRO_X) == REPRO_Y)


def test_saturated_sigmoid_units_tie_goes_to_the_first_class():
    clf = _repro(0)
    # Row 1: z ~ [-26, 43, 86]; the last two sigmoids are both 1.0.
    proba = clf.predict_proba(REPRO_X)
    assert proba[1, 1] == proba[1, 2] and proba[1, 0] < 1e-10
    assert clf.predict(REPRO_X)[1] == clf.classes_[1] == 2
    log_proba = clf.predict_log_proba(REPRO_X)
    assert log_proba[1, 1] == log_proba[1, 2]


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_networks(config, dtype):
    """Random extreme networks, with and without a hidden layer and duplicated outputs."""
    rng = np.random.default_rng(0)
    for hidden, activation in [((), "relu"), ((3,), "relu"), ((3,), "tanh")]:
        clf = _model(config, dtype, hidden, activation)
        for trial in range(4):
            _set_weights(clf, *_extreme_weights(clf, rng, duplicate=trial % 2 == 1))
            check_numpy(clf, _extreme_inputs(rng))


# --------------------------------------------------------------------------- #
# The property
# --------------------------------------------------------------------------- #
if given is not None:
    _extreme = st.sampled_from(EXTREMES).flatmap(
        lambda v: st.sampled_from([v, -v])
    ) | st.floats(-1000, 1000, allow_nan=False, width=32)

    def _arrays(shape):
        size = int(np.prod(shape))
        return st.lists(_extreme, min_size=size, max_size=size).map(
            lambda values: np.array(values, dtype=np.float64).reshape(shape)
        )

    @st.composite
    def _cases(draw):
        config = draw(st.sampled_from(list(CONFIGS)))
        dtype = draw(st.sampled_from([np.float64, np.float32]))
        hidden = draw(st.sampled_from([(), (3,)]))
        activation = draw(st.sampled_from(["relu", "tanh", "logistic", "identity"]))
        clf = _model(config, dtype, hidden, activation)
        coefs = [draw(_arrays(W.shape)) for W in clf.coefs_]
        intercepts = [draw(_arrays(b.shape)) for b in clf.intercepts_]
        if coefs[-1].shape[1] > 1 and draw(st.booleans()):  # an exact tie of two units
            coefs[-1][:, -1], intercepts[-1][-1] = coefs[-1][:, 0], intercepts[-1][0]
        _set_weights(clf, coefs, intercepts)
        X = draw(_arrays((draw(st.integers(1, 6)), N_FEATURES)))
        return clf, X

    @settings(max_examples=60, deadline=None)
    @given(_cases())
    @example((_repro(0), np.array(REPRO_X)))
    def test_predict_follows_predict_proba(case):
        clf, X = case
        check_numpy(clf, X)

else:

    @pytest.mark.skip(reason="hypothesis is not installed (it is not in the test extra)")
    def test_predict_follows_predict_proba():
        """Stands for the property test where hypothesis is missing."""


# --------------------------------------------------------------------------- #
# Other array libraries (array API dispatch) and dask
# --------------------------------------------------------------------------- #
HAS_TORCH = importlib.util.find_spec("torch") is not None
PLACES = [
    pytest.param("array_api_strict", id="strict"),
    pytest.param(
        "torch", id="torch-cpu",
        marks=pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed"),
    ),
]


@pytest.mark.parametrize("config", [c for c in CONFIGS if c.endswith("-ce")])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", PLACES)
def test_array_api_dispatch(name, dtype, config):
    pytest.importorskip("array_api_compat", reason="array-api-compat is not installed")
    scipy = pytest.importorskip("scipy")
    if tuple(int(p) for p in scipy.__version__.split(".")[:2]) < (1, 14):
        pytest.skip("scikit-learn's array API dispatch needs SciPy >= 1.14")
    xp = pytest.importorskip(name)
    _, _, kind = CONFIGS[config]
    y = _targets(kind)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(len(y), N_FEATURES)).astype(dtype)
    output, loss, _ = CONFIGS[config]
    clf = BackpropClassifier(hidden_layer_sizes=(3,), output_activation=output, loss=loss,
                             max_iter=1, random_state=0)
    with sklearn.config_context(array_api_dispatch=True):
        clf.fit(xp.asarray(X), xp.asarray(y))
        for trial in range(3):
            _set_weights(clf, *_extreme_weights(clf, rng, duplicate=trial > 0))
            X_test = xp.asarray(_extreme_inputs(rng).astype(dtype))
            proba = clf.predict_proba(X_test)
            log_proba = clf.predict_log_proba(X_test)
            pred = clf.predict(X_test)
            assert ops_of(proba) is ops_of(X_test)
            assert_consistent(clf, _host(X_test), _host(proba), _host(log_proba), _host(pred))


def test_dask_blockwise_predictions_and_score():
    """dask arrays: predict, predict_proba and score computed block by block agree."""
    da = pytest.importorskip("dask.array", reason="dask is an optional extra ([dask])")
    import dask

    rng = np.random.default_rng(3)
    for config in ("sigmoid-multiclass-ce", "softmax-se", "multilabel-ce"):
        clf = _model(config)
        _set_weights(clf, *_extreme_weights(clf, rng, duplicate=True))
        X = np.vstack([_extreme_inputs(rng, 40), np.asarray(REPRO_X * 5)[:, [0, 0]]])
        Xd = da.from_array(X, chunks=(13, N_FEATURES))
        with dask.config.set(scheduler="sync"):
            proba, log_proba, pred = dask.compute(
                clf.predict_proba(Xd), clf.predict_log_proba(Xd), clf.predict(Xd)
            )
            assert_consistent(clf, X, proba, log_proba, pred)
            if not clf._multilabel():
                y = clf.classes_[rng.integers(0, len(clf.classes_), X.shape[0])]
                score = clf.score(Xd, da.from_array(y, chunks=13))
                assert score == pytest.approx(np.mean(pred == y), rel=1e-12)
    clf = _repro(0)
    Xd = da.from_array(np.asarray(REPRO_X * 3), chunks=(5, 1))
    with dask.config.set(scheduler="sync"):
        proba, pred = dask.compute(clf.predict_proba(Xd), clf.predict(Xd))
        np.testing.assert_array_equal(pred, clf.classes_[np.argmax(proba, axis=1)])
        score = clf.score(Xd, da.from_array(np.asarray(REPRO_Y * 3), chunks=5))
    assert score == pytest.approx(np.mean(pred == REPRO_Y * 3))
