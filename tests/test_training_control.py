"""Training control, each item checked against its definition.

Learning-rate schedules, early stopping and the validation set, sample and
class weights, warm starts, progress printing, callbacks and ``history_``,
Ctrl-C and determinism. The oracles are the definitions themselves (written
out in the tests, independently of the code under test) and scikit-learn's MLP
trained from the same starting weights on identical settings. ``partial_fit``
has its own module, ``test_partial_fit.py``.
"""

import math
import re
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._network import Network

ESTIMATORS = {"classifier": BackpropClassifier, "regressor": BackpropRegressor}
SKLEARN = {"classifier": MLPClassifier, "regressor": MLPRegressor}


# --------------------------------------------------------------------------- #
# Data and helpers
# --------------------------------------------------------------------------- #
def _data(kind, n=60, seed=0):
    """Small, slightly noisy problems: 3 classes, or one real target."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    if kind == "classifier":
        y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
        flip = rng.random(n) < 0.1
        y[flip] = rng.integers(0, 3, flip.sum())
    else:
        y = np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=n)
    return X, y


def _start_weights(n_in, hidden, n_out, seed=1):
    """Explicit starting weights, so that two libraries can start alike."""
    rng = np.random.default_rng(seed)
    units = [n_in, *hidden, n_out]
    coefs = [rng.normal(0, 0.5, (a, b)) for a, b in zip(units[:-1], units[1:], strict=True)]
    intercepts = [rng.normal(0, 0.5, b) for b in units[1:]]
    return coefs, intercepts


def _sklearn_from(estimator, coefs, intercepts):
    """A scikit-learn MLP whose (first) initialisation returns the given weights."""
    layers = iter(zip(coefs, intercepts, strict=True))
    estimator._init_coef = lambda fan_in, fan_out, dtype: tuple(a.copy() for a in next(layers))
    return estimator


def _max_diff(a, b):
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(z)))) for x, z in zip(a, b, strict=True))


def _assert_same_weights(a, b, atol=0.0):
    for x, z in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        if atol == 0.0:
            np.testing.assert_array_equal(x, z)
        else:
            np.testing.assert_allclose(x, z, rtol=0, atol=atol)


def _fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def _expected_stop_epoch(scores, tol, patience):
    """The stopping rule, written out: count epochs whose score is below best + tol."""
    best, count = -np.inf, 0
    for epoch, score in enumerate(scores, start=1):
        count = count + 1 if score < best + tol else 0
        best = max(best, score)
        if count > patience:
            return epoch
    return None


# --------------------------------------------------------------------------- #
# Learning-rate schedules
# --------------------------------------------------------------------------- #
def test_constant_learning_rate_never_changes():
    X, y = _data("classifier")
    clf = _fit_quietly(
        BackpropClassifier((5,), solver="sgd", learning_rate_init=0.05, max_iter=8, random_state=0),
        X, y,
    )
    assert [r["learning_rate"] for r in clf.history_] == [0.05] * clf.n_iter_


@pytest.mark.parametrize("power_t", [0.5, 0.25])
def test_invscaling_follows_its_definition(power_t):
    # The rate used in epoch k+1 is learning_rate_init / (t + 1) ** power_t, with
    # t the number of training samples seen in the first k epochs.
    X, y = _data("classifier", n=50)
    clf = _fit_quietly(
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
    X, y = _data("classifier")
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
    X, y = _data("classifier")
    clf = BackpropClassifier(
        (5,), solver="adam", learning_rate="adaptive", learning_rate_init=0.01, tol=1e3,
        n_iter_no_change=3, max_iter=100, random_state=0,
    ).fit(X, y)
    assert clf.n_iter_ == 1 + 4
    assert {r["learning_rate"] for r in clf.history_} == {0.01}


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
def test_schedules_match_sklearn(kind, schedule):
    # Same starting weights, plain SGD, no shuffling: the same steps, the same
    # stopping epoch and the same final learning rate as scikit-learn's MLP.
    X, y = _data(kind)
    n_out = 3 if kind == "classifier" else 1
    coefs, intercepts = _start_weights(4, (5,), n_out)
    settings = dict(
        hidden_layer_sizes=(5,), activation="tanh", solver="sgd", momentum=0.0, shuffle=False,
        batch_size=20, learning_rate=schedule, learning_rate_init=0.1, power_t=0.5, alpha=1e-3,
        tol=3e-3, n_iter_no_change=3, max_iter=120,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = _sklearn_from(SKLEARN[kind](**settings), coefs, intercepts).fit(X, y)
        ours = ESTIMATORS[kind](**settings, coefs_init=coefs, intercepts_init=intercepts).fit(X, y)
    assert ours.n_iter_ == ref.n_iter_
    assert _max_diff(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_) < 1e-10
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
    # scikit-learn keeps the rate it would use next; ours records the rate used
    # in each epoch, so compare the last one that both have.
    if schedule == "adaptive":
        assert ref._optimizer.learning_rate < 0.1  # the schedule did act
        assert ours.history_[-1]["learning_rate"] == pytest.approx(ref._optimizer.learning_rate)
    if schedule == "invscaling":
        t_before_last = ref.t_ - X.shape[0]
        assert ours.history_[-1]["learning_rate"] == pytest.approx(
            0.1 / (t_before_last + 1) ** 0.5, rel=1e-14
        )


# --------------------------------------------------------------------------- #
# Early stopping and the validation set
# --------------------------------------------------------------------------- #
def _snapshots_callback(store):
    def callback(estimator, record):
        store.append([a.copy() for a in estimator.coefs_ + estimator.intercepts_])

    return callback


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_early_stopping_restores_the_best_epoch(kind):
    X, y = _data(kind, n=120)
    X_tr, y_tr, X_val, y_val = X[:80], y[:80], X[80:], y[80:]
    snapshots = []
    est = ESTIMATORS[kind](
        (8,), solver="adam", learning_rate_init=0.05, early_stopping=True, n_iter_no_change=4,
        tol=1e-4, max_iter=300, random_state=0, callbacks=[_snapshots_callback(snapshots)],
    ).fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    scores = est.validation_scores_
    assert len(scores) == est.n_iter_ == len(snapshots)
    assert est.n_iter_ == _expected_stop_epoch(scores, 1e-4, 4)
    assert est.best_validation_score_ == max(scores)
    # The kept weights score best_validation_score_ on the validation data ...
    assert est.score(X_val, y_val) == pytest.approx(est.best_validation_score_, abs=1e-12)
    # ... and they are the weights at the end of the first best epoch.
    best_epoch = int(np.argmax(scores))
    assert best_epoch < est.n_iter_ - 1
    for kept, seen in zip(est.coefs_ + est.intercepts_, snapshots[best_epoch], strict=True):
        np.testing.assert_array_equal(kept, seen)
    assert [r["validation_score"] for r in est.history_] == scores


def _spy_validation(monkeypatch, cls):
    """Record the validation data handed to the scorer."""
    seen = []
    original = cls._validation_score

    def spy(self, X, y, sample_weight):
        seen.append((X, y))
        return original(self, X, y, sample_weight)

    monkeypatch.setattr(cls, "_validation_score", spy)
    return seen


def test_validation_split_is_stratified_and_restores_best(monkeypatch):
    X, y = _data("classifier", n=90)
    y = np.repeat([0, 1, 2], 30)  # balanced classes: a stratified 20% holds 6 of each
    X[:, 0] += y
    seen = _spy_validation(monkeypatch, BackpropClassifier)
    clf = BackpropClassifier(
        (6,), learning_rate_init=0.05, early_stopping=True, validation_fraction=0.2,
        n_iter_no_change=3, max_iter=200, random_state=0,
    ).fit(X, y)
    X_val, y_val = seen[0]
    assert len(seen) == clf.n_iter_
    assert all(v[0] is X_val for v in seen)  # the same held-out rows every epoch
    assert np.bincount(y_val).tolist() == [6, 6, 6]
    # The held-out rows come from X and are not trained on.
    assert {tuple(r) for r in X_val} <= {tuple(r) for r in X}
    assert clf.t_ == clf.n_iter_ * (90 - 18)
    assert clf.score(X_val, y_val) == pytest.approx(clf.best_validation_score_, abs=1e-12)
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_regressor_validation_split_size(monkeypatch):
    X, y = _data("regressor", n=50)
    seen = _spy_validation(monkeypatch, BackpropRegressor)
    reg = BackpropRegressor(
        (6,), early_stopping=True, validation_fraction=0.3, n_iter_no_change=2, max_iter=30,
        random_state=0,
    )
    _fit_quietly(reg, X, y)
    assert seen[0][0].shape[0] == math.ceil(0.3 * 50)
    assert reg.t_ == reg.n_iter_ * (50 - 15)
    assert reg.score(*seen[0]) == pytest.approx(reg.best_validation_score_, abs=1e-12)


def test_explicit_validation_set_replaces_the_split(monkeypatch):
    X, y = _data("classifier", n=80)
    X_val, y_val = _data("classifier", n=20, seed=5)
    seen = _spy_validation(monkeypatch, BackpropClassifier)
    clf = BackpropClassifier(
        (6,), early_stopping=True, n_iter_no_change=2, max_iter=30, random_state=0
    )
    _fit_quietly(clf, X, y, X_val=X_val, y_val=y_val)
    np.testing.assert_array_equal(seen[0][0], X_val)
    np.testing.assert_array_equal(seen[0][1], y_val)
    assert clf.t_ == clf.n_iter_ * 80  # every training row is trained on
    assert clf.score(X_val, y_val) == pytest.approx(clf.best_validation_score_, abs=1e-12)


def test_explicit_validation_set_needs_both_parts():
    X, y = _data("classifier")
    with pytest.raises(ValueError, match="X_val and y_val"):
        BackpropClassifier((3,), max_iter=2).fit(X, y, X_val=X[:5])


def test_too_small_validation_split_is_refused():
    X, y = _data("regressor", n=10)
    with pytest.raises(ValueError, match="validation set"):
        BackpropRegressor((3,), early_stopping=True, validation_fraction=0.1).fit(X, y)


def test_warm_start_with_early_stopping_keeps_best_weights():
    # A second (warm) fit that never beats the first fit's best validation
    # score must still leave the model holding weights that score
    # best_validation_score_.
    X, y = _data("regressor", n=100)
    X_tr, y_tr, X_val, y_val = X[:70], y[:70], X[70:], y[70:]
    reg = BackpropRegressor(
        (8,), solver="sgd", learning_rate_init=0.01, early_stopping=True, n_iter_no_change=3,
        max_iter=200, warm_start=True, random_state=0,
    ).fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    first_best = reg.best_validation_score_
    reg.set_params(learning_rate_init=0.5, momentum=0.99, max_iter=5)  # wrecks the fit
    _fit_quietly(reg, X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert max(reg.validation_scores_[-5:]) < first_best  # the second fit did not improve
    assert reg.best_validation_score_ == first_best
    assert reg.score(X_val, y_val) == pytest.approx(first_best, abs=1e-12)


# --------------------------------------------------------------------------- #
# Sample weights and class weights
# --------------------------------------------------------------------------- #
def _weights_case(kind, case, rng):
    """(X, y, w) and the equivalent unweighted (X2, y2), per the definition."""
    X, y = _data(kind, n=30)
    if case == "repeat":
        w = rng.integers(1, 4, size=30)
        return X, y, w, np.repeat(X, w, axis=0), np.repeat(y, w)
    if case == "zero":
        w = np.ones(30)
        w[rng.choice(30, 8, replace=False)] = 0
        keep = w > 0
        return X, y, w, X[keep], y[keep]
    w = np.full(30, 3.5)  # a constant factor: same as no weights
    return X, y, w, X, y


@pytest.mark.parametrize("case", ["repeat", "zero", "scale"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_sample_weight_definitions_in_fit(kind, solver, case):
    # Full-batch training (one batch of every row, or L-BFGS) so that weighted
    # and unweighted runs see the same batches. alpha=0: the L2 term is divided
    # by the sum of the weights (as in scikit-learn), so a constant factor on
    # all weights does change the penalty's relative strength.
    X, y, w, X2, y2 = _weights_case(kind, case, np.random.default_rng(3))
    params = dict(
        hidden_layer_sizes=(5,), activation="tanh", solver=solver, alpha=0.0, batch_size=200,
        shuffle=False, learning_rate_init=0.05, max_iter=15, random_state=0,
    )
    coefs, intercepts = _start_weights(4, (5,), 3 if kind == "classifier" else 1)
    params.update(coefs_init=coefs, intercepts_init=intercepts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # batch_size larger than n, convergence
        weighted = ESTIMATORS[kind](**params).fit(X, y, sample_weight=w)
        plain = ESTIMATORS[kind](**params).fit(X2, y2)
    assert weighted.n_iter_ == plain.n_iter_
    np.testing.assert_allclose(weighted.loss_curve_, plain.loss_curve_, rtol=1e-9)
    _assert_same_weights(weighted, plain, atol=1e-8)


def test_sample_weight_matters():
    # The counterpart of the tests above: unequal weights change the result.
    X, y = _data("regressor", n=30)
    w = np.random.default_rng(0).integers(1, 4, size=30)
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = BackpropRegressor(**params).fit(X, y, sample_weight=w)
        b = BackpropRegressor(**params).fit(X, y)
    assert _max_diff(a.coefs_, b.coefs_) > 1e-4


def _balanced_by_hand(y):
    labels, y_index = np.unique(y, return_inverse=True)
    per_class = len(y) / (len(labels) * np.bincount(y_index))
    return per_class[y_index]


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_balanced_class_weight_equals_its_sample_weights(solver):
    X, y = _data("classifier", n=60)
    y = np.where(y == 2, 1, y)
    y[:6] = 2  # unbalanced: 2 is rare
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=20, random_state=0)
    a = _fit_quietly(BackpropClassifier(**params, class_weight="balanced"), X, y)
    b = _fit_quietly(BackpropClassifier(**params), X, y, sample_weight=_balanced_by_hand(y))
    _assert_same_weights(a, b, atol=1e-12)
    c = _fit_quietly(BackpropClassifier(**params), X, y)
    assert _max_diff(a.coefs_, c.coefs_) > 1e-6  # the weights did matter


def test_class_weight_dict_multiplies_sample_weight():
    X, y = _data("classifier", n=60)
    labels = np.array(["a", "b", "c"])[y]
    class_weight = {"a": 0.5, "c": 3.0}  # 'b' keeps weight 1
    sw = np.random.default_rng(1).uniform(0.5, 2.0, size=60)
    per_sample = np.array([class_weight.get(label, 1.0) for label in labels])
    params = dict(hidden_layer_sizes=(5,), solver="sgd", max_iter=10, random_state=0)
    a = _fit_quietly(BackpropClassifier(**params, class_weight=class_weight), X, labels, sw)
    b = _fit_quietly(BackpropClassifier(**params), X, labels, sw * per_sample)
    _assert_same_weights(a, b, atol=1e-12)
    c = _fit_quietly(BackpropClassifier(**params, class_weight="balanced"), X, labels, sw)
    d = _fit_quietly(BackpropClassifier(**params), X, labels, sw * _balanced_by_hand(labels))
    _assert_same_weights(c, d, atol=1e-12)


def test_class_weight_with_unknown_label_is_refused():
    X, y = _data("classifier")
    with pytest.raises(ValueError, match="class_weight"):
        BackpropClassifier((3,), class_weight={7: 2.0}, max_iter=2).fit(X, y)


# --------------------------------------------------------------------------- #
# warm_start
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_warm_start_continues_where_the_first_fit_ended(kind):
    # Plain SGD with a constant rate has no state besides the weights, so
    # 2 epochs then 3 warm epochs are exactly 5 epochs.
    X, y = _data(kind)
    params = dict(
        hidden_layer_sizes=(5,), solver="sgd", momentum=0.0, shuffle=False, batch_size=15,
        learning_rate_init=0.05, random_state=0,
    )
    est = _fit_quietly(ESTIMATORS[kind](**params, max_iter=2, warm_start=True), X, y)
    est.set_params(max_iter=3)
    _fit_quietly(est, X, y)
    once = _fit_quietly(ESTIMATORS[kind](**params, max_iter=5), X, y)
    _assert_same_weights(est, once)
    assert est.loss_curve_ == once.loss_curve_
    assert est.t_ == once.t_


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_warm_start_is_a_fresh_optimizer_from_the_previous_weights(solver):
    # scikit-learn's semantics: the weights carry over, the optimizer's state
    # (Adam's moments, L-BFGS's curvature pairs) starts afresh.
    X, y = _data("classifier")
    params = dict(hidden_layer_sizes=(5,), solver=solver, shuffle=False, random_state=0)
    est = _fit_quietly(BackpropClassifier(**params, max_iter=4, warm_start=True), X, y)
    start_c = [c.copy() for c in est.coefs_]
    start_i = [b.copy() for b in est.intercepts_]
    est.set_params(max_iter=3)
    _fit_quietly(est, X, y)
    fresh = _fit_quietly(
        BackpropClassifier(**params, max_iter=3, coefs_init=start_c, intercepts_init=start_i),
        X, y,
    )
    _assert_same_weights(est, fresh)


def test_warm_start_matches_sklearn():
    # Momentum 0.9 (velocity reset by the warm fit) and invscaling (t_ carries
    # over): both libraries must agree on what a warm start keeps.
    X, y = _data("classifier")
    coefs, intercepts = _start_weights(4, (5,), 3)
    settings = dict(
        hidden_layer_sizes=(5,), activation="relu", solver="sgd", momentum=0.9,
        nesterovs_momentum=True, learning_rate="invscaling", learning_rate_init=0.5,
        shuffle=False, batch_size=16, max_iter=2, warm_start=True,
    )
    ref = _sklearn_from(MLPClassifier(**settings), coefs, intercepts)
    ours = BackpropClassifier(**settings, coefs_init=coefs, intercepts_init=intercepts)
    for max_iter in (2, 3):
        ref.set_params(max_iter=max_iter)
        ours.set_params(max_iter=max_iter)
        _fit_quietly(ref, X, y)
        _fit_quietly(ours, X, y)
    assert ours.t_ == ref.t_
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
    assert _max_diff(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_) < 1e-10


def test_without_warm_start_fit_starts_over():
    X, y = _data("regressor")
    params = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    est = _fit_quietly(BackpropRegressor(**params), X, y)
    _fit_quietly(est, X, y)
    _assert_same_weights(est, _fit_quietly(BackpropRegressor(**params), X, y))
    assert len(est.loss_curve_) == 5


def test_warm_start_refuses_a_different_architecture():
    X, y = _data("regressor")
    est = _fit_quietly(BackpropRegressor((5,), max_iter=2, warm_start=True), X, y)
    est.set_params(hidden_layer_sizes=(6,))
    with pytest.raises(ValueError, match="layer sizes"):
        est.fit(X, y)


# --------------------------------------------------------------------------- #
# Progress printing
# --------------------------------------------------------------------------- #
EPOCH_LINE = re.compile(
    r"^Iteration (\d+), loss = ([0-9.]+)(?:, validation score = ([-0-9.]+))?, "
    r"learning rate = ([0-9.e+-]+), ([0-9.]+)s$"
)


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = _data("classifier", n=80)
    clf = _fit_quietly(
        BackpropClassifier((5,), solver="sgd", learning_rate_init=0.05, max_iter=6, verbose=1,
                           random_state=0),
        X[:60], y[:60], X_val=X[60:], y_val=y[60:],
    )
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("Iteration")]
    assert len(lines) == clf.n_iter_ == 6
    assert "\r" not in out  # no progress bar at verbose=1
    for k, line in enumerate(lines):
        match = EPOCH_LINE.match(line)
        assert match, line
        assert int(match[1]) == k + 1
        assert float(match[2]) == pytest.approx(clf.loss_curve_[k], abs=1e-8)
        assert float(match[3]) == pytest.approx(clf.validation_scores_[k], abs=1e-6)
        assert float(match[4]) == pytest.approx(0.05, rel=1e-2)


def test_verbose_2_draws_a_progress_bar_on_a_terminal(capsys, monkeypatch):
    X, y = _data("regressor", n=60)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    _fit_quietly(
        BackpropRegressor((4,), batch_size=10, max_iter=2, verbose=2, random_state=0), X, y
    )
    out = capsys.readouterr().out
    assert out.count("Iteration ") == 2
    bars = re.findall(r"\r  \[([#-]+)\] (\d+)/6 batches", out)
    assert bars, out
    assert any(done == "6" and bar == "#" * len(bar) for bar, done in bars)


def test_verbose_2_draws_no_progress_bar_into_a_redirected_stream(capsys):
    X, y = _data("regressor", n=60)
    _fit_quietly(
        BackpropRegressor((4,), batch_size=10, max_iter=2, verbose=2, random_state=0), X, y
    )
    out = capsys.readouterr().out
    assert not sys.stdout.isatty()
    assert out.count("Iteration ") == 2
    assert "\r" not in out and "batches" not in out


def test_silent_by_default(capsys):
    X, y = _data("regressor")
    _fit_quietly(BackpropRegressor((4,), max_iter=3, random_state=0), X, y)
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------- #
# Callbacks and history_
# --------------------------------------------------------------------------- #
RECORD_KEYS = {"epoch", "loss", "validation_score", "learning_rate", "seconds"}


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_callback_stops_training_and_sees_that_epoch(solver):
    X, y = _data("classifier")
    calls = []

    def stop_at_third(estimator, record):
        calls.append((estimator, dict(record), [c.copy() for c in estimator.coefs_]))
        return record["epoch"] == 3

    params = dict(hidden_layer_sizes=(5,), solver=solver, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a requested stop is no failure
        clf = BackpropClassifier(**params, max_iter=50, callbacks=[stop_at_third]).fit(X, y)
    assert clf.n_iter_ == 3 == len(calls) == len(clf.history_)
    assert all(est is clf for est, _, _ in calls)
    assert [record for _, record, _ in calls] == clf.history_
    # The estimator handed to the callback holds that epoch's weights, the same
    # as a fit that ends after that many epochs (or L-BFGS iterations).
    for k in (1, 3):
        short = _fit_quietly(BackpropClassifier(**params, max_iter=k), X, y)
        for seen, expected in zip(calls[k - 1][2], short.coefs_, strict=True):
            np.testing.assert_allclose(seen, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X), short.predict_proba(X), atol=1e-12)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_history_has_one_record_per_epoch(solver):
    X, y = _data("regressor")
    reg = _fit_quietly(BackpropRegressor((5,), solver=solver, max_iter=7, random_state=0), X, y)
    assert len(reg.history_) == reg.n_iter_
    assert [r["epoch"] for r in reg.history_] == list(range(1, reg.n_iter_ + 1))
    assert all(set(r) == RECORD_KEYS for r in reg.history_)
    assert [r["loss"] for r in reg.history_] == reg.loss_curve_
    assert all(r["validation_score"] is None for r in reg.history_)
    assert all(r["seconds"] >= 0 for r in reg.history_)
    if solver != "lbfgs":
        assert all(r["learning_rate"] == 0.001 for r in reg.history_)


def test_every_callback_is_called_and_any_can_stop():
    X, y = _data("regressor")
    counts = {"a": 0, "b": 0}

    def a(estimator, record):
        counts["a"] += 1

    def b(estimator, record):
        counts["b"] += 1
        return record["epoch"] >= 2

    reg = BackpropRegressor((4,), max_iter=20, random_state=0, callbacks=[a, b]).fit(X, y)
    assert reg.n_iter_ == 2
    assert counts == {"a": 2, "b": 2}


# --------------------------------------------------------------------------- #
# Ctrl-C
# --------------------------------------------------------------------------- #
def _interrupt_on_call(monkeypatch, k):
    """Make the k-th cost evaluation raise KeyboardInterrupt, as Ctrl-C would."""
    original = Network.loss_and_grad
    calls = [0]

    def patched(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == k:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Network, "loss_and_grad", patched)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_ctrl_c_keeps_the_last_finished_epoch(monkeypatch, solver):
    X, y = _data("classifier", n=60)
    params = dict(hidden_layer_sizes=(5,), solver=solver, batch_size=15, random_state=0)
    # 4 batches per epoch: the 11th evaluation is the 3rd batch of epoch 3.
    _interrupt_on_call(monkeypatch, 11)
    with pytest.warns(UserWarning, match="interrupted"):
        clf = BackpropClassifier(**params, max_iter=50).fit(X, y)
    monkeypatch.undo()
    assert clf.n_iter_ == 2 == len(clf.loss_curve_) == len(clf.history_)
    finished = _fit_quietly(BackpropClassifier(**params, max_iter=2), X, y)
    _assert_same_weights(clf, finished)
    np.testing.assert_array_equal(clf.predict(X), finished.predict(X))


def test_ctrl_c_in_the_first_epoch_keeps_the_starting_weights(monkeypatch):
    X, y = _data("regressor")
    coefs, intercepts = _start_weights(4, (5,), 1)
    _interrupt_on_call(monkeypatch, 2)
    with pytest.warns(UserWarning, match="interrupted"):
        reg = BackpropRegressor(
            (5,), batch_size=10, coefs_init=coefs, intercepts_init=intercepts
        ).fit(X, y)
    monkeypatch.undo()
    assert reg.n_iter_ == 0
    for kept, start in zip(reg.coefs_ + reg.intercepts_, coefs + intercepts, strict=True):
        np.testing.assert_array_equal(kept, start)
    assert reg.predict(X).shape == (X.shape[0],)


def test_ctrl_c_during_lbfgs_keeps_the_last_finished_iteration(monkeypatch):
    # The interrupt lands in the middle of an iteration (a line-search
    # evaluation); the model must hold the iterate of the last finished one.
    X, y = _data("classifier")
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0)
    _interrupt_on_call(monkeypatch, 12)
    with pytest.warns(UserWarning, match="interrupted"):
        clf = BackpropClassifier(**params, max_iter=200).fit(X, y)
    monkeypatch.undo()
    assert clf.n_iter_ >= 1
    finished = _fit_quietly(BackpropClassifier(**params, max_iter=clf.n_iter_), X, y)
    _assert_same_weights(clf, finished, atol=1e-12)
    assert clf.loss_ == pytest.approx(finished.loss_, rel=1e-12)


# --------------------------------------------------------------------------- #
# Determinism
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam"),
        dict(solver="sgd"),
        dict(solver="lbfgs"),
        dict(solver="adam", early_stopping=True, n_iter_no_change=3),
        dict(solver="sgd", early_stopping=True, n_iter_no_change=3),
    ],
    ids=["adam", "sgd", "lbfgs", "adam-early", "sgd-early"],
)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_same_random_state_gives_bit_identical_weights(kind, params):
    X, y = _data(kind)
    make = lambda seed: ESTIMATORS[kind]((6,), max_iter=25, random_state=seed, **params)  # noqa: E731
    a = _fit_quietly(make(7), X, y)
    b = _fit_quietly(make(7), X, y)
    _assert_same_weights(a, b)
    assert a.loss_curve_ == b.loss_curve_
    c = _fit_quietly(make(8), X, y)
    assert _max_diff(a.coefs_, c.coefs_) > 0  # the seed does matter


# --- validation monitoring without early stopping, and with L-BFGS ------------------------



def test_explicit_validation_without_early_stopping_tracks_best_score():
    X, y = load_iris(return_X_y=True)
    clf = BackpropClassifier(
        hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=0.05, max_iter=15,
        random_state=0, n_iter_no_change=100,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[::2], y[::2], X_val=X[1::2], y_val=y[1::2])
    assert len(clf.validation_scores_) == clf.n_iter_ == 15
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # no early stopping: the final weights are the last epoch's, scored last
    assert clf.score(X[1::2], y[1::2]) == clf.validation_scores_[-1]


def test_lbfgs_ignores_early_stopping_with_a_warning_and_uses_all_rows():
    X, y = load_iris(return_X_y=True)
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(UserWarning, match="early_stopping applies to solver='sgd' and 'adam'"):
            flagged = BackpropClassifier(early_stopping=True, **params).fit(X, y)
        plain = BackpropClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(flagged.coefs_[0], plain.coefs_[0])


def test_lbfgs_records_scores_on_an_explicit_validation_set():
    X, y = load_iris(return_X_y=True)
    seen = []
    clf = BackpropClassifier(
        hidden_layer_sizes=(5,), solver="lbfgs", max_iter=10, random_state=0,
        callbacks=[lambda est, rec: seen.append(est.score(X[1::2], y[1::2]))],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[::2], y[::2], X_val=X[1::2], y_val=y[1::2])
    assert clf.validation_scores_ == seen
    assert [r["validation_score"] for r in clf.history_] == seen
    assert clf.best_validation_score_ == max(seen)
