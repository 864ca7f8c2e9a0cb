"""Learning-rate schedules of ``solver='sgd'``, each checked against its definition.

'constant', 'invscaling' (``learning_rate_init / (t + 1) ** power_t``) and
'adaptive' (divide by 5 when ``n_iter_no_change`` epochs bring no improvement,
stop once the rate is <= 1e-6), and that Adam ignores them. Oracles: the
definitions, written out in the tests independently of the code, and
scikit-learn's MLP trained from the same starting weights on identical
settings (docs/design.rst, section design-oracles, oracle 4).
"""

import re
import warnings

import numpy as np
import pytest
from conftest import (
    ESTIMATORS,
    fit_quietly,
    max_abs_diff,
    noisy_problem,
    sklearn_from_start,
    starting_weights,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skbackprop import BackpropClassifier

SKLEARN = {"classifier": MLPClassifier, "regressor": MLPRegressor}


def test_constant_learning_rate_never_changes():
    X, y = noisy_problem("classifier")
    clf = fit_quietly(
        BackpropClassifier((5,), solver="sgd", learning_rate_init=0.05, max_iter=8, random_state=0),
        X, y,
    )
    assert [r["learning_rate"] for r in clf.history_] == [0.05] * clf.n_iter_


@pytest.mark.parametrize("power_t", [0.5, 0.25])
def test_invscaling_follows_its_definition(power_t):
    # The rate used in epoch k+1 is learning_rate_init / (t + 1) ** power_t, with
    # t the number of training samples seen in the first k epochs.
    X, y = noisy_problem("classifier", n=50)
    clf = fit_quietly(
        BackpropClassifier(
            (5,), solver="sgd", learning_rate="invscaling", learning_rate_init=0.3,
            power_t=power_t, batch_size=10, max_iter=6, random_state=0,
        ),
        X, y,
    )
    rates = [r["learning_rate"] for r in clf.history_]
    expected = [0.3] + [0.3 / (50 * k + 1) ** power_t for k in range(1, clf.n_iter_)]
    np.testing.assert_allclose(rates, expected, rtol=1e-14)
    assert clf.t_ == 50 * clf.n_iter_


def test_adaptive_divides_by_five_after_patience_runs_out():
    # With tol far above any possible improvement, every epoch but the first
    # (which improves on an infinite best loss) counts as "no improvement": the
    # rate is divided by 5 every n_iter_no_change + 1 epochs, and training stops
    # at the first trigger once the rate is <= 1e-6.
    X, y = noisy_problem("classifier")
    patience, lr0 = 2, 0.1
    clf = BackpropClassifier(
        (5,), solver="sgd", learning_rate="adaptive", learning_rate_init=lr0, tol=1e3,
        n_iter_no_change=patience, max_iter=1000, random_state=0,
    ).fit(X, y)
    divisions = 0
    while lr0 / 5**divisions > 1e-6:
        divisions += 1
    period = patience + 1
    assert clf.n_iter_ == 1 + period * (divisions + 1)
    rates = [r["learning_rate"] for r in clf.history_]
    expected = [lr0] + [lr0 / 5 ** (k // period) for k in range(clf.n_iter_ - 1)]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)


def test_adaptive_has_no_effect_on_adam():
    # As in scikit-learn, the schedules belong to 'sgd': Adam stops at the first trigger.
    X, y = noisy_problem("classifier")
    clf = BackpropClassifier(
        (5,), solver="adam", learning_rate="adaptive", learning_rate_init=0.01, tol=1e3,
        n_iter_no_change=3, max_iter=100, random_state=0,
    ).fit(X, y)
    assert clf.n_iter_ == 1 + 4
    assert {r["learning_rate"] for r in clf.history_} == {0.01}


SETTING_RATE = re.compile(r"Setting learning rate to ([0-9.]+)$", re.MULTILINE)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
def test_schedules_match_sklearn(kind, schedule, capsys):
    # Same starting weights, plain SGD, no shuffling: the same steps, the same
    # stopping epoch and the same final learning rate as scikit-learn's MLP.
    X, y = noisy_problem(kind)
    n_out = 3 if kind == "classifier" else 1
    coefs, intercepts = starting_weights([4, 5, n_out])
    settings = dict(
        hidden_layer_sizes=(5,), activation="tanh", solver="sgd", momentum=0.0, shuffle=False,
        batch_size=20, learning_rate=schedule, learning_rate_init=0.1, power_t=0.5, alpha=1e-3,
        tol=3e-3, n_iter_no_change=3, max_iter=120,
    )
    ref = sklearn_from_start(SKLEARN[kind](**settings), X, y, coefs, intercepts)
    # verbose=True: scikit-learn prints "Setting learning rate to ..." at each division.
    ref.set_params(verbose=True)
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y)
        ours = ESTIMATORS[kind](**settings, coefs_init=coefs, intercepts_init=intercepts).fit(X, y)
    printed = capsys.readouterr().out
    assert ours.n_iter_ == ref.n_iter_
    assert max_abs_diff(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_) < 1e-10
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
    # scikit-learn keeps the rate it would use next; ours records the rate used
    # in each epoch, so compare the last one that both have.
    if schedule == "adaptive":
        # scikit-learn's rate after its k divisions by 5, the same operations in
        # the same order; the printed values (6 decimals) must agree with them.
        divisions = SETTING_RATE.findall(printed)
        assert divisions  # the schedule did act
        rate = 0.1
        for shown in divisions:
            rate /= 5.0
            assert float(shown) == pytest.approx(rate, abs=5e-7)
        assert ours.history_[-1]["learning_rate"] == pytest.approx(rate)
    else:
        assert "Setting learning rate" not in printed
    if schedule == "invscaling":
        t_before_last = ref.t_ - X.shape[0]
        assert ours.history_[-1]["learning_rate"] == pytest.approx(
            0.1 / (t_before_last + 1) ** 0.5, rel=1e-14
        )
