"""``warm_start``: what a second ``fit`` keeps from the first.

scikit-learn's semantics: the weights carry over (and ``t_``, which the
'invscaling' schedule reads), the optimizer's state (momentum velocity, Adam's
moments, L-BFGS's curvature pairs) starts afresh, and a different architecture
is refused. Oracles: a single longer fit, a fresh fit from the previous
weights, and scikit-learn's MLP from the same starting weights on identical
settings. Early stopping across a warm start is in ``test_early_stopping.py``,
``partial_fit`` in ``test_partial_fit.py``.
"""

import numpy as np
import pytest
from conftest import (
    ESTIMATORS,
    assert_same_weights,
    fit_quietly,
    max_abs_diff,
    noisy_problem,
    sklearn_from_start,
    starting_weights,
)
from sklearn.neural_network import MLPClassifier

from skbackprop import BackpropClassifier, BackpropRegressor


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_warm_start_continues_where_the_first_fit_ended(kind):
    # Plain SGD with a constant rate has no state besides the weights, so
    # 2 epochs then 3 warm epochs are exactly 5 epochs.
    X, y = noisy_problem(kind)
    params = dict(
        hidden_layer_sizes=(5,), solver="sgd", momentum=0.0, shuffle=False, batch_size=15,
        learning_rate_init=0.05, random_state=0,
    )
    est = fit_quietly(ESTIMATORS[kind](**params, max_iter=2, warm_start=True), X, y)
    est.set_params(max_iter=3)
    fit_quietly(est, X, y)
    once = fit_quietly(ESTIMATORS[kind](**params, max_iter=5), X, y)
    assert_same_weights(est, once)
    assert est.loss_curve_ == once.loss_curve_
    assert est.t_ == once.t_


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_warm_start_is_a_fresh_optimizer_from_the_previous_weights(solver):
    # scikit-learn's semantics: the weights carry over, the optimizer's state
    # (Adam's moments, L-BFGS's curvature pairs) starts afresh.
    X, y = noisy_problem("classifier")
    params = dict(hidden_layer_sizes=(5,), solver=solver, shuffle=False, random_state=0)
    est = fit_quietly(BackpropClassifier(**params, max_iter=4, warm_start=True), X, y)
    start_c = [c.copy() for c in est.coefs_]
    start_i = [b.copy() for b in est.intercepts_]
    est.set_params(max_iter=3)
    fit_quietly(est, X, y)
    fresh = fit_quietly(
        BackpropClassifier(**params, max_iter=3, coefs_init=start_c, intercepts_init=start_i),
        X, y,
    )
    assert_same_weights(est, fresh)


def test_warm_start_matches_sklearn():
    # Momentum 0.9 (velocity reset by the warm fit) and invscaling (t_ carries
    # over): both libraries must agree on what a warm start keeps.
    X, y = noisy_problem("classifier")
    coefs, intercepts = starting_weights([4, 5, 3])
    settings = dict(
        hidden_layer_sizes=(5,), activation="relu", solver="sgd", momentum=0.9,
        nesterovs_momentum=True, learning_rate="invscaling", learning_rate_init=0.5,
        shuffle=False, batch_size=16, max_iter=2, warm_start=True,
    )
    ref = sklearn_from_start(MLPClassifier(**settings), X, y, coefs, intercepts)
    ours = BackpropClassifier(**settings, coefs_init=coefs, intercepts_init=intercepts)
    for max_iter in (2, 3):
        ref.set_params(max_iter=max_iter)
        ours.set_params(max_iter=max_iter)
        fit_quietly(ref, X, y)
        fit_quietly(ours, X, y)
    assert ours.t_ == ref.t_
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
    assert max_abs_diff(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_) < 1e-10


def test_without_warm_start_fit_starts_over():
    X, y = noisy_problem("regressor")
    params = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    est = fit_quietly(BackpropRegressor(**params), X, y)
    fit_quietly(est, X, y)
    assert_same_weights(est, fit_quietly(BackpropRegressor(**params), X, y))
    assert len(est.loss_curve_) == 5


def test_warm_start_refuses_a_different_architecture():
    X, y = noisy_problem("regressor")
    est = fit_quietly(BackpropRegressor((5,), max_iter=2, warm_start=True), X, y)
    est.set_params(hidden_layer_sizes=(6,))
    with pytest.raises(ValueError, match="layer sizes"):
        est.fit(X, y)
