"""When a process loads numba: the decision of ``core.kernels.plan`` and the precompile command.

The decision is tested on a state of its own (the test session itself has the
kernels loaded, see ``conftest.pytest_sessionstart``), with numba's import
replaced by a stub where it would happen, and end to end in new processes
where numba is installed.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier
from skbackprop import precompile as precompile_cli
from skbackprop.core import kernels
from skbackprop.core.kernels import source
from skbackprop.training import compiled_epoch
from skbackprop.training.compiled_epoch import CompiledEpoch, CountedEpoch

IRIS = load_iris(return_X_y=True)
#: numba installed and not switched off (the fixture below pretends it is, for the decision).
NUMBA = kernels.available()


@pytest.fixture
def fresh(monkeypatch):
    """A process that has loaded nothing: a new decision state; loading only recorded."""
    state = kernels._Loading()
    monkeypatch.setattr(kernels, "_STATE", state)
    monkeypatch.setattr(kernels, "ENABLED", True)
    loads = []

    def load():
        loads.append(state.spent)
        state.loaded = True

    monkeypatch.setattr(kernels, "_load", load)
    started = []
    monkeypatch.setattr(kernels.subprocess, "Popen", lambda *a, **k: started.append(a[0]))
    monkeypatch.delenv("SKBACKPROP_BACKGROUND_COMPILE", raising=False)
    return state, loads, started


def default_run_seconds(n_samples, n_features, n_classes, epochs=200):
    """The estimate for a default fit (100 hidden units, batches of min(200, n))."""
    rows = min(200, n_samples)
    steps = -(-n_samples // rows)
    return kernels.estimated_seconds([n_features, 100, n_classes], rows, steps, epochs)


def test_the_estimates_keep_small_fits_on_numpy_and_load_for_many():
    iris = default_run_seconds(150, 4, 3)
    digits = default_run_seconds(1797, 64, 10)
    # One fit of either does not make loading pay by itself...
    assert digits < kernels.LOAD_FOR_RUN * kernels.LOAD_SECONDS
    # ...five iris fits do not reach the threshold, twenty do.
    assert 5 * iris < kernels.LOAD_AFTER < 20 * iris
    # The textbook's MNIST network, 30 epochs over 50,000 rows in batches of 10,
    # would compile even with an empty cache.
    mnist = kernels.estimated_seconds([784, 30, 10], 10, 5000, epochs=30)
    assert mnist >= kernels.COMPILE_SECONDS
    assert kernels.estimated_seconds([4, 100, 3], 150, 1, 2) == 2 * iris / 200


def test_filled_cache_loads_once_the_work_done_makes_it_pay(fresh):
    state, loads, started = fresh
    state.cache_filled = True
    small = default_run_seconds(150, 4, 3)
    n = 0
    while not kernels.plan(small):
        kernels.spend(small)
        n += 1
    assert 5 < n < 20 and loads == [pytest.approx(n * small)]
    assert kernels.plan(small) and len(loads) == 1 and started == []


def test_filled_cache_loads_at_once_for_a_long_run(fresh):
    state, loads, _ = fresh
    state.cache_filled = True
    assert not kernels.plan(kernels.LOAD_FOR_RUN * kernels.LOAD_SECONDS * 0.99)
    assert kernels.plan(kernels.LOAD_FOR_RUN * kernels.LOAD_SECONDS)
    assert loads == [0.0]


def test_empty_cache_never_compiles_for_small_fits_but_starts_the_background_compile(fresh):
    state, loads, started = fresh
    state.cache_filled = False
    small = default_run_seconds(150, 4, 3)
    for _ in range(200):  # far more than a filled cache would have waited
        assert not kernels.plan(small)
        kernels.spend(small)
    assert loads == []
    assert started == [[sys.executable, "-m", "skbackprop.precompile", "--background"]]


def test_empty_cache_compiles_for_a_long_run_or_after_much_work(fresh):
    state, loads, _ = fresh
    state.cache_filled = False
    assert not kernels.plan(kernels.COMPILE_SECONDS * 0.99)
    assert kernels.plan(kernels.COMPILE_SECONDS)
    state.loaded = False
    kernels.spend(2 * kernels.COMPILE_SECONDS)
    assert kernels.plan(0.001) and len(loads) == 2


def test_background_compile_can_be_switched_off_and_may_fail(fresh, monkeypatch):
    state, loads, started = fresh
    state.cache_filled = False
    monkeypatch.setenv("SKBACKPROP_BACKGROUND_COMPILE", "0")
    kernels.spend(kernels.LOAD_AFTER)
    assert not kernels.plan(0.0) and started == []

    def refuse(*args, **kwargs):
        raise OSError("no new processes here")

    monkeypatch.delenv("SKBACKPROP_BACKGROUND_COMPILE")
    monkeypatch.setattr(kernels.subprocess, "Popen", refuse)
    assert not kernels.plan(0.0)  # no error reaches the fit
    assert state.background_started


def test_switched_off_never_loads(fresh, monkeypatch):
    state, loads, _ = fresh
    monkeypatch.setattr(kernels, "ENABLED", False)
    kernels.spend(1e6)
    assert not kernels.plan(1e6) and loads == []


def test_the_cache_is_looked_at_once_per_process_and_only_when_it_matters(fresh, monkeypatch):
    state, _, _ = fresh
    looks = []
    monkeypatch.setattr(kernels, "_cache_filled", lambda: looks.append(1) or False)
    kernels.plan(0.01)  # too little work to load whatever the cache holds
    assert looks == []
    kernels.spend(kernels.LOAD_AFTER)
    for _ in range(3):
        kernels.plan(0.0)
    assert looks == [1]


def test_a_long_run_with_an_empty_cache_starts_the_background_compile(fresh):
    state, loads, started = fresh
    state.cache_filled = False
    assert not kernels.plan(kernels.LOAD_FOR_RUN * kernels.LOAD_SECONDS)
    assert len(started) == 1 and loads == []


def test_a_run_on_the_numpy_path_counts_its_epochs(fresh):
    state, loads, _ = fresh
    state.cache_filled = True
    X, y = IRIS
    est = BackpropClassifier(max_iter=7, n_iter_no_change=100, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert est.n_iter_ == 7 and loads == []
    assert state.spent == pytest.approx(7 * default_run_seconds(150, 4, 3, epochs=1))


def test_epoch_trainer_follows_the_decision(fresh):
    from skbackprop.core.network import Network
    from skbackprop.core.optimizers import SGD
    from skbackprop.training.loop import Batches, Step

    state, loads, _ = fresh
    state.cache_filled = True
    net = Network([4, 5, 3], "relu", "softmax")
    params = net.init_params("glorot_uniform", np.random.default_rng(0))
    step = Step(net, "cross_entropy", 0.0, params, SGD(params.size, params.dtype, 0.1))
    X = np.random.default_rng(1).standard_normal((20, 4))
    batches = Batches(X, np.eye(3, dtype=bool)[np.arange(20) % 3], None, 10, True,
                      np.random.default_rng(0))
    assert isinstance(compiled_epoch.epoch_trainer(batches, step), CountedEpoch)
    if NUMBA:  # building the compiled epoch needs numba itself
        state.loaded = True
        assert isinstance(compiled_epoch.epoch_trainer(batches, step), CompiledEpoch)


def test_precompile_check_reports_the_mark(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKBACKPROP_CACHE_DIR", str(tmp_path))
    if not kernels.available():
        assert precompile_cli.main(["--check"]) == 1
        return
    assert precompile_cli.main(["--check"]) == 1
    assert "not filled" in capsys.readouterr().out
    source.cache_mark().write_text("filled\n")
    assert precompile_cli.main(["--check"]) == 0


def test_background_compile_runs_once_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setenv("SKBACKPROP_CACHE_DIR", str(tmp_path))
    runs = []
    monkeypatch.setattr(precompile_cli, "precompile", lambda: runs.append(1))
    monkeypatch.setattr(precompile_cli.os, "nice", lambda n: 0)
    lock = source.cache_mark().with_suffix(".compiling")
    lock.write_text("12345\n")  # another process compiles
    assert precompile_cli.main(["--background"]) == 0 and runs == []
    old = time.time() - precompile_cli.STALE_LOCK_SECONDS - 60
    os.utime(lock, (old, old))  # ...or died long ago
    assert precompile_cli.main(["--background"]) == 0 and runs == [1]
    assert not lock.exists()


# --------------------------------------------------------------------------- #
# New processes (numba installed)
# --------------------------------------------------------------------------- #
SCRIPT = r"""
import hashlib, json, sys, warnings
import numpy as np
from sklearn.datasets import load_digits, load_iris
from skbackprop import BackpropClassifier
warnings.simplefilter("ignore")
X, y = {data}(return_X_y=True)
digest, numba_after = hashlib.sha256(), []
for k in range({fits}):
    est = BackpropClassifier(random_state=k).fit(X, y)
    digest.update(np.concatenate([a.ravel() for a in est.coefs_]).tobytes())
    numba_after.append("numba" in sys.modules)
print(json.dumps([digest.hexdigest(), numba_after]))
"""


def run_process(data, fits, **env):
    environ = {k: v for k, v in os.environ.items() if k != "SKBACKPROP_ACCELERATOR"}
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(data=data, fits=fits)], env=environ,
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def numba_installed():
    if os.environ.get("SKBACKPROP_TEST_ACCELERATOR") == "1":  # CI: numba must be there
        assert kernels.available(), "SKBACKPROP_TEST_ACCELERATOR=1 but numba is missing or off"
    if not kernels.available():
        pytest.skip("needs numba (the fast extra), not switched off")
    compiled_epoch.precompile()  # the real cache filled, its mark left (as the session did)


def test_a_new_process_loads_numba_only_after_some_fits_and_the_same_way_every_run(
    numba_installed
):
    first = run_process("load_iris", 14)
    second = run_process("load_iris", 14)
    assert first == second  # the same models and the same moment of loading: no clock involved
    loaded = first[1]
    assert loaded[:5] == [False] * 5 and loaded[-1] is True
    # A single digits fit stays on the NumPy path.
    assert run_process("load_digits", 1)[1] == [False]


def test_with_an_empty_cache_small_fits_never_wait_for_a_compile(numba_installed, tmp_path):
    digest, loaded = run_process(
        "load_iris", 14, SKBACKPROP_CACHE_DIR=str(tmp_path / "sk"),
        NUMBA_CACHE_DIR=str(tmp_path / "numba"), SKBACKPROP_BACKGROUND_COMPILE="0",
    )
    assert not any(loaded)
    # Same models as a process on the NumPy path.
    assert digest == run_process("load_iris", 14, SKBACKPROP_ACCELERATOR="0")[0]


def test_results_are_the_numpy_paths_before_loading(numba_installed):
    # Before numba is loaded a fit is the NumPy path's, bit for bit.
    assert run_process("load_digits", 1)[0] == run_process(
        "load_digits", 1, SKBACKPROP_ACCELERATOR="0")[0]


def test_a_changed_update_gives_the_kernel_module_another_name(tmp_path, monkeypatch):
    # numba compiles updates.py's functions into the epoch kernel's cached code,
    # which it keys on the generated file only: the file's name must change with them.
    before = source.module_name()
    copy = tmp_path / "updates.py"
    copy.write_text(source.UPDATES.read_text() + "\n# changed\n")
    monkeypatch.setattr(source, "UPDATES", copy)
    assert source.module_name() != before
