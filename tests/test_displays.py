"""skbackprop.inspect.NetworkDisplay and LossCurveDisplay: what they draw.

The checks read the drawn objects back (label texts, line data, image
arrays) and compare them with the values they should show: the trace's
numbers (the worked example's published ones among them), ``loss_curve_``,
``validation_scores_`` and the epoch early stopping kept. Skipped where
matplotlib is not installed (the ``plot`` extra's CI environment fails on
that skip).
"""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib", reason="the displays need matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from test_inspect import WORKED_X, WORKED_Y, worked_example  # noqa: E402

from skbackprop import BackpropClassifier, BackpropRegressor  # noqa: E402
from skbackprop.inspect import LossCurveDisplay, NetworkDisplay, trace  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def numbers(text):
    """The numbers of a label's lines ``name = value``, by name."""
    out = {}
    for line in text.get_text().splitlines():
        key, _, value = line.rpartition(" ")
        out[key.rstrip(" =")] = float(value)
    return out


# --------------------------------------------------------------------------- #
# NetworkDisplay
# --------------------------------------------------------------------------- #
def test_worked_example_shows_the_published_numbers():
    display = NetworkDisplay.from_estimator(
        worked_example(), WORKED_X, WORKED_Y, learning_rate=0.5, show_deltas=True
    )
    assert not display.summary_ and display.axes_ is None
    assert display.ax_ in display.figure_.axes
    w5 = display.labels_["w5"].get_text()
    # w5 = 0.40, dE/dw5 = 0.082167041, new w5 = 0.35891648 (the walk-through's numbers)
    assert w5.splitlines() == ["w5 = 0.4000", "dC/dw = 0.0822", "new 0.3589"]
    published = [0.149780716, 0.19956143, 0.24975114, 0.29950229,
                 0.35891648, 0.408666186, 0.511301270, 0.561370121]
    for i, after in enumerate(published, start=1):
        assert numbers(display.labels_[f"w{i}"])["new"] == pytest.approx(after, abs=5e-5)
    # w1 and w2 feed h1, w3 and w4 feed h2 (the walk-through's numbering).
    assert numbers(display.labels_["w2"])["w2"] == 0.2
    assert numbers(display.labels_["w3"])["w3"] == 0.25
    h1 = numbers(display.labels_["h1"])
    assert (h1["b"], h1["z"], h1["a"]) == (0.35, 0.3775, 0.5933)  # net_h1, out_h1
    o1 = numbers(display.labels_["o1"])
    assert (o1["a"], o1["δ"]) == (0.7514, 0.1385)  # out_o1, delta_o1
    assert numbers(display.labels_["i2"])["x"] == 0.1
    assert "0.298371" in display.ax_.get_title()
    # Every connection from its unit to its unit, wider for larger weights.
    x, y = display.edges_["w6"].get_data()  # h2 (bottom of the hidden layer) -> o1 (top)
    assert list(x) == [1, 2] and y[0] < y[1]
    widths = [display.edges_[f"w{i}"].get_linewidth() for i in range(1, 9)]
    assert widths == sorted(widths)  # w1 < w2 < ... < w8


def test_without_a_learning_rate_no_new_weights_and_no_deltas_by_default():
    display = NetworkDisplay.from_estimator(worked_example(), WORKED_X, WORKED_Y)
    texts = " ".join(t.get_text() for t in display.labels_.values())
    assert "new" not in texts and "0.3589" not in texts and "δ" not in texts
    assert "dC/dw = 0.0822" in texts


def test_colours_follow_the_signs_and_values_follow_the_sample():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4, 2)), rng.normal(size=4)
    net = BackpropRegressor(hidden_layer_sizes=(3,), activation="tanh", random_state=1)
    result = trace(net, X, y)
    display = NetworkDisplay.from_estimator(net, X, y, sample=2, show_deltas=True)
    names = [f"w{n}" for n in range(1, 10)]
    weights = [result.coefs[0][j, k] for k in range(3) for j in range(2)]
    weights += [result.coefs[1][j, 0] for j in range(3)]
    for name, w in zip(names, weights, strict=True):
        expected = "tab:red" if w < 0 else "tab:blue"
        assert matplotlib.colors.same_color(display.edges_[name].get_color(), expected)
        assert numbers(display.labels_[name])[name] == pytest.approx(w, abs=5e-5)
    for unit in range(3):
        shown = numbers(display.labels_[f"h{unit + 1}"])
        assert shown["z"] == pytest.approx(result.z[0][2, unit], abs=5e-5)
        assert shown["a"] == pytest.approx(result.activations[0][2, unit], abs=5e-5)
        assert shown["δ"] == pytest.approx(result.deltas[0][2, unit], abs=5e-5)
    assert numbers(display.labels_["i1"])["x"] == pytest.approx(X[2, 0], abs=5e-5)
    assert "sample 2" in display.ax_.get_title()
    with pytest.raises(ValueError, match="sample must index"):
        display.plot(sample=4)


def test_pipeline_draws_its_last_step_on_the_transformed_batch():
    rng = np.random.default_rng(1)
    X, y = rng.normal(5, 3, size=(30, 2)), rng.integers(0, 2, 30)
    pipe = make_pipeline(
        StandardScaler(), BackpropClassifier(hidden_layer_sizes=(2,), max_iter=3, random_state=0)
    )
    with pytest.warns(Warning):
        pipe.fit(X, y)
    display = NetworkDisplay.from_estimator(pipe, X[:3], y[:3])
    expected = trace(pipe[-1], pipe[:-1].transform(X[:3]), y[:3])
    assert display.trace.loss == pytest.approx(expected.loss, rel=1e-12)
    shown = numbers(display.labels_["i1"])["x"]
    assert shown == pytest.approx(pipe[:-1].transform(X[:1])[0, 0], abs=5e-5)


def test_dense_layers_keep_unit_labels_and_drop_crowded_edge_labels():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    net = BackpropRegressor(hidden_layer_sizes=(4, 3), random_state=0)
    display = NetworkDisplay.from_estimator(net, X, y)
    assert len(display.edges_) == 3 * 4 + 4 * 3 + 3
    assert set(display.labels_) >= {"i1", "h1.1", "h2.3", "o1", "w25", "w27"}
    assert "w1" not in display.labels_  # 12 connections between input and hidden 1
    everything = NetworkDisplay.from_estimator(net, X, y, edge_labels=True)
    assert "w1" in everything.labels_
    assert "w25" not in NetworkDisplay.from_estimator(net, X, y, edge_labels=False).labels_


def test_large_networks_are_summarised_as_heatmaps():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(6, 20)), rng.integers(0, 3, 6)
    net = BackpropClassifier(hidden_layer_sizes=(5,), random_state=0)
    result = trace(net, X, y)
    fig, ax = plt.subplots()
    display = NetworkDisplay.from_estimator(net, X, y, learning_rate=0.1, ax=ax, cmap="PiYG")
    assert display.summary_ and display.ax_ is ax and display.labels_ == {}
    assert display.axes_.shape == (3, 2)
    for layer in range(2):
        weights, grads, after = (im.get_array() for im in display.images_[:, layer])
        np.testing.assert_array_equal(weights[:-1], result.coefs[layer])
        np.testing.assert_array_equal(weights[-1], result.intercepts[layer])
        np.testing.assert_array_equal(grads[:-1], result.coef_grads[layer])
        np.testing.assert_array_equal(
            after[:-1], result.coefs[layer] - 0.1 * result.coef_grads[layer]
        )
        assert display.images_[0, layer].get_cmap().name == "PiYG"
    assert NetworkDisplay.from_estimator(net, X, y).axes_.shape == (2, 2)
    placed = plt.figure().add_axes((0.1, 0.1, 0.8, 0.8))  # axes of no grid
    assert NetworkDisplay.from_estimator(net, X, y, ax=placed).axes_.shape == (2, 2)
    assert not NetworkDisplay.from_estimator(net, X, y, max_units=20).summary_


def test_plot_from_a_trace_and_bad_arguments():
    result = trace(worked_example(), WORKED_X, WORKED_Y)
    display = NetworkDisplay(result).plot(values_format=".2f")
    assert display.labels_["w5"].get_text().startswith("w5 = 0.40")
    assert display.labels_["i1"].get_text() == ""  # no batch given: no input values
    with pytest.raises(ValueError, match="learning_rate"):
        display.plot(learning_rate=-1)
    with pytest.raises(ValueError, match="edge_labels"):
        display.plot(edge_labels="some")


# --------------------------------------------------------------------------- #
# LossCurveDisplay
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


def check_loss_line(display, model):
    x, y = display.line_.get_data()
    np.testing.assert_array_equal(y, model.loss_curve_)
    np.testing.assert_array_equal(x, np.arange(1, len(model.loss_curve_) + 1))


@pytest.mark.parametrize("model_class", [BackpropClassifier, MLPClassifier])
def test_early_stopping_curves_and_the_kept_epoch(digits, model_class):
    X, y = digits
    model = model_class(hidden_layer_sizes=(32,), early_stopping=True, n_iter_no_change=4,
                        learning_rate_init=0.01, max_iter=200, random_state=0).fit(X, y)
    display = LossCurveDisplay.from_estimator(model)
    check_loss_line(display, model)
    assert display.ax_validation_ is not None and display.ax_validation_ is not display.ax_
    assert display.validation_line_.axes is display.ax_validation_
    x, scores = display.validation_line_.get_data()
    np.testing.assert_array_equal(scores, model.validation_scores_)
    np.testing.assert_array_equal(x, np.arange(1, len(model.loss_curve_) + 1))
    best = int(np.argmax(model.validation_scores_)) + 1
    assert model.validation_scores_[best - 1] == model.best_validation_score_
    assert best < len(model.loss_curve_)  # it stopped after the best epoch
    assert list(display.best_epoch_line_.get_xdata()) == [best, best]
    assert display.best_epoch == best
    assert display.ax_validation_.get_ylabel() == "validation accuracy"


def test_validation_without_early_stopping_marks_no_epoch(digits):
    X, y = digits
    model = BackpropClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    with pytest.warns(Warning):
        model.fit(X[:400], y[:400], X_val=X[400:], y_val=y[400:])
    display = LossCurveDisplay.from_estimator(model, color="black", yscale="log")
    np.testing.assert_array_equal(display.validation_line_.get_ydata(), model.validation_scores_)
    assert display.best_epoch_line_ is None
    assert display.line_.get_color() == "black" and display.ax_.get_yscale() == "log"


def test_partial_fit_loops_lbfgs_pipelines_and_regressors(digits):
    X, y = digits
    model = BackpropClassifier(hidden_layer_sizes=(8,), random_state=0)
    for _ in range(4):
        model.partial_fit(X, y, classes=np.arange(10))
    check_loss_line(LossCurveDisplay.from_estimator(model), model)
    assert len(model.loss_curve_) == 4

    lbfgs = BackpropRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=30, random_state=0)
    pipe = make_pipeline(StandardScaler(), lbfgs)
    with pytest.warns(Warning):
        pipe.fit(X, y.astype(float))
    fig, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(pipe, ax=ax)
    check_loss_line(display, lbfgs)
    assert display.ax_ is ax and display.figure_ is fig
    assert display.ax_validation_ is None and display.validation_line_ is None
    assert display.ax_.get_xlabel() == "iteration"
    assert "BackpropRegressor" in ax.get_title()

    sk = MLPRegressor(hidden_layer_sizes=(8,), early_stopping=True, max_iter=30, random_state=0)
    with pytest.warns(Warning):
        sk.fit(X, y.astype(float))
    display = LossCurveDisplay.from_estimator(sk)
    check_loss_line(display, sk)
    assert display.ax_validation_.get_ylabel() == "validation R²"


def test_an_unfitted_estimator_is_refused():
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(BackpropClassifier())


def test_plot_from_curves():
    display = LossCurveDisplay(loss_curve=[3.0, 2.0, 1.5], validation_scores=[0.5, 0.7],
                               best_epoch=3).plot(name="mine")
    np.testing.assert_array_equal(display.validation_line_.get_xdata(), [2, 3])
    assert display.ax_.get_title() == "Loss curve of mine"
