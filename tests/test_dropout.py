"""Dropout: the thinned network's gradient, the training step, and dropout=0 changing nothing.

Oracles:

- with a fixed mask, the gradient equals central finite differences of the
  cost of the masked network, computed by a reference forward pass written
  here from the definition (``A_l = f(Z_l) * M_l`` for the hidden layers);
- a mask of ones is no dropout: every cost and gradient bit for bit;
- one plain SGD step of ``fit`` is the starting weights minus the learning
  rate times that reference gradient, with the masks the step drew;
- ``dropout=0`` (a float or a list of zeros) fits bit for bit as the default;
- predictions use the whole network: equal to the reference forward pass of
  ``coefs_`` without masks.
"""

import pickle
import warnings

import numpy as np
import pytest
from conftest import activation, model_output, starting_weights
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from test_gradients import cost_of_output, make_problem, numerical_gradient, relative_error

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.core import network as network_module
from skbackprop.core.activations import HIDDEN_ACTIVATIONS
from skbackprop.core.network import DropoutMasks, Network

PAIRS = [
    ("identity", "squared_error"), ("sigmoid", "squared_error"), ("softmax", "cross_entropy"),
    ("sigmoid", "cross_entropy"), ("exp", "poisson"),
]


def masked_forward(X, coefs, intercepts, hidden, out, masks):
    """``Z_l = A_(l-1) W_l + b_l``, ``A_l = f(Z_l) * M_l`` (hidden layers with a mask)."""
    A = X
    last = len(coefs) - 1
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        A = activation(out if i == last else hidden, A @ W + b)
        if i < last and masks[i] is not None:
            A = A * masks[i]
    return A


def random_masks(rng, m, units, rates):
    return [
        None if rate == 0 else (rng.uniform(size=(m, u)) >= rate) / (1.0 - rate)
        for u, rate in zip(units, rates, strict=True)
    ]


def core_gradient(X, Y, coefs, intercepts, hidden, out, loss, alpha, sw, masks):
    units = [X.shape[1], *(W.shape[1] for W in coefs)]
    net = Network(units, hidden, out)
    coef_grads = [np.empty_like(W) for W in coefs]
    intercept_grads = [np.empty_like(b) for b in intercepts]
    value = net.loss_and_grad(
        X, Y, coefs, intercepts, coef_grads, intercept_grads, loss, alpha, sw,
        dropout=None if masks is None else DropoutMasks(masks),
    )
    return value, coef_grads, intercept_grads


# --------------------------------------------------------------------------- #
# The numerical core with a fixed mask
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("out, loss", PAIRS)
@pytest.mark.parametrize("rates", [(0.5, 0.3), (0.0, 0.6)], ids=["both", "second"])
def test_gradient_with_a_fixed_mask_against_finite_differences(hidden, out, loss, rates):
    X, Y, coefs, intercepts, sw = make_problem(11, hidden, out, loss)
    masks = random_masks(np.random.default_rng(1), X.shape[0], (4, 3), rates)
    value, coef_grads, intercept_grads = core_gradient(
        X, Y, coefs, intercepts, hidden, out, loss, 0.2, sw, masks
    )

    def cost():
        P = masked_forward(X, coefs, intercepts, hidden, out, masks)
        return cost_of_output(P, Y, coefs, out, loss, 0.2, sw)

    assert value == pytest.approx(cost(), rel=1e-12)
    numeric = numerical_gradient(cost, list(coefs) + list(intercepts))
    for got, expected in zip(coef_grads + intercept_grads, numeric, strict=True):
        assert relative_error(got, expected) < 1e-6


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
def test_a_mask_of_ones_is_no_dropout_bit_for_bit(hidden):
    X, Y, coefs, intercepts, sw = make_problem(12, hidden, "softmax", "cross_entropy")
    ones = [np.ones((X.shape[0], 4)), np.ones((X.shape[0], 3))]
    plain = core_gradient(X, Y, coefs, intercepts, hidden, "softmax", "cross_entropy", 0.1, sw, None)
    masked = core_gradient(X, Y, coefs, intercepts, hidden, "softmax", "cross_entropy", 0.1, sw, ones)
    assert plain[0] == masked[0]
    for a, b in zip(plain[1] + plain[2], masked[1] + masked[2], strict=True):
        np.testing.assert_array_equal(a, b)


def test_blocks_of_a_large_batch_take_their_rows_of_the_mask(monkeypatch):
    X, Y, coefs, intercepts, sw = make_problem(13, "tanh", "identity", "squared_error", m=10)
    masks = random_masks(np.random.default_rng(2), 10, (4, 3), (0.5, 0.5))
    whole = core_gradient(X, Y, coefs, intercepts, "tanh", "identity", "squared_error", 0.0, sw, masks)
    monkeypatch.setattr(network_module, "CHUNK_ROWS", 3)  # blocks of 3 rows
    blocks = core_gradient(X, Y, coefs, intercepts, "tanh", "identity", "squared_error", 0.0, sw, masks)
    assert blocks[0] == pytest.approx(whole[0], rel=1e-13)
    for a, b in zip(blocks[1] + blocks[2], whole[1] + whole[2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_drawn_masks_keep_each_unit_with_probability_one_minus_rate():
    like = np.zeros(1)
    masks = DropoutMasks.draw([0.3, 0.0, 0.8], 4000, [50, 7, 50], np.random.default_rng(0), like)
    first, second, third = masks.masks
    assert second is None
    assert set(np.unique(first)) == {0.0, 1 / (1 - 0.3)}
    assert set(np.unique(third)) == {0.0, 1 / (1 - 0.8)}
    # 200,000 draws each: the kept fraction within 5 standard deviations.
    for mask, rate in ((first, 0.3), (third, 0.8)):
        kept = np.mean(mask > 0)
        assert abs(kept - (1 - rate)) < 5 * np.sqrt(rate * (1 - rate) / mask.size)
        # the mean mask is 1: the layer's expected output is unchanged
        assert abs(mask.mean() - 1.0) < 5 * mask.std() / np.sqrt(mask.size)
    f32 = DropoutMasks.draw([0.5], 3, [2], np.random.default_rng(0), np.zeros(1, np.float32))
    assert f32.masks[0].dtype == np.float32


# --------------------------------------------------------------------------- #
# The estimators
# --------------------------------------------------------------------------- #
def digits_like(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)
    return X, y


def fitted(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kwargs)


def assert_same_weights(a, b):
    for W, V in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(W, V)
    assert a.loss_curve_ == b.loss_curve_


@pytest.mark.parametrize("zero", [0, 0.0, [0.0, 0.0], (0, 0)])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("est_class", [BackpropClassifier, BackpropRegressor])
def test_dropout_zero_is_bit_identical_to_the_default(est_class, solver, zero):
    X, y = digits_like()
    settings = dict(hidden_layer_sizes=(8, 5), solver=solver, max_iter=5, random_state=3,
                    batch_size=32)
    default = fitted(est_class(**settings), X, y)
    with_zero = fitted(est_class(dropout=zero, **settings), X, y)
    assert_same_weights(default, with_zero)
    np.testing.assert_array_equal(default.predict(X), with_zero.predict(X))


@pytest.fixture
def drawn(monkeypatch):
    """The masks training draws, batch by batch (copies of ``DropoutMasks.masks``)."""
    record = []
    original = DropoutMasks.draw.__func__

    def recording(cls, *args):
        masks = original(cls, *args)
        record.append([None if M is None else M.copy() for M in masks.masks])
        return masks

    monkeypatch.setattr(DropoutMasks, "draw", classmethod(recording))
    return record


def test_one_sgd_step_is_the_reference_gradient_of_the_masks_drawn(drawn):
    X, y = digits_like(n=20)
    coefs, intercepts = starting_weights([6, 7, 4, 3])
    est = BackpropClassifier(
        hidden_layer_sizes=(7, 4), activation="sigmoid", solver="sgd", momentum=0.0,
        learning_rate_init=0.3, batch_size=20, shuffle=False, alpha=0.01, max_iter=1,
        dropout=[0.5, 0.25], random_state=0, coefs_init=coefs, intercepts_init=intercepts,
    )
    fitted(est, X, y)
    assert len(drawn) == 1
    masks = drawn[0]
    assert masks[0].shape == (20, 7) and masks[1].shape == (20, 4)
    Y = np.eye(3)[y]

    def cost():
        P = masked_forward(X, coefs, intercepts, "sigmoid", "softmax", masks)
        return cost_of_output(P, Y, coefs, "softmax", "cross_entropy", 0.01)

    assert est.loss_curve_[0] == pytest.approx(cost(), rel=1e-12)
    numeric = numerical_gradient(cost, coefs + intercepts)
    for after, before, grad in zip(est.coefs_ + est.intercepts_, coefs + intercepts, numeric,
                                   strict=True):
        np.testing.assert_allclose(after, before - 0.3 * grad, rtol=1e-7, atol=1e-9)


def test_each_batch_and_each_sample_gets_its_own_mask(drawn):
    X, y = digits_like(n=40)
    fitted(BackpropClassifier(hidden_layer_sizes=(30,), dropout=0.5, batch_size=10, max_iter=2,
                              random_state=0), X, y)
    masks = [layers[0] for layers in drawn]  # the one hidden layer's
    assert len(masks) == 8  # 4 batches x 2 epochs
    assert all(mask.shape == (10, 30) for mask in masks)
    assert not np.array_equal(masks[0], masks[1])
    assert not np.array_equal(masks[0][0], masks[0][1])


def test_fits_are_reproducible_and_predictions_deterministic():
    X, y = digits_like()
    est = BackpropClassifier(hidden_layer_sizes=(16, 8), dropout=0.4, max_iter=10, random_state=7)
    first, second = fitted(clone(est), X, y), fitted(clone(est), X, y)
    assert_same_weights(first, second)
    other = fitted(clone(est).set_params(random_state=8), X, y)
    assert not np.array_equal(first.coefs_[0], other.coefs_[0])
    without = fitted(clone(est).set_params(dropout=0.0), X, y)
    assert not np.array_equal(first.coefs_[0], without.coefs_[0])
    # The whole network, no masks, every time.
    np.testing.assert_array_equal(first.predict_proba(X), first.predict_proba(X))
    np.testing.assert_allclose(first.predict_proba(X), model_output(first, X), rtol=1e-12)


def test_validation_scores_use_the_whole_network():
    X, y = digits_like(n=200)
    est = BackpropClassifier(hidden_layer_sizes=(16,), dropout=0.5, max_iter=6, random_state=0)
    fitted(est, X[:150], y[:150], X_val=X[150:], y_val=y[150:])
    assert est.validation_scores_[-1] == est.score(X[150:], y[150:])


def test_partial_fit_and_pickle_continue_the_same_masks():
    X, y = digits_like()
    est = BackpropRegressor(hidden_layer_sizes=(10,), dropout=0.3, random_state=0)
    est.partial_fit(X, y.astype(float))
    copy_ = pickle.loads(pickle.dumps(est))
    est.partial_fit(X, y.astype(float))
    copy_.partial_fit(X, y.astype(float))
    assert_same_weights(est, copy_)


def test_dropout_regularises_a_large_network():
    """On noisy labels a wide network memorises the training set; dropout holds it back."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 10))
    y = (X[:, 0] > 0).astype(int)
    y[rng.uniform(size=150) < 0.3] ^= 1  # 30% of the labels flipped
    settings = dict(hidden_layer_sizes=(128, 128), max_iter=150, learning_rate_init=0.01,
                    alpha=0.0, random_state=0)
    plain = fitted(BackpropClassifier(**settings), X, y)
    dropped = fitted(BackpropClassifier(dropout=0.5, **settings), X, y)
    assert plain.score(X, y) > dropped.score(X, y)
    assert plain.loss_ < dropped.loss_


# --------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "value, error, match",
    [
        (1.0, ValueError, r"\[0, 1\)"),
        (-0.1, ValueError, r"\[0, 1\)"),
        (np.nan, ValueError, r"\[0, 1\)"),
        ("0.5", TypeError, "dropout"),
        ([0.2, 1.5], ValueError, r"\[0, 1\)"),
        ([0.2], ValueError, "1 rate.*2 hidden layer"),
        ([0.2, 0.2, 0.2], ValueError, "3 rate.*2 hidden layer"),
        ({"a": 0.1}, TypeError, "dropout"),
    ],
)
def test_invalid_rates_are_refused_and_change_nothing(value, error, match):
    X, y = digits_like()
    est = fitted(BackpropClassifier(hidden_layer_sizes=(4, 3), max_iter=2, random_state=0), X, y)
    before = pickle.dumps(est)
    est.set_params(dropout=value, warm_start=True)
    with pytest.raises(error, match=match):
        est.fit(X, y)
    est.set_params(dropout=0.0, warm_start=False)
    assert pickle.dumps(est) == before


def test_lbfgs_with_dropout_is_a_clear_error():
    X, y = digits_like()
    est = BackpropClassifier(hidden_layer_sizes=(4,), solver="lbfgs", dropout=0.5)
    with pytest.raises(ValueError, match="solver='lbfgs'.*Use solver='adam' or 'sgd'"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")
    fitted(est.set_params(dropout=0.0, max_iter=5), X, y)  # fine without it
