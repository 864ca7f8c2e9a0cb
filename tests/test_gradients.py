"""Costs and gradients of the numerical core against independent oracles.

- The cost returned by ``loss_and_grad`` equals the formulas of docs/design.rst,
  section design-conventions, computed here from the reference forward pass of
  ``conftest.py`` (written independently of the library).
- Its gradient equals a central finite difference of that independent cost, for
  every hidden activation x output activation x accepted loss, with and
  without the L2 penalty and sample weights (docs/design.rst, section
  design-oracles, oracle 3).
- The fused output deltas equal the general chain ``dC/dA (.) f'(Z)``.
- The half Poisson deviance of an exponential output equals its formula, term
  by term, with ``0 log 0 = 0``, and stays finite and silent where the output
  underflows to 0 or saturates.
"""

import itertools
import math
import warnings

import numpy as np
import pytest
from conftest import loss_and_grad, output_delta, reference_forward

from skbackprop.core.activations import (
    ACTIVATIONS,
    HIDDEN_ACTIVATIONS,
    OUTPUT_RANGES,
    exp_limit,
)
from skbackprop.core.losses import COSTS, FUSED, loss_and_output_delta
from skbackprop.core.network import Network

#: Every hidden activation x every cost of the cost table x every output it accepts.
COMBINATIONS = [
    (hidden, out, loss)
    for hidden in HIDDEN_ACTIVATIONS
    for loss, entry in COSTS.items()
    for out in entry.outputs
]
OUTPUT_LOSS = sorted({(out, loss) for _, out, loss in COMBINATIONS})


# --------------------------------------------------------------------------- #
# The oracle: the cost of docs/design.rst, section design-conventions, on the
# reference forward pass (conftest.py, docs/design.rst section design-model).
# --------------------------------------------------------------------------- #
def reference_cost(X, Y, coefs, intercepts, hidden, out, loss, alpha=0.0, sample_weight=None):
    """The cost exactly as docs/design.rst, design-conventions, states it (weights:
    divide by their sum)."""
    _, P = reference_forward(X, coefs, intercepts, hidden, out)
    return cost_of_output(P, Y, coefs, out, loss, alpha, sample_weight)


def cost_of_output(P, Y, coefs, out, loss, alpha=0.0, sample_weight=None):
    """The cost of the network's output ``P`` for targets ``Y`` (see :func:`reference_cost`)."""
    w = np.ones(P.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    total = w.sum()
    if loss == "squared_error":
        per_sample = 0.5 * np.sum((Y - P) ** 2, axis=1)
    elif loss == "poisson":
        # Half Poisson deviance; y log(y / p) is 0 where y is 0.
        safe_y = np.where(Y > 0, Y, 1.0)
        per_sample = np.sum(np.where(Y > 0, Y * np.log(safe_y / P), 0.0) - Y + P, axis=1)
    elif out == "softmax":
        per_sample = -np.sum(Y * np.log(P), axis=1)
    else:
        per_sample = -np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P), axis=1)
    penalty = alpha / (2 * total) * sum(np.sum(W**2) for W in coefs)
    return np.dot(w, per_sample) / total + penalty


# --------------------------------------------------------------------------- #
# Problems
# --------------------------------------------------------------------------- #
def make_targets(rng, m, n_out, out, loss):
    if loss == "poisson":
        return rng.poisson(1.5, (m, n_out)).astype(float)  # counts, zeros included
    if out == "exp":
        return rng.uniform(0.0, 3.0, (m, n_out))
    if loss == "cross_entropy" and out == "softmax":
        return np.eye(n_out)[rng.integers(0, n_out, m)]
    if loss == "cross_entropy":
        return rng.uniform(0.0, 1.0, (m, n_out))  # soft targets are in the contract
    if out == "tanh":
        return rng.uniform(-1.0, 1.0, (m, n_out))
    if out == "identity":
        return rng.normal(size=(m, n_out))
    return rng.uniform(0.0, 1.0, (m, n_out))


def make_problem(seed, hidden, out, loss, hidden_sizes=(4, 3), m=7, n_in=3, n_out=3, margin=1e-3):
    """Random data and parameters whose hidden pre-activations avoid the ReLU kink.

    With ``|z| > margin`` everywhere and a finite-difference step of 1e-6, no
    perturbation can cross the kink at 0, so the cost is smooth where it is
    differentiated.
    """
    rng = np.random.default_rng(seed)
    units = [n_in, *hidden_sizes, n_out]
    for _ in range(100):
        X = rng.normal(size=(m, n_in))
        coefs = [rng.normal(0.0, 0.8, (a, b)) for a, b in zip(units[:-1], units[1:], strict=True)]
        intercepts = [rng.normal(0.0, 0.5, b) for b in units[1:]]
        pre_activations, _ = reference_forward(X, coefs, intercepts, hidden, out)
        if all(np.abs(Z).min() > margin for Z in pre_activations[:-1]):
            break
    else:
        raise AssertionError("no draw kept the hidden pre-activations away from 0")
    Y = make_targets(rng, m, n_out, out, loss)
    sample_weight = rng.uniform(0.2, 3.0, m)
    return X, Y, coefs, intercepts, sample_weight


def numerical_gradient(fun, params, h=1e-6):
    """Central differences of ``fun()`` with respect to every entry of ``params``."""
    grads = []
    for P in params:
        G = np.empty_like(P)
        flat, gflat = P.reshape(-1), G.reshape(-1)
        for k in range(flat.size):
            saved = flat[k]
            flat[k] = saved + h
            up = fun()
            flat[k] = saved - h
            down = fun()
            flat[k] = saved
            gflat[k] = (up - down) / (2 * h)
        grads.append(G)
    return grads


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


def check_gradient(X, Y, coefs, intercepts, hidden, out, loss, alpha, sample_weight):
    value, coef_grads, intercept_grads = loss_and_grad(
        X, Y, coefs, intercepts, hidden, out, loss, alpha, sample_weight
    )
    expected = reference_cost(X, Y, coefs, intercepts, hidden, out, loss, alpha, sample_weight)
    np.testing.assert_allclose(value, expected, rtol=1e-12)

    def cost():
        return reference_cost(X, Y, coefs, intercepts, hidden, out, loss, alpha, sample_weight)

    numeric = numerical_gradient(cost, list(coefs) + list(intercepts))
    analytic = list(coef_grads) + list(intercept_grads)
    for layer, (g, n) in enumerate(zip(analytic, numeric, strict=True)):
        assert g.shape == n.shape
        err = relative_error(g, n)
        assert err < 1e-6, f"parameter block {layer}: relative error {err:.2e}"
        np.testing.assert_allclose(g, n, rtol=1e-5, atol=1e-8)


# --------------------------------------------------------------------------- #
# Tests
# --------------------------------------------------------------------------- #
def test_every_combination_is_covered():
    assert len(COMBINATIONS) == len(HIDDEN_ACTIVATIONS) * 8
    assert {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "silu",
            "gelu"} <= set(HIDDEN_ACTIVATIONS)
    assert set(OUTPUT_LOSS) == {
        ("identity", "squared_error"),
        ("sigmoid", "squared_error"),
        ("tanh", "squared_error"),
        ("softmax", "squared_error"),
        ("exp", "squared_error"),
        ("sigmoid", "cross_entropy"),
        ("softmax", "cross_entropy"),
        ("exp", "poisson"),
    }


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 0.3], ids=["alpha0", "alpha0.3"])
@pytest.mark.parametrize("hidden, out, loss", COMBINATIONS)
def test_gradient_two_hidden_layers(hidden, out, loss, alpha, weighted):
    seed = COMBINATIONS.index((hidden, out, loss))
    X, Y, coefs, intercepts, sw = make_problem(seed, hidden, out, loss)
    check_gradient(X, Y, coefs, intercepts, hidden, out, loss, alpha, sw if weighted else None)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("out, loss", OUTPUT_LOSS)
def test_gradient_single_layer(out, loss, weighted):
    # hidden_layer_sizes=(): one weight matrix straight from inputs to outputs.
    X, Y, coefs, intercepts, sw = make_problem(11, "identity", out, loss, hidden_sizes=())
    assert len(coefs) == 1
    check_gradient(X, Y, coefs, intercepts, "relu", out, loss, 0.5, sw if weighted else None)


@pytest.mark.parametrize("out, loss", [p for p in OUTPUT_LOSS if p[0] != "softmax"])
def test_gradient_one_output_unit(out, loss):
    # (A softmax over one unit is the constant 1: not a meaningful output layer.)
    X, Y, coefs, intercepts, sw = make_problem(12, "tanh", out, loss, hidden_sizes=(3,), n_out=1)
    check_gradient(X, Y, coefs, intercepts, "tanh", out, loss, 0.1, sw)


def test_gradient_batch_of_one():
    # The seeds' setting: one sample, the cost is the textbook E_total.
    X, Y, coefs, intercepts, _ = make_problem(13, "sigmoid", "sigmoid", "squared_error", m=1)
    check_gradient(X, Y, coefs, intercepts, "sigmoid", "sigmoid", "squared_error", 0.0, None)


@pytest.mark.parametrize("out, loss", OUTPUT_LOSS)
def test_loss_value_matches_design_formulas(out, loss):
    # Written term by term, sample by sample, from docs/design.rst, design-conventions.
    X, Y, coefs, intercepts, sw = make_problem(14, "tanh", out, loss)
    alpha = 0.7
    _, P = reference_forward(X, coefs, intercepts, "tanh", out)
    m = X.shape[0]
    penalty_sq = sum(float(np.sum(W * W)) for W in coefs)

    def term(i):
        if loss == "squared_error":
            return sum(0.5 * (Y[i, k] - P[i, k]) ** 2 for k in range(Y.shape[1]))
        if loss == "poisson":
            return sum(poisson_term(Y[i, k], P[i, k]) for k in range(Y.shape[1]))
        if out == "softmax":
            return -sum(Y[i, k] * np.log(P[i, k]) for k in range(Y.shape[1]))
        return -sum(
            Y[i, k] * np.log(P[i, k]) + (1 - Y[i, k]) * np.log(1 - P[i, k])
            for k in range(Y.shape[1])
        )

    plain = sum(term(i) for i in range(m)) / m
    value, _, _ = loss_and_grad(X, Y, coefs, intercepts, "tanh", out, loss)
    np.testing.assert_allclose(value, plain, rtol=1e-12)

    penalised = plain + alpha / (2 * m) * penalty_sq
    value, _, _ = loss_and_grad(X, Y, coefs, intercepts, "tanh", out, loss, alpha)
    np.testing.assert_allclose(value, penalised, rtol=1e-12)

    weighted = sum(sw[i] * term(i) for i in range(m)) / sw.sum()
    weighted += alpha / (2 * sw.sum()) * penalty_sq
    value, _, _ = loss_and_grad(X, Y, coefs, intercepts, "tanh", out, loss, alpha, sw)
    np.testing.assert_allclose(value, weighted, rtol=1e-12)


def poisson_term(y, p):
    """One term of the half Poisson deviance, ``y log(y/p) - y + p`` with ``0 log 0 = 0``."""
    return (y * math.log(y / p) if y > 0 else 0.0) - y + p


def test_unit_weights_equal_no_weights():
    X, Y, coefs, intercepts, _ = make_problem(15, "relu", "softmax", "cross_entropy")
    plain = loss_and_grad(X, Y, coefs, intercepts, "relu", "softmax", "cross_entropy", 0.2)
    ones = loss_and_grad(
        X, Y, coefs, intercepts, "relu", "softmax", "cross_entropy", 0.2, np.ones(X.shape[0])
    )
    np.testing.assert_allclose(plain[0], ones[0], rtol=1e-14)
    for a, b in zip(plain[1] + plain[2], ones[1] + ones[2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-16)


def test_integer_weights_equal_repeated_samples():
    # A weight of k counts a sample k times: the same cost and gradient.
    X, Y, coefs, intercepts, _ = make_problem(16, "sigmoid", "sigmoid", "cross_entropy")
    counts = np.array([1, 3, 2, 1, 4, 1, 2])
    weighted = loss_and_grad(
        X, Y, coefs, intercepts, "sigmoid", "sigmoid", "cross_entropy", 0.4, counts.astype(float)
    )
    rep = np.repeat(np.arange(X.shape[0]), counts)
    repeated = loss_and_grad(
        X[rep], Y[rep], coefs, intercepts, "sigmoid", "sigmoid", "cross_entropy", 0.4
    )
    np.testing.assert_allclose(weighted[0], repeated[0], rtol=1e-12)
    for a, b in zip(weighted[1] + weighted[2], repeated[1] + repeated[2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def general_path_delta(out, loss, Y, A, sample_weight):
    """``dC/dA`` of the design-conventions cost, times ``f'`` through the library's derivative."""
    m = Y.shape[0]
    w = np.ones(m) if sample_weight is None else sample_weight
    scale = (w / w.sum())[:, np.newaxis]
    if loss == "squared_error":
        grad_a = A - Y
    elif loss == "poisson":
        grad_a = 1 - Y / A
    elif out == "softmax":
        grad_a = -Y / A
    else:
        grad_a = -Y / A + (1 - Y) / (1 - A)
    delta = grad_a * scale
    return ACTIVATIONS[out].derivative(A, delta)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("out, loss", sorted(FUSED))
def test_fused_delta_equals_chain_rule(out, loss, weighted):
    rng = np.random.default_rng(17)
    m, n_out = 6, 4
    A = ACTIVATIONS[out].forward(rng.normal(size=(m, n_out)))
    Y = make_targets(rng, m, n_out, out, loss)
    sw = rng.uniform(0.5, 2.0, m) if weighted else None
    fused = output_delta(loss, out, Y, A, np.empty_like(A), sw)
    np.testing.assert_allclose(
        fused, general_path_delta(out, loss, Y, A, sw), rtol=1e-10, atol=1e-14
    )


@pytest.mark.parametrize("out, loss", [p for p in OUTPUT_LOSS if p not in FUSED])
def test_general_delta_equals_chain_rule(out, loss):
    rng = np.random.default_rng(18)
    A = ACTIVATIONS[out].forward(rng.normal(size=(5, 3)))
    Y = make_targets(rng, 5, 3, out, loss)
    sw = rng.uniform(0.5, 2.0, 5)
    delta = output_delta(loss, out, Y, A, np.empty_like(A), sw)
    np.testing.assert_allclose(delta, general_path_delta(out, loss, Y, A, sw), rtol=1e-12)


def test_fused_pairs_are_the_matched_ones():
    assert set(FUSED) == {
        ("identity", "squared_error"),
        ("sigmoid", "cross_entropy"),
        ("softmax", "cross_entropy"),
        ("exp", "poisson"),
    }


def test_reused_network_buffers_give_the_same_gradient():
    # The Network keeps work buffers between calls; a smaller batch after a larger one
    # must give exactly what a fresh computation gives.
    hidden, out, loss = "tanh", "softmax", "cross_entropy"
    X, Y, coefs, intercepts, sw = make_problem(19, hidden, out, loss, m=9)
    net = Network([3, 4, 3, 3], hidden, out)
    grads = [np.empty_like(P) for P in coefs + intercepts]
    for rows in (slice(0, 9), slice(2, 6), slice(0, 9), slice(5, 6)):
        value = net.loss_and_grad(
            X[rows], Y[rows], coefs, intercepts, grads[:3], grads[3:], loss, 0.1, sw[rows]
        )
        fresh = loss_and_grad(X[rows], Y[rows], coefs, intercepts, hidden, out, loss, 0.1, sw[rows])
        assert value == fresh[0]
        for a, b in zip(grads, fresh[1] + fresh[2], strict=True):
            np.testing.assert_array_equal(a, b)


def test_cross_entropy_is_finite_for_saturated_outputs():
    # Outputs that round to exactly 0 or 1: the cost stays finite (clipped), no warning.
    X = np.array([[1.0], [-1.0]])
    coefs = [np.array([[800.0, -800.0]])]
    intercepts = [np.zeros(2)]
    Y = np.array([[0.0, 1.0], [1.0, 0.0]])
    for out in ("sigmoid", "softmax"):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            value, cg, ig = loss_and_grad(X, Y, coefs, intercepts, "relu", out, "cross_entropy")
        assert np.isfinite(value) and value > 10
        assert all(np.isfinite(g).all() for g in cg + ig)


def test_all_parameters_get_a_gradient():
    # Sanity of the oracle itself: every block has a non-zero finite difference.
    for hidden, out, loss in itertools.islice(COMBINATIONS, 0, None, 7):
        X, Y, coefs, intercepts, _ = make_problem(20, hidden, out, loss)
        _, cg, ig = loss_and_grad(X, Y, coefs, intercepts, hidden, out, loss)
        assert all(np.linalg.norm(g) > 0 for g in cg + ig)


# --------------------------------------------------------------------------- #
# Exponential output and the Poisson cost
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 0.3], ids=["alpha0", "alpha0.3"])
def test_poisson_gradient_one_count_output(alpha, weighted):
    # The usual Poisson regression: one output, counts with many zeros and a few
    # large ones, one hidden layer.
    X, _, coefs, intercepts, sw = make_problem(21, "tanh", "exp", "poisson", hidden_sizes=(4,),
                                               m=9, n_out=1)
    Y = np.array([[0.0], [0.0], [1.0], [0.0], [7.0], [2.0], [0.0], [13.0], [1.0]])
    check_gradient(X, Y, coefs, intercepts, "tanh", "exp", "poisson", alpha,
                   sw if weighted else None)


def test_poisson_cost_against_formula_by_hand():
    # A network without hidden layer, so the outputs are exp(X @ W + b) exactly.
    X = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]])
    W = np.array([[0.4, -0.3], [0.2, 0.6]])
    b = np.array([0.1, -0.2])
    Y = np.array([[0.0, 3.0], [2.0, 0.0], [5.0, 1.0]])
    sw = np.array([0.5, 2.0, 1.25])
    alpha = 0.4
    P = [[math.exp(sum(X[i, j] * W[j, k] for j in range(2)) + b[k]) for k in range(2)]
         for i in range(3)]
    rows = [sum(poisson_term(Y[i, k], P[i][k]) for k in range(2)) for i in range(3)]
    penalty = float(np.sum(W**2))

    value, _, _ = loss_and_grad(X, Y, [W], [b], "relu", "exp", "poisson")
    np.testing.assert_allclose(value, sum(rows) / 3, rtol=1e-13)

    value, _, _ = loss_and_grad(X, Y, [W], [b], "relu", "exp", "poisson", alpha, sw)
    expected = sum(w * r for w, r in zip(sw, rows, strict=True)) / sw.sum()
    expected += alpha / (2 * sw.sum()) * penalty
    np.testing.assert_allclose(value, expected, rtol=1e-13)


def test_poisson_cost_is_zero_where_outputs_equal_positive_targets():
    # The deviance of a perfect prediction is 0 (for y > 0), whatever the counts.
    Y = np.array([[1.0, 4.0], [0.5, 30.0]])
    A = Y.copy()
    out = np.empty_like(A)
    value = loss_and_output_delta("poisson", "exp", Y, A, out)
    assert abs(value) < 1e-13
    np.testing.assert_array_equal(out, 0.0)


def test_poisson_is_finite_and_silent_where_outputs_underflow():
    # exp(-900) underflows to exactly 0 against a count of 3: the cost is large but
    # finite (log of the smallest normal float), the gradient finite, nothing warns.
    X = np.array([[1.0], [2.0]])
    coefs = [np.array([[-900.0]])]
    intercepts = [np.zeros(1)]
    Y = np.array([[3.0], [0.0]])
    with warnings.catch_warnings(), np.errstate(
        over="raise", invalid="raise", divide="raise"
    ):
        warnings.simplefilter("error")
        value, cg, ig = loss_and_grad(X, Y, coefs, intercepts, "relu", "exp", "poisson")
    tiny = np.finfo(np.float64).tiny
    np.testing.assert_allclose(value, (3 * math.log(3 / tiny) - 3) / 2, rtol=1e-12)
    assert all(np.isfinite(g).all() for g in cg + ig)
    np.testing.assert_allclose(ig[0], [(0 - 3) / 2])  # the delta a - y, a = 0


def test_poisson_cost_is_infinite_where_outputs_saturate():
    # exp(900) is beyond the cap of the exponential: the fit has diverged. The cost is
    # inf (the solvers then stop or back off), the delta zero, and nothing warns.
    X = np.array([[1.0], [-1.0]])
    coefs = [np.array([[900.0]])]
    intercepts = [np.zeros(1)]
    Y = np.array([[0.0], [3.0]])
    with warnings.catch_warnings(), np.errstate(
        over="raise", invalid="raise", divide="raise"
    ):
        warnings.simplefilter("error")
        value, cg, ig = loss_and_grad(X, Y, coefs, intercepts, "relu", "exp", "poisson", 0.1)
    assert value == np.inf
    np.testing.assert_allclose(ig[0], 0.0)
    np.testing.assert_allclose(cg[0], 0.1 / 2 * coefs[0])  # the penalty's gradient only


def test_exp_output_is_capped_below_overflow():
    for dtype in (np.float64, np.float32):
        z = np.array([[-1e4, 0.0, 1.0, 1e4]], dtype=dtype)
        with np.errstate(over="raise", invalid="raise"):
            a = ACTIVATIONS["exp"].forward(z.copy())
        assert a.dtype == dtype
        np.testing.assert_allclose(a[0, 1:3], [1.0, np.e], rtol=1e-6)
        assert a[0, 0] == 0.0
        # Capped at the square root of the largest float: squares and sums stay finite.
        cap = math.sqrt(float(np.finfo(dtype).max))
        assert 0.99 * cap < float(a[0, 3]) <= 1.0001 * cap
        assert float(a[0, 3]) == exp_limit(dtype)


def test_exp_derivative_matches_central_difference():
    rng = np.random.default_rng(22)
    z = rng.normal(0.0, 2.0, (5, 3))
    h = 1e-6
    numeric = (np.exp(z + h) - np.exp(z - h)) / (2 * h)
    incoming = rng.normal(size=z.shape)
    delta = incoming.copy()
    out = ACTIVATIONS["exp"].derivative(ACTIVATIONS["exp"].forward(z.copy()), delta)
    assert out is delta
    np.testing.assert_allclose(delta, incoming * numeric, rtol=1e-7)


def test_exp_is_an_output_activation_only():
    assert "exp" not in HIDDEN_ACTIVATIONS
    assert OUTPUT_RANGES["exp"] == (0.0, np.inf)
    assert COSTS["poisson"].outputs == ("exp",)
