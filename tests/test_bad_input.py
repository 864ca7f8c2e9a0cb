"""Bad input: every case raises an error that names the problem, and nothing is lost.

One test per case; each checks the exception type and a fragment of the message
that names what is wrong.
"""

import copy
import re

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skbackprop import BackpropClassifier, BackpropRegressor, DivergenceError

FAST = dict(hidden_layer_sizes=(4,), max_iter=3)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = (X[:, 0] > 0).astype(int)
    return X, y


def _fit_quietly(est, X, y):
    with pytest.warns(ConvergenceWarning):
        return est.fit(X, y)


# --------------------------------------------------------------------------- #
# X
# --------------------------------------------------------------------------- #
def test_nan_in_X(data):
    X, y = data
    X[4, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        BackpropClassifier(**FAST).fit(X, y)


def test_inf_in_X(data):
    X, y = data
    X[2, 0] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        BackpropClassifier(**FAST).fit(X, y)


def test_nan_in_X_at_predict(data):
    X, y = data
    clf = _fit_quietly(BackpropClassifier(**FAST), X, y)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.predict(X)


def test_1d_X(data):
    X, y = data
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        BackpropClassifier(**FAST).fit(X[:, 0], y)


def test_3d_X(data):
    X, y = data
    with pytest.raises(ValueError, match="dim 3"):
        BackpropClassifier(**FAST).fit(X.reshape(30, 3, 1), y)


def test_empty_X():
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        BackpropRegressor(**FAST).fit(np.empty((0, 3)), np.empty(0))


def test_X_without_features(data):
    _, y = data
    with pytest.raises(ValueError, match=r"0 feature\(s\)"):
        BackpropClassifier(**FAST).fit(np.empty((30, 0)), y)


def test_string_features(data):
    _, y = data
    X = np.array([["red", "small"], ["blue", "large"]] * 15)
    with pytest.raises(ValueError, match="X contains strings.*OneHotEncoder"):
        BackpropClassifier(**FAST).fit(X, y)


def test_string_features_at_predict(data):
    X, y = data
    clf = _fit_quietly(BackpropClassifier(**FAST), X, y)
    with pytest.raises(ValueError, match="X contains strings.*OneHotEncoder"):
        clf.predict(np.array([["red", "small", "x"]]))


def test_string_targets_of_a_regressor_are_not_blamed_on_X(data):
    X, _ = data
    y = np.array(["1.5", "high"] * (X.shape[0] // 2))
    with pytest.raises(ValueError, match="regressor needs numeric targets.*'high'") as info:
        BackpropRegressor(**FAST).fit(X, y)
    assert "X contains" not in str(info.value)


def test_numeric_string_targets_of_a_regressor_are_converted(data):
    X, _ = data
    y = np.linspace(-1, 1, X.shape[0])
    as_strings = _fit_quietly(BackpropRegressor(**FAST, random_state=0), X, y.astype(str))
    as_floats = _fit_quietly(BackpropRegressor(**FAST, random_state=0), X, y)
    np.testing.assert_array_equal(as_strings.predict(X), as_floats.predict(X))


def test_nan_string_targets_of_a_regressor(data):
    X, _ = data
    y = np.array(["1.0", "nan"] * (X.shape[0] // 2))
    with pytest.raises(ValueError, match="NaN"):
        BackpropRegressor(**FAST).fit(X, y)


def test_different_number_of_features_at_predict(data):
    X, y = data
    clf = _fit_quietly(BackpropClassifier(**FAST), X, y)
    with pytest.raises(ValueError, match="X has 2 features, but BackpropClassifier is expecting 3"):
        clf.predict(X[:, :2])


def test_predict_before_fit(data):
    X, _ = data
    for est in (BackpropClassifier(), BackpropRegressor()):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            est.predict(X)


def test_predict_proba_before_fit(data):
    X, _ = data
    with pytest.raises(NotFittedError, match="not fitted yet"):
        BackpropClassifier().predict_proba(X)


# --------------------------------------------------------------------------- #
# y
# --------------------------------------------------------------------------- #
def test_nan_in_y_regressor(data):
    X, _ = data
    y = X[:, 0].copy()
    y[3] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        BackpropRegressor(**FAST).fit(X, y)


def test_inf_in_y_regressor(data):
    X, _ = data
    y = X[:, 0].copy()
    y[3] = -np.inf
    with pytest.raises(ValueError, match="Input y contains infinity"):
        BackpropRegressor(**FAST).fit(X, y)


def test_single_class(data):
    X, _ = data
    with pytest.raises(ValueError, match="only one class"):
        BackpropClassifier(**FAST).fit(X, np.full(30, "cat"))


def test_continuous_targets_for_classifier(data):
    X, _ = data
    with pytest.raises(ValueError, match="Unknown label type"):
        BackpropClassifier(**FAST).fit(X, X[:, 0])


def test_regressor_targets_outside_sigmoid_range(data):
    X, _ = data
    y = np.linspace(-0.5, 1.0, 30)
    with pytest.raises(ValueError, match=r"output_activation='sigmoid' produces values in \[0"):
        BackpropRegressor(output_activation="sigmoid", **FAST).fit(X, y)


def test_regressor_targets_outside_tanh_range(data):
    X, _ = data
    y = np.linspace(-1.0, 2.0, 30)
    with pytest.raises(ValueError, match=r"output_activation='tanh' produces values in \[-1"):
        BackpropRegressor(output_activation="tanh", **FAST).fit(X, y)


def test_regressor_cross_entropy_needs_sigmoid_output(data):
    X, _ = data
    y = np.linspace(0.0, 1.0, 30)
    with pytest.raises(ValueError, match="loss='cross_entropy' cannot be used with "
                                         "output_activation='identity'"):
        BackpropRegressor(loss="cross_entropy", output_activation="identity", **FAST).fit(X, y)


def test_softmax_output_on_multilabel_targets(data):
    X, _ = data
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 2] > 0]).astype(int)
    with pytest.raises(ValueError, match="softmax.*multilabel"):
        BackpropClassifier(output_activation="softmax", **FAST).fit(X, Y)


# --------------------------------------------------------------------------- #
# Hyper-parameters
# --------------------------------------------------------------------------- #
BAD_PARAMETERS = [
    # (parameter, value, exception, what the message must also say)
    ("activation", "sigmoidal", ValueError, "'relu'"),
    ("activation", "softmax", ValueError, "'relu'"),  # output-only activation
    ("solver", "newton", ValueError, "'lbfgs'"),
    ("loss", "hinge", ValueError, "'cross_entropy'"),
    ("output_activation", "relu", ValueError, "'softmax'"),
    ("hidden_layer_sizes", (0,), ValueError, ">= 1"),
    ("hidden_layer_sizes", (5, -2), ValueError, ">= 1"),
    ("hidden_layer_sizes", 0, ValueError, ">= 1"),
    ("hidden_layer_sizes", (4.5,), ValueError, "positive int"),
    ("alpha", -0.1, ValueError, ">= 0"),
    ("alpha", np.nan, ValueError, ">= 0"),
    ("learning_rate_init", 0.0, ValueError, "> 0"),
    ("learning_rate_init", -0.01, ValueError, "> 0"),
    ("learning_rate", "cyclic", ValueError, "'invscaling'"),
    ("power_t", -1.0, ValueError, ">= 0"),
    ("max_iter", 0, ValueError, ">= 1"),
    ("max_iter", 2.5, TypeError, "integer"),
    ("batch_size", 0, ValueError, "integer >= 1"),
    ("batch_size", -5, ValueError, "integer >= 1"),
    ("batch_size", "big", ValueError, "'auto'"),
    ("batch_size", 1.5, ValueError, "integer >= 1"),
    ("momentum", 1.5, ValueError, "<= 1"),
    ("momentum", -0.1, ValueError, ">= 0"),
    ("nesterovs_momentum", "yes", TypeError, "True or False"),
    ("validation_fraction", 0.0, ValueError, "> 0"),
    ("validation_fraction", 1.0, ValueError, "< 1"),
    ("beta_1", 1.0, ValueError, "< 1"),
    ("beta_1", -0.5, ValueError, ">= 0"),
    ("beta_2", 1.0, ValueError, "< 1"),
    ("epsilon", 0.0, ValueError, "> 0"),
    ("tol", -1e-3, ValueError, ">= 0"),
    ("n_iter_no_change", 0, ValueError, ">= 1"),
    ("max_fun", 0, ValueError, ">= 1"),
    ("shuffle", "no", TypeError, "True or False"),
    ("early_stopping", 1, TypeError, "True or False"),
    ("warm_start", None, TypeError, "True or False"),
    ("verbose", -1, ValueError, ">= 0"),
    ("random_state", -3, TypeError, "non-negative int"),
    ("random_state", "seed", TypeError, "Generator"),
    ("weight_init", "xavier", ValueError, "'glorot_uniform'"),
    ("coefs_init", 5, TypeError, "list of arrays"),
    ("intercepts_init", 0.5, TypeError, "list of arrays"),
    ("callbacks", [1, 2], TypeError, "callables"),
]


@pytest.mark.parametrize(
    "name, value, exc, fragment", BAD_PARAMETERS,
    ids=[f"{row[0]}={row[1]!r}" for row in BAD_PARAMETERS],
)
@pytest.mark.parametrize("Estimator", [BackpropClassifier, BackpropRegressor])
def test_invalid_hyperparameter(data, Estimator, name, value, exc, fragment):
    X, y = data
    if name == "output_activation" and Estimator is BackpropRegressor:
        fragment = "'identity'"
    est = Estimator(**{**FAST, name: value})
    with pytest.raises(exc, match=re.escape(f"`{name}`")) as info:
        est.fit(X, y)
    assert repr(value) in str(info.value)
    assert fragment in str(info.value)


def test_classifier_only_output_activation_rejected_by_regressor(data):
    X, _ = data
    with pytest.raises(ValueError, match="`output_activation`: 'softmax'"):
        BackpropRegressor(output_activation="softmax", **FAST).fit(X, X[:, 0])


def test_invalid_class_weight(data):
    X, y = data
    with pytest.raises(ValueError, match="`class_weight`: 'even'"):
        BackpropClassifier(class_weight="even", **FAST).fit(X, y)


# --------------------------------------------------------------------------- #
# Explicit starting weights
# --------------------------------------------------------------------------- #
def test_coefs_init_wrong_shape(data):
    X, y = data
    coefs = [np.zeros((3, 5)), np.zeros((4, 1))]
    with pytest.raises(ValueError, match=re.escape("coefs_init[0] has shape (3, 5); expected (3, 4)")):
        BackpropClassifier(coefs_init=coefs, **FAST).fit(X, y)


def test_coefs_init_wrong_number_of_layers(data):
    X, y = data
    with pytest.raises(ValueError, match="coefs_init has 1 arrays but the network has 2"):
        BackpropClassifier(coefs_init=[np.zeros((3, 4))], **FAST).fit(X, y)


def test_coefs_init_non_finite(data):
    X, y = data
    coefs = [np.full((3, 4), np.nan), np.zeros((4, 1))]
    with pytest.raises(ValueError, match=re.escape("coefs_init[0] must contain finite numbers")):
        BackpropClassifier(coefs_init=coefs, **FAST).fit(X, y)


def test_intercepts_init_wrong_shape(data):
    X, y = data
    intercepts = [np.zeros(4), np.zeros(2)]
    with pytest.raises(ValueError, match=re.escape("intercepts_init[1] has shape (2,); expected (1,)")):
        BackpropClassifier(intercepts_init=intercepts, **FAST).fit(X, y)


def test_weight_init_callable_wrong_shape(data):
    X, y = data

    def init(fan_in, fan_out, rng):
        return np.zeros((fan_out, fan_in)), np.zeros(fan_out)

    with pytest.raises(ValueError, match="weight_init callable returned shapes"):
        BackpropClassifier(weight_init=init, **FAST).fit(X, y)


# --------------------------------------------------------------------------- #
# Nothing lost
# --------------------------------------------------------------------------- #
def test_failed_refit_keeps_the_fitted_model(data):
    X, y = data
    clf = _fit_quietly(BackpropClassifier(**FAST, random_state=0), X, y)
    before = clf.predict_proba(X)
    coefs = [W.copy() for W in clf.coefs_]
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(bad, y)
    clf.set_params(alpha=-1.0)
    with pytest.raises(ValueError, match="`alpha`"):
        clf.fit(X, y)
    for W, W0 in zip(clf.coefs_, coefs, strict=True):
        np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(clf.predict_proba(X), before)


# --------------------------------------------------------------------------- #
# Divergence and convergence
# --------------------------------------------------------------------------- #
def _assert_diverged_cleanly(est, info):
    message = str(info.value)
    match = re.search(r"epoch (\d+)", message)
    assert match, message
    assert "smaller learning_rate_init" in message
    assert "left as it was before this call" in message
    # A fit that raises leaves the estimator as it was: here, never fitted.
    assert not hasattr(est, "coefs_") and not hasattr(est, "loss_curve_")
    with pytest.raises(NotFittedError):
        est.predict(np.zeros((1, 3)))


def test_divergence_regressor(data):
    X, _ = data
    y = 3 * X[:, 0] - X[:, 1]
    reg = BackpropRegressor(hidden_layer_sizes=(10,), solver="sgd", learning_rate_init=1e6,
                            max_iter=50, random_state=0)
    with pytest.raises(DivergenceError) as info:
        reg.fit(X, y)
    _assert_diverged_cleanly(reg, info)


def test_divergence_classifier(data):
    # The cross-entropy is clipped, so a diverging classifier never has an infinite
    # cost; its weights and cost still explode with this learning rate.
    X, y = data
    clf = BackpropClassifier(hidden_layer_sizes=(10,), solver="sgd", learning_rate_init=1e6,
                             max_iter=50, random_state=0)
    with pytest.raises(DivergenceError) as info:
        clf.fit(X, y)
    _assert_diverged_cleanly(clf, info)


def test_diverging_refit_keeps_the_fitted_model(data):
    X, y = data
    clf = _fit_quietly(BackpropClassifier(**FAST, random_state=0), X, y)
    state = {k: copy.deepcopy(v) for k, v in vars(clf).items() if k.endswith("_")}
    before = clf.predict_proba(X)
    clf.set_params(solver="sgd", learning_rate_init=1e6)
    with pytest.raises(DivergenceError):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    for name, value in state.items():
        _assert_equal_state(getattr(clf, name), value, name)


def _assert_equal_state(a, b, name):
    if isinstance(a, list) and a and isinstance(a[0], np.ndarray):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y, err_msg=name)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=name)
    else:
        assert a == b, name


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_convergence_warning_stochastic(data, solver):
    X, y = data
    clf = BackpropClassifier(hidden_layer_sizes=(4,), solver=solver, max_iter=2,
                             learning_rate_init=1e-4, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"maximum iterations \(2\)"):
        clf.fit(X, y)
    assert clf.n_iter_ == 2


def test_convergence_warning_lbfgs(data):
    X, _ = data
    reg = BackpropRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        reg.fit(X, np.sin(3 * X[:, 0]))
    assert reg.n_iter_ <= 2
