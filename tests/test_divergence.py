"""Finite inputs end in a finite model or a DivergenceError that names the cause.

Oracles: the definition of a finite model (every weight, bias and optimizer
state array finite), NumPy's own overflow warnings (none may reach the user:
every overflow inside a step is found by the checks that follow it), and
scikit-learn's test of its MLP on inputs near the largest float, whose
message ours must contain.
"""

import contextlib
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from skbackprop import BackpropClassifier, BackpropRegressor, DivergenceError
from skbackprop.core import kernels

SKLEARN_MESSAGE = (
    "Solver produced non-finite parameter weights. The input data may contain large"
    " values and need to be preprocessed."
)


def _state_arrays(est):
    """Every array of the fitted model: weights, biases and the optimizer's state."""
    arrays = list(est.coefs_) + list(est.intercepts_)
    optimizer = getattr(est, "_optimizer", None)
    if optimizer is not None:
        arrays += [v for v in vars(optimizer).values() if isinstance(v, np.ndarray)]
    return arrays


def _fit_finite_or_diverge(est, X, y):
    """Fit with every warning of NumPy an error; return the DivergenceError or None."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*(converge|maximum iterations)")
        try:
            est.fit(X, y)
        except DivergenceError as exc:
            assert not hasattr(est, "coefs_"), "a fit that raises leaves the estimator unfitted"
            return exc
    for array in _state_arrays(est):
        assert np.isfinite(array).all(), "a fitted model with a non-finite weight or state"
    return None


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "compiled"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("Est", [BackpropClassifier, BackpropRegressor])
def test_huge_inputs_give_a_finite_model_or_a_named_divergence(Est, solver, dtype, sparse, compiled):
    if compiled and (sparse or not kernels.available()):
        pytest.skip("the compiled epoch takes dense data and needs numba")
    rng = np.random.default_rng(0)
    largest = float(np.finfo(dtype).max)
    for exponent in (0.98, 0.75, 0.5, 0.4, 0.25):
        scale = largest**exponent
        X = (rng.normal(size=(30, 3)) * scale).astype(dtype)
        y = np.arange(30) % 3
        est = Est(hidden_layer_sizes=(5,), solver=solver, max_iter=15, random_state=0)
        context = contextlib.nullcontext() if compiled else kernels.disabled()
        with context:
            error = _fit_finite_or_diverge(est, sp.csr_matrix(X) if sparse else X, y)
        if error is not None:
            # The cause is named: inputs this large get scikit-learn's words.
            assert SKLEARN_MESSAGE in str(error)
            assert f"X has values up to {np.abs(X).max():.3g}" in str(error)


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "compiled"])
def test_adam_second_moment_overflow_is_a_divergence(compiled):
    # float32 gradients of ~1e20 square beyond float32's range: the second
    # moment became inf, every later step was 0 and the fit returned a
    # "fitted" model that could never move again.
    if compiled and not kernels.available():
        pytest.skip("needs numba")
    rng = np.random.default_rng(1)
    X = (rng.normal(size=(40, 2)) * 1e10).astype(np.float32)
    y = (X[:, 0] * 1e10).astype(np.float32)
    est = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    with contextlib.nullcontext() if compiled else kernels.disabled():
        error = _fit_finite_or_diverge(est, X, y)
    assert error is not None
    assert "optimizer's state" in str(error)
    assert "The targets reach" in str(error)


def test_sklearn_nonfinite_params_message():
    # scikit-learn's test_nonfinite_params, on our regressor.
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=10)
    with pytest.raises(ValueError, match=SKLEARN_MESSAGE):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            BackpropRegressor().fit(X, y)


def _divergence_message(est, X, y):
    with pytest.raises(DivergenceError) as info, warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        est.fit(X, y)
    return str(info.value)


def test_advice_for_a_large_step_size_names_the_step_size_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X[:, 0] > 0
    message = _divergence_message(
        BackpropClassifier(solver="sgd", momentum=0.0, learning_rate_init=1e6, random_state=0),
        X, y,
    )
    assert "smaller learning_rate_init (now 1e+06)" in message
    assert "scale the inputs" not in message and SKLEARN_MESSAGE not in message
    assert "starting weights" not in message


def test_advice_for_large_targets_names_the_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X[:, 0] * 1e8
    message = _divergence_message(
        BackpropRegressor(solver="sgd", learning_rate_init=0.1, random_state=0), X, y
    )
    assert f"The targets reach {np.abs(y).max():.3g}" in message
    assert "TransformedTargetRegressor" in message
    assert "scale the inputs" not in message


@pytest.mark.parametrize("scale, word", [(1e-30, "tiny"), (1e9, "large")])
def test_advice_for_unusual_starting_weights_names_them(scale, word):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X[:, 0] > 0
    coefs = [np.full((3, 4), scale), np.full((4, 1), scale)]
    intercepts = [np.zeros(4), np.zeros(1)]
    est = BackpropClassifier(
        hidden_layer_sizes=(4,), activation="identity", solver="sgd", momentum=0.0,
        learning_rate_init=1e30 if word == "tiny" else 10.0, coefs_init=coefs,
        intercepts_init=intercepts, random_state=0,
    )
    message = _divergence_message(est, X, y)
    assert f"The starting weights are {word}" in message
    assert "scale the inputs" not in message


def test_lbfgs_advice_for_huge_inputs_is_to_scale_them():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2)) * 1e307
    message = _divergence_message(BackpropRegressor(solver="lbfgs"), X, rng.normal(size=20))
    assert SKLEARN_MESSAGE in message and "scale the inputs" in message
    assert "Increase alpha" not in message
