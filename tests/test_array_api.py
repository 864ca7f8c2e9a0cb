"""Arrays of other libraries under scikit-learn's array API dispatch.

The oracle is the NumPy path: the same estimator fitted on the same data as
NumPy arrays, from the same starting weights (drawn by NumPy's generator on
the host in both cases) and with the same batch order (shuffled on the host),
must end with the same weights and give the same outputs: float64 within
1e-10, float32 within 1e-5. array-api-strict (always installed with the test
extra, on its CPU device and on its second device) stands for any library
that follows the standard to the letter; PyTorch on the CPU runs where it is
installed.
"""

import importlib.util
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy
import sklearn
from conftest import fit_quietly, sklearn_at_least
from packaging.version import Version
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import check_array_api_input

from skbackprop import BackpropClassifier, BackpropRegressor, DivergenceError
from skbackprop.core.ops import NUMPY, ops_of

if Version(scipy.__version__) < Version("1.14"):
    pytest.skip(
        f"scikit-learn's array API dispatch needs SciPy >= 1.14; installed {scipy.__version__}",
        allow_module_level=True,
    )
xps = pytest.importorskip(
    "array_api_strict", reason="array-api-strict is not installed (pip install '.[test]')"
)
pytest.importorskip("array_api_compat", reason="array-api-compat is not installed")

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")

#: (library, device) pairs every test runs on.
PLACES = [
    pytest.param("array_api_strict", "CPU_DEVICE", id="strict-cpu"),
    pytest.param("array_api_strict", "device1", id="strict-device1"),
    pytest.param("torch", "cpu", id="torch-cpu", marks=needs_torch),
]

TOLERANCE = {"float64": 1e-10, "float32": 1e-5}


def library(name):
    if name == "torch":
        import torch

        return torch
    return xps


def device_of(name, device):
    return xps.Device(device) if name == "array_api_strict" else device


def move(array, name, device, dtype=None):
    """A NumPy array as an array of library ``name`` on ``device``."""
    xp = library(name)
    array = np.ascontiguousarray(array)
    if dtype is not None:
        array = array.astype(dtype)
    return xp.asarray(array, device=device_of(name, device))


def host(array):
    """Any array as NumPy."""
    return ops_of(array).to_host(array)


def dispatch():
    return sklearn.config_context(array_api_dispatch=True)


def assert_close(ours, reference, dtype, what=""):
    np.testing.assert_allclose(
        host(ours), reference, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype], err_msg=what
    )


def assert_same_fit(device_model, numpy_model, dtype):
    for i, (W, W_ref) in enumerate(zip(device_model.coefs_, numpy_model.coefs_, strict=True)):
        assert_close(W, W_ref, dtype, f"coefs_[{i}]")
    for i, (b, b_ref) in enumerate(
        zip(device_model.intercepts_, numpy_model.intercepts_, strict=True)
    ):
        assert_close(b, b_ref, dtype, f"intercepts_[{i}]")
    assert device_model.n_iter_ == numpy_model.n_iter_
    np.testing.assert_allclose(
        device_model.loss_curve_, numpy_model.loss_curve_, rtol=TOLERANCE[dtype]
    )


def fit_both(estimator, X, y, name, device):
    """``estimator`` fitted on NumPy arrays and on ``name`` arrays on ``device``; same fit.

    Returns the device fit, the NumPy fit and ``X`` on the device.
    """
    estimator.set_params(random_state=0)
    reference = fit_quietly(clone(estimator), X, y)
    X_dev = move(X, name, device)
    with dispatch():
        model = fit_quietly(clone(estimator), X_dev, move(y, name, device))
    assert_same_fit(model, reference, str(X.dtype))
    return model, reference, X_dev


def classification(n_classes=3, n=90, seed=0):
    X, y = make_classification(
        n_samples=n, n_features=6, n_informative=4, n_classes=n_classes, random_state=seed
    )
    return X, y


CLASSIFIERS = {
    "adam-softmax": dict(hidden_layer_sizes=(7,), max_iter=6),
    "sgd-nesterov-tanh": dict(
        hidden_layer_sizes=(7, 5), activation="tanh", solver="sgd", learning_rate_init=0.1,
        max_iter=6,
    ),
    "sgd-momentum-invscaling-leaky": dict(
        hidden_layer_sizes=(6,), activation="leaky_relu", solver="sgd", nesterovs_momentum=False,
        learning_rate="invscaling", learning_rate_init=0.2, max_iter=5,
    ),
    "classic-sigmoid-squared": dict(
        hidden_layer_sizes=(6,), activation="sigmoid", output_activation="sigmoid",
        loss="squared_error", solver="sgd", momentum=0.0, learning_rate_init=0.5,
        batch_size=10, max_iter=5,
    ),
    "softmax-squared-identity": dict(
        hidden_layer_sizes=(5,), activation="identity", loss="squared_error", alpha=0.01,
        max_iter=5,
    ),
    "lbfgs": dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=15),
    "early-stopping": dict(
        hidden_layer_sizes=(8,), early_stopping=True, max_iter=8, n_iter_no_change=2,
    ),
    "no-shuffle-small-batch": dict(
        hidden_layer_sizes=(5,), shuffle=False, batch_size=16, max_iter=4
    ),
    # The masks are drawn on the host and moved: the NumPy fit's masks.
    "dropout": dict(hidden_layer_sizes=(6, 5), dropout=[0.3, 0.1], batch_size=16, max_iter=4),
}


@pytest.mark.parametrize("config", list(CLASSIFIERS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, device", PLACES)
def test_classifier_equals_numpy(name, device, dtype, config):
    X, y = classification()
    X = X.astype(dtype)
    model, reference, X_dev = fit_both(BackpropClassifier(**CLASSIFIERS[config]), X, y, name, device)
    with dispatch():
        assert_close(model.predict_proba(X_dev), reference.predict_proba(X), dtype)
        # Compared through exp: the logarithm of a probability near 0 magnifies
        # float32 rounding (each library's own matrix products) without bound.
        log_proba = host(model.predict_log_proba(X_dev))
        assert_close(np.exp(log_proba), np.exp(reference.predict_log_proba(X)), dtype)
        np.testing.assert_array_equal(host(model.predict(X_dev)), reference.predict(X))
        assert model.score(X_dev, move(y, name, device)) == pytest.approx(reference.score(X, y))
    assert isinstance(model.classes_, np.ndarray)
    if config == "early-stopping":
        np.testing.assert_allclose(
            model.validation_scores_, reference.validation_scores_, rtol=TOLERANCE[dtype]
        )


REGRESSORS = {
    "adam-identity": dict(hidden_layer_sizes=(7,), max_iter=6),
    "sgd-relu-two-outputs": dict(
        hidden_layer_sizes=(6, 4), solver="sgd", learning_rate_init=0.01, max_iter=6
    ),
    "poisson": dict(hidden_layer_sizes=(5,), loss="poisson", max_iter=6),
    "tanh-output": dict(hidden_layer_sizes=(5,), output_activation="tanh", max_iter=6),
    "sigmoid-cross-entropy": dict(hidden_layer_sizes=(5,), loss="cross_entropy", max_iter=6),
    "lbfgs-alpha": dict(hidden_layer_sizes=(6,), solver="lbfgs", alpha=0.1, max_iter=15),
}


def regression(config, n=80):
    X, y = make_regression(n_samples=n, n_features=5, n_targets=2, noise=1.0, random_state=0)
    if config != "sgd-relu-two-outputs":
        y = y[:, 0]
    y = y / np.abs(y).max()
    if config == "poisson":
        y = np.exp(y)
    elif config == "sigmoid-cross-entropy":
        y = (y + 1) / 2
    return X, y


@pytest.mark.parametrize("config", list(REGRESSORS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, device", PLACES)
def test_regressor_equals_numpy(name, device, dtype, config):
    X, y = regression(config)
    X = X.astype(dtype)
    model, reference, X_dev = fit_both(BackpropRegressor(**REGRESSORS[config]), X, y, name, device)
    with dispatch():
        prediction = model.predict(X_dev)
        assert ops_of(prediction) is ops_of(X_dev)
        assert_close(prediction, reference.predict(X), dtype)
        assert model.score(X_dev, move(y, name, device)) == pytest.approx(
            reference.score(X, y), rel=1e-6
        )


@pytest.mark.parametrize("name, device", PLACES)
def test_sample_weight_and_class_weight_follow_x(name, device):
    X, y = classification()
    weights = np.random.default_rng(0).uniform(0, 2, size=X.shape[0])
    weights[:12] = 0.0  # whole batches of zero weight are skipped on both paths
    params = dict(hidden_layer_sizes=(6,), batch_size=6, class_weight={0: 2.0}, max_iter=4,
                  random_state=0)
    reference = fit_quietly(BackpropClassifier(**params), X, y, sample_weight=weights)
    with dispatch():
        model = fit_quietly(
            BackpropClassifier(**params), move(X, name, device), move(y, name, device),
            sample_weight=move(weights, name, device),
        )
    assert_same_fit(model, reference, "float64")


@pytest.mark.parametrize("name, device", PLACES)
def test_partial_fit_and_warm_start_follow_x(name, device):
    X, y = classification(n_classes=2)
    params = dict(hidden_layer_sizes=(5,), solver="sgd", learning_rate_init=0.1, random_state=0)
    reference = BackpropClassifier(**params)
    model = BackpropClassifier(**params)
    X_dev, y_dev = move(X, name, device), move(y, name, device)
    for _ in range(3):
        reference.partial_fit(X, y, classes=[0, 1])
        with dispatch():  # classes in X's library too
            model.partial_fit(X_dev, y_dev, classes=move(np.array([0, 1]), name, device))
    assert_same_fit(model, reference, "float64")
    warm = dict(params, warm_start=True, max_iter=3)
    reference = fit_quietly(fit_quietly(BackpropClassifier(**warm), X, y), X, y)
    with dispatch():
        model = fit_quietly(fit_quietly(BackpropClassifier(**warm), X_dev, y_dev), X_dev, y_dev)
    assert_same_fit(model, reference, "float64")


@pytest.mark.parametrize("name, device", PLACES)
def test_explicit_validation_set_and_starting_weights(name, device):
    X, y = classification()
    X_val, y_val = classification(seed=1)
    start = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=3)
    start = fit_quietly(start, X, y)
    params = dict(
        hidden_layer_sizes=(4,), max_iter=5, random_state=0,
        coefs_init=start.coefs_, intercepts_init=start.intercepts_,
    )
    reference = fit_quietly(BackpropClassifier(**params), X, y, X_val=X_val, y_val=y_val)
    with dispatch():
        model = fit_quietly(
            BackpropClassifier(**params), move(X, name, device), move(y, name, device),
            X_val=move(X_val, name, device), y_val=move(y_val, name, device),
        )
    assert_same_fit(model, reference, "float64")
    np.testing.assert_allclose(model.validation_scores_, reference.validation_scores_)


@pytest.mark.parametrize("name, device", PLACES)
def test_fitted_state_lives_with_x(name, device):
    X, y = classification()
    with dispatch():
        X_dev = move(X, name, device, "float32")
        model = fit_quietly(BackpropClassifier(hidden_layer_sizes=(5,), max_iter=2), X_dev, y)
        expected = ops_of(X_dev)
        import array_api_compat

        for array in [*model.coefs_, *model.intercepts_, model.predict_proba(X_dev)]:
            assert ops_of(array) is expected
            assert array_api_compat.device(array) == array_api_compat.device(X_dev)
            assert array.dtype == X_dev.dtype
        for array in (model._optimizer._m, model._optimizer._v):
            assert array_api_compat.device(array) == array_api_compat.device(X_dev)
        assert isinstance(model.classes_, np.ndarray)


@pytest.mark.parametrize("name, device", PLACES)
def test_trace_of_a_model_fitted_on_another_library(name, device):
    from skbackprop.inspect import check_gradients, trace

    X, y = classification()
    model, reference, X_dev = fit_both(
        BackpropClassifier(hidden_layer_sizes=(5,), max_iter=3), X, y, name, device
    )
    with dispatch():
        ours = trace(model, X_dev[:4, ...], move(y[:4], name, device))
        assert check_gradients(model, X_dev[:4, ...], move(y[:4], name, device)).max_error < 1e-7
    expected = trace(reference, X[:4], y[:4])
    for a, b in zip(ours.deltas + ours.coef_grads, expected.deltas + expected.coef_grads,
                    strict=True):
        assert isinstance(a, np.ndarray)
        assert_close(a, b, "float64")


@needs_torch
def test_string_labels_come_back_as_numpy():
    import torch

    X, y = classification()
    labels = np.array(["ant", "bee", "cat"])[y]
    with dispatch():
        model = fit_quietly(
            BackpropClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0),
            torch.asarray(X), labels,
        )
        predicted = model.predict(torch.asarray(X))
    assert isinstance(predicted, np.ndarray) and set(predicted) <= set(labels)


@pytest.mark.parametrize("name, device", PLACES)
def test_predicting_with_another_library_raises(name, device):
    X, y = classification()
    with dispatch():
        model = fit_quietly(
            BackpropClassifier(hidden_layer_sizes=(4,), max_iter=2), move(X, name, device), y
        )
        for method in ("predict", "predict_proba", "predict_log_proba"):
            with pytest.raises(ValueError, match=rf"BackpropClassifier\.{method}\(\) must use"):
                getattr(model, method)(X)
    numpy_model = fit_quietly(BackpropRegressor(hidden_layer_sizes=(4,), max_iter=2), X, y)
    with dispatch(), pytest.raises(ValueError, match=r"BackpropRegressor\.predict\(\) must use"):
        numpy_model.predict(move(X, name, device))


def test_dataframes_and_lists_under_dispatch_take_the_numpy_path():
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    X, y = classification()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    with dispatch():
        model = fit_quietly(
            BackpropClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
            frame, pd.Series(y),
        )
        assert all(isinstance(W, np.ndarray) for W in model.coefs_)
        assert isinstance(model.predict(frame), np.ndarray)
        with pytest.warns(UserWarning, match="feature names"):  # scikit-learn's, as usual
            assert isinstance(model.predict(X.tolist()), np.ndarray)
        assert 0 <= model.score(frame, list(y)) <= 1


@needs_torch
def test_without_dispatch_behaviour_is_numpys():
    import torch

    X, y = classification()
    model = fit_quietly(
        BackpropClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
        torch.asarray(X), torch.asarray(y),
    )
    assert all(isinstance(W, np.ndarray) for W in model.coefs_)
    assert isinstance(model.predict(torch.asarray(X)), np.ndarray)


@pytest.mark.parametrize("name, device", PLACES)
def test_divergence_on_a_device_is_an_error_and_changes_nothing(name, device):
    X, y = classification()
    X = X * 1e3
    model = BackpropRegressor(
        hidden_layer_sizes=(5,), solver="sgd", learning_rate_init=10.0, max_iter=20,
        random_state=0,
    )
    with dispatch(), pytest.raises(DivergenceError, match="diverged"):
        model.fit(move(X, name, device), move(y.astype(float), name, device))
    assert not hasattr(model, "coefs_")


@needs_torch
def test_no_host_round_trip_per_step(monkeypatch):
    """The costs and weights are read once per epoch, not once per batch."""
    import torch

    from skbackprop.core import ops as ops_module

    reads = []
    for method in ("item", "to_host"):
        original = getattr(ops_module.TorchOps, method)

        def counting(self, value, _original=original, _name=method):
            reads.append(_name)
            return _original(self, value)

        monkeypatch.setattr(ops_module.TorchOps, method, counting)
    X, y = classification(n=400)
    X_t, y_t = torch.asarray(X), torch.asarray(y)
    with dispatch():
        model = BackpropClassifier(hidden_layer_sizes=(5,), batch_size=10, max_iter=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reads.clear()
            model.fit(X_t, y_t)
    # 40 batches; the reads are the epoch's cost, the weight check and the
    # final output checks, a handful whatever the number of batches.
    assert len(reads) < 10, reads


@needs_torch
def test_compiled_kernels_are_never_handed_other_arrays():
    import torch

    from skbackprop.core.network import Network
    from skbackprop.core.optimizers import Adam
    from skbackprop.training.compiled_epoch import epoch_trainer
    from skbackprop.training.loop import Batches, Step

    net = Network([3, 4, 2], "relu", "softmax")
    params = net.init_params(
        "auto", np.random.default_rng(0), torch.float64, like=torch.zeros(1, dtype=torch.float64)
    )
    X, Y = torch.zeros((10, 3), dtype=torch.float64), torch.zeros((10, 2), dtype=torch.float64)
    batches = Batches(X, Y, None, 5, True, np.random.default_rng(0))
    step = Step(net, "cross_entropy", 0.0, params, Adam(params.shape[0], params.dtype, 1e-3,
                                                       like=params))
    assert epoch_trainer(batches, step) is None


@pytest.mark.parametrize("name, device", PLACES)
@pytest.mark.parametrize(
    "estimator",
    [
        BackpropClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0),
        BackpropClassifier(
            hidden_layer_sizes=(6,), activation="sigmoid", output_activation="sigmoid",
            loss="squared_error", solver="sgd", learning_rate_init=0.5, momentum=0.0,
            max_iter=5, random_state=0,
        ),
        # alpha keeps the probabilities away from 0 and 1, where their logarithms
        # magnify float32 rounding beyond the check's tolerance.
        BackpropClassifier(
            hidden_layer_sizes=(6,), solver="lbfgs", alpha=1.0, max_iter=10, random_state=0
        ),
        BackpropRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0),
        BackpropRegressor(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=10, random_state=0),
    ],
    ids=["clf-default", "clf-classic", "clf-lbfgs", "reg-default", "reg-lbfgs"],
)
@sklearn_at_least("1.8", "check_array_api_input with device_name and check_sample_weight")
def test_sklearn_array_api_check_with_values(estimator, name, device):
    """scikit-learn's own check, with the values compared to the NumPy fit."""
    dtype = "float32" if device == "device1" else "float64"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_array_api_input(
            type(estimator).__name__, estimator, array_namespace=name, device_name=device,
            dtype_name=dtype, check_values=True, check_sample_weight=True,
        )


@pytest.mark.skipif(
    os.environ.get("SKBACKPROP_TEST_TORCH") != "1",
    reason="PyTorch is required only where SKBACKPROP_TEST_TORCH=1 (the CI run with torch)",
)
def test_torch_is_installed_where_required():
    assert HAS_TORCH, "SKBACKPROP_TEST_TORCH=1 but PyTorch is not installed"


def test_ops_of_numpy_is_numpys_own_functions():
    """The NumPy path calls NumPy itself: no layer between the core and the ufuncs."""
    assert ops_of(np.zeros(2)) is NUMPY
    assert NUMPY.matmul is np.matmul and NUMPY.exp is np.exp
    assert NUMPY.add_reduce == np.add.reduce


def test_importing_skbackprop_imports_no_array_library():
    code = (
        "import sys, skbackprop; "
        "print(sorted(m for m in ('array_api_compat', 'array_api_strict', 'torch', 'cupy') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@needs_torch
def test_gpu_benchmark_runs_on_the_cpu():
    """The GPU benchmark cannot run in CI; its smoke run on the CPU keeps it working."""
    import torch

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_gpu.py"
    run = subprocess.run(
        [sys.executable, str(script), "--device", "cpu", "--quick", "--no-sklearn"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    row = [line for line in run.stdout.splitlines() if line.startswith("256x2 b200")]
    assert len(row) == 1
    ours, reference = (float(v) for v in row[0].split()[2:4])
    assert ours > 0 and reference > 0
    if not torch.cuda.is_available():  # the default device is CUDA: a clear refusal
        run = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=300
        )
        assert run.returncode == 2 and "No CUDA device" in run.stderr


@pytest.fixture
def layer_forms(monkeypatch):
    """The operations layers of other libraries, run on NumPy arrays (NumPy as the library).

    ``ArrayAPIOps`` over array-api-compat's NumPy namespace is the standard's
    fallback; ``CuPyOps`` with NumPy standing in for CuPy (whose ufuncs have
    NumPy's signatures) exercises the CuPy forms where no GPU is at hand.
    """
    import array_api_compat.numpy as compat_numpy

    from skbackprop.core import ops as ops_module

    monkeypatch.setitem(sys.modules, "cupy", np)
    return {
        "standard": ops_module.ArrayAPIOps(compat_numpy),
        "cupy-forms": ops_module.CuPyOps(compat_numpy),
    }


@pytest.mark.parametrize("form", ["standard", "cupy-forms"])
def test_every_activation_and_cost_through_other_layers(layer_forms, form):
    from skbackprop.core.activations import ACTIVATIONS
    from skbackprop.core.losses import COSTS, loss_and_output_delta

    ops = layer_forms[form]
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(7, 4)) * 3
    Z[0, 0] = 0.0  # the kinks of ReLU and leaky ReLU
    for name, entry in ACTIVATIONS.items():
        if not all(ops.supports(f) for f in entry.needs):
            continue  # refused before fitting (test_activation_missing_a_function_is_refused)
        forward, derivative = entry.forward, entry.derivative
        expected = forward(Z.copy())
        np.testing.assert_allclose(forward(Z.copy(), ops), expected, rtol=1e-14, err_msg=name)
        slopes_from = Z if entry.from_z else expected
        delta = rng.normal(size=Z.shape)
        np.testing.assert_allclose(
            derivative(slopes_from, delta.copy(), ops), derivative(slopes_from, delta.copy()),
            rtol=1e-14, atol=1e-300, err_msg=name,
        )
    weights = rng.uniform(0.5, 2.0, size=7)
    for loss, entry in COSTS.items():
        for out in entry.outputs:
            A = ACTIVATIONS[out].forward(rng.normal(size=(7, 4)))
            Y = rng.uniform(0, 1, size=(7, 4)) if loss != "poisson" else rng.poisson(2, (7, 4))
            Y = Y.astype(float)
            for sw in (None, weights):
                delta, reference = np.empty_like(A), np.empty_like(A)
                value = loss_and_output_delta(loss, out, Y, A, delta, sw, ops=ops)
                expected = loss_and_output_delta(loss, out, Y, A, reference, sw)
                assert float(value) == pytest.approx(expected, rel=1e-13), (loss, out)
                np.testing.assert_allclose(delta, reference, rtol=1e-13, atol=1e-300)


def _hidden_activations():
    from skbackprop.core.activations import hidden_activations

    return hidden_activations()


@pytest.mark.parametrize("activation", _hidden_activations())
@pytest.mark.parametrize("name, device", [PLACES[0], PLACES[2]])
def test_every_hidden_activation_equals_numpy(activation, name, device):
    """Each hidden activation of the table fits as on NumPy, or is refused up front."""
    from skbackprop.core.activations import ACTIVATIONS
    from skbackprop.core.ops import ops_of

    X, y = classification()
    est = BackpropClassifier(hidden_layer_sizes=(6, 5), activation=activation, solver="sgd",
                             learning_rate_init=0.1, batch_size=16, max_iter=3)
    probe = move(X[:1], name, device)
    if all(ops_of(probe).supports(f) for f in ACTIVATIONS[activation].needs):
        fit_both(est, X, y, name, device)
        return
    with dispatch(), pytest.raises(ValueError, match=rf"activation={activation!r} needs erf"):
        est.fit(move(X, name, device), move(y, name, device))
    assert not hasattr(est, "coefs_") and not hasattr(est, "classes_")


def test_activation_missing_a_function_is_refused():
    """array-api-strict has no erf: the GELU is refused before any state changes."""
    X, y = classification()
    est = BackpropClassifier(hidden_layer_sizes=(4,), activation="gelu", max_iter=2)
    with dispatch(), pytest.raises(ValueError, match="activation='gelu' needs erf"):
        est.fit(move(X, "array_api_strict", "CPU_DEVICE"), move(y, "array_api_strict", "CPU_DEVICE"))
    assert not hasattr(est, "coefs_") and not hasattr(est, "n_features_in_")
