"""ONNX export (skbackprop.onnx): graphs run by onnxruntime against the estimators.

The oracle is the estimator itself: on random inputs (wider than the
training data, so that units saturate), the graph's labels equal
``predict`` and its probabilities / outputs equal ``predict_proba`` /
``predict`` within 1e-5 for float32 graphs and to rounding for float64.
Every hidden activation, every output layer of both estimators, no hidden
layer, float32 and float64 models and graphs, integer, string and boolean
labels; the classifier options (zipmap, nocl, output_class_labels); the
estimators inside a Pipeline and after a ColumnTransformer.

Needs skl2onnx and onnxruntime (the ``onnx`` and ``test`` extras); skipped
with a reason without them, except where ``SKBACKPROP_TEST_ONNX=1`` (CI's
extras run), where a missing package fails.
"""

import os
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.core.activations import ACTIVATIONS, canonical_name, hidden_activations

if os.environ.get("SKBACKPROP_TEST_ONNX") == "1":
    import onnxruntime as rt
    import skl2onnx
else:
    skl2onnx = pytest.importorskip("skl2onnx", reason="ONNX export needs skl2onnx (extra 'onnx')")
    rt = pytest.importorskip("onnxruntime", reason="the graphs run on onnxruntime")

import skbackprop.onnx  # noqa: E402,F401  (registers the converters)

#: Every hidden activation of the table (the sigmoid under scikit-learn's name).
HIDDEN = ["logistic" if name == "sigmoid" else name for name in hidden_activations()]
#: Float64 graphs of activations whose ONNX operators run in float32 only (the
#: GELU's Erf) agree with the model to this, not to rounding.
THROUGH_FLOAT32 = 1e-6
N_FEATURES = 4


def every_dtype_pair(test):
    """Parametrize ``test`` over the model's dtype and the graph's dtype."""
    test = pytest.mark.parametrize("model_dtype", [np.float64, np.float32],
                                   ids=["model64", "model32"])(test)
    return pytest.mark.parametrize("graph_dtype", [np.float32, np.float64],
                                   ids=["graph32", "graph64"])(test)


def _data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES))
    score = X[:, 0] + X[:, 1] * X[:, 2]
    return X, score


def _test_inputs(seed=1):
    """Random inputs three times as spread as the training data."""
    return np.random.default_rng(seed).normal(scale=3.0, size=(200, N_FEATURES))


def _fit(est, X, y, dtype=None):
    """``est.fit(X, y)`` (``X`` cast to ``dtype`` if given) without short runs' warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X if dtype is None else X.astype(dtype), y)


def _run(model, X, graph_dtype, options=None, target_opset=None):
    """Convert ``model`` for inputs of ``graph_dtype`` and run it on ``X``: the outputs by name."""
    onx = skl2onnx.to_onnx(model, X[:1].astype(graph_dtype), options=options,
                           target_opset=target_opset)
    session = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    values = session.run(None, {session.get_inputs()[0].name: X.astype(graph_dtype)})
    return dict(zip([o.name for o in session.get_outputs()], values, strict=True))


def _tolerance(model_dtype, graph_dtype, activation="relu"):
    """1e-5 where either side computes in float32, rounding-level for float64 throughout.

    An activation that needs ``erf`` has a float32 ``Erf`` inside a float64
    graph: ``THROUGH_FLOAT32`` there.
    """
    if model_dtype == graph_dtype == np.float64:
        return THROUGH_FLOAT32 if "erf" in ACTIVATIONS[canonical_name(activation)].needs else 1e-12
    return 1e-5


# --------------------------------------------------------------------------- #
# Classifiers
# --------------------------------------------------------------------------- #
def _targets(case, score):
    """Targets of each output case (and the classifier's output_activation)."""
    three = np.digitize(score, [-0.5, 0.5])
    if case == "softmax_multiclass":
        return three, "auto"
    if case == "softmax_binary":
        return (score > 0).astype(int), "softmax"
    if case == "sigmoid_binary":
        return (score > 0).astype(int), "auto"
    if case == "sigmoid_multiclass":
        return three, "sigmoid"
    if case == "sigmoid_multilabel":
        return np.column_stack([score > 0, score > 1, score < -1]).astype(int), "auto"
    raise AssertionError(case)


OUTPUT_CASES = [
    "softmax_multiclass", "softmax_binary", "sigmoid_binary", "sigmoid_multiclass",
    "sigmoid_multilabel",
]


def _classifier(case, activation="relu", hidden=(6,), model_dtype=np.float64, labels=None):
    X, score = _data()
    y, output = _targets(case, score)
    if labels is not None and y.ndim == 1:
        y = np.asarray(labels)[y]
    est = BackpropClassifier(hidden_layer_sizes=hidden, activation=activation,
                             output_activation=output, solver="lbfgs", max_iter=40, alpha=0.01,
                             random_state=0)
    return _fit(est, X, y, model_dtype)


def _assert_labels_follow_probabilities(est, labels, probabilities):
    """The graph's labels are those of its own probabilities (first of tied, as predict)."""
    if est._multilabel():
        np.testing.assert_array_equal(labels, (probabilities > 0.5).astype(np.int64))
    else:
        expected = est.classes_[np.argmax(probabilities, axis=1)]
        np.testing.assert_array_equal(labels, _label_values(expected))


def _label_values(labels):
    """Labels as the graph gives them: whole-number floats as int64."""
    return labels.astype(np.int64) if labels.dtype.kind == "f" else labels


def _near_ties(proba, tol):
    """Rows whose two largest probabilities are within ``2 tol`` (never for one column)."""
    top = np.sort(proba, axis=1)[:, -2:]
    return top[:, 1] - top[:, 0] <= 2 * tol


def _assert_classifier_matches(est, X, graph_dtype, model_dtype, tol=None):
    out = _run(est, X, graph_dtype, options={id(est): {"zipmap": False}})
    proba = est.predict_proba(X)
    assert out["probabilities"].dtype == graph_dtype
    tol = _tolerance(model_dtype, graph_dtype, est.activation) if tol is None else tol
    np.testing.assert_allclose(out["probabilities"], proba, rtol=0, atol=tol)
    _assert_labels_follow_probabilities(est, out["label"], out["probabilities"])
    expected = est.predict(X)
    if model_dtype == graph_dtype or est._multilabel():
        np.testing.assert_array_equal(out["label"], expected)
    else:
        # Computed in another precision, probabilities that the model tells apart
        # can tie in the graph (all saturated sigmoids at 1.0 in float32): the
        # labels may then differ, on near ties only.
        differ = out["label"] != expected
        assert _near_ties(proba, tol)[differ].all()


@pytest.mark.parametrize("case", OUTPUT_CASES)
@pytest.mark.parametrize("activation", HIDDEN)
@every_dtype_pair
def test_classifier_graph_equals_predictions(case, activation, model_dtype, graph_dtype):
    est = _classifier(case, activation, model_dtype=model_dtype)
    _assert_classifier_matches(est, _test_inputs(), graph_dtype, model_dtype)


@pytest.mark.parametrize("case", OUTPUT_CASES)
@pytest.mark.parametrize("hidden", [(), (5, 4, 3)], ids=["no_hidden", "three_hidden"])
def test_classifier_depths(case, hidden):
    est = _classifier(case, "tanh", hidden=hidden)
    for graph_dtype in (np.float32, np.float64):
        _assert_classifier_matches(est, _test_inputs(), graph_dtype, np.float64)


LABELS = {
    "str": ["cat", "dog", "emu"],
    "object": np.array(["cat", "dog", "emu"], dtype=object),
    "negative_int": [-7, 0, 12],
    "whole_float": [1.0, 2.0, 3.0],
}


@pytest.mark.parametrize("labels", list(LABELS))
@pytest.mark.parametrize("case", ["softmax_multiclass", "sigmoid_multiclass", "sigmoid_binary",
                                  "softmax_binary"])
def test_classifier_labels(labels, case):
    est = _classifier(case, labels=LABELS[labels])
    X = _test_inputs()
    out = _run(est, X, np.float32, options={id(est): {"zipmap": False}})
    expected = est.predict(X)
    if labels == "whole_float":  # ONNX labels are integers or strings (as scikit-learn's)
        expected = expected.astype(np.int64)
    np.testing.assert_array_equal(out["label"], expected)
    assert out["label"].dtype.kind == ("O" if labels in ("str", "object") else "i")


def test_boolean_labels():
    X, score = _data()
    est = _fit(BackpropClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0),
               X, score > 0)
    out = _run(est, _test_inputs(), np.float32, options={id(est): {"zipmap": False}})
    np.testing.assert_array_equal(out["label"].astype(bool), est.predict(_test_inputs()))


def test_saturated_units():
    """Weights scaled up: sigmoids and softmaxes at 0 and 1, the Poisson output at its cap."""
    X = _test_inputs()
    for case in ("sigmoid_multiclass", "softmax_multiclass", "sigmoid_binary"):
        est = _classifier(case, "tanh")
        est.coefs_ = [W * 30 for W in est.coefs_]
        _assert_classifier_matches(est, X, np.float64, np.float64)
        _assert_classifier_matches(est, X, np.float32, np.float64)


def _fuzz_case():
    """Three sigmoid units saturated by inputs in the hundreds: ties in predict_proba."""
    X = np.array([[125.7], [-132.1], [640.4], [104.9], [0.3], [-2.0]])
    est = BackpropClassifier(hidden_layer_sizes=(), output_activation="sigmoid", max_iter=1,
                             learning_rate_init=1e-4, random_state=0)
    return _fit(est, X[:4], [3, 2, 2, 1]), X


@pytest.mark.parametrize("graph_dtype", [np.float64, np.float32], ids=["graph64", "graph32"])
def test_saturated_sigmoid_units_tie_as_in_predict(graph_dtype):
    est, X = _fuzz_case()
    proba = est.predict_proba(X)
    assert proba[1, 1] == proba[1, 2]  # both sigmoids at 1.0: the first class wins
    out = _run(est, X, graph_dtype, options={id(est): {"zipmap": False}})
    _assert_labels_follow_probabilities(est, out["label"], out["probabilities"])
    np.testing.assert_array_equal(out["label"], est.predict(X))
    assert out["label"][1] == 2


@pytest.mark.parametrize("case", OUTPUT_CASES)
@every_dtype_pair
def test_extreme_weights_and_tied_units(case, model_dtype, graph_dtype):
    """Output weights scaled up a hundredfold and shifted (most sigmoids at 1.0), and a
    duplicated output unit: the labels follow the graph's probabilities, first of tied ones."""
    est = _classifier(case, "relu", model_dtype=model_dtype)
    est.coefs_[-1] *= 100
    est.intercepts_[-1] *= 100
    est.intercepts_[-1] += 500
    if est.n_outputs_ > 1:  # the last unit a copy of the first: tied probabilities
        est.coefs_[-1][:, -1] = est.coefs_[-1][:, 0]
        est.intercepts_[-1][-1] = est.intercepts_[-1][0]
    # Pre-activations in the thousands: float32 rounds them by about 1e-4.
    tol = None if model_dtype == graph_dtype else 1e-3
    _assert_classifier_matches(est, _test_inputs(), graph_dtype, model_dtype, tol)


@pytest.mark.parametrize("case", OUTPUT_CASES)
@pytest.mark.parametrize("opset", [9, 13])
def test_older_opsets(case, opset):
    est = _classifier(case, "leaky_relu")
    X = _test_inputs()
    out = _run(est, X, np.float32, options={id(est): {"zipmap": False}},
               target_opset={"": opset, "ai.onnx.ml": 1})
    np.testing.assert_array_equal(out["label"], est.predict(X))
    _assert_labels_follow_probabilities(est, out["label"], out["probabilities"])
    np.testing.assert_allclose(out["probabilities"], est.predict_proba(X), rtol=0, atol=1e-5)


# --------------------------------------------------------------------------- #
# Classifier options
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("labels", ["str", "negative_int"])
def test_zipmap(labels):
    est = _classifier("softmax_multiclass", labels=LABELS[labels])
    X = _test_inputs()
    out = _run(est, X, np.float32)
    proba = est.predict_proba(X)
    rows = out["output_probability"]
    assert list(rows[0]) == est.classes_.tolist()
    got = np.array([[row[c] for c in est.classes_.tolist()] for row in rows])
    np.testing.assert_allclose(got, proba, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(out["output_label"], est.predict(X))


def test_zipmap_columns():
    est = _classifier("softmax_multiclass", labels=LABELS["str"])
    X = _test_inputs()
    out = _run(est, X, np.float32, options={id(est): {"zipmap": "columns"}})
    proba = est.predict_proba(X)
    for k, label in enumerate(est.classes_):
        np.testing.assert_allclose(out[f"s{label}"], proba[:, k], rtol=0, atol=1e-5)


def test_nocl_gives_class_indices():
    est = _classifier("softmax_multiclass", labels=LABELS["str"])
    X = _test_inputs()
    out = _run(est, X, np.float32, options={id(est): {"nocl": True}})
    indices = np.searchsorted(est.classes_, est.predict(X))
    np.testing.assert_array_equal(out["output_label"], indices)
    assert sorted(out["output_probability"][0]) == [0, 1, 2]


@pytest.mark.parametrize("labels", ["str", "negative_int"])
def test_output_class_labels(labels):
    est = _classifier("sigmoid_multiclass", labels=LABELS[labels])
    out = _run(est, _test_inputs(), np.float32,
               options={id(est): {"zipmap": False, "output_class_labels": True}})
    np.testing.assert_array_equal(out["class_labels"], est.classes_)


def test_options_by_class():
    est = _classifier("sigmoid_binary")
    out = _run(est, _test_inputs(), np.float32, options={BackpropClassifier: {"zipmap": False}})
    assert set(out) == {"label", "probabilities"}


# --------------------------------------------------------------------------- #
# Regressors
# --------------------------------------------------------------------------- #
REGRESSION_OUTPUTS = {
    "identity": dict(loss="squared_error"),
    "sigmoid": dict(loss="cross_entropy"),
    "tanh": dict(output_activation="tanh"),
    "exp": dict(loss="poisson"),
}


def _regression_targets(output, score, n_outputs):
    targets = np.column_stack([score, 0.5 * score - 1.0])[:, :n_outputs]
    if output == "sigmoid":
        targets = 1 / (1 + np.exp(-targets))
    elif output == "tanh":
        targets = np.tanh(targets)
    elif output == "exp":
        targets = np.exp(targets / 2)
    return targets[:, 0] if n_outputs == 1 else targets


def _regressor(output, activation="relu", n_outputs=1, model_dtype=np.float64, hidden=(6,)):
    X, score = _data()
    y = _regression_targets(output, score, n_outputs)
    est = BackpropRegressor(hidden_layer_sizes=hidden, activation=activation, solver="lbfgs",
                            max_iter=40, random_state=0, **REGRESSION_OUTPUTS[output])
    return _fit(est, X, y, model_dtype)


def _assert_regressor_matches(est, X, graph_dtype, model_dtype):
    (values,) = _run(est, X, graph_dtype).values()
    expected = est.predict(X).reshape(X.shape[0], -1)
    assert values.shape == expected.shape and values.dtype == graph_dtype
    tol = _tolerance(model_dtype, graph_dtype, est.activation)
    np.testing.assert_allclose(values, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("output", list(REGRESSION_OUTPUTS))
@pytest.mark.parametrize("activation", HIDDEN)
@every_dtype_pair
def test_regressor_graph_equals_predictions(output, activation, model_dtype, graph_dtype):
    est = _regressor(output, activation, model_dtype=model_dtype)
    _assert_regressor_matches(est, _test_inputs(), graph_dtype, model_dtype)


@pytest.mark.parametrize("output", list(REGRESSION_OUTPUTS))
@pytest.mark.parametrize("hidden", [(), (5, 4, 3)], ids=["no_hidden", "three_hidden"])
def test_regressor_two_outputs_and_depths(output, hidden):
    est = _regressor(output, "tanh", n_outputs=2, hidden=hidden)
    for graph_dtype in (np.float32, np.float64):
        _assert_regressor_matches(est, _test_inputs(), graph_dtype, np.float64)


def test_poisson_output_at_its_cap():
    est = _regressor("exp")
    est.coefs_ = [W * 200 for W in est.coefs_]
    X = _test_inputs()
    assert est.predict(X).max() > 1e100  # past float32's range: the float64 graph only
    _assert_regressor_matches(est, X, np.float64, np.float64)


# --------------------------------------------------------------------------- #
# In pipelines, and errors
# --------------------------------------------------------------------------- #
def test_pipeline_with_scaler():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, score = _data()
    pipe = _fit(make_pipeline(StandardScaler(), BackpropClassifier(
        hidden_layer_sizes=(5,), solver="lbfgs", alpha=0.01, random_state=0)),
        X, np.digitize(score, [0, 1]))
    X_test = _test_inputs()
    out = _run(pipe, X_test, np.float32, options={id(pipe[-1]): {"zipmap": False}})
    np.testing.assert_array_equal(out["label"], pipe.predict(X_test))
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(X_test), atol=1e-5)


def test_column_transformer_with_categories():
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, score = _data()
    rng = np.random.default_rng(3)
    colour = rng.choice(["red", "green", "blue"], size=X.shape[0])
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "colour": colour})
    y = score + (colour == "red")
    pipe = Pipeline([
        ("columns", ColumnTransformer([
            ("numbers", StandardScaler(), ["a", "b", "c"]),
            ("colour", OneHotEncoder(), ["colour"]),
        ])),
        ("net", BackpropRegressor(hidden_layer_sizes=(6,), solver="lbfgs", random_state=0)),
    ])
    _fit(pipe, frame, y)
    inputs = [("a", skl2onnx.common.data_types.FloatTensorType([None, 1]))]
    inputs += [(c, skl2onnx.common.data_types.FloatTensorType([None, 1])) for c in "bc"]
    inputs += [("colour", skl2onnx.common.data_types.StringTensorType([None, 1]))]
    onx = skl2onnx.to_onnx(pipe, initial_types=inputs)
    session = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {c: frame[[c]].to_numpy(np.float32) for c in "abc"}
    feeds["colour"] = frame[["colour"]].to_numpy(object)
    (values,) = session.run(None, feeds)
    np.testing.assert_allclose(values[:, 0], pipe.predict(frame), rtol=1e-5, atol=1e-5)


def test_wrong_input_width_is_refused():
    est = _classifier("softmax_multiclass")
    with pytest.raises(ValueError, match=r"3 features but BackpropClassifier was fitted on 4"):
        skl2onnx.to_onnx(est, np.zeros((1, 3), dtype=np.float32))


def test_model_fitted_on_another_array_library():
    xp = pytest.importorskip("array_api_strict")
    import sklearn

    X, score = _data()
    with sklearn.config_context(array_api_dispatch=True):
        est = _fit(BackpropRegressor(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0),
                   xp.asarray(X), xp.asarray(score))
        expected = np.asarray(est.predict(xp.asarray(_test_inputs())))
    (values,) = _run(est, _test_inputs(), np.float64).values()
    np.testing.assert_allclose(values[:, 0], expected, rtol=1e-12, atol=1e-12)
