"""Shared test helpers.

- ``sklearn_at_least``: a skip marker for what needs a newer scikit-learn.
- ``reference_forward`` (with ``activation``) and ``model_output``: the forward
  pass written from the textbook equations (docs/design.rst, section
  design-model), independently of the library's code.
- ``starting_weights``: explicit starting weights, so that two fits (ours and
  scikit-learn's, or two of ours) can start from the same point.
- ``sklearn_from_start``: hands such weights to scikit-learn's MLP through its
  public API only.
- ``pytest_sessionstart``: loads the compiled kernels (where numba is
  installed) before the first test.

Test modules import them as plain functions (``from conftest import ...``):
``tests/`` has no ``__init__.py``, so pytest puts it on ``sys.path``.
"""

import os

# scikit-learn's array API dispatch (tests/test_array_api.py, the estimator
# checks) needs SciPy's array API mode, which SciPy reads when it is first
# imported: set it before anything imports SciPy.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import warnings

import numpy as np
import pytest
import scipy.special
import scipy.stats
import sklearn
from packaging.version import Version
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.core import kernels
from skbackprop.core.activations import LEAKY_SLOPE
from skbackprop.core.losses import loss_and_output_delta
from skbackprop.core.network import Network

SKLEARN_VERSION = Version(sklearn.__version__)


def pytest_sessionstart(session):
    """With numba installed, load every compiled kernel before the first test.

    A process otherwise starts on the NumPy path and loads numba only once
    its work makes the load pay (``skbackprop.core.kernels.plan``); the tests
    that compare the two paths, and the estimator tests that should run on
    the compiled path where numba is installed, need it loaded from the
    start. ``tests/test_first_fits.py`` checks the decision itself, on a
    state of its own and in fresh processes.
    """
    from skbackprop.training import compiled_epoch

    compiled_epoch.precompile()


def sklearn_at_least(version: str, why: str):
    """A skip marker for tests that need scikit-learn >= ``version`` (``why`` says what for)."""
    return pytest.mark.skipif(
        SKLEARN_VERSION < Version(version),
        reason=f"needs scikit-learn >= {version} ({why}); installed {sklearn.__version__}",
    )


# --------------------------------------------------------------------------- #
# The reference forward pass (docs/design.rst, section design-model)
# --------------------------------------------------------------------------- #
def activation(name, z):
    """``f(z)`` of each activation, from its definition (scikit-learn's names accepted)."""
    if name == "identity":
        return z
    if name in ("sigmoid", "logistic"):
        with np.errstate(over="ignore"):  # exp(-z) = inf far below 0: 1 / inf = 0, exactly
            return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, LEAKY_SLOPE * z)
    if name == "softmax":
        # Shifting a row by a constant does not change its softmax.
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if name == "exp":
        return np.exp(z)
    if name == "elu":
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))
    if name == "softplus":
        return np.logaddexp(0.0, z)
    if name == "silu":
        return z * scipy.special.expit(z)
    if name == "gelu":  # exact: z times the standard normal CDF
        return z * scipy.stats.norm.cdf(z)
    raise AssertionError(f"no reference for activation {name!r}")


def reference_forward(X, coefs, intercepts, hidden, out):
    """``A0 = X``, ``Zl = A(l-1) @ Wl + bl``, ``Al = f_l(Zl)``, in plain numpy.

    ``hidden`` is the activation of the hidden layers, ``out`` that of the
    output layer. Returns ``(pre_activations, output)``: the list
    ``[Z1, ..., ZL]`` and ``AL``.
    """
    if not coefs:
        raise AssertionError("no layers")
    A = np.asarray(X, dtype=np.float64)
    pre_activations = []
    last = len(coefs) - 1
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        Z = A @ W + b
        pre_activations.append(Z)
        A = activation(out if i == last else hidden, Z)
    return pre_activations, A


def model_output(estimator, X):
    """A fitted estimator's output ``AL``, from its public ``coefs_`` / ``intercepts_``."""
    return reference_forward(
        X, estimator.coefs_, estimator.intercepts_, estimator.activation,
        estimator.out_activation_,
    )[1]


# --------------------------------------------------------------------------- #
# Starting weights
# --------------------------------------------------------------------------- #
def starting_weights(layer_units, seed=1):
    """Explicit starting weights for a network of ``layer_units`` (input first).

    Glorot-uniform draws, ``U(-r, r)`` with ``r = sqrt(6 / (fan_in + fan_out))``
    for the weights and the intercepts of each layer in turn. Returns
    ``(coefs, intercepts)``, fresh arrays on every call.
    """
    rng = np.random.default_rng(seed)
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:], strict=True):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rng.uniform(-bound, bound, fan_out))
    return coefs, intercepts


def sklearn_from_start(estimator, X, y, coefs, intercepts, sample_weight=None):
    """Make scikit-learn's MLP ``estimator`` start its next ``fit`` from the given weights.

    Through public attributes only: a first fit of one iteration sets the
    estimator up (label encoding, attribute shapes); then ``coefs_`` and
    ``intercepts_`` are replaced by copies of the given weights, the progress
    records ``t_``, ``loss_curve_`` and ``best_loss_`` are reset as a fresh
    fit has them, and ``warm_start=True`` makes the next ``fit`` continue from
    those weights with a fresh optimizer (learning rate, momentum, Adam's
    moments). Returns ``estimator`` with its other parameters as they were.
    """
    if estimator.early_stopping:
        raise AssertionError("sklearn_from_start does not reset early-stopping records")
    max_iter = estimator.max_iter
    # sample_weight only when given: scikit-learn's MLP accepts it from 1.7 on.
    fit_params = {} if sample_weight is None else {"sample_weight": sample_weight}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.set_params(max_iter=1, warm_start=False).fit(X, y, **fit_params)
    estimator.coefs_ = [np.array(c, dtype=np.float64) for c in coefs]
    estimator.intercepts_ = [np.array(b, dtype=np.float64) for b in intercepts]
    estimator.t_ = 0
    if estimator.solver != "lbfgs":
        estimator.loss_curve_ = []
        # The first epoch of the next fit improves on an infinite best loss, which
        # also clears the no-improvement count the set-up fit left.
        estimator.best_loss_ = np.inf
    return estimator.set_params(max_iter=max_iter, warm_start=True)


# --------------------------------------------------------------------------- #
# Training runs (the training-control tests: schedules, early stopping,
# weights, warm starts, history, interrupts, determinism)
# --------------------------------------------------------------------------- #
#: The estimator of each kind of ``noisy_problem``.
ESTIMATORS = {"classifier": BackpropClassifier, "regressor": BackpropRegressor}


def noisy_problem(kind, n=60, seed=0):
    """Small, slightly noisy problems: 3 classes (``kind='classifier'``) or one real target."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    if kind == "classifier":
        y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
        flip = rng.random(n) < 0.1
        y[flip] = rng.integers(0, 3, flip.sum())
    else:
        y = np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=n)
    return X, y


def fit_quietly(estimator, *args, **kwargs):
    """``estimator.fit(*args, **kwargs)`` without the ConvergenceWarning of short runs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def max_abs_diff(a, b):
    """Largest absolute difference between two lists of arrays."""
    return max(
        float(np.max(np.abs(np.asarray(x) - np.asarray(z)))) for x, z in zip(a, b, strict=True)
    )


def assert_same_weights(a, b, atol=0.0):
    """Two fitted estimators hold the same weights: bit for bit, or to ``atol``."""
    for x, z in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        if atol == 0.0:
            np.testing.assert_array_equal(x, z)
        else:
            np.testing.assert_allclose(x, z, rtol=0, atol=atol)


def require_accelerator():
    """At module level: skip the module without numba, unless CI demands numba.

    With ``SKBACKPROP_TEST_ACCELERATOR=1`` (set by ``.ci/run``) a missing or
    disabled numba fails instead of skipping.
    """
    if os.environ.get("SKBACKPROP_TEST_ACCELERATOR") == "1":
        import numba  # noqa: F401  (CI installs it: fail loudly if it is missing)

        assert kernels.available(), "SKBACKPROP_TEST_ACCELERATOR=1 but the accelerator is disabled"
        return
    pytest.importorskip("numba")
    if not kernels.available():
        pytest.skip("accelerator disabled by SKBACKPROP_ACCELERATOR=0", allow_module_level=True)


def loss_and_grad(X, Y, coefs, intercepts, activation, out_activation, loss, alpha=0.0,
                  sample_weight=None):
    """Cost and freshly allocated gradients of a network given by its weights (tests only)."""
    units = [coefs[0].shape[0]] + [W.shape[1] for W in coefs]
    net = Network(units, activation, out_activation)
    coef_grads = [np.empty_like(W) for W in coefs]
    intercept_grads = [np.empty_like(b) for b in intercepts]
    value = net.loss_and_grad(
        X, Y, coefs, intercepts, coef_grads, intercept_grads, loss, alpha, sample_weight
    )
    return value, coef_grads, intercept_grads


def output_delta(loss, out_activation, Y, A, out, sample_weight=None):
    """Write ``dC/dZ_L`` into ``out`` and return it (the cost computed alongside is dropped)."""
    loss_and_output_delta(loss, out_activation, Y, A, out, sample_weight)
    return out
