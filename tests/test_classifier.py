"""BackpropClassifier: targets, probabilities, output layers and fitted attributes.

The oracles are mathematical definitions: the reference forward pass of
``conftest.py`` (plain numpy, from ``coefs_`` / ``intercepts_``; docs/design.rst,
section design-model), the softmax and the sigmoid, the cross-entropy of
docs/design.rst, section design-conventions, and scikit-learn's
``LogisticRegression`` for a network without hidden layer (which is exactly
a penalised logistic regression).
"""

import numpy as np
import pytest
from conftest import model_output, reference_forward
from sklearn.datasets import load_iris, make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

# Short training runs are the point of most tests here; tests that are about the
# warning itself use pytest.warns, which sees it regardless of this filter.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(
        n_samples=200, n_features=6, n_informative=4, class_sep=1.5, random_state=0
    )
    return X, y


def test_binary_string_labels(binary):
    X, y = binary
    labels = np.array(["no", "yes"])[y]
    clf = BackpropClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0)
    clf.fit(X, labels)

    assert list(clf.classes_) == ["no", "yes"]
    assert clf.n_outputs_ == 1
    assert clf.out_activation_ == "logistic"
    proba = clf.predict_proba(X)
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    # Column 1 is the sigmoid unit's output, the probability of classes_[1].
    np.testing.assert_allclose(proba[:, 1], model_output(clf, X)[:, 0], rtol=1e-10)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-10)
    pred = clf.predict(X)
    assert pred.shape == (200,)
    assert np.array_equal(pred, clf.classes_[np.argmax(proba, axis=1)])
    assert clf.score(X, labels) > 0.9


def test_multiclass_string_labels(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])
    clf = BackpropClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0)
    clf.fit(X, names[y])

    assert list(clf.classes_) == list(names)
    assert clf.n_outputs_ == 3
    assert clf.out_activation_ == "softmax"
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(proba, model_output(clf, X), rtol=1e-9, atol=1e-15)
    log_proba = clf.predict_log_proba(X)
    assert log_proba.shape == (150, 3)
    finite = proba > 0
    np.testing.assert_allclose(log_proba[finite], np.log(proba[finite]), rtol=1e-10)
    pred = clf.predict(X)
    assert pred.dtype.kind == "U"
    assert np.array_equal(pred, names[np.argmax(proba, axis=1)])
    assert clf.score(X, names[y]) > 0.95


def test_multilabel_indicator_targets():
    X, Y = make_multilabel_classification(
        n_samples=150, n_features=8, n_classes=4, random_state=0
    )
    X = StandardScaler().fit_transform(X)
    clf = BackpropClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=300, random_state=0)
    clf.fit(X, Y)

    assert clf.n_outputs_ == 4
    assert clf.out_activation_ == "logistic"
    assert np.array_equal(clf.classes_, np.arange(4))
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 4)
    # One independent sigmoid per label: rows do not have to sum to 1.
    np.testing.assert_allclose(proba, model_output(clf, X), rtol=1e-9, atol=1e-15)
    pred = clf.predict(X)
    assert pred.shape == (150, 4)
    assert set(np.unique(pred)) <= {0, 1}
    assert np.array_equal(pred, (proba > 0.5).astype(int))
    # Label-wise accuracy well above always predicting each label's majority value.
    majority = np.maximum(Y.mean(axis=0), 1 - Y.mean(axis=0)).mean()
    assert (pred == Y).mean() > majority + 0.1


def test_multiclass_sigmoid_output_rows_normalised(iris):
    X, y = iris
    clf = BackpropClassifier(
        hidden_layer_sizes=(8,), output_activation="sigmoid", solver="lbfgs", random_state=0
    )
    clf.fit(X, y)

    assert clf.out_activation_ == "logistic"
    assert clf.n_outputs_ == 3
    raw = model_output(clf, X)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(proba, raw / raw.sum(axis=1, keepdims=True), rtol=1e-9)
    # The labels of predict_proba (the first of tied classes; see test_predict_consistency.py).
    assert np.array_equal(clf.predict(X), np.argmax(proba, axis=1))
    assert clf.score(X, y) > 0.9


def test_binary_softmax_uses_two_output_units(binary):
    X, y = binary
    clf = BackpropClassifier(
        hidden_layer_sizes=(8,), output_activation="softmax", solver="lbfgs", random_state=0
    )
    clf.fit(X, y)

    assert clf.out_activation_ == "softmax"
    assert clf.n_outputs_ == 2
    assert clf.coefs_[-1].shape == (8, 2)
    proba = clf.predict_proba(X)
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(proba, model_output(clf, X), rtol=1e-9, atol=1e-15)
    assert np.array_equal(clf.predict(X), np.argmax(proba, axis=1))
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("output_activation", ["softmax", "sigmoid"])
def test_squared_error_trains(iris, output_activation):
    X, y = iris
    clf = BackpropClassifier(
        hidden_layer_sizes=(10,),
        output_activation=output_activation,
        loss="squared_error",
        solver="adam",
        learning_rate_init=0.02,
        max_iter=300,
        random_state=0,
    )
    clf.fit(X, y)
    assert clf.loss_function_ == "squared_error"
    assert clf.out_activation_ == {"sigmoid": "logistic"}.get(output_activation, output_activation)
    # Chance is 1/3 on iris.
    assert clf.score(X, y) > 0.9


def test_fitted_attributes_stochastic(iris):
    X, y = iris
    clf = BackpropClassifier(
        hidden_layer_sizes=(7, 5), solver="sgd", learning_rate_init=0.05, max_iter=15,
        batch_size=32, random_state=0,
    )
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)

    assert clf.n_layers_ == 4
    assert clf.n_features_in_ == 4
    assert [W.shape for W in clf.coefs_] == [(4, 7), (7, 5), (5, 3)]
    assert [b.shape for b in clf.intercepts_] == [(7,), (5,), (3,)]
    assert clf.n_iter_ == 15
    assert len(clf.loss_curve_) == 15
    assert clf.t_ == 15 * X.shape[0]
    assert clf.loss_ == clf.loss_curve_[-1]
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert not hasattr(clf, "feature_names_in_")


def test_loss_curve_is_the_documented_cross_entropy(iris):
    # Full-batch plain gradient descent from known weights: the first recorded cost is
    # the cost of the starting weights, -(1/m) sum log p_true + alpha/(2m) ||W||^2.
    X, y = iris
    rng = np.random.default_rng(1)
    W0, b0 = rng.normal(size=(4, 3)), rng.normal(size=3)
    alpha = 0.3
    clf = BackpropClassifier(
        hidden_layer_sizes=(), solver="sgd", momentum=0.0, batch_size=150, shuffle=False,
        alpha=alpha, learning_rate_init=0.01, max_iter=1, coefs_init=[W0],
        intercepts_init=[b0],
    )
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    _, P = reference_forward(X, [W0], [b0], hidden=None, out="softmax")  # no hidden layer
    m = X.shape[0]
    expected = -np.log(P[np.arange(m), y]).mean() + alpha / (2 * m) * np.sum(W0**2)
    np.testing.assert_allclose(clf.loss_curve_[0], expected, rtol=1e-12)


def test_feature_names_in_from_dataframe(iris):
    pd = pytest.importorskip("pandas", reason="pandas is not installed")

    X, y = iris
    columns = ["sepal length", "sepal width", "petal length", "petal width"]
    frame = pd.DataFrame(X, columns=columns)
    clf = BackpropClassifier(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=50, random_state=0)
    clf.fit(frame, y)
    assert list(clf.feature_names_in_) == columns
    assert clf.n_features_in_ == 4
    np.testing.assert_allclose(clf.predict_proba(frame), model_output(clf, X), rtol=1e-10)
    renamed = frame.rename(columns={"petal width": "stalk width"})
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(renamed)


def test_no_hidden_layer_is_multinomial_logistic_regression(iris):
    # Mean cross-entropy + alpha/(2m)||W||^2 has the same minimiser as scikit-learn's
    # sum of log-losses + ||W||^2 / (2C) with C = 1/alpha (intercepts unpenalised in both).
    X, y = iris
    alpha = 10.0
    clf = BackpropClassifier(
        hidden_layer_sizes=(), solver="lbfgs", alpha=alpha, tol=1e-10, max_iter=2000,
        random_state=0,
    ).fit(X, y)
    assert clf.n_layers_ == 2
    assert [W.shape for W in clf.coefs_] == [(4, 3)]
    ref = LogisticRegression(C=1 / alpha, tol=1e-10, max_iter=5000).fit(X, y)
    # L-BFGS-B also stops on a relative decrease of the cost, so the optimum is reached to a
    # few 1e-5; a 10% error in the penalty's scale moves the solution by ~1e-2.
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=5e-4)


def test_no_hidden_layer_binary_is_logistic_regression(binary):
    X, y = binary
    alpha = 10.0
    clf = BackpropClassifier(
        hidden_layer_sizes=(), solver="lbfgs", alpha=alpha, tol=1e-10, max_iter=2000,
        random_state=0,
    ).fit(X, y)
    ref = LogisticRegression(C=1 / alpha, tol=1e-10, max_iter=5000).fit(X, y)
    np.testing.assert_allclose(clf.coefs_[0][:, 0], ref.coef_[0], atol=5e-4)
    np.testing.assert_allclose(clf.intercepts_[0], ref.intercept_, atol=5e-4)


def test_logistic_is_an_alias_of_sigmoid(iris):
    X, y = iris
    params = dict(hidden_layer_sizes=(6,), solver="sgd", max_iter=5, random_state=3)
    a = BackpropClassifier(activation="logistic", **params).fit(X, y)
    b = BackpropClassifier(activation="sigmoid", **params).fit(X, y)
    for Wa, Wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(Wa, Wb)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    # ...and it really is the sigmoid: the hidden layer matches the manual sigmoid forward pass.
    np.testing.assert_allclose(a.predict_proba(X), model_output(a, X), rtol=1e-10)
