"""Each path works without the packages of the extras it does not use.

``array-api-compat`` (the ``array-api`` extra) is needed only for arrays of
other array libraries. Here it is hidden (an import of it fails, as where it
is not installed): NumPy input, DataFrames under array API dispatch and dask
collections must not need it, and an array of another library must stop with
an ImportError naming the extra, before the estimator changes. CI also runs
each extra's tests in an environment with nothing else installed.
"""

import importlib.util
import pickle
import sys
import warnings

import numpy as np
import pytest
import scipy
import sklearn
from packaging.version import Version
from sklearn.datasets import load_iris

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.core import ops as ops_module

needs_dispatch = pytest.mark.skipif(
    Version(scipy.__version__) < Version("1.14"),
    reason="scikit-learn's array API dispatch needs SciPy >= 1.14",
)


@pytest.fixture
def without_array_api_compat(monkeypatch):
    """``import array_api_compat`` fails, and no library's operations are cached."""
    monkeypatch.setitem(sys.modules, "array_api_compat", None)
    monkeypatch.setattr(ops_module, "_BY_TYPE", {np.ndarray: ops_module.NUMPY})


def _data():
    X, y = load_iris(return_X_y=True)
    return X[::3], y[::3]


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of short fits
        return est.fit(X, y)


def test_numpy_needs_no_array_api_compat(without_array_api_compat):
    X, y = _data()
    reference = _fit(BackpropClassifier(max_iter=5, random_state=0), X, y)
    with pytest.raises(ImportError):
        import array_api_compat  # noqa: F401  (the fixture hides it)
    assert reference.score(X, y) > 0


@needs_dispatch
def test_dataframes_under_dispatch_need_no_array_api_compat(without_array_api_compat):
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    X, y = _data()
    expected = _fit(BackpropClassifier(max_iter=5, random_state=0), X, y)
    frame, target = pd.DataFrame(X, columns=list("abcd")), pd.Series(y)
    with sklearn.config_context(array_api_dispatch=True):
        model = _fit(BackpropClassifier(max_iter=5, random_state=0), frame, target)
        proba = model.predict_proba(frame)
        score = model.score(frame, target)
        regressor = _fit(BackpropRegressor(max_iter=5, random_state=0), frame, target * 1.0)
        assert regressor.predict(frame).shape == (len(y),)
    np.testing.assert_array_equal(proba, expected.predict_proba(X))
    assert score == expected.score(X, y)


@needs_dispatch
def test_another_library_without_array_api_compat_names_the_extra(without_array_api_compat):
    xp = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed")
    X, y = _data()
    model = _fit(BackpropClassifier(max_iter=5, random_state=0), X, y)
    before = pickle.dumps(model)
    with sklearn.config_context(array_api_dispatch=True):
        with pytest.raises(ImportError, match=r"skbackprop\[array-api\]"):
            model.fit(xp.asarray(X), xp.asarray(y))
        with pytest.raises(ImportError, match=r"'array-api' extra"):
            model.predict(xp.asarray(X))
    assert pickle.dumps(model) == before  # the failed fit changed nothing


@pytest.mark.skipif(
    importlib.util.find_spec("dask") is None, reason="dask is an optional extra ([dask])"
)
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_dask_needs_no_array_api_compat(without_array_api_compat, solver):
    da = pytest.importorskip("dask.array", reason="dask.array needs dask[array]")
    import dask

    X, y = _data()
    with dask.config.set(scheduler="synchronous"):
        model = _fit(
            BackpropClassifier(solver=solver, max_iter=5, random_state=0),
            da.from_array(X, chunks=25), da.from_array(y, chunks=25),
        )
        labels = model.predict(da.from_array(X, chunks=25)).compute()
    np.testing.assert_array_equal(labels, model.predict(X))
