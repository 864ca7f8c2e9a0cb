"""Saving and loading: pickle, skops, and what a saved model holds.

- The saved state (``__getstate__``, what pickle and skops write) holds only
  arrays, numbers, strings, lists, tuples and dicts besides the estimator:
  the network, the optimizer and the random generator as plain dicts.
- skops lists only the estimator's own class as untrusted (skops optional).
- A model saved part-way and loaded continues ``partial_fit`` and warm
  starts bit for bit as the model that was never saved (the oracle: the
  same run without the round trip).
- A parameter holding a function pickle cannot save (a lambda) fails with an
  error naming the parameter and the fix; copies and cloudpickle (joblib,
  dask) still take it.
"""

import copy
import io
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import ESTIMATORS, assert_same_weights, noisy_problem
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer

from skbackprop import BackpropClassifier, BackpropRegressor

#: Solvers and their settings, each a different kind of optimizer state.
SOLVERS = {
    "adam": dict(solver="adam"),
    "sgd_nesterov": dict(solver="sgd", momentum=0.9, learning_rate="invscaling"),
    "sgd_plain": dict(solver="sgd", momentum=0.0),
    "lbfgs": dict(solver="lbfgs"),
}


def _fitted(kind="classifier", solver="adam", **params):
    X, y = noisy_problem(kind)
    est = ESTIMATORS[kind](hidden_layer_sizes=(6,), max_iter=4, random_state=0,
                           **SOLVERS[solver], **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y), X, y


def _leaves(value, path="state"):
    """``(path, leaf)`` of every value inside nested dicts, lists and tuples."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), f"{path} has a non-string key {key!r}"
            yield from _leaves(item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, value


PLAIN = (np.ndarray, np.generic, int, float, str, bool, type(None))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", list(SOLVERS))
def test_saved_state_holds_only_plain_values(kind, solver):
    est, _, _ = _fitted(kind, solver)
    for path, leaf in _leaves(est.__getstate__()):
        # The label binarizer is scikit-learn's (its MLP keeps one too).
        if isinstance(leaf, LabelBinarizer):
            continue
        assert isinstance(leaf, PLAIN), f"{path} is a {type(leaf).__name__}"
    if solver != "lbfgs":
        assert isinstance(est.__getstate__()["_optimizer"], dict)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", list(SOLVERS))
def test_skops_trusts_everything_but_the_estimator(kind, solver):
    sio = pytest.importorskip("skops.io", reason="skops is optional (pip install skops)")
    est, X, _ = _fitted(kind, solver)
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted == [f"skbackprop.{'_classifier' if kind == 'classifier' else '_regressor'}."
                         f"{type(est).__name__}"]
    loaded = sio.loads(data, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert type(loaded._optimizer) is type(est._optimizer)


def test_skops_with_early_stopping_random_state_and_feature_names():
    sio = pytest.importorskip("skops.io", reason="skops is optional (pip install skops)")
    pd = pytest.importorskip("pandas")
    X, y = noisy_problem("classifier")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = BackpropClassifier(hidden_layer_sizes=(5,), solver="sgd", learning_rate="adaptive",
                             early_stopping=True, class_weight="balanced", max_iter=5,
                             random_state=np.random.RandomState(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(frame, y)
    data = sio.dumps(est)
    assert sio.get_untrusted_types(data=data) == ["skbackprop._classifier.BackpropClassifier"]
    loaded = sio.loads(data, trusted=["skbackprop._classifier.BackpropClassifier"])
    np.testing.assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    assert loaded.validation_scores_ == est.validation_scores_


@pytest.mark.parametrize(
    "labels", [["cat", "dog", "emu"], np.array(["cat", "dog", "emu"], dtype=object)],
    ids=["str", "object"],
)
def test_skops_with_string_labels(labels):
    sio = pytest.importorskip("skops.io", reason="skops is optional (pip install skops)")
    X, y = noisy_problem("classifier")
    y = np.asarray(labels)[y]
    est = BackpropClassifier(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=200,
                             random_state=0).fit(X, y)
    data = sio.dumps(est)
    assert sio.get_untrusted_types(data=data) == ["skbackprop._classifier.BackpropClassifier"]
    loaded = sio.loads(data, trusted=["skbackprop._classifier.BackpropClassifier"])
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def _skops_round_trip(est):
    sio = pytest.importorskip("skops.io", reason="skops is optional (pip install skops)")
    return sio.loads(sio.dumps(est), trusted=[f"{type(est).__module__}.{type(est).__name__}"])


ROUND_TRIPS = {"pickle": lambda est: pickle.loads(pickle.dumps(est)), "skops": _skops_round_trip}


@pytest.mark.parametrize("round_trip", list(ROUND_TRIPS))
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["adam", "sgd_nesterov", "sgd_plain"])
def test_loaded_model_continues_partial_fit_identically(round_trip, kind, solver):
    X, y = noisy_problem(kind)
    extra = {"classes": np.unique(y)} if kind == "classifier" else {}
    est = ESTIMATORS[kind](hidden_layer_sizes=(6,), random_state=0, batch_size=16,
                           **SOLVERS[solver])
    for _ in range(2):
        est.partial_fit(X, y, **extra)
    loaded = ROUND_TRIPS[round_trip](est)
    for model in (est, loaded):
        for _ in range(3):  # shuffled batches: the random generator is saved too
            model.partial_fit(X, y, **extra)
    assert_same_weights(loaded, est)
    assert loaded.loss_curve_ == est.loss_curve_
    assert loaded.t_ == est.t_


@pytest.mark.parametrize("round_trip", list(ROUND_TRIPS))
@pytest.mark.parametrize("solver", list(SOLVERS))
def test_loaded_model_continues_warm_start_identically(round_trip, solver):
    est, X, y = _fitted("classifier", solver, warm_start=True)
    loaded = ROUND_TRIPS[round_trip](est)
    for model in (est, loaded):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
    assert_same_weights(loaded, est)
    assert loaded.n_iter_ == est.n_iter_ and loaded.loss_ == est.loss_


def test_loaded_sgd_keeps_its_learning_rate_schedule():
    est, X, y = _fitted("classifier", "sgd_nesterov")
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded._optimizer.learning_rate == est._optimizer.learning_rate
    np.testing.assert_array_equal(loaded._optimizer.velocity, est._optimizer.velocity)
    assert loaded._optimizer_key == est._optimizer_key


def _lambda_callbacks():
    return [lambda est, record: None]


def log_epoch(est, record):
    """A module-level callback: pickle saves it by name."""
    return None


@pytest.mark.parametrize("Estimator", [BackpropClassifier, BackpropRegressor])
def test_unpicklable_callbacks_get_an_error_naming_the_parameter(Estimator):
    kind = "classifier" if Estimator is BackpropClassifier else "regressor"
    est, _, _ = _fitted(kind, "adam", callbacks=_lambda_callbacks())
    before = est.__getstate__()
    with pytest.raises(pickle.PicklingError) as info:
        pickle.dumps(est)
    message = str(info.value)
    assert "`callbacks`" in message and "set_params(callbacks=None)" in message
    assert "module level" in message and "<lambda>" in message
    # Nothing changed, and the fix works.
    assert est.__getstate__().keys() == before.keys()
    assert est.callbacks[0] is before["callbacks"][0]
    loaded = pickle.loads(pickle.dumps(clone(est).set_params(callbacks=None)))
    assert loaded.callbacks is None


def test_unpicklable_weight_init_gets_an_error_naming_the_parameter():
    est, _, _ = _fitted(weight_init=lambda fan_in, fan_out, rng: (
        rng.normal(size=(fan_in, fan_out)), np.zeros(fan_out)))
    with pytest.raises(pickle.PicklingError, match=r"`weight_init`.*set_params\(weight_init="):
        pickle.dumps(est)


def test_unpicklable_callbacks_through_joblib_dump():
    joblib = pytest.importorskip("joblib")
    est, _, _ = _fitted(callbacks=_lambda_callbacks())
    with pytest.raises(pickle.PicklingError, match="`callbacks`"):
        joblib.dump(est, io.BytesIO())


def test_module_level_callbacks_are_pickled():
    est, X, y = _fitted(callbacks=[log_epoch])
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.callbacks == [log_epoch]
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_copies_and_cloudpickle_take_lambda_callbacks():
    est, X, _ = _fitted(callbacks=_lambda_callbacks())
    for other in (copy.copy(est), copy.deepcopy(est), clone(est)):
        assert callable(other.callbacks[0])
    np.testing.assert_array_equal(copy.deepcopy(est).predict(X), est.predict(X))
    cloudpickle = pytest.importorskip("cloudpickle", reason="cloudpickle comes with dask")
    loaded = pickle.loads(cloudpickle.dumps(est))
    assert callable(loaded.callbacks[0])
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_deep_copy_has_its_own_optimizer_state():
    est, X, y = _fitted("classifier", "adam")
    twin = copy.deepcopy(est)
    assert twin._optimizer is not est._optimizer
    assert not np.shares_memory(twin._optimizer._m, est._optimizer._m)
    twin.partial_fit(X, y)  # training the copy leaves the original as it was
    np.testing.assert_array_equal(est.__getstate__()["_optimizer"]["_m"],
                                  copy.deepcopy(est).__getstate__()["_optimizer"]["_m"])
    assert twin._optimizer.t == est._optimizer.t + 1


def test_tampered_state_is_refused():
    est, _, _ = _fitted()
    state = est.__getstate__()
    state["_optimizer"] = dict(state["_optimizer"], kind="rmsprop")
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        BackpropClassifier.__new__(BackpropClassifier).__setstate__(state)
    state = est.__getstate__()
    state["_rng"] = dict(state["_rng"], bit_generator="os.system")
    with pytest.raises(ValueError, match="unknown bit generator 'os.system'"):
        BackpropClassifier.__new__(BackpropClassifier).__setstate__(state)


def test_unfitted_estimator_round_trips():
    est = BackpropRegressor(hidden_layer_sizes=(3,), alpha=0.5)
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.get_params() == est.get_params()
    assert isinstance(loaded, BaseEstimator) and not hasattr(loaded, "coefs_")


# --------------------------------------------------------------------------- #
# Models pickled by an earlier version still load and continue
# --------------------------------------------------------------------------- #
FIXTURE = Path(__file__).parent / "data" / "pickled_models.pkl"


@pytest.mark.skipif(
    np.lib.NumpyVersion(np.__version__) < "2.0.0",
    reason="the fixture was pickled with NumPy 2, which NumPy < 2 cannot read",
)
@pytest.mark.parametrize("name", ["classifier-adam", "classifier-nesterov", "regressor-adam"])
def test_models_pickled_by_an_earlier_version_predict_and_continue(name):
    # tests/data/make_pickled_models.py wrote the fixture with the code of
    # 2026-12-07 (before the layered layout), with the predictions and the
    # weights after one more partial_fit computed then: the oracle. Equal to
    # 1e-10 rather than bit for bit: another machine's BLAS may round the
    # products differently from the one that wrote the fixture.
    record = pickle.loads(FIXTURE.read_bytes())
    model = pickle.loads(record["models"][name])
    expected = record["expected"][name]
    X = record["X"]
    if name.startswith("regressor"):
        np.testing.assert_allclose(model.predict(X), expected["predict"], rtol=1e-10)
    else:
        np.testing.assert_array_equal(model.predict(X), expected["predict"])
        np.testing.assert_allclose(model.predict_proba(X), expected["predict_proba"], rtol=1e-10)
    y = record["target"] if name.startswith("regressor") else record["labels"]
    model.partial_fit(X, y)
    after = [*model.coefs_, *model.intercepts_]
    then = [*expected["coefs_after"], *expected["intercepts_after"]]
    for W, W_then in zip(after, then, strict=True):
        np.testing.assert_allclose(W, W_then, rtol=1e-10, atol=1e-14)
