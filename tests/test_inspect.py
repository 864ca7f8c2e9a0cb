"""skbackprop.inspect: the backpropagation trace and the gradient check.

Oracles:

- the textbook's worked example (docs/design.rst, section design-oracles,
  oracle 1): the walk-through's intermediate values, to 1e-8;
- for random configurations, the reference forward pass and the cost of
  ``conftest.py`` / ``test_gradients.py`` (written from the definitions,
  independently of the library) and their central finite differences: the
  trace's pre-activations, outputs, cost, gradients and deltas;
- one plain SGD step of ``fit``: the trace of an unfitted estimator is the
  step training takes;
- a gradient made wrong on purpose is caught by ``check_gradients``, which
  names the parameter.
"""

import copy
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import reference_forward
from test_gradients import make_problem, numerical_gradient, reference_cost, relative_error

import skbackprop
from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.core.activations import HIDDEN_ACTIVATIONS
from skbackprop.core.network import Network
from skbackprop.inspect import GradientCheck, Trace, check_gradients, trace

# --------------------------------------------------------------------------- #
# The worked example
# --------------------------------------------------------------------------- #
WORKED_X = np.array([[0.05, 0.10]])
WORKED_Y = np.array([[0.01, 0.99]])


def worked_example(**params):
    return BackpropRegressor(
        hidden_layer_sizes=(2,), activation="sigmoid", output_activation="sigmoid",
        loss="squared_error", solver="sgd", learning_rate_init=0.5, momentum=0.0, alpha=0.0,
        batch_size=1, shuffle=False,
        coefs_init=[np.array([[0.15, 0.25], [0.20, 0.30]]), np.array([[0.40, 0.50], [0.45, 0.55]])],
        intercepts_init=[np.array([0.35, 0.35]), np.array([0.60, 0.60])],
        **params,
    )


def test_worked_example_intermediate_values():
    result = trace(worked_example(), WORKED_X, WORKED_Y)
    # The walk-through's numbers, as it prints them.
    assert result.z[0][0, 0] == pytest.approx(0.3775, abs=1e-8)  # net_h1
    assert result.activations[0][0, 0] == pytest.approx(0.593269992, abs=1e-8)  # out_h1
    assert result.activations[1][0, 0] == pytest.approx(0.75136507, abs=1e-8)  # out_o1
    assert result.loss == pytest.approx(0.298371109, abs=1e-8)  # E_total
    assert result.deltas[1][0, 0] == pytest.approx(0.138498562, abs=1e-8)  # delta_o1
    assert 0.74136507 * 0.186815602 == pytest.approx(0.138498562, abs=1e-8)
    assert result.coef_grads[1][0, 0] == pytest.approx(0.082167041, abs=1e-8)  # dE/dw5
    assert result.coef_grads[0][0, 0] == pytest.approx(0.000438568, abs=1e-8)  # dE/dw1


def test_worked_example_trace_is_the_step_fit_takes():
    """The walk-through's updated weights are the traced ones minus 0.5 x the traced gradient."""
    net = worked_example()
    result = trace(net, WORKED_X, WORKED_Y)
    net.partial_fit(WORKED_X, WORKED_Y)
    (w1, w3), (w2, w4) = net.coefs_[0]
    (w5, w7), (w6, w8) = net.coefs_[1]
    published = [0.149780716, 0.19956143, 0.24975114, 0.29950229,
                 0.35891648, 0.408666186, 0.511301270, 0.561370121]
    np.testing.assert_allclose([w1, w2, w3, w4, w5, w6, w7, w8], published, atol=1e-8)
    for after, before, grad in zip(net.coefs_, result.coefs, result.coef_grads, strict=True):
        np.testing.assert_allclose(after, before - 0.5 * grad, rtol=1e-14)
    assert net.loss_ == pytest.approx(result.loss, rel=1e-14)


def test_worked_example_gradient_check():
    result = check_gradients(worked_example(), WORKED_X, WORKED_Y)
    assert result.max_error < 1e-7
    assert len(result.layer_errors) == 2
    assert result.loss == pytest.approx(0.298371109, abs=1e-8)
    np.testing.assert_allclose(
        result.numerical_coef_grads[1][0, 0], 0.082167041, atol=1e-8
    )


# --------------------------------------------------------------------------- #
# Random configurations against the reference pass and its differences
# --------------------------------------------------------------------------- #
REGRESSION = [
    ("identity", "squared_error"), ("sigmoid", "squared_error"), ("tanh", "squared_error"),
    ("exp", "squared_error"), ("sigmoid", "cross_entropy"), ("exp", "poisson"),
]
CLASSIFICATION = [
    ("softmax", "cross_entropy"), ("softmax", "squared_error"), ("sigmoid", "cross_entropy"),
    ("sigmoid", "squared_error"),
]
CONFIGS = [("regressor", *pair) for pair in REGRESSION] + [
    ("classifier", *pair) for pair in CLASSIFICATION
]


def configured(kind, hidden, out, loss, seed, alpha):
    """An unfitted estimator with explicit weights, its batch and the reference's targets."""
    X, Y, coefs, intercepts, sample_weight = make_problem(seed, hidden, out, loss)
    est_class = BackpropRegressor if kind == "regressor" else BackpropClassifier
    est = est_class(
        hidden_layer_sizes=(4, 3), activation=hidden, output_activation=out, loss=loss,
        alpha=alpha, coefs_init=coefs, intercepts_init=intercepts,
    )
    y = Y
    if kind == "classifier":
        labels = np.random.default_rng(seed).permutation(np.arange(Y.shape[0]) % Y.shape[1])
        y, Y = labels, np.eye(Y.shape[1])[labels]
    return est, X, y, Y, coefs, intercepts, sample_weight


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("kind, out, loss", CONFIGS)
def test_trace_against_the_reference(kind, hidden, out, loss):
    est, X, y, Y, coefs, intercepts, sw = configured(kind, hidden, out, loss, seed=3, alpha=0.3)
    result = trace(est, X, y, sample_weight=sw)
    Z_ref, P_ref = reference_forward(X, coefs, intercepts, hidden, out)
    for Z, expected in zip(result.z, Z_ref, strict=True):
        np.testing.assert_allclose(Z, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(result.activations[-1], P_ref, rtol=1e-12, atol=1e-14)

    def cost():
        return reference_cost(X, Y, coefs, intercepts, hidden, out, loss, 0.3, sw)

    assert result.loss == pytest.approx(cost(), rel=1e-12)
    numeric = numerical_gradient(cost, list(coefs) + list(intercepts))
    for got, expected in zip(result.coef_grads + result.intercept_grads, numeric, strict=True):
        assert relative_error(got, expected) < 1e-6


@pytest.mark.parametrize("hidden", ["sigmoid", "relu"])
@pytest.mark.parametrize("kind, out, loss", CONFIGS)
def test_trace_deltas_are_derivatives_with_respect_to_z(kind, hidden, out, loss):
    """``deltas[i][s] = (w_s / W) x dc_s/db_i``: the one-sample cost's bias gradient, weighted."""
    est, X, y, Y, coefs, intercepts, sw = configured(kind, hidden, out, loss, seed=5, alpha=0.0)
    result = trace(est, X, y, sample_weight=sw)
    for s in range(X.shape[0]):
        row = slice(s, s + 1)
        bias = [b.copy() for b in intercepts]

        def cost(row=row, bias=bias):
            return reference_cost(X[row], Y[row], coefs, bias, hidden, out, loss)

        per_sample = numerical_gradient(cost, bias)
        for delta, expected in zip(result.deltas, per_sample, strict=True):
            np.testing.assert_allclose(
                delta[s], sw[s] / sw.sum() * expected, rtol=1e-6, atol=1e-9
            )


def test_trace_sums_of_deltas_are_the_bias_gradients():
    est, X, y, _, _, _, _ = configured("classifier", "tanh", "softmax", "cross_entropy", 1, 0.0)
    result = trace(est, X, y)
    for D, g in zip(result.deltas, result.intercept_grads, strict=True):
        np.testing.assert_allclose(D.sum(axis=0), g, rtol=1e-12)
    for i, (A, D) in enumerate(zip([X, *result.activations[:-1]], result.deltas, strict=True)):
        np.testing.assert_allclose(A.T @ D, result.coef_grads[i], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("kind, out, loss", CONFIGS)
def test_check_gradients_on_random_configurations(kind, hidden, out, loss):
    est, X, y, Y, coefs, intercepts, sw = configured(kind, hidden, out, loss, seed=7, alpha=0.2)
    result = check_gradients(est, X, y, sample_weight=sw)
    assert isinstance(result, GradientCheck)
    assert result.max_error < 1e-6, str(result)
    assert result.max_error == max(result.layer_errors)
    assert len(result.layer_errors) == 3

    def cost():
        return reference_cost(X, Y, coefs, intercepts, hidden, out, loss, 0.2, sw)

    numeric = numerical_gradient(cost, list(coefs) + list(intercepts))
    ours = result.numerical_coef_grads + result.numerical_intercept_grads
    for got, expected in zip(ours, numeric, strict=True):
        assert relative_error(got, expected) < 1e-6


def test_check_gradients_catches_a_wrong_gradient_and_names_it(monkeypatch):
    est, X, y, _, _, _, _ = configured("regressor", "tanh", "identity", "squared_error", 2, 0.0)
    original = Network.loss_and_grad

    def wrong(self, X, Y, coefs, intercepts, coef_grads, intercept_grads, *args):
        value = original(self, X, Y, coefs, intercepts, coef_grads, intercept_grads, *args)
        intercept_grads[1][2] += 0.01  # a bug in one bias's gradient, not in the cost
        return value

    monkeypatch.setattr(Network, "loss_and_grad", wrong)
    result = check_gradients(est, X, y)
    assert result.layer_errors[1] > 1e-3
    assert result.layer_errors[0] < 1e-6 and result.layer_errors[2] < 1e-6
    assert result.worst["layer"] == 1
    assert result.worst["parameter"] == "bias"
    assert result.worst["index"] == (2,)
    assert result.worst["backprop"] - result.worst["numerical"] == pytest.approx(0.01, rel=1e-4)
    assert "bias (2,) of layer 1 (hidden 2)" in str(result)


# --------------------------------------------------------------------------- #
# The estimator: fitted or not, left unchanged, its encoding and data types
# --------------------------------------------------------------------------- #
def state_of(est):
    return pickle.dumps(est)


def test_unfitted_trace_is_the_first_step_of_fit():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 4)), np.array(list("abc") * 4)
    params = dict(
        hidden_layer_sizes=(5,), activation="relu", solver="sgd", momentum=0.0,
        learning_rate_init=0.1, batch_size=12, shuffle=False, alpha=0.01, random_state=4,
        max_iter=1,
    )
    unfitted = BackpropClassifier(**params)
    result = trace(unfitted, X, y)
    assert not hasattr(unfitted, "coefs_")
    fitted = BackpropClassifier(**params)
    with pytest.warns(Warning):  # max_iter=1: not converged
        fitted.fit(X, y)
    for after, before, grad in zip(fitted.coefs_, result.coefs, result.coef_grads, strict=True):
        np.testing.assert_allclose(after, before - 0.1 * grad, rtol=1e-12, atol=1e-15)
    for after, before, grad in zip(
        fitted.intercepts_, result.intercepts, result.intercept_grads, strict=True
    ):
        np.testing.assert_allclose(after, before - 0.1 * grad, rtol=1e-12, atol=1e-15)
    assert fitted.loss_curve_[0] == pytest.approx(result.loss, rel=1e-12)


def test_fitted_trace_uses_the_fitted_weights_and_changes_nothing():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 3, 30)
    est = BackpropClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
    with pytest.warns(Warning):
        est.fit(X, y)
    twin = copy.deepcopy(est)
    before = state_of(est)
    result = trace(est, X[:4], y[:4])
    check_gradients(est, X[:4], y[:4])
    assert state_of(est) == before
    for W, V in zip(result.coefs, est.coefs_, strict=True):
        np.testing.assert_array_equal(W, V)
    np.testing.assert_allclose(result.activations[-1], est.predict_proba(X[:4]), rtol=1e-12)
    # Training continues exactly as it would have.
    est.partial_fit(X, y)
    twin.partial_fit(X, y)
    for W, V in zip(est.coefs_, twin.coefs_, strict=True):
        np.testing.assert_array_equal(W, V)


def test_unfitted_estimator_is_left_unfitted_and_its_generator_untouched():
    X, y = np.random.default_rng(2).normal(size=(10, 2)), np.arange(10) % 2
    est = BackpropClassifier(hidden_layer_sizes=(3,), random_state=np.random.RandomState(0))
    before = state_of(est)
    first = trace(est, X, y)
    second = trace(est, X, y)
    assert state_of(est) == before
    np.testing.assert_array_equal(first.coef_grads[0], second.coef_grads[0])


def test_class_weight_and_string_labels_enter_the_cost():
    X = np.random.default_rng(3).normal(size=(9, 2))
    y = np.array(["no", "yes", "no", "no", "yes", "no", "no", "no", "yes"])
    coefs = [np.full((2, 2), 0.3), np.array([[0.5], [-0.4]])]
    intercepts = [np.zeros(2), np.array([0.1])]
    est = BackpropClassifier(
        hidden_layer_sizes=(2,), activation="tanh", alpha=0.0, class_weight={"yes": 3.0},
        coefs_init=coefs, intercepts_init=intercepts,
    )
    result = trace(est, X, y)
    targets = (y == "yes").astype(float)[:, None]
    weights = np.where(y == "yes", 3.0, 1.0)
    expected = reference_cost(X, targets, coefs, intercepts, "tanh", "sigmoid", "cross_entropy",
                              0.0, weights)
    assert result.loss == pytest.approx(expected, rel=1e-12)


def test_the_step_of_the_differences_is_the_fourth_argument():
    est, X, y, _, _, _, _ = configured("regressor", "sigmoid", "identity", "squared_error", 4, 0.0)
    coarse, fine = check_gradients(est, X, y, 1e-2), check_gradients(est, X, y)
    assert (coarse.eps, fine.eps) == (1e-2, 1e-6)
    # Central differences err by O(eps^2): a step of 1e-2 is visibly worse.
    assert coarse.max_error > 100 * fine.max_error
    assert coarse.max_error < 1e-3


def test_float32_trace_and_float64_gradient_check():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=6)
    est = BackpropRegressor(hidden_layer_sizes=(4,), activation="tanh", random_state=0)
    result = trace(est, X, y)
    assert all(a.dtype == np.float32 for a in result.z + result.deltas + result.coef_grads)
    checked = check_gradients(est, X, y)
    assert checked.coef_grads[0].dtype == np.float64
    assert checked.max_error < 1e-7


def test_sparse_input_gives_the_dense_trace():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(8, 5)) * (rng.uniform(size=(8, 5)) < 0.4)
    y = rng.normal(size=8)
    est = BackpropRegressor(hidden_layer_sizes=(3,), random_state=1)
    dense, sparse = trace(est, X, y), trace(est, sp.csr_matrix(X), y)
    for a, b in zip(dense.z + dense.coef_grads, sparse.z + sparse.coef_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert check_gradients(est, sp.csc_matrix(X), y).max_error < 1e-7


# --------------------------------------------------------------------------- #
# Output: the table, the DataFrame
# --------------------------------------------------------------------------- #
def test_table_and_frames_show_the_values():
    pytest.importorskip("pandas", reason="to_frame needs pandas")
    result = trace(worked_example(), WORKED_X, WORKED_Y)
    text = str(result)
    assert "cost C = 0.298371109" in text
    assert "0.593269992" in text and "0.138498562" in text and "0.0821670406" in text
    units = result.to_frame()
    assert list(units.columns) == ["layer", "sample", "unit", "z", "activation", "delta"]
    assert len(units) == 4
    row = units[(units.layer == "output") & (units.unit == 0)].iloc[0]
    assert row.delta == pytest.approx(0.138498562, abs=1e-8)
    params = result.to_frame("parameters")
    assert len(params) == 12
    w5 = params[(params.layer == "output") & (params.parameter == "weight")].iloc[0]
    assert (w5["from"], w5.to, w5.value) == (0, 0, 0.4)
    assert params[params.parameter == "bias"]["from"].isna().all()
    with pytest.raises(ValueError, match="'units' or 'parameters'"):
        result.to_frame("weights")
    assert repr(result) == "Trace(layers=[2, 2, 2], samples=1, loss=0.298371109)"


def test_long_tables_are_shortened():
    pytest.importorskip("pandas", reason="to_frame needs pandas")
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(50, 2)), rng.normal(size=50)
    result = trace(BackpropRegressor(hidden_layer_sizes=(3,), random_state=0), X, y)
    text = str(result)
    assert "more rows" in text
    assert len(text.splitlines()) < 150
    assert len(result.to_frame()) == 50 * 4  # the frame keeps every row


def test_the_module_is_reachable_from_the_package():
    assert skbackprop.inspect.trace is trace
    namespace = {}
    exec("import inspect\nfrom skbackprop import *", namespace)  # noqa: S102
    assert namespace["inspect"].__name__ == "inspect"  # the standard library's, not ours
    assert isinstance(trace(worked_example(), WORKED_X, WORKED_Y), Trace)


# --------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------- #
def test_errors_name_the_problem_and_change_nothing():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = np.random.default_rng(7).normal(size=(10, 2)), np.arange(10) % 2
    est = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    with pytest.warns(Warning):
        est.fit(X, y)
    before = state_of(est)
    with pytest.raises(ValueError, match=r"labels \[7\]"):
        trace(est, X[:2], [0, 7])
    with pytest.raises(ValueError, match="features"):
        trace(est, X[:, :1], y)
    with pytest.raises(ValueError, match="NaN"):
        check_gradients(est, np.full((2, 2), np.nan), [0, 1])
    with pytest.raises(ValueError, match="eps must be a positive"):
        check_gradients(est, X, y, eps=0.0)
    assert state_of(est) == before
    with pytest.raises(TypeError, match=r"pipeline\[-1\]"):
        trace(make_pipeline(StandardScaler(), est), X, y)
    bad = BackpropClassifier(hidden_layer_sizes=(3,), alpha=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        trace(bad, X, y)
    wrong_shape = BackpropRegressor(hidden_layer_sizes=(3,), coefs_init=[np.ones((5, 3)), np.ones((3, 1))])
    with pytest.raises(ValueError, match="coefs_init"):
        trace(wrong_shape, X, y.astype(float))
