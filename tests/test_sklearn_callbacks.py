"""scikit-learn's callback API (``sklearn.callback``, experimental in 1.9).

With scikit-learn >= 1.9: ``set_callbacks`` on both estimators, each epoch
(L-BFGS iteration) a subtask of the fit task, ``ScoringMonitor`` rows per
epoch, ``ProgressBar``, stopping from ``on_fit_task_end``, propagation through
``Pipeline`` and ``GridSearchCV``. With an older scikit-learn nothing changes.
The fitted estimators handed to the callbacks are checked against an
independent oracle: a separate fit stopped after the same number of epochs.
"""

import warnings

import numpy as np
import pytest
from conftest import SKLEARN_VERSION, fit_quietly, sklearn_at_least
from packaging.version import Version
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor, DivergenceError

needs_callbacks = sklearn_at_least("1.9", "scikit-learn's callback API is new in 1.9")

SOLVERS = ["sgd", "adam", "lbfgs"]


def _data():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


class Recorder:
    """A callback that records every hook call; it can ask to stop after an epoch."""

    def __init__(self, stop_after=None):
        self.events, self.stop_after = [], stop_after

    def setup(self, estimator, context):
        self.events.append(("setup", context.task_name))

    def teardown(self, estimator, context):
        self.events.append(("teardown", context.task_name))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, fitted_estimator=None):
        self.events.append(("begin", context.task_name, context.task_id, X is not None))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, fitted_estimator=None):
        self.events.append(("end", context.task_name, context.task_id, X is not None, fitted_estimator))
        epoch = context.task_name == "epoch"
        return epoch and self.stop_after is not None and context.task_id + 1 == self.stop_after

    def epoch_ends(self, with_data=True):
        return [e for e in self.events if e[:2] == ("end", "epoch") and e[3] == with_data]


class PropagatedRecorder(Recorder):
    """The same, auto-propagated from a meta-estimator to the estimators inside it."""

    max_propagation_depth = None


@needs_callbacks
@pytest.mark.parametrize("cls", [BackpropClassifier, BackpropRegressor])
def test_both_estimators_take_callbacks(cls):
    est = cls()
    assert est.set_callbacks(Recorder()) is est
    with pytest.raises(TypeError, match="FitCallback protocol"):
        est.set_callbacks(lambda est, record: False)


@needs_callbacks
@pytest.mark.parametrize("solver", SOLVERS)
def test_each_epoch_is_a_subtask_of_the_fit_task(solver):
    X, y = _data()
    rec = Recorder()
    clf = fit_quietly(BackpropClassifier((4,), solver=solver, max_iter=6, random_state=0).set_callbacks(rec), X, y)
    events = rec.events
    assert events[0] == ("setup", "fit") and events[-1] == ("teardown", "fit")
    assert events[1] == ("begin", "fit", 0, True) and events[-2][:4] == ("end", "fit", 0, True)
    epochs = [e for e in events if e[1] == "epoch"]
    # Begin and end alternate, epoch after epoch, with consecutive task ids.
    finished = rec.epoch_ends()
    assert len(finished) == clf.n_iter_ == len(clf.loss_curve_)
    expected = [(kind, "epoch", k) for k in range(clf.n_iter_) for kind in ("begin", "end")]
    assert [e[:3] for e in epochs[: 2 * clf.n_iter_]] == expected
    # L-BFGS begins one iteration it never runs; it ends as an empty task.
    assert len(epochs) == 2 * clf.n_iter_ + (2 if solver == "lbfgs" else 0)


@needs_callbacks
@pytest.mark.parametrize("solver", SOLVERS)
def test_fitted_estimator_of_an_epoch_is_the_model_after_that_epoch(solver):
    # Oracle: an independent fit stopped by max_iter after k epochs.
    X, y = _data()
    params = dict(hidden_layer_sizes=(4,), solver=solver, random_state=0)
    rec = Recorder()
    fit_quietly(BackpropClassifier(**params, max_iter=5).set_callbacks(rec), X, y)
    for k in (1, 3):
        fitted = rec.epoch_ends()[k - 1][4]
        ref = fit_quietly(BackpropClassifier(**params, max_iter=k), X, y)
        for a, b in zip(fitted.coefs_ + fitted.intercepts_, ref.coefs_ + ref.intercepts_, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(fitted.predict(X), ref.predict(X))


@needs_callbacks
@pytest.mark.parametrize("solver", SOLVERS)
def test_scoring_monitor_records_one_row_per_epoch(solver):
    from sklearn.callback import ScoringMonitor

    X, y = _data()
    monitor = ScoringMonitor(scoring="accuracy")
    clf = BackpropClassifier((4,), solver=solver, max_iter=7, random_state=0).set_callbacks(monitor)
    fit_quietly(clf, X, y)
    rows = monitor.get_logs().data
    epochs = [r for r in rows if r["task_name"] == "epoch"]
    assert [r["task_id"] for r in epochs] == list(range(clf.n_iter_))
    # The last epoch's model is the fitted model: the same accuracy as score().
    assert epochs[-1]["accuracy"] == pytest.approx(clf.score(X, y))
    (fit_row,) = [r for r in rows if r["task_name"] == "fit"]
    assert fit_row["accuracy"] == pytest.approx(clf.score(X, y))


@needs_callbacks
def test_scoring_monitor_with_sample_weight_and_regressor():
    from sklearn.callback import ScoringMonitor

    X, y = _data()
    target = X[:, 0] - X[:, 1]
    sw = np.linspace(0.5, 2.0, len(y))
    monitor = ScoringMonitor(scoring="r2")
    reg = BackpropRegressor((4,), max_iter=4, random_state=0).set_callbacks(monitor)
    fit_quietly(reg, X, target, sample_weight=sw)
    epochs = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert len(epochs) == 4
    assert epochs[-1]["r2"] == pytest.approx(reg.score(X, target, sample_weight=sw))


@needs_callbacks
def test_progress_bar_shows_the_epochs(capsys):
    pytest.importorskip("rich", reason="scikit-learn's ProgressBar needs rich (extra 'progress')")
    from sklearn.callback import ProgressBar

    X, y = _data()
    clf = BackpropClassifier((4,), max_iter=5, random_state=0).set_callbacks(ProgressBar())
    fit_quietly(clf, X, y)
    out = capsys.readouterr().out
    assert "BackpropClassifier - fit" in out and "100%" in out
    assert clf.n_iter_ == 5


@needs_callbacks
@pytest.mark.parametrize("solver", SOLVERS)
def test_a_callback_returning_true_stops_training(solver):
    X, y = _data()
    rec = Recorder(stop_after=3)
    clf = BackpropClassifier((4,), solver=solver, max_iter=50, tol=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a requested stop is no failure
        clf.set_callbacks(rec).fit(X, y)
    assert clf.n_iter_ == 3 == len(clf.loss_curve_)
    ref = fit_quietly(BackpropClassifier((4,), solver=solver, max_iter=3, tol=0, random_state=0), X, y)
    for a, b in zip(clf.coefs_, ref.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@needs_callbacks
def test_partial_fit_is_a_fit_task_of_one_epoch():
    X, y = _data()
    rec = Recorder()
    clf = BackpropClassifier((4,), random_state=0).set_callbacks(rec)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y)
    assert [e[:3] for e in rec.events if e[0] in ("begin", "end")] == [
        ("begin", "fit", 0), ("begin", "epoch", 0), ("end", "epoch", 0), ("end", "fit", 0)
    ] * 2
    assert len(clf.loss_curve_) == 2


@needs_callbacks
def test_callbacks_propagate_through_a_pipeline():
    X, y = _data()
    rec = PropagatedRecorder()
    pipe = make_pipeline(StandardScaler(), BackpropClassifier((4,), max_iter=4, random_state=0))
    fit_quietly(pipe.set_callbacks(rec), X, y)
    assert len(rec.epoch_ends()) == 4 == pipe[-1].n_iter_
    # Our fit task is attached under the pipeline's final step.
    fits = [e for e in rec.events if e[:2] == ("begin", "fit")]
    assert len(fits) >= 1
    assert not hasattr(pipe[-1], "_skl_callbacks")  # propagated callbacks are removed after fit


@needs_callbacks
def test_callbacks_propagate_through_a_grid_search():
    X, y = _data()
    rec = PropagatedRecorder()
    search = GridSearchCV(
        BackpropClassifier((4,), max_iter=3, random_state=0), {"alpha": [1e-4, 1e-2]}, cv=2
    ).set_callbacks(rec)
    fit_quietly(search, X, y)
    # 2 candidates x 2 folds + the refit, 3 epochs each.
    assert len(rec.epoch_ends()) == (2 * 2 + 1) * 3


@needs_callbacks
def test_a_failing_fit_still_tears_callbacks_down_and_restores_the_estimator():
    X, y = _data()
    rec = Recorder()
    clf = BackpropClassifier((4,), solver="sgd", learning_rate_init=1e8, max_iter=5, random_state=0)
    clf.set_callbacks(rec)
    with pytest.raises(DivergenceError):
        clf.fit(X * 1e3, y)
    assert rec.events[-1] == ("teardown", "fit")
    assert not hasattr(clf, "coefs_") and not hasattr(clf, "_callback_fit_ctx")
    # The diverged epoch ended as an empty task; the fit task did not end.
    epochs = [e[:3] for e in rec.events if e[1] == "epoch"]
    assert epochs == [("begin", "epoch", 0), ("end", "epoch", 0)]
    assert rec.epoch_ends(with_data=False)[0][4] is None
    assert not [e for e in rec.events if e[:2] == ("end", "fit")]
    fit_quietly(clf.set_params(learning_rate_init=1e-3), X, y)  # usable afterwards


@needs_callbacks
def test_own_callbacks_and_sklearn_callbacks_together():
    X, y = _data()
    rec, seen = Recorder(), []
    clf = BackpropClassifier(
        (4,), max_iter=4, random_state=0, callbacks=[lambda est, record: seen.append(record["epoch"])]
    )
    fit_quietly(clf.set_callbacks(rec), X, y)
    assert seen == [1, 2, 3, 4] and len(rec.epoch_ends()) == 4


@pytest.mark.skipif(
    SKLEARN_VERSION >= Version("1.9"),
    reason="checks the behaviour with scikit-learn < 1.9 (run by the oldest-versions CI)",
)
def test_without_the_callback_api_nothing_changes():
    X, y = _data()
    seen = []
    clf = BackpropClassifier((4,), max_iter=3, callbacks=[lambda est, rec: seen.append(1)])
    fit_quietly(clf, X, y)
    assert not hasattr(clf, "set_callbacks")
    assert len(seen) == clf.n_iter_ == 3


@pytest.mark.parametrize("solver", SOLVERS)
def test_warnings_point_at_the_callers_line(solver):
    # With or without scikit-learn's callback wrapper around fit.
    X, y = _data()
    with pytest.warns(ConvergenceWarning) as record:
        BackpropClassifier((4,), solver=solver, max_iter=2, random_state=0).fit(X, y)
    assert {w.filename for w in record} == {__file__}
