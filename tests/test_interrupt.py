"""Ctrl-C during ``fit``: a warning, and the model of the last finished epoch.

A ``KeyboardInterrupt`` is raised from inside the k-th cost evaluation, as
Ctrl-C would. The oracle is a fit that ends at the last finished epoch (or
L-BFGS iteration), or the starting weights when no epoch finished. The
stochastic solvers are interrupted on both training paths: the NumPy path
(inside the batch's cost evaluation) and the compiled epoch of the optional
numba kernels, where Python sees the signal when the epoch's compiled call
returns, so the epoch that holds the k-th evaluation is undone.
"""

import math

import numpy as np
import pytest
from conftest import assert_same_weights, fit_quietly, noisy_problem, starting_weights

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.core import kernels
from skbackprop.core.network import Network
from skbackprop.training import compiled_epoch

PATHS = ["numpy"] + (["compiled"] if kernels.available() else [])


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


def _interrupt_compiled_epoch(monkeypatch, epoch):
    """Ctrl-C during the compiled ``epoch``: noticed when its compiled call returns."""
    original = compiled_epoch.CompiledEpoch.__call__
    calls = []

    def patched(self, *args, **kwargs):
        calls.append(1)
        result = original(self, *args, **kwargs)
        if len(calls) == epoch:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(compiled_epoch.CompiledEpoch, "__call__", patched)
    return calls


@pytest.fixture(params=PATHS)
def interrupt_stochastic(request, monkeypatch):
    """``arm(k, batches_per_epoch)``: interrupt the k-th evaluation on one training path."""

    def arm(k, batches_per_epoch):
        if request.param == "numpy":
            monkeypatch.setattr(kernels, "ENABLED", False)
            _interrupt_on_call(monkeypatch, k)
            return None
        return _interrupt_compiled_epoch(monkeypatch, math.ceil(k / batches_per_epoch))

    return arm


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_ctrl_c_keeps_the_last_finished_epoch(monkeypatch, interrupt_stochastic, solver):
    X, y = noisy_problem("classifier", n=60)
    params = dict(hidden_layer_sizes=(5,), solver=solver, batch_size=15, random_state=0)
    # 4 batches per epoch: the 11th evaluation is the 3rd batch of epoch 3.
    compiled_calls = interrupt_stochastic(11, 4)
    with pytest.warns(UserWarning, match="interrupted"):
        clf = BackpropClassifier(**params, max_iter=50).fit(X, y)
    monkeypatch.undo()
    assert compiled_calls is None or len(compiled_calls) == 3
    assert clf.n_iter_ == 2 == len(clf.loss_curve_) == len(clf.history_)
    finished = fit_quietly(BackpropClassifier(**params, max_iter=2), X, y)
    assert_same_weights(clf, finished)
    np.testing.assert_array_equal(clf.predict(X), finished.predict(X))


def test_ctrl_c_in_the_first_epoch_keeps_the_starting_weights(monkeypatch, interrupt_stochastic):
    X, y = noisy_problem("regressor")
    coefs, intercepts = starting_weights([4, 5, 1])
    compiled_calls = interrupt_stochastic(2, 6)  # 6 batches of 10 per epoch
    with pytest.warns(UserWarning, match="interrupted"):
        reg = BackpropRegressor(
            (5,), batch_size=10, coefs_init=coefs, intercepts_init=intercepts
        ).fit(X, y)
    monkeypatch.undo()
    assert compiled_calls is None or len(compiled_calls) == 1
    assert reg.n_iter_ == 0
    for kept, start in zip(reg.coefs_ + reg.intercepts_, coefs + intercepts, strict=True):
        np.testing.assert_array_equal(kept, start)
    assert reg.predict(X).shape == (X.shape[0],)


def test_ctrl_c_during_lbfgs_keeps_the_last_finished_iteration(monkeypatch):
    # The interrupt lands in the middle of an iteration (a line-search
    # evaluation); the model must hold the iterate of the last finished one.
    X, y = noisy_problem("classifier")
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0)
    _interrupt_on_call(monkeypatch, 12)
    with pytest.warns(UserWarning, match="interrupted"):
        clf = BackpropClassifier(**params, max_iter=200).fit(X, y)
    monkeypatch.undo()
    assert clf.n_iter_ >= 1
    finished = fit_quietly(BackpropClassifier(**params, max_iter=clf.n_iter_), X, y)
    assert_same_weights(clf, finished, atol=1e-12)
    assert clf.loss_ == pytest.approx(finished.loss_, rel=1e-12)


@pytest.mark.parametrize("batches", [1, 3])
def test_ctrl_c_in_a_later_partial_fit_call_keeps_the_weights_it_started_from(
    monkeypatch, interrupt_stochastic, batches
):
    """A call after the first undoes its epoch from the published weights (no snapshot copy)."""
    X, y = noisy_problem("classifier", n=60)
    clf = BackpropClassifier((5,), batch_size=60 // batches, random_state=0)
    for _ in range(3):
        clf.partial_fit(X, y, classes=np.unique(y))
    published = clf.coefs_ + clf.intercepts_
    before = [a.copy() for a in published]
    epochs = len(clf.loss_curve_)
    interrupt_stochastic(batches, batches)  # the last batch of the next call
    with pytest.warns(UserWarning, match="interrupted"):
        clf.partial_fit(X, y)
    monkeypatch.undo()
    assert clf.n_iter_ == 0 and len(clf.loss_curve_) == epochs  # no epoch finished
    for kept, start, array in zip(clf.coefs_ + clf.intercepts_, before, published, strict=True):
        np.testing.assert_array_equal(kept, start)
        np.testing.assert_array_equal(array, start)  # the published arrays were never written
    clf.partial_fit(X, y)  # and training goes on
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == epochs + 1
