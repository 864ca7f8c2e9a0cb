"""Input types, persistence, scikit-learn tooling, and the starting weights.

Oracles: the dense float64 model (for sparse and integer input), the documented
distributions of the initialisation schemes (checked statistically on a large
layer), and the gradient of a linear least-squares model written by hand (for
one step of gradient descent from ``coefs_init``).
"""

import pickle
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _all_params(est):
    return est.coefs_ + est.intercepts_


# --------------------------------------------------------------------------- #
# Input types
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_float32_kept_end_to_end(iris, solver):
    X, y = iris
    X32 = X.astype(np.float32)
    clf = BackpropClassifier(hidden_layer_sizes=(6,), solver=solver, max_iter=10,
                             random_state=0).fit(X32, y)
    assert all(p.dtype == np.float32 for p in _all_params(clf))
    assert clf.predict_proba(X32).dtype == np.float32
    reg = BackpropRegressor(hidden_layer_sizes=(6,), solver=solver, max_iter=10,
                            random_state=0).fit(X32, X[:, 0])
    assert all(p.dtype == np.float32 for p in _all_params(reg))
    assert reg.predict(X32).dtype == np.float32
    # float32 training follows the float64 one up to single precision.
    reg64 = BackpropRegressor(hidden_layer_sizes=(6,), solver=solver, max_iter=10,
                              random_state=0).fit(X32.astype(np.float64), X[:, 0])
    np.testing.assert_allclose(reg.predict(X32), reg64.predict(X32), rtol=1e-3, atol=1e-3)


def test_int_input_converted(iris):
    X, y = iris
    X_int = np.round(X * 10).astype(np.int64)
    params = dict(hidden_layer_sizes=(5,), solver="sgd", max_iter=5, random_state=0)
    a = BackpropClassifier(**params).fit(X_int, y)
    b = BackpropClassifier(**params).fit(X_int.astype(np.float64), y)
    assert a.coefs_[0].dtype == np.float64
    for p, q in zip(_all_params(a), _all_params(b), strict=True):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(a.predict_proba(X_int), b.predict_proba(X_int))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("Estimator", [BackpropClassifier, BackpropRegressor])
def test_sparse_same_model_as_dense(iris, fmt, solver, Estimator):
    X, y = iris
    X = np.where(np.abs(X) < 0.5, 0.0, X)  # a genuinely sparse matrix
    target = y if Estimator is BackpropClassifier else X[:, 0] - X[:, 2]
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=8, batch_size=40,
                  random_state=0)
    dense = Estimator(**params).fit(X, target)
    sparse = Estimator(**params).fit(sp.csr_matrix(X).asformat(fmt), target)
    for p, q in zip(_all_params(dense), _all_params(sparse), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        dense.predict(X) if Estimator is BackpropRegressor else dense.predict_proba(X),
        sparse.predict(sp.csc_matrix(X)) if Estimator is BackpropRegressor
        else sparse.predict_proba(sp.csc_matrix(X)),
        rtol=1e-10, atol=1e-12,
    )


# --------------------------------------------------------------------------- #
# Persistence and scikit-learn tooling
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("Estimator", [BackpropClassifier, BackpropRegressor])
def test_pickle_round_trip(iris, Estimator):
    X, y = iris
    target = y if Estimator is BackpropClassifier else X[:, 0]
    est = Estimator(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, target)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))
    if Estimator is BackpropClassifier:
        np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
    assert restored.get_params() == est.get_params()


def test_clone_is_unfitted_with_same_params(iris):
    X, y = iris
    est = BackpropClassifier(hidden_layer_sizes=(4, 3), activation="tanh", alpha=0.5,
                             weight_init="he_normal", max_iter=5, random_state=1).fit(X, y)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "coefs_")
    copy.fit(X, y)
    for p, q in zip(_all_params(copy), _all_params(est), strict=True):
        np.testing.assert_array_equal(p, q)


def test_pipeline_with_scaler():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(),
        BackpropClassifier(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=100,
                           random_state=0),
    )
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.95
    # The pipeline's probabilities are the network's on the scaled data.
    scaled = StandardScaler().fit_transform(X)
    np.testing.assert_allclose(pipe.predict_proba(X), pipe[-1].predict_proba(scaled),
                               rtol=1e-10)


def test_grid_search(iris):
    X, y = iris
    search = GridSearchCV(
        BackpropClassifier(solver="lbfgs", max_iter=50, random_state=0),
        {"hidden_layer_sizes": [(3,), (8,)], "activation": ["logistic", "relu"]},
        cv=3,
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["hidden_layer_sizes"] in [(3,), (8,)]
    assert search.best_score_ > 0.85
    assert search.best_estimator_.coefs_[0].shape[1] == search.best_params_["hidden_layer_sizes"][0]


@pytest.mark.parametrize("Estimator", [BackpropClassifier, BackpropRegressor])
def test_cross_val_score(iris, Estimator):
    X, y = iris
    target = y if Estimator is BackpropClassifier else np.sin(X[:, 0]) + X[:, 1]
    scores = cross_val_score(
        Estimator(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=100, random_state=0),
        X, target, cv=KFold(3, shuffle=True, random_state=0),
    )
    assert scores.shape == (3,)
    assert scores.min() > 0.8


# --------------------------------------------------------------------------- #
# Starting weights
# --------------------------------------------------------------------------- #
FAN_IN, FAN_OUT = 400, 500


def _initial_weights(weight_init, activation="relu"):
    """Weights after one negligible step (learning rate 1e-12) of a 400 -> 500 -> 1 network."""
    rng = np.random.default_rng(0)
    reg = BackpropRegressor(hidden_layer_sizes=(FAN_OUT,), activation=activation,
                            weight_init=weight_init, solver="sgd", momentum=0.0,
                            learning_rate_init=1e-12, max_iter=1, random_state=0)
    reg.fit(rng.normal(size=(4, FAN_IN)), rng.normal(size=4))
    return reg


def _assert_uniform(values, low, high):
    assert values.min() >= low - 1e-9 and values.max() <= high + 1e-9
    width = high - low
    # The extremes come close to the bounds and the variance is that of U(low, high).
    assert values.min() < low + 0.01 * width and values.max() > high - 0.01 * width
    np.testing.assert_allclose(values.var(), width**2 / 12, rtol=0.03)
    np.testing.assert_allclose(values.mean(), (low + high) / 2, atol=0.01 * width)


def _assert_normal(values, std):
    np.testing.assert_allclose(values.std(), std, rtol=0.02)
    np.testing.assert_allclose(values.mean(), 0.0, atol=0.02 * std)
    # Tails of a Gaussian: about 4.55% of the draws lie beyond two standard deviations.
    beyond = np.mean(np.abs(values) > 2 * std)
    assert 0.040 < beyond < 0.051


def test_glorot_uniform_bounds():
    reg = _initial_weights("glorot_uniform", activation="relu")
    bound = np.sqrt(6 / (FAN_IN + FAN_OUT))
    _assert_uniform(reg.coefs_[0].ravel(), -bound, bound)


def test_glorot_uniform_sigmoid_bound():
    # For sigmoid units the documented bound is sqrt(2 / (fan_in + fan_out)).
    reg = _initial_weights("glorot_uniform", activation="sigmoid")
    bound = np.sqrt(2 / (FAN_IN + FAN_OUT))
    _assert_uniform(reg.coefs_[0].ravel(), -bound, bound)


def test_glorot_normal_std():
    reg = _initial_weights("glorot_normal")
    _assert_normal(reg.coefs_[0].ravel(), np.sqrt(2 / (FAN_IN + FAN_OUT)))


def test_he_normal_std():
    reg = _initial_weights("he_normal")
    _assert_normal(reg.coefs_[0].ravel(), np.sqrt(2 / FAN_IN))
    np.testing.assert_allclose(reg.intercepts_[0], 0.0, atol=1e-9)


def test_he_uniform_bounds():
    reg = _initial_weights("he_uniform")
    bound = np.sqrt(6 / FAN_IN)
    _assert_uniform(reg.coefs_[0].ravel(), -bound, bound)


def test_normal_is_standard_normal():
    reg = _initial_weights("normal")
    _assert_normal(reg.coefs_[0].ravel(), 1.0)
    assert np.abs(reg.intercepts_[0]).std() > 0.3  # biases drawn as well, not zero


def test_normal_scaled_std():
    reg = _initial_weights("normal_scaled")
    _assert_normal(reg.coefs_[0].ravel(), 1 / np.sqrt(FAN_IN))


def test_uniform_in_zero_one():
    reg = _initial_weights("uniform")
    _assert_uniform(reg.coefs_[0].ravel(), 0.0, 1.0)
    biases = reg.intercepts_[0]
    assert biases.min() > 0 and biases.max() < 1


def test_callable_weight_init_called_with_fan_in_fan_out_rng(iris):
    X, y = iris
    calls = []

    def init(fan_in, fan_out, rng):
        calls.append((fan_in, fan_out, rng))
        return np.full((fan_in, fan_out), 0.01 * fan_out), np.full(fan_out, -0.5)

    clf = BackpropClassifier(hidden_layer_sizes=(6,), weight_init=init, solver="sgd",
                             momentum=0.0, learning_rate_init=1e-12, max_iter=1)
    clf.fit(X, y)
    assert [(c[0], c[1]) for c in calls] == [(4, 6), (6, 3)]
    assert all(isinstance(c[2], np.random.Generator) for c in calls)
    np.testing.assert_allclose(clf.coefs_[0], 0.06, atol=1e-9)
    np.testing.assert_allclose(clf.coefs_[1], 0.03, atol=1e-9)
    np.testing.assert_allclose(clf.intercepts_[1], -0.5, atol=1e-9)


def test_coefs_init_is_the_starting_point_of_one_sgd_step():
    # Linear least squares (no hidden layer, identity output, squared error): the
    # gradient of (1/m) sum 1/2 (x.w + b - y)^2 + alpha/(2m)||w||^2 is
    # X.T r / m + alpha w / m and sum(r) / m, with r = X w + b - y.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    W0, b0 = rng.normal(size=(3, 1)), rng.normal(size=1)
    lr, alpha, m = 0.05, 0.4, 30
    reg = BackpropRegressor(hidden_layer_sizes=(), solver="sgd", momentum=0.0, shuffle=False,
                            batch_size=m, alpha=alpha, learning_rate_init=lr, max_iter=1,
                            coefs_init=[W0], intercepts_init=[b0])
    reg.fit(X, y)
    r = X @ W0[:, 0] + b0[0] - y
    expected_W = W0[:, 0] - lr * (X.T @ r / m + alpha * W0[:, 0] / m)
    expected_b = b0[0] - lr * r.sum() / m
    np.testing.assert_allclose(reg.coefs_[0][:, 0], expected_W, rtol=1e-12)
    np.testing.assert_allclose(reg.intercepts_[0], [expected_b], rtol=1e-12)
    # The caller's arrays are left untouched.
    assert not np.shares_memory(reg.coefs_[0], W0)


def test_coefs_init_overrides_weight_init_but_not_unset_intercepts(iris):
    X, y = iris
    W0 = [np.full((4, 3), 0.2), np.full((3, 3), -0.1)]
    clf = BackpropClassifier(hidden_layer_sizes=(3,), coefs_init=W0, weight_init="uniform",
                             solver="sgd", momentum=0.0, learning_rate_init=1e-12,
                             max_iter=1, random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.coefs_[0], 0.2, atol=1e-9)
    np.testing.assert_allclose(clf.coefs_[1], -0.1, atol=1e-9)
    # Intercepts still come from weight_init='uniform': in (0, 1).
    assert all(((b > 0) & (b < 1)).all() for b in clf.intercepts_)


def test_importing_skbackprop_does_not_import_dask():
    """dask is an optional extra, imported only when an input is a dask collection."""
    code = "import sys, skbackprop; print('dask' in sys.modules, 'distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_importing_skbackprop_does_not_import_matplotlib_and_the_displays_name_the_extra():
    """matplotlib (the ``plot`` extra) is imported when a display draws, not before."""
    code = (
        "import sys, skbackprop\n"
        "from skbackprop.inspect import LossCurveDisplay, NetworkDisplay\n"
        "print('matplotlib' in sys.modules)\n"
        "sys.modules['matplotlib'] = None  # as if not installed\n"
        "for draw in (lambda: LossCurveDisplay(loss_curve=[1.0]).plot(),\n"
        "             lambda: NetworkDisplay.from_estimator(\n"
        "                 skbackprop.BackpropRegressor(), [[0.0]], [0.0])):\n"
        "    try:\n        draw()\n"
        "    except ImportError as exc:\n        print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, *messages = out.stdout.strip().split("\n")
    assert first == "False"
    assert len(messages) == 2
    assert all('pip install "skbackprop[plot]"' in message for message in messages)


def test_importing_skbackprop_does_not_import_onnx_and_skbackprop_onnx_names_the_extra():
    """skl2onnx is imported by ``skbackprop.onnx`` only; without it, the error names the extra."""
    code = (
        "import sys, skbackprop\n"
        "print('skl2onnx' in sys.modules, 'onnx' in sys.modules)\n"
        "sys.modules['skl2onnx'] = None  # as if not installed\n"
        "try:\n    import skbackprop.onnx\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, message = out.stdout.split("\n", 1)
    assert first.split() == ["False", "False"]
    assert 'pip install "skbackprop[onnx]"' in message
