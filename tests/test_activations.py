"""Activation functions against their mathematical definitions.

Oracles: the textbook formulas written here with ``np.exp`` (forward), central
finite differences of the forward function (derivatives), and the explicit
softmax Jacobian ``diag(s) - s s^T`` (softmax derivative).
"""

import warnings

import numpy as np
import pytest
from scipy.stats import norm

from skbackprop import BackpropClassifier
from skbackprop.core.activations import (
    ACTIVATIONS,
    ALIASES,
    HIDDEN_ACTIVATIONS,
    LEAKY_SLOPE,
    canonical_name,
    hidden_activations,
)

#: The element-wise activations: the hidden ones, read from the table.
ELEMENTWISE = hidden_activations()


def reference(name, z):
    """The definition of each activation, written independently of the library."""
    z = np.asarray(z, dtype=np.float64)
    if name == "identity":
        return z.copy()
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, LEAKY_SLOPE * z)
    if name == "softmax":
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)
    if name == "elu":
        return np.where(z > 0, z, np.exp(np.minimum(z, 0.0)) - 1.0)
    if name == "softplus":
        return np.logaddexp(0.0, z)
    if name == "silu":
        return z / (1.0 + np.exp(-z))
    if name == "gelu":  # the exact form: z times the standard normal CDF
        return z * norm.cdf(z)
    raise AssertionError(f"no reference for activation {name!r}: add its formula here")


def forward(name, z):
    """Run the library's in-place forward on a copy of ``z``."""
    return ACTIVATIONS[name].forward(np.array(z, dtype=np.float64))


def derivative(name, z, delta):
    """The library's derivative, from the output or from ``z`` as its entry says."""
    entry = ACTIVATIONS[name]
    return entry.derivative(np.array(z) if entry.from_z else forward(name, z), delta)


def away_from_zero(rng, shape, margin=0.05, scale=3.0):
    """Pre-activations whose magnitude is at least ``margin`` (no ReLU kink nearby)."""
    z = rng.uniform(margin, scale, shape)
    return z * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("name", ELEMENTWISE + ("softmax",))
def test_forward_matches_definition(name):
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 3.0, (7, 4))
    np.testing.assert_allclose(forward(name, z), reference(name, z), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ELEMENTWISE + ("softmax",))
def test_forward_is_in_place(name):
    z = np.random.default_rng(1).normal(size=(5, 3))
    buffer = z.copy()
    out = ACTIVATIONS[name].forward(buffer)
    assert out is buffer
    np.testing.assert_allclose(buffer, reference(name, z), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ELEMENTWISE + ("softmax",))
def test_forward_keeps_float32(name):
    z = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
    out = ACTIVATIONS[name].forward(z.copy())
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, reference(name, z), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_central_difference(name):
    rng = np.random.default_rng(3)
    z = away_from_zero(rng, (6, 5))
    h = 1e-6
    numeric = (reference(name, z + h) - reference(name, z - h)) / (2 * h)

    # The derivative (from the output or from z) scales an incoming delta.
    incoming = rng.normal(size=z.shape)
    delta = incoming.copy()
    out = derivative(name, z, delta)
    assert out is delta  # applied in place
    np.testing.assert_allclose(delta, incoming * numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_piecewise_slopes(name):
    z = np.array([[-2.0, -1e-3, 1e-3, 2.0]])
    delta = np.ones_like(z)
    derivative(name, z, delta)
    negative_slope = 0.0 if name == "relu" else LEAKY_SLOPE
    np.testing.assert_array_equal(delta, [[negative_slope, negative_slope, 1.0, 1.0]])


def softmax_jacobian(s):
    """d s_i / d z_j = s_i (delta_ij - s_j), for one row ``s``."""
    return np.diag(s) - np.outer(s, s)


def test_softmax_derivative_is_exact_jacobian_vector_product():
    rng = np.random.default_rng(4)
    z = rng.normal(0.0, 2.0, (6, 4))
    g = rng.normal(size=z.shape)  # gradient of some cost with respect to the outputs
    s = forward("softmax", z)

    delta = g.copy()
    out = ACTIVATIONS["softmax"].derivative(s, delta)
    assert out is delta
    expected = np.stack([softmax_jacobian(s[i]).T @ g[i] for i in range(z.shape[0])])
    np.testing.assert_allclose(delta, expected, rtol=1e-12, atol=1e-15)


def test_softmax_derivative_matches_central_difference():
    # d/dz of <g, softmax(z)>, row by row, is the Jacobian-vector product.
    rng = np.random.default_rng(5)
    z = rng.normal(0.0, 2.0, (3, 5))
    g = rng.normal(size=z.shape)
    h = 1e-6
    numeric = np.empty_like(z)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            plus, minus = z.copy(), z.copy()
            plus[i, j] += h
            minus[i, j] -= h
            numeric[i, j] = (
                np.dot(g[i], reference("softmax", plus)[i])
                - np.dot(g[i], reference("softmax", minus)[i])
            ) / (2 * h)
    delta = g.copy()
    ACTIVATIONS["softmax"].derivative(forward("softmax", z), delta)
    np.testing.assert_allclose(delta, numeric, rtol=1e-7, atol=1e-9)


def test_softmax_rows_sum_to_one_and_are_shift_invariant():
    z = np.random.default_rng(6).normal(size=(4, 6))
    s = forward("softmax", z)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(forward("softmax", z + 123.0), s, rtol=1e-12, atol=1e-15)


def test_no_overflow_for_large_inputs():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0], [-1000.0, -999.0, -1001.0]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        sig = forward("sigmoid", z)
        soft = forward("softmax", z)
        tanh = forward("tanh", z)
    np.testing.assert_array_equal(sig[0], [1.0, 0.0, 0.5])
    np.testing.assert_array_equal(tanh[0], [1.0, -1.0, 0.0])
    np.testing.assert_allclose(soft[0], [1.0, 0.0, 0.0], atol=1e-300)
    np.testing.assert_allclose(soft[1], [0.0, 0.0, 1.0], atol=1e-300)
    # Only differences matter: the last row is softmax([1, 2, 0]).
    np.testing.assert_allclose(soft[2], reference("softmax", np.array([[1.0, 2.0, 0.0]]))[0])
    assert np.isfinite(sig).all() and np.isfinite(soft).all()


def test_logistic_is_an_alias_of_sigmoid():
    assert canonical_name("logistic") == "sigmoid"
    assert ALIASES["logistic"] == "sigmoid"
    for name in ACTIVATIONS:
        assert canonical_name(name) == name


def test_logistic_alias_through_the_estimator():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    params = dict(hidden_layer_sizes=(4,), solver="sgd", max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = BackpropClassifier(activation="logistic", **params).fit(X, y)
        b = BackpropClassifier(activation="sigmoid", **params).fit(X, y)
    for Wa, Wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(Wa, Wb)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_tables_are_consistent():
    assert set(HIDDEN_ACTIVATIONS) == set(ELEMENTWISE)
    assert {"softmax", "exp"}.isdisjoint(HIDDEN_ACTIVATIONS)
    assert set(HIDDEN_ACTIVATIONS) < set(ACTIVATIONS)
    assert {"elu", "softplus", "silu", "gelu"} <= set(HIDDEN_ACTIVATIONS)
    for name, entry in ACTIVATIONS.items():
        assert entry.name == name
        assert not (entry.from_z and not entry.hidden)  # only hidden layers keep z
        assert entry.formula and entry.derivative_formula


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_large_inputs_stay_finite(name):
    z = np.array([[-700.0, -40.0, 0.0, 40.0, 700.0]])
    with np.errstate(over="raise", invalid="raise"):
        out = forward(name, z)
        delta = derivative(name, z, np.ones_like(z))
    assert np.isfinite(out).all() and np.isfinite(delta).all()
