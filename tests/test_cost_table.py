"""The cost table is the one place a cost is defined.

A throwaway entry added at run time (``log_cosh``, monkeypatched into
``core.losses.COSTS``) is picked up by every path: the output check and the
NumPy cost and delta, the compiled epoch (whose generated module changes with
the table), and the docs' table. An entry without kernel code trains on the
NumPy path. Oracle: ``log cosh(a - y)`` and its derivative ``tanh(a - y)``
written here, and the NumPy path for the compiled one.
"""

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from skbackprop.core import kernels, losses
from skbackprop.core.activations import ACTIVATIONS
from skbackprop.core.kernels.source import cost_source, load_epoch_module
from skbackprop.core.losses import COSTS, Cost, loss_and_output_delta
from skbackprop.core.network import Network
from skbackprop.core.optimizers import SGD
from skbackprop.training import compiled_epoch
from skbackprop.training.loop import Batches, Step, train_epoch

ROOT = Path(__file__).resolve().parents[1]


def _log_cosh(out_activation, Y, A, sample_weight, out, ops=None):
    np.subtract(A, Y, out=out)
    rows = np.log(np.cosh(out)).sum(axis=1)
    value = rows.sum() if sample_weight is None else sample_weight @ rows
    np.tanh(out, out=out)  # dC/dA
    return float(value)


LOG_COSH = Cost(
    "log_cosh", _log_cosh, ("identity", "tanh"),
    kernel_term="row += np.log(np.cosh(a - y))\n", kernel_delta="np.tanh(a - y)",
    formula=r"\sum_k \log \cosh (a_k - y_k)",
)


@pytest.fixture
def log_cosh(monkeypatch):
    monkeypatch.setitem(COSTS, "log_cosh", LOG_COSH)
    return LOG_COSH


def test_every_entry_is_consistent():
    for name, entry in COSTS.items():
        assert entry.name == name
        assert entry.outputs and all(out in ACTIVATIONS for out in entry.outputs)
        assert set(entry.fused) <= set(entry.outputs), name
        assert all(reason for reason in entry.fused.values()), name
        assert entry.kernel_term and entry.formula, name
    assert losses.loss_outputs() == {name: entry.outputs for name, entry in COSTS.items()}


@pytest.mark.parametrize("weighted", [False, True])
def test_numpy_path_picks_up_a_new_entry(log_cosh, weighted):
    rng = np.random.default_rng(0)
    Z, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    sw = rng.uniform(0.5, 2.0, 6) if weighted else None
    w = np.ones(6) if sw is None else sw
    A = ACTIVATIONS["tanh"].forward(Z.copy())
    delta = np.empty_like(A)
    value = loss_and_output_delta("log_cosh", "tanh", Y, A, delta, sw)
    assert value == pytest.approx(w @ np.log(np.cosh(A - Y)).sum(axis=1) / w.sum(), rel=1e-13)
    expected = np.tanh(A - Y) * (1 - A**2) * (w / w.sum())[:, None]  # not fused: times f'
    np.testing.assert_allclose(delta, expected, rtol=1e-13)
    assert ("tanh", "log_cosh") not in losses.fused_pairs()
    with pytest.raises(ValueError, match="log_cosh.*accepts"):
        loss_and_output_delta("log_cosh", "sigmoid", Y, A, delta)


def _train(loss, compiled, out="tanh"):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    Y = np.tanh(np.column_stack([X[:, 0] - X[:, 1], X[:, 2] * X[:, 0]]))
    net = Network([3, 5, 2], "relu", out)
    params = net.init_params("glorot_uniform", np.random.default_rng(1), np.float64)
    step = Step(net, loss, 0.0, params, SGD(params.size, np.float64, 0.1))
    batches = Batches(X, Y, rng.uniform(0.5, 2.0, 40), 8, True, np.random.default_rng(2))
    train = compiled_epoch.epoch_trainer(batches, step) if compiled else train_epoch
    assert train is not None
    costs = [train(batches, step)[0] for _ in range(3)]
    return params, costs


def test_compiled_epoch_picks_up_a_new_entry(log_cosh):
    if not kernels.available():
        pytest.skip("numba is not installed")
    assert "log_cosh" in "".join(cost_source().values())
    module = compiled_epoch._compile()
    assert module.LOSS_CODES["log_cosh"] == len(COSTS) - 1
    slow, slow_costs = _train("log_cosh", compiled=False)
    fast, fast_costs = _train("log_cosh", compiled=True)
    assert float(np.abs(fast - slow).max()) <= 1e-12 * float(np.abs(slow).max())
    np.testing.assert_allclose(fast_costs, slow_costs, rtol=1e-12)


def test_an_entry_without_kernel_code_takes_the_numpy_path(monkeypatch):
    monkeypatch.setitem(COSTS, "log_cosh", dataclasses.replace(LOG_COSH, kernel_term=""))
    assert "log_cosh" not in cost_source()["cost terms"]
    rng = np.random.default_rng(0)
    net = Network([2, 2], "relu", "tanh")
    params = net.init_params("glorot_uniform", rng, np.float64)
    step = Step(net, "log_cosh", 0.0, params, SGD(params.size, np.float64, 0.1))
    batches = Batches(rng.random((4, 2)), rng.random((4, 2)), None, 2, True, rng)
    assert compiled_epoch.epoch_trainer(batches, step) is None


def test_a_changed_table_gives_another_kernel_file():
    costs = {**COSTS, "log_cosh": LOG_COSH}
    assert cost_source(costs) != cost_source()
    assert f"loss == {len(costs) - 1}:  # log_cosh" in cost_source(costs)["cost terms"]
    if not kernels.available():
        pytest.skip("numba is not installed")
    assert Path(load_epoch_module(costs=costs).__file__) != Path(load_epoch_module().__file__)


def test_docs_table_lists_every_entry(log_cosh):
    spec = importlib.util.spec_from_file_location("docs_cost_table", ROOT / "docs" / "cost_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.cost_table()
    for name, entry in COSTS.items():
        assert f"``'{name}'``" in text
        for out in entry.outputs:
            assert f"``'{out}'``" in text
