"""Cross-check with scikit-learn's MLP on identical settings (docs/design.rst,
section design-oracles, oracle 4).

Both libraries start from the same weights. scikit-learn is given them through
public attributes only (``sklearn_from_start`` in ``conftest.py``): it is
fitted once (to set up its label encoding), then its ``coefs_`` /
``intercepts_`` are overwritten and it is fitted again with
``warm_start=True``, which continues from the weights it holds with a fresh
optimizer. With plain SGD, no shuffling and the same alpha, batch size and
learning rate, the two take identical gradient steps, so the weights after
several epochs agree to rounding error (~1e-10) and so do the loss curves.

Known convention difference: scikit-learn's squared loss also divides by the
number of outputs, ours does not (docs/design.rst, section design-conventions). The gradients of both
are those of our cost, so the weights still agree and only the reported
multi-output regression loss differs, by exactly that factor.

scikit-learn added ``sample_weight`` to its MLP and ``loss='poisson'`` to
``MLPRegressor`` in 1.7; the tests that use them are skipped on older releases.
"""

import warnings

import numpy as np
import pytest
from conftest import sklearn_at_least, sklearn_from_start, starting_weights
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skbackprop import BackpropClassifier, BackpropRegressor

N_SAMPLES, N_FEATURES, HIDDEN = 23, 4, (5, 3)
EPOCHS = 5
TOL = dict(rtol=1e-10, atol=1e-10)
HIDDEN_ACTIVATIONS = ["relu", "tanh", "logistic"]


def make_data(kind, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    if kind == "multiclass":
        y = np.array(["ant", "bee", "cat"])[rng.integers(0, 3, N_SAMPLES)]
    elif kind == "binary":
        y = rng.integers(0, 2, N_SAMPLES)
    elif kind == "multilabel":
        y = rng.integers(0, 2, (N_SAMPLES, 3))
    elif kind == "regression":
        y = X @ rng.normal(size=N_FEATURES) + 0.1 * rng.normal(size=N_SAMPLES)
    elif kind == "multioutput":
        y = X @ rng.normal(size=(N_FEATURES, 3))
    elif kind == "poisson":
        # Counts from a log-linear model: zeros, ones and a few larger counts.
        y = rng.poisson(np.exp(X @ rng.normal(size=N_FEATURES) * 0.3)).astype(float)
    else:
        raise AssertionError(kind)
    return X, y


N_OUTPUTS = {
    "multiclass": 3, "binary": 1, "multilabel": 3, "regression": 1, "multioutput": 3, "poisson": 1,
}
REGRESSION = ("regression", "multioutput", "poisson")
NEEDS_SAMPLE_WEIGHT = sklearn_at_least("1.7", "MLP sample_weight")
NEEDS_POISSON = sklearn_at_least("1.7", "MLPRegressor loss='poisson'")


def quiet_fit(estimator, X, y, sample_weight=None):
    # sample_weight only when given: scikit-learn's MLP accepts it from 1.7 on.
    fit_params = {} if sample_weight is None else {"sample_weight": sample_weight}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **fit_params)


def shared_settings(activation, **overrides):
    settings = dict(
        hidden_layer_sizes=HIDDEN,
        activation=activation,
        solver="sgd",
        momentum=0.0,
        alpha=1e-2,
        batch_size=7,  # 23 samples: three batches of 7 and a last one of 2
        learning_rate_init=0.1,
        max_iter=EPOCHS,
        shuffle=False,
        tol=1e-4,
        n_iter_no_change=1000,
        random_state=0,
    )
    settings.update(overrides)
    return settings


def fit_both(kind, activation, hidden=HIDDEN, sample_weight=None, ours_only=None, **overrides):
    """Fit both libraries from the same weights; ``ours_only`` are parameters of ours alone."""
    X, y = make_data(kind)
    coefs, intercepts = starting_weights([N_FEATURES, *hidden, N_OUTPUTS[kind]])
    settings = shared_settings(activation, hidden_layer_sizes=hidden, **overrides)
    regression = kind in REGRESSION

    ours_cls = BackpropRegressor if regression else BackpropClassifier
    ours = ours_cls(
        **settings,
        **(ours_only or {}),
        coefs_init=[c.copy() for c in coefs],
        intercepts_init=[b.copy() for b in intercepts],
    )
    quiet_fit(ours, X, y, sample_weight)

    theirs_cls = MLPRegressor if regression else MLPClassifier
    theirs = sklearn_from_start(theirs_cls(**settings), X, y, coefs, intercepts, sample_weight)
    quiet_fit(theirs, X, y, sample_weight)
    return ours, theirs, (coefs, intercepts)


def assert_same_weights(ours, theirs, start):
    assert len(ours.coefs_) == len(theirs.coefs_)
    moved = 0.0
    for a, b, s in zip(
        ours.coefs_ + ours.intercepts_,
        theirs.coefs_ + theirs.intercepts_,
        start[0] + start[1],
        strict=True,
    ):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, **TOL)
        moved = max(moved, np.abs(b - s).max())
    assert moved > 1e-3  # training did move the weights: the comparison means something


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel", "regression"])
def test_plain_sgd_matches_sklearn(kind, activation):
    ours, theirs, start = fit_both(kind, activation)
    # out_activation_ uses scikit-learn's names ('logistic' for the sigmoid).
    expected = {"multiclass": "softmax", "regression": "identity"}.get(kind, "logistic")
    assert ours.out_activation_ == theirs.out_activation_ == expected
    assert_same_weights(ours, theirs, start)
    assert ours.n_iter_ == theirs.n_iter_ == EPOCHS
    assert len(ours.loss_curve_) == len(theirs.loss_curve_) == EPOCHS
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **TOL)
    np.testing.assert_allclose(ours.loss_, theirs.loss_, **TOL)
    X, _ = make_data(kind)
    if kind in ("multiclass", "binary", "multilabel"):
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), **TOL)
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    else:
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), **TOL)


@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel"])
def test_log_loss_alias_matches_sklearn_classifier(kind):
    # 'log_loss' is scikit-learn's name of the cost its MLPClassifier always uses.
    ours, theirs, start = fit_both(kind, "tanh", ours_only={"loss": "log_loss"})
    assert ours.loss_function_ == "cross_entropy"
    assert_same_weights(ours, theirs, start)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **TOL)


@pytest.mark.parametrize("nesterov", [False, True], ids=["momentum", "nesterov"])
@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_momentum_matches_sklearn(kind, nesterov):
    ours, theirs, start = fit_both(
        kind, "tanh", momentum=0.9, nesterovs_momentum=nesterov, learning_rate_init=0.05
    )
    assert_same_weights(ours, theirs, start)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **TOL)


@pytest.mark.parametrize("kind", ["multiclass", "binary", "regression"])
def test_adam_matches_sklearn(kind):
    ours, theirs, start = fit_both(kind, "relu", solver="adam", learning_rate_init=0.01)
    assert_same_weights(ours, theirs, start)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **TOL)


def test_invscaling_schedule_matches_sklearn():
    ours, theirs, start = fit_both(
        "multiclass", "logistic", learning_rate="invscaling", power_t=0.25, learning_rate_init=0.3
    )
    assert_same_weights(ours, theirs, start)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **TOL)


@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_lbfgs_matches_sklearn(kind):
    # Both hand the same flat vector (coefs then intercepts) and the same cost and
    # gradient to scipy's L-BFGS-B; a few iterations must land on the same point.
    ours, theirs, start = fit_both(kind, "tanh", solver="lbfgs", max_iter=8)
    assert_same_weights(ours, theirs, start)
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-10)


def test_no_hidden_layer_matches_sklearn():
    ours, theirs, start = fit_both("multiclass", "relu", hidden=())
    assert len(ours.coefs_) == 1
    assert_same_weights(ours, theirs, start)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **TOL)


def test_multioutput_regression_differs_only_by_the_output_count():
    # Our squared error sums over the outputs, scikit-learn's averages over them; its
    # gradient is nonetheless that of the summed cost, so the weights agree. Without
    # the penalty the reported losses differ by exactly the factor n_outputs.
    ours, theirs, start = fit_both("multioutput", "tanh", alpha=0.0)
    assert_same_weights(ours, theirs, start)
    np.testing.assert_allclose(ours.loss_curve_, 3 * np.asarray(theirs.loss_curve_), **TOL)


@NEEDS_SAMPLE_WEIGHT
@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_sample_weight_matches_sklearn(kind):
    sw = np.random.default_rng(5).uniform(0.2, 3.0, N_SAMPLES)
    ours, theirs, start = fit_both(kind, "tanh", sample_weight=sw)
    assert_same_weights(ours, theirs, start)


@NEEDS_SAMPLE_WEIGHT
@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_sample_weight_full_batch_loss_matches_sklearn(kind):
    # With one batch per epoch both report the weighted mean cost of the epoch.
    sw = np.random.default_rng(6).uniform(0.2, 3.0, N_SAMPLES)
    ours, theirs, start = fit_both(kind, "logistic", sample_weight=sw, batch_size=N_SAMPLES)
    assert_same_weights(ours, theirs, start)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **TOL)


# --------------------------------------------------------------------------- #
# Poisson regression: exponential output, half Poisson deviance
# --------------------------------------------------------------------------- #
def assert_same_poisson_fit(ours, theirs, start, same_curve=True):
    assert ours.out_activation_ == theirs.out_activation_ == "exp"
    assert ours.loss_function_ == "poisson"
    assert_same_weights(ours, theirs, start)
    assert len(ours.loss_curve_) == len(theirs.loss_curve_) == ours.n_iter_
    if same_curve:
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **TOL)
    X, _ = make_data("poisson")
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), **TOL)


@NEEDS_POISSON
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_poisson_plain_sgd_matches_sklearn(activation):
    ours, theirs, start = fit_both("poisson", activation, loss="poisson", learning_rate_init=0.05)
    assert_same_poisson_fit(ours, theirs, start)
    assert ours.n_iter_ == theirs.n_iter_ == EPOCHS


@NEEDS_POISSON
def test_poisson_momentum_matches_sklearn():
    ours, theirs, start = fit_both(
        "poisson", "tanh", loss="poisson", momentum=0.9, learning_rate_init=0.02
    )
    assert_same_poisson_fit(ours, theirs, start)


@NEEDS_POISSON
def test_poisson_adam_matches_sklearn():
    ours, theirs, start = fit_both(
        "poisson", "relu", loss="poisson", solver="adam", learning_rate_init=0.01
    )
    assert_same_poisson_fit(ours, theirs, start)


@NEEDS_POISSON
@NEEDS_SAMPLE_WEIGHT
def test_poisson_sample_weight_matches_sklearn():
    # Mini-batches with weights: the same steps. The epoch losses are not compared:
    # scikit-learn averages the batch costs by batch size, skbackprop by batch
    # weight (as test_sample_weight_matches_sklearn).
    sw = np.random.default_rng(7).uniform(0.2, 3.0, N_SAMPLES)
    ours, theirs, start = fit_both(
        "poisson", "tanh", loss="poisson", sample_weight=sw, learning_rate_init=0.05
    )
    assert_same_poisson_fit(ours, theirs, start, same_curve=False)


@NEEDS_POISSON
@NEEDS_SAMPLE_WEIGHT
def test_poisson_sample_weight_adam_full_batch_matches_sklearn():
    # One batch per epoch: both report the weighted mean deviance of the epoch.
    sw = np.random.default_rng(8).uniform(0.2, 3.0, N_SAMPLES)
    ours, theirs, start = fit_both(
        "poisson", "logistic", loss="poisson", sample_weight=sw, solver="adam",
        learning_rate_init=0.01, batch_size=N_SAMPLES,
    )
    assert_same_poisson_fit(ours, theirs, start)


@NEEDS_POISSON
def test_poisson_lbfgs_matches_sklearn():
    ours, theirs, start = fit_both("poisson", "tanh", loss="poisson", solver="lbfgs", max_iter=8)
    assert ours.out_activation_ == theirs.out_activation_ == "exp"
    assert_same_weights(ours, theirs, start)
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-10)
