"""The source documents' examples, reproduced through the public API.

Oracle 1 (docs/design.rst, section design-oracles, oracle 1): the hand-worked
backpropagation step of seed 000, whose printed numbers are the expected
values. Oracle 2 (same section, oracle 2): XOR is not
linearly separable (a single-layer network gets at most 3 of the 4 points
right), while one hidden layer of two sigmoid units separates it.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor

# --------------------------------------------------------------------------- #
# Oracle 1: the worked example
# --------------------------------------------------------------------------- #
X_EXAMPLE = np.array([[0.05, 0.10]])
Y_EXAMPLE = np.array([[0.01, 0.99]])
W1, W2, W3, W4 = 0.15, 0.20, 0.25, 0.30  # w1, w2 feed h1; w3, w4 feed h2
W5, W6, W7, W8 = 0.40, 0.45, 0.50, 0.55  # w5, w6 feed o1; w7, w8 feed o2
B_HIDDEN, B_OUTPUT = 0.35, 0.60

# The numbers printed in the source document (docs/design.rst, section design-oracles, oracle 1).
E_TOTAL = 0.298371109
EXPECTED_OUTPUT_WEIGHTS = {
    "w5": 0.35891648,
    "w6": 0.408666186,
    "w7": 0.511301270,
    "w8": 0.561370121,
}
EXPECTED_HIDDEN_WEIGHTS = {"w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229}


def example_params():
    coefs = [np.array([[W1, W3], [W2, W4]]), np.array([[W5, W7], [W6, W8]])]
    intercepts = [np.full(2, B_HIDDEN), np.full(2, B_OUTPUT)]
    return coefs, intercepts


def classic_settings():
    coefs, intercepts = example_params()
    return dict(
        hidden_layer_sizes=(2,),
        activation="sigmoid",
        output_activation="sigmoid",
        loss="squared_error",
        solver="sgd",
        momentum=0.0,
        alpha=0.0,
        learning_rate_init=0.5,
        max_iter=1,
        shuffle=False,
        coefs_init=coefs,
        intercepts_init=intercepts,
    )


def named_weights(coefs):
    """Read w1..w8 out of the coefs_ layout given in docs/design.rst, section design-oracles
    (oracle 1; the layout itself: section design-conventions, "Weight layout")."""
    (w1, w3), (w2, w4) = coefs[0]
    (w5, w7), (w6, w8) = coefs[1]
    return {"w1": w1, "w2": w2, "w3": w3, "w4": w4, "w5": w5, "w6": w6, "w7": w7, "w8": w8}


def fit_quietly(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def hand_step(x, target, lr=0.5):
    """One step done the way the seed does it by hand, neuron by neuron.

    Returns E_total before the step and the updated w1..w8 and biases.
    """

    def f(net):
        return 1.0 / (1.0 + np.exp(-net))

    i1, i2 = x
    out_h1 = f(W1 * i1 + W2 * i2 + B_HIDDEN)
    out_h2 = f(W3 * i1 + W4 * i2 + B_HIDDEN)
    out_o1 = f(W5 * out_h1 + W6 * out_h2 + B_OUTPUT)
    out_o2 = f(W7 * out_h1 + W8 * out_h2 + B_OUTPUT)
    e_total = 0.5 * (target[0] - out_o1) ** 2 + 0.5 * (target[1] - out_o2) ** 2
    # dE/dnet for each output neuron: dE/dout * dout/dnet.
    d_o1 = -(target[0] - out_o1) * out_o1 * (1 - out_o1)
    d_o2 = -(target[1] - out_o2) * out_o2 * (1 - out_o2)
    # dE/dout_h sums the contributions of both output neurons (old weights).
    d_h1 = (d_o1 * W5 + d_o2 * W7) * out_h1 * (1 - out_h1)
    d_h2 = (d_o1 * W6 + d_o2 * W8) * out_h2 * (1 - out_h2)
    new = {
        "w1": W1 - lr * d_h1 * i1,
        "w2": W2 - lr * d_h1 * i2,
        "w3": W3 - lr * d_h2 * i1,
        "w4": W4 - lr * d_h2 * i2,
        "w5": W5 - lr * d_o1 * out_h1,
        "w6": W6 - lr * d_o1 * out_h2,
        "w7": W7 - lr * d_o2 * out_h1,
        "w8": W8 - lr * d_o2 * out_h2,
    }
    biases = (
        [B_HIDDEN - lr * d_h1, B_HIDDEN - lr * d_h2],
        [B_OUTPUT - lr * d_o1, B_OUTPUT - lr * d_o2],
    )
    return e_total, new, biases


def test_hand_computation_reproduces_the_printed_numbers():
    # Guards the helper below against typos: it must give the document's numbers.
    e_total, new, _ = hand_step(X_EXAMPLE[0], Y_EXAMPLE[0])
    assert abs(e_total - E_TOTAL) < 1e-8
    for name, value in {**EXPECTED_OUTPUT_WEIGHTS, **EXPECTED_HIDDEN_WEIGHTS}.items():
        assert abs(new[name] - value) < 1e-8, name


def test_worked_example_regressor():
    reg = fit_quietly(BackpropRegressor(**classic_settings()), X_EXAMPLE, Y_EXAMPLE)
    assert reg.n_iter_ == 1
    # loss_ is the cost of the epoch's batch, measured before the step.
    assert abs(reg.loss_ - E_TOTAL) < 1e-8
    assert len(reg.loss_curve_) == 1 and abs(reg.loss_curve_[0] - E_TOTAL) < 1e-8
    got = named_weights(reg.coefs_)
    for name, value in {**EXPECTED_OUTPUT_WEIGHTS, **EXPECTED_HIDDEN_WEIGHTS}.items():
        assert abs(got[name] - value) < 1e-8, (name, got[name], value)


def test_worked_example_biases_follow_the_same_chain_rule():
    # The document keeps its biases fixed; ours learn, by the same chain rule.
    reg = fit_quietly(BackpropRegressor(**classic_settings()), X_EXAMPLE, Y_EXAMPLE)
    _, _, (b_hidden, b_output) = hand_step(X_EXAMPLE[0], Y_EXAMPLE[0])
    np.testing.assert_allclose(reg.intercepts_[0], b_hidden, rtol=0, atol=1e-12)
    np.testing.assert_allclose(reg.intercepts_[1], b_output, rtol=0, atol=1e-12)


def test_worked_example_does_not_modify_the_starting_weights():
    settings = classic_settings()
    fit_quietly(BackpropRegressor(**settings), X_EXAMPLE, Y_EXAMPLE)
    coefs, intercepts = example_params()
    for given, original in zip(
        settings["coefs_init"] + settings["intercepts_init"], coefs + intercepts, strict=True
    ):
        np.testing.assert_array_equal(given, original)


def test_worked_example_classifier():
    # The classifier needs 0/1 labels, so the document's targets (0.01, 0.99) become the
    # multilabel row (0, 1); the hand computation, checked above, gives the expectation.
    clf = fit_quietly(BackpropClassifier(**classic_settings()), X_EXAMPLE, np.array([[0, 1]]))
    assert clf.out_activation_ == "logistic"
    e_total, new, (b_hidden, b_output) = hand_step(X_EXAMPLE[0], (0.0, 1.0))
    assert abs(clf.loss_ - e_total) < 1e-12
    got = named_weights(clf.coefs_)
    for name, value in new.items():
        assert abs(got[name] - value) < 1e-12, name
    np.testing.assert_allclose(clf.intercepts_[0], b_hidden, rtol=0, atol=1e-12)
    np.testing.assert_allclose(clf.intercepts_[1], b_output, rtol=0, atol=1e-12)


def test_worked_example_second_step_lowers_the_error():
    # Training more steps keeps descending the document's E_total.
    settings = {**classic_settings(), "max_iter": 20}
    reg = fit_quietly(BackpropRegressor(**settings), X_EXAMPLE, Y_EXAMPLE)
    assert abs(reg.loss_curve_[0] - E_TOTAL) < 1e-8
    assert np.all(np.diff(reg.loss_curve_) < 0)


# --------------------------------------------------------------------------- #
# Oracle 2: XOR
# --------------------------------------------------------------------------- #
X_XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y_XOR = np.array([0, 1, 1, 0])


@pytest.mark.parametrize(
    "solver, extra",
    [
        ("lbfgs", dict(max_iter=200)),
        ("sgd", dict(learning_rate_init=0.5, momentum=0.9, max_iter=200)),
        ("adam", dict(learning_rate_init=0.05, max_iter=200)),
    ],
)
def test_xor_is_not_separable_without_hidden_layer(solver, extra):
    # A single layer draws one line through the plane: at most 3 of the 4 XOR points
    # can be on the right side of it, whatever the starting point or the solver.
    for seed in range(4):
        clf = BackpropClassifier(hidden_layer_sizes=(), solver=solver, random_state=seed, **extra)
        clf = fit_quietly(clf, X_XOR, Y_XOR)
        assert len(clf.coefs_) == 1 and clf.coefs_[0].shape == (2, 1)
        assert clf.score(X_XOR, Y_XOR) <= 0.75


def test_xor_single_layer_with_any_weights_misses_a_point():
    # The same fact checked on the fitted model's decision function: for a grid of
    # hand-set weights, a no-hidden-layer network never gets all four points.
    rng = np.random.default_rng(0)
    clf = fit_quietly(
        BackpropClassifier(hidden_layer_sizes=(), solver="lbfgs", max_iter=5), X_XOR, Y_XOR
    )
    for _ in range(200):
        clf.coefs_[0][...] = rng.normal(0.0, 5.0, (2, 1))
        clf.intercepts_[0][...] = rng.normal(0.0, 5.0, 1)
        assert clf.score(X_XOR, Y_XOR) <= 0.75


def test_xor_is_separated_by_two_sigmoid_hidden_units():
    # Two sigmoid units can fit XOR, but plain gradient descent sometimes ends on a
    # plateau where one hidden unit saturates; a clear majority of starts must succeed.
    solved = []
    for seed in range(20):
        clf = BackpropClassifier(
            hidden_layer_sizes=(2,),
            activation="sigmoid",
            solver="sgd",
            learning_rate_init=1.0,
            momentum=0.9,
            alpha=0.0,
            max_iter=1000,
            tol=0.0,
            n_iter_no_change=10_000,
            random_state=seed,
        )
        clf = fit_quietly(clf, X_XOR, Y_XOR)
        assert [W.shape for W in clf.coefs_] == [(2, 2), (2, 1)]
        if np.array_equal(clf.predict(X_XOR), Y_XOR):
            solved.append(seed)
            proba = clf.predict_proba(X_XOR)[:, 1]
            assert proba[[1, 2]].min() > 0.9 and proba[[0, 3]].max() < 0.1
    assert len(solved) >= 13, f"only {len(solved)} of 20 starts solved XOR: {solved}"
