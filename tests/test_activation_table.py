"""The activation table is the one place an activation is defined.

A throwaway entry added at run time (``softsign``, monkeypatched into
``core.activations.ACTIVATIONS``) is picked up by every path: the parameter
check, the NumPy fit, the compiled epoch (whose generated module changes with
the table), the ONNX converter, and the docs' table. An entry that lacks a
path's code is refused there with a clear error, or takes the NumPy path.
Oracle: softsign's definition ``z / (1 + |z|)`` written here, and the NumPy
path for the compiled one.
"""

import dataclasses
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropRegressor
from skbackprop.core import activations, kernels
from skbackprop.core.activations import ACTIVATIONS, Activation, hidden_activations
from skbackprop.core.kernels.source import dispatch_source, load_epoch_module
from skbackprop.training import compiled_epoch

ROOT = Path(__file__).resolve().parents[1]


def _softsign(Z, ops=None):
    Z /= 1.0 + abs(Z)
    return Z


def _softsign_derivative(A, delta, ops=None):
    slope = 1.0 - abs(A)
    delta *= slope * slope
    return delta


SOFTSIGN = Activation(
    "softsign", _softsign, _softsign_derivative,
    kernel_forward="z / (one + abs(z))",
    kernel_derivative="d * ((one - abs(a)) * (one - abs(a)))",
    onnx=lambda graph, z: graph.node(
        "Div", [z, graph.node("Add", [graph.constant(1.0), graph.node("Abs", [z])])]
    ),
    formula=r"z / (1 + |z|)", derivative_formula=r"(1 - |a|)^2", range_formula="(-1, 1)",
)


@pytest.fixture
def softsign(monkeypatch):
    monkeypatch.setitem(ACTIVATIONS, "softsign", SOFTSIGN)
    return SOFTSIGN


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((45, 4))
    return X, X[:, 0] - 0.5 * X[:, 1] * X[:, 2]


def _fit(X, y, **params):
    est = BackpropRegressor(hidden_layer_sizes=(6, 4), activation="softsign", solver="sgd",
                            learning_rate_init=0.05, batch_size=16, max_iter=4, random_state=0,
                            **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _reference_output(est, X):
    A = X
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_, strict=True)):
        Z = A @ W + b
        A = Z if i == len(est.coefs_) - 1 else Z / (1 + np.abs(Z))
    return A.ravel()


def test_a_new_entry_is_a_hidden_activation(softsign):
    assert "softsign" in hidden_activations()
    with pytest.raises(ValueError, match="softsign"):  # listed among the accepted values
        BackpropRegressor(activation="no_such_activation").fit(*_data())


def test_numpy_and_compiled_paths_pick_up_a_new_entry(softsign):
    X, y = _data()
    with kernels.disabled():
        slow = _fit(X, y)
    np.testing.assert_allclose(slow.predict(X), _reference_output(slow, X), rtol=1e-12)
    if not kernels.available():
        pytest.skip("numba is not installed")
    assert "softsign" in dispatch_source()  # the kernel's source changes with the table
    module = compiled_epoch._compile()
    assert "softsign" in module.CODES and Path(module.__file__).name.startswith("skbackprop_epoch_")
    fast = _fit(X, y)
    for a, b in zip(fast.coefs_ + fast.intercepts_, slow.coefs_ + slow.intercepts_, strict=True):
        assert float(np.abs(a - b).max()) <= 1e-12 * float(np.abs(b).max())


def test_onnx_picks_up_a_new_entry(softsign):
    pytest.importorskip("skl2onnx")
    rt = pytest.importorskip("onnxruntime")
    import skl2onnx

    import skbackprop.onnx  # noqa: F401

    X, y = _data()
    with kernels.disabled():
        est = _fit(X, y)
    for dtype in (np.float32, np.float64):
        onx = skl2onnx.to_onnx(est, X[:1].astype(dtype))
        sess = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
        (out,) = sess.run(None, {sess.get_inputs()[0].name: X.astype(dtype)})
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(out.ravel(), est.predict(X), rtol=tol, atol=tol)


def test_an_entry_without_onnx_is_refused_by_the_converter(monkeypatch):
    pytest.importorskip("skl2onnx")
    import skl2onnx

    import skbackprop.onnx  # noqa: F401

    monkeypatch.setitem(ACTIVATIONS, "softsign", dataclasses.replace(SOFTSIGN, onnx=None))
    X, y = _data()
    with kernels.disabled():
        est = _fit(X, y)
    with pytest.raises(NotImplementedError, match="activation='softsign' has no ONNX graph"):
        skl2onnx.to_onnx(est, X[:1].astype(np.float32))


def test_an_entry_without_kernel_code_takes_the_numpy_path(monkeypatch):
    entry = dataclasses.replace(SOFTSIGN, kernel_forward=None, kernel_derivative=None)
    monkeypatch.setitem(ACTIVATIONS, "softsign", entry)
    calls = []
    monkeypatch.setattr(compiled_epoch, "CompiledEpoch", lambda *a: calls.append(a))
    X, y = _data()
    with kernels.disabled():
        slow = _fit(X, y)
    fast = _fit(X, y)
    assert not calls  # never compiled
    np.testing.assert_array_equal(fast.coefs_[0], slow.coefs_[0])


def test_a_changed_table_gives_another_kernel_file():
    table = {**ACTIVATIONS, "softsign": SOFTSIGN}
    assert dispatch_source(table) != dispatch_source()
    assert f"code == {len(table) - 1}:  # softsign" in dispatch_source(table)
    if not kernels.available():
        pytest.skip("numba is not installed")
    assert Path(load_epoch_module(table).__file__) != Path(load_epoch_module().__file__)


def test_docs_table_lists_every_entry(softsign):
    spec = importlib.util.spec_from_file_location("docs_activation_table",
                                                  ROOT / "docs" / "activation_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.activation_table()
    for name in activations.ACTIVATIONS:
        assert f"``'{name}'``" in text
