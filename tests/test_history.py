"""What training reports while it runs: ``verbose``, ``history_`` and user callbacks.

One ``Iteration k, loss = ..., learning rate = ...`` line per epoch (checked
against ``loss_curve_`` and ``validation_scores_``), a progress bar at
``verbose=2`` only on a terminal, silence by default; one ``history_`` record
per epoch with its documented keys; every callback called after every epoch
with the estimator holding that epoch's weights (the same as a fit that ends
there), and any callback able to stop training.
"""

import re
import sys
import warnings

import numpy as np
import pytest
from conftest import fit_quietly, noisy_problem
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor

EPOCH_LINE = re.compile(
    r"^Iteration (\d+), loss = ([0-9.]+)(?:, validation score = ([-0-9.]+))?, "
    r"learning rate = ([0-9.e+-]+), ([0-9.]+)s$"
)


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = noisy_problem("classifier", n=80)
    clf = fit_quietly(
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
    X, y = noisy_problem("regressor", n=60)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    fit_quietly(
        BackpropRegressor((4,), batch_size=10, max_iter=2, verbose=2, random_state=0), X, y
    )
    out = capsys.readouterr().out
    assert out.count("Iteration ") == 2
    bars = re.findall(r"\r  \[([#-]+)\] (\d+)/6 batches", out)
    assert bars, out
    assert any(done == "6" and bar == "#" * len(bar) for bar, done in bars)


def test_verbose_2_draws_no_progress_bar_into_a_redirected_stream(capsys):
    X, y = noisy_problem("regressor", n=60)
    fit_quietly(
        BackpropRegressor((4,), batch_size=10, max_iter=2, verbose=2, random_state=0), X, y
    )
    out = capsys.readouterr().out
    assert not sys.stdout.isatty()
    assert out.count("Iteration ") == 2
    assert "\r" not in out and "batches" not in out


def test_silent_by_default(capsys):
    X, y = noisy_problem("regressor")
    fit_quietly(BackpropRegressor((4,), max_iter=3, random_state=0), X, y)
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------- #
# Callbacks and history_
# --------------------------------------------------------------------------- #
RECORD_KEYS = {"epoch", "loss", "validation_score", "learning_rate", "seconds"}


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_callback_stops_training_and_sees_that_epoch(solver):
    X, y = noisy_problem("classifier")
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
        short = fit_quietly(BackpropClassifier(**params, max_iter=k), X, y)
        for seen, expected in zip(calls[k - 1][2], short.coefs_, strict=True):
            np.testing.assert_allclose(seen, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X), short.predict_proba(X), atol=1e-12)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_history_has_one_record_per_epoch(solver):
    X, y = noisy_problem("regressor")
    reg = fit_quietly(BackpropRegressor((5,), solver=solver, max_iter=7, random_state=0), X, y)
    assert len(reg.history_) == reg.n_iter_
    assert [r["epoch"] for r in reg.history_] == list(range(1, reg.n_iter_ + 1))
    assert all(set(r) == RECORD_KEYS for r in reg.history_)
    assert [r["loss"] for r in reg.history_] == reg.loss_curve_
    assert all(r["validation_score"] is None for r in reg.history_)
    assert all(r["seconds"] >= 0 for r in reg.history_)
    if solver != "lbfgs":
        assert all(r["learning_rate"] == 0.001 for r in reg.history_)


def test_every_callback_is_called_and_any_can_stop():
    X, y = noisy_problem("regressor")
    counts = {"a": 0, "b": 0}

    def a(estimator, record):
        counts["a"] += 1

    def b(estimator, record):
        counts["b"] += 1
        return record["epoch"] >= 2

    reg = BackpropRegressor((4,), max_iter=20, random_state=0, callbacks=[a, b]).fit(X, y)
    assert reg.n_iter_ == 2
    assert counts == {"a": 2, "b": 2}
