"""Drop-in parity with scikit-learn's MLP, and the faults a fuzzer found.

Each test is named after the behaviour it checks. Where scikit-learn defines the
behaviour, the oracle is scikit-learn itself, run side by side on the same data;
elsewhere it is the definition written out in the test.
"""

import copy
import re
import tracemalloc
import warnings

import numpy as np
import pytest
from conftest import reference_forward, sklearn_at_least
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skbackprop import BackpropClassifier, BackpropRegressor, DivergenceError
from skbackprop.core.network import Network

SMALL = dict(hidden_layer_sizes=(5,), random_state=0)


def _data(n=60, seed=0):
    """The fuzzer's shape: 60 x 4 normal features, 3 classes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    return X, y


def _quiet(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def _state(est) -> dict:
    """Every attribute of ``est`` but its parameters, deep-copied (weights, records,
    private state); not the work buffers (the network's, and partial_fit's transient
    workspace), whose contents are scratch."""
    params = est.get_params(deep=False)
    return {
        k: copy.deepcopy(v)
        for k, v in vars(est).items()
        if k not in params and not k.startswith("_network") and k != "_call_buffers"
    }


def _assert_same_state(est, before: dict) -> None:
    after = _state(est)
    assert sorted(after) == sorted(before)
    for name, value in before.items():
        _assert_equal(after[name], value, name)


def _assert_equal(a, b, name):
    if isinstance(b, (list, tuple)) and not isinstance(b, str):
        assert isinstance(a, (list, tuple)) and len(a) == len(b), name
        for x, y in zip(a, b, strict=True):
            _assert_equal(x, y, name)
    elif isinstance(b, dict):
        assert a.keys() == b.keys(), name
        for key in b:
            _assert_equal(a[key], b[key], f"{name}[{key!r}]")
    elif isinstance(b, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=name)
    elif isinstance(b, np.random.Generator):
        assert a.bit_generator.state == b.bit_generator.state, name
    elif hasattr(b, "__dict__") and not isinstance(b, type):
        _assert_equal(vars(a), vars(b), name)
    else:
        assert a == b or (a != a and b != b), name  # NaN equals NaN here


# --------------------------------------------------------------------------- #
# Parameters, attributes, messages
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("cls", [BackpropClassifier, MLPClassifier])
def test_n_iter_no_change_inf_switches_the_stop_off(cls):
    X, y = _data()
    # tol so large that no epoch counts as an improvement: only max_iter stops.
    est = cls(**SMALL, tol=1e6, n_iter_no_change=np.inf, max_iter=15)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert est.n_iter_ == 15
    stopped = _quiet(cls(**SMALL, tol=1e6, n_iter_no_change=2, max_iter=15), X, y)
    assert stopped.n_iter_ == 4  # the first epoch improves on inf, then 3 > 2 do not


@pytest.mark.parametrize(
    "kind", ["binary", "multiclass", "multilabel", "regression", "multioutput"]
)
def test_out_activation_uses_sklearns_names(kind):
    X, y = _data()
    if kind == "binary":
        y = y > 0
    elif kind == "multilabel":
        y = np.column_stack([y > 0, y > 1, X[:, 3] > 0])
    elif kind == "regression":
        y = X @ [1.0, -2.0, 0.5, 0.0]
    elif kind == "multioutput":
        y = np.column_stack([X[:, 0], X[:, 1] ** 2])
    regression = kind in ("regression", "multioutput")
    ours = (BackpropRegressor if regression else BackpropClassifier)(**SMALL, max_iter=5)
    theirs = (MLPRegressor if regression else MLPClassifier)(**SMALL, max_iter=5)
    assert _quiet(ours, X, y).out_activation_ == _quiet(theirs, X, y).out_activation_


def test_out_activation_names_our_own_outputs():
    X, y = _data()
    reg = _quiet(BackpropRegressor(**SMALL, max_iter=3, output_activation="tanh"), X, np.tanh(X[:, 0]))
    assert reg.out_activation_ == "tanh"
    clf = _quiet(BackpropClassifier(**SMALL, max_iter=3, output_activation="sigmoid"), X, y)
    assert clf.out_activation_ == "logistic"
    # Refitting or predicting without the internal network uses that name.
    clone = copy.deepcopy(clf)
    del clone._network
    np.testing.assert_array_equal(clone.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize(
    "ours, theirs", [(BackpropClassifier, MLPClassifier), (BackpropRegressor, MLPRegressor)]
)
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_n_iter_counts_the_epochs_of_the_last_fit(ours, theirs, solver):
    X, y = _data()
    if ours is BackpropRegressor:
        y = X[:, 0] - X[:, 1]
    for cls in (ours, theirs):
        est = _quiet(cls(**SMALL, solver=solver, max_iter=4, warm_start=True, tol=0.0), X, y)
        first = est.n_iter_
        _quiet(est, X, y)
        assert est.n_iter_ == first == 4, cls.__name__
    # Our record keeps every epoch of both fits.
    est = _quiet(ours(**SMALL, solver=solver, max_iter=4, warm_start=True, tol=0.0), X, y)
    _quiet(est, X, y)
    assert len(est.loss_curve_) == len(est.history_) == 8
    assert [r["epoch"] for r in est.history_] == list(range(1, 9))


@pytest.mark.parametrize("cls", [BackpropClassifier, MLPClassifier])
def test_n_iter_is_one_after_each_partial_fit(cls):
    X, y = _data()
    est = cls(**SMALL)
    for _ in range(3):
        est.partial_fit(X, y, classes=[0, 1, 2])
        assert est.n_iter_ == 1
    assert est.t_ == 3 * X.shape[0]


@pytest.mark.parametrize("cls", [BackpropClassifier, MLPClassifier, BackpropRegressor, MLPRegressor])
def test_best_loss_is_none_with_early_stopping(cls):
    X, y = _data(n=80)
    est = _quiet(cls(**SMALL, early_stopping=True, max_iter=5), X, y)
    assert est.best_loss_ is None
    assert len(est.validation_scores_) == est.n_iter_
    est = _quiet(cls(**SMALL, max_iter=5), X, y)
    assert est.best_loss_ == min(est.loss_curve_)


@pytest.mark.parametrize("new_labels", [[0, 1, 5], [0, 1]], ids=["other", "fewer"])
def test_warm_start_with_other_classes_raises_sklearns_error(new_labels):
    X, y = _data()
    y_new = np.array(new_labels)[np.arange(len(y)) % len(new_labels)]
    messages = []
    for cls in (BackpropClassifier, MLPClassifier):
        est = _quiet(cls(**SMALL, max_iter=3, warm_start=True), X, y)
        before = _state(est) if cls is BackpropClassifier else None
        with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same") as info:
            est.fit(X, y_new)
        messages.append(str(info.value))
        if before is not None:
            _assert_same_state(est, before)
    assert messages[0] == messages[1]


@pytest.mark.parametrize("limit", [dict(max_iter=3), dict(max_fun=6)])
@pytest.mark.parametrize("cls", [BackpropClassifier, MLPClassifier])
def test_lbfgs_limits_give_a_convergence_warning(cls, limit):
    X, y = _data()
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        cls(**SMALL, solver="lbfgs", **limit).fit(X, y)


def test_lbfgs_abnormal_termination_gives_a_convergence_warning(monkeypatch):
    # scipy's other failure (status 2: the line search could not make progress)
    # warns too, as in scikit-learn, which warns for every non-zero status.
    from skbackprop.training import loop as base

    real = base.minimize_lbfgs

    def abnormal(*args, **kwargs):
        result = real(*args, **kwargs)
        result.status, result.message = 2, "ABNORMAL_TERMINATION_IN_LNSRCH"
        return result

    monkeypatch.setattr(base, "minimize_lbfgs", abnormal)
    X, y = _data()
    with pytest.warns(ConvergenceWarning, match="status=2: ABNORMAL_TERMINATION_IN_LNSRCH"):
        BackpropClassifier(**SMALL, solver="lbfgs", max_iter=5).fit(X, y)


def test_lbfgs_converged_gives_no_warning():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = BackpropClassifier(**SMALL, solver="lbfgs", tol=1.0).fit(X, y)
    # F6: stopping at iteration 0 records no iteration.
    assert clf.n_iter_ == len(clf.loss_curve_) == len(clf.history_) == 0
    assert np.isfinite(clf.loss_)


def test_lbfgs_n_iter_matches_its_record():
    X, y = _data()
    clf = _quiet(BackpropClassifier(**SMALL, solver="lbfgs", max_iter=7), X, y)
    assert clf.n_iter_ == len(clf.loss_curve_) == 7


@pytest.mark.parametrize("cls", [BackpropClassifier, MLPClassifier])
def test_partial_fit_multilabel_with_classes_on_every_call(cls):
    X, _ = _data()
    Y = np.random.default_rng(1).integers(0, 2, (60, 3))
    est = cls(**SMALL)
    for start in (0, 20, 40):
        est.partial_fit(X[start : start + 20], Y[start : start + 20], classes=[0, 1, 2])
    assert est.predict(X).shape == (60, 3)
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])


def test_partial_fit_multilabel_rejects_other_classes():
    X, _ = _data()
    Y = np.random.default_rng(1).integers(0, 2, (60, 3))
    with pytest.raises(ValueError, match=r"label indices \[0, 1, 2\]"):
        BackpropClassifier(**SMALL).partial_fit(X, Y, classes=["a", "b", "c"])


def test_partial_fit_accepts_classes_in_any_order_or_repeated():
    X, y = _data()
    labels = np.array(["ant", "bee", "cat"])[y]
    sorted_calls = BackpropClassifier(**SMALL)
    shuffled_calls = BackpropClassifier(**SMALL)
    for classes in (["cat", "ant", "bee"], ["bee", "bee", "ant", "cat"], ["ant", "bee", "cat"]):
        sorted_calls.partial_fit(X, labels, classes=["ant", "bee", "cat"])
        shuffled_calls.partial_fit(X, labels, classes=classes)
    for a, b in zip(sorted_calls.coefs_, shuffled_calls.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="differs from the classes of the first partial_fit"):
        shuffled_calls.partial_fit(X, labels, classes=["ant", "bee"])


def test_divergence_error_is_a_value_error():
    assert issubclass(DivergenceError, ValueError)
    X, y = _data()
    try:
        BackpropClassifier(**SMALL, solver="sgd", learning_rate_init=1e6, max_iter=50).fit(X, y)
    except ValueError as exc:  # existing ``except ValueError`` code keeps working
        assert isinstance(exc, DivergenceError)
    else:
        pytest.fail("no divergence")


def _poison_at(epoch):
    """A callback that makes the next epoch diverge (a NaN weight) after ``epoch``."""
    snapshots = []

    def callback(est, record):
        snapshots.append([W.copy() for W in est.coefs_])
        if record["epoch"] == epoch:
            est.coefs_[0][0, 0] = np.nan

    return callback, snapshots


def test_divergence_with_early_stopping_restores_the_best_weights_and_warns():
    X, y = _data(n=120)
    callback, snapshots = _poison_at(6)
    clf = BackpropClassifier(
        **SMALL, early_stopping=True, max_iter=50, n_iter_no_change=100,
        learning_rate_init=0.01, callbacks=[callback],
    )
    with pytest.warns(UserWarning, match=r"diverged in epoch 7.*best validation score"):
        clf.fit(X, y)
    assert clf.n_iter_ == 6 == len(clf.validation_scores_)
    best = int(np.argmax(clf.validation_scores_))
    for W, kept in zip(clf.coefs_, snapshots[best], strict=True):
        np.testing.assert_array_equal(W, kept)
    assert all(np.isfinite(W).all() for W in clf.coefs_)


def test_divergence_without_a_checkpoint_still_raises():
    X, y = _data(n=120)
    callback, _ = _poison_at(3)
    clf = BackpropClassifier(**SMALL, max_iter=50, callbacks=[callback])
    with pytest.raises(DivergenceError, match="epoch 4"):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_")


@sklearn_at_least("1.7", "MLPRegressor raises 'The validation set is too small'")
def test_validation_set_too_small_message_matches_sklearn():
    X, _ = _data(n=12)
    for cls in (BackpropRegressor, MLPRegressor):
        with pytest.raises(ValueError, match="The validation set is too small"):
            cls(**SMALL, early_stopping=True, validation_fraction=0.05).fit(X, X[:, 0])


@sklearn_at_least("1.8", "train_test_split's stratify error lists the too-small classes")
@pytest.mark.parametrize("labels", [["False", "True"], [3, 7]])
def test_stratification_error_names_the_original_labels(labels):
    X, _ = _data(n=20)
    y = np.array([labels[0]] * 19 + [labels[1]])
    with pytest.raises(ValueError, match=re.escape(f"are: [{labels[1]!r}]")):
        BackpropClassifier(**SMALL, early_stopping=True).fit(X, y)


@pytest.mark.parametrize("cls", [BackpropClassifier, BackpropRegressor])
def test_dataframe_with_early_stopping_warns_nothing(cls):
    pd = pytest.importorskip("pandas")
    X, y = _data(n=80)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = cls(**SMALL, early_stopping=True, max_iter=200, n_iter_no_change=3).fit(frame, y)
        est.predict(frame)
        est.score(frame, y)
    assert len(est.validation_scores_) == est.n_iter_ > 3
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c", "d"])


def test_single_class_raises_by_design():
    X, _ = _data()
    with pytest.raises(ValueError, match="at least 2 classes"):
        BackpropClassifier(**SMALL).fit(X, np.zeros(60))


# --------------------------------------------------------------------------- #
# Faults found by fuzzing
# --------------------------------------------------------------------------- #
def _bad_refits():
    X, y = _data()
    Y = np.column_stack([y > 0, y > 1])
    bad_coefs = [np.zeros((4, 3)), np.zeros((3, 3))]
    return {
        "unknown class_weight label": (dict(class_weight={9: 2.0}), (X, y)),
        "softmax with multilabel y": (dict(output_activation="softmax"), (X, Y)),
        "bad coefs_init after new hidden_layer_sizes": (
            dict(hidden_layer_sizes=(7,), coefs_init=bad_coefs), (X, y + 10)
        ),
        "string features": ({}, (np.full((60, 4), "x"), y)),
        "bad y_val": ({}, (X, y + 10), dict(X_val=X[:5], y_val=[0, 1])),
        "callback that raises": (dict(callbacks=[lambda est, rec: 1 / 0]), (X, y + 10)),
    }


BAD_REFITS = _bad_refits()


@pytest.mark.parametrize("case", BAD_REFITS)
def test_failed_refit_leaves_the_estimator_as_it_was(case):
    X, y = _data()
    clf = _quiet(BackpropClassifier(**SMALL, max_iter=5), X, np.array(["a", "b", "c"])[y])
    before, proba = _state(clf), clf.predict_proba(X)
    params, args, *kwargs = BAD_REFITS[case]
    clf.set_params(**params)
    with pytest.raises((ValueError, ZeroDivisionError)):
        clf.fit(*args, **(kwargs[0] if kwargs else {}))
    _assert_same_state(clf, before)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    np.testing.assert_array_equal(clf.classes_, ["a", "b", "c"])


def test_failed_partial_fit_leaves_the_optimizer_as_it_was():
    X, y = _data()
    clf = BackpropClassifier(**SMALL).partial_fit(X, y, classes=[0, 1, 2])
    before = _state(clf)
    clf.set_params(callbacks=[lambda est, rec: 1 / 0])
    with pytest.raises(ZeroDivisionError):
        clf.partial_fit(X, y)
    _assert_same_state(clf, before)


def test_sigmoid_multiclass_proba_rows_sum_to_one_when_every_unit_underflows():
    X, y = _data()
    clf = _quiet(BackpropClassifier(**SMALL, output_activation="sigmoid", max_iter=3), X, y)
    clf.intercepts_[-1][:] = [-1000.0, -1001.0, -1002.0]  # every sigmoid rounds to 0
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    # sigmoid(z) ~ exp(z) far below 0, so the normalised rows tend to softmax(z).
    pre_activations, _ = reference_forward(X, clf.coefs_, clf.intercepts_, clf.activation, "sigmoid")
    z = pre_activations[-1]
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True), rtol=1e-9)
    np.testing.assert_array_equal(clf.predict(X), np.argmax(z, axis=1))
    assert np.isfinite(clf.predict_log_proba(X)).all()


def test_fit_never_returns_non_finite_training_outputs():
    X, y = _data()

    def blow_up_last_epoch(est, record):
        if record["epoch"] == 3:  # after the last epoch's divergence checks
            est.coefs_[0][:, :] = 1e308

    reg = BackpropRegressor(**SMALL, max_iter=3, callbacks=[blow_up_last_epoch])
    with pytest.raises(DivergenceError, match="outputs on the training data are inf or NaN"):
        _quiet(reg, X, X[:, 0])
    assert not hasattr(reg, "coefs_")


@pytest.mark.parametrize("activation", ["relu", "tanh", "identity"])
@pytest.mark.parametrize("out_activation", ["identity", "softmax", "exp", "sigmoid"])
def test_outputs_finite_agrees_with_a_forward_pass(activation, out_activation):
    rng = np.random.default_rng(0)
    net = Network([3, 4, 2], activation, out_activation)
    seen = set()
    for scale in [1.0, 1e2, 1e150, 1e300, 1e307]:
        for weight_scale in [1.0, 1e3, 1e6, -1e6]:
            X = rng.normal(size=(20, 3)) * scale
            params = net.init_params("glorot_uniform", rng) * weight_scale
            coefs, intercepts = net.unpack(params)
            with np.errstate(all="ignore"):
                truth = bool(np.isfinite(net.output(X, coefs, intercepts)).all())
            assert net.outputs_finite(X, coefs, intercepts) == truth, (scale, weight_scale)
            seen.add(truth)
    if out_activation == "identity" and activation != "tanh":
        assert seen == {True, False}  # both answers were exercised


@pytest.mark.parametrize(
    "weights, message",
    [
        (dict(sample_weight=0.0), "Sample weights must contain at least one non-zero number"),
        (dict(class_weight={0: 0, 1: 0, 2: 0}), "Sample weights must contain at least one non-zero"),
        (dict(sample_weight=-1.0), "negative"),
        (dict(sample_weight=np.nan), "NaN or infinity"),
        (dict(sample_weight=np.inf), "NaN or infinity"),
        (dict(class_weight={0: -5.0}), "class 0 has -5.0"),
        (dict(class_weight={1: np.nan}), "class 1 has nan"),
    ],
)
def test_bad_scalar_and_class_weights_are_rejected(weights, message):
    X, y = _data()
    clf = BackpropClassifier(**SMALL, class_weight=weights.get("class_weight"))
    with pytest.raises(ValueError, match=re.escape(message)):
        clf.fit(X, y, sample_weight=weights.get("sample_weight"))
    assert not hasattr(clf, "coefs_")


def test_scalar_sample_weight_equals_uniform_weights():
    X, y = _data()
    a = _quiet(BackpropClassifier(**SMALL, max_iter=5), X, y, sample_weight=2.5)
    b = _quiet(BackpropClassifier(**SMALL, max_iter=5), X, y, sample_weight=np.full(60, 2.5))
    for Wa, Wb in zip(a.coefs_, b.coefs_, strict=True):
        np.testing.assert_array_equal(Wa, Wb)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_keyboard_interrupt_in_a_callback_keeps_the_last_finished_epoch(solver):
    X, y = _data()
    kept = []

    def interrupt(est, record):
        kept.append([W.copy() for W in est.coefs_ + est.intercepts_])
        if record["epoch"] == 3:
            raise KeyboardInterrupt

    clf = BackpropClassifier(**SMALL, solver=solver, max_iter=20, callbacks=[interrupt])
    with pytest.warns(UserWarning, match="interrupted by the user"):
        clf.fit(X, y)
    assert clf.n_iter_ == 3 == len(clf.loss_curve_)
    for W, W3 in zip(clf.coefs_ + clf.intercepts_, kept[2], strict=True):
        np.testing.assert_array_equal(W, W3)


@pytest.mark.parametrize(
    "cls, y_val, message",
    [
        (BackpropClassifier, [0, 1, 2], "X_val has 10 samples but y_val has 3"),
        (BackpropClassifier, [0] * 9 + [7], "y_val contains labels [7]"),
        (BackpropRegressor, [0.0] * 9 + [np.nan], "y_val"),
        (BackpropRegressor, np.zeros((10, 2)), "y_val has 2 target(s) per sample"),
    ],
)
def test_bad_validation_targets_fail_before_training(cls, y_val, message, monkeypatch):
    X, y = _data()
    steps = []
    real = Network.loss_and_grad

    def counting(self, *args, **kwargs):
        steps.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Network, "loss_and_grad", counting)
    with pytest.raises(ValueError, match=re.escape(message)):
        cls(**SMALL).fit(X, y, X_val=X[:10], y_val=y_val)
    assert steps == []  # not one gradient step was taken


def test_validation_targets_are_converted_like_y():
    X, y = _data()
    # A column vector y_val is read as the labels it holds, with scikit-learn's warning.
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        clf = _quiet(BackpropClassifier(**SMALL, max_iter=3), X, y, X_val=X[:10], y_val=y[:10, None])
    assert clf.validation_scores_[-1] == clf.score(X[:10], y[:10])


def test_partial_fit_after_divergence_uses_the_new_learning_rate():
    X, y = _data()
    clf = BackpropClassifier(**SMALL, solver="sgd", learning_rate_init=0.01)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    before = _state(clf)
    clf.set_params(learning_rate_init=1e6)
    with pytest.raises(DivergenceError, match="smaller learning_rate_init"):
        for _ in range(20):
            clf.partial_fit(X, y)
    clf.set_params(learning_rate_init=1e-3)
    clf.partial_fit(X, y)
    assert clf.history_[-1]["learning_rate"] == 1e-3
    assert all(np.isfinite(W).all() for W in clf.coefs_)
    assert before["history_"][-1]["learning_rate"] == 0.01


def test_partial_fit_keeps_the_optimizer_while_its_settings_hold():
    # Adam's moments carry over between calls: two calls equal two epochs of fit.
    X, y = _data()
    params = dict(**SMALL, shuffle=False, learning_rate_init=0.01)
    chunked = BackpropClassifier(**params)
    chunked.partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X, y)
    whole = _quiet(BackpropClassifier(**params, max_iter=2), X, y)
    for a, b in zip(chunked.coefs_, whole.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_many_classes_peak_memory_at_most_sklearns():
    rng = np.random.default_rng(0)
    n = k = 2000
    X = rng.normal(size=(n, 4))
    y = rng.permutation(np.arange(n) % k)
    peaks = []
    for cls in (BackpropClassifier, MLPClassifier):
        est = cls(hidden_layer_sizes=(10,), max_iter=1, random_state=0)
        with warnings.catch_warnings():
            # First an untraced fit: compiling (or loading) the optional numba
            # kernels allocates Python objects that are not the fit's memory.
            warnings.simplefilter("ignore", UserWarning)
            _quiet(clone(est), X, y)
        tracemalloc.start()
        try:
            with warnings.catch_warnings():
                # "The number of unique classes is greater than 50% of the samples"
                warnings.simplefilter("ignore", UserWarning)
                _quiet(est, X, y)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    # One-hot targets of 2000 x 2000: 32 MB as floats; ours keeps them as booleans.
    assert peaks[0] <= peaks[1], peaks
    assert peaks[0] < 16e6, peaks
