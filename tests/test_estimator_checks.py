"""scikit-learn's common estimator checks, with no expected failures.

Configurations: both defaults; the classic network (sigmoid hidden and output
units, squared error, plain gradient descent); L-BFGS; softmax outputs with the
squared error; tanh outputs for the regressor. Sizes are kept small so the
whole module runs in seconds; every check still trains the real network.
"""

import pytest
import scipy
from packaging.version import Version
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbackprop import BackpropClassifier, BackpropRegressor

#: scikit-learn's array API dispatch works only with SciPy >= 1.14 (it raises otherwise).
ARRAY_API_DISPATCH = Version(scipy.__version__) >= Version("1.14")

FAST = dict(hidden_layer_sizes=(20,), max_iter=100, random_state=0)

ESTIMATORS = [
    BackpropClassifier(random_state=0),
    BackpropRegressor(random_state=0),
    # The classic network: sigmoid units everywhere, quadratic cost, plain SGD.
    BackpropClassifier(
        activation="sigmoid",
        output_activation="sigmoid",
        loss="squared_error",
        solver="sgd",
        momentum=0.0,
        learning_rate_init=0.5,
        **FAST,
    ),
    BackpropClassifier(solver="lbfgs", **FAST),
    BackpropRegressor(solver="lbfgs", **FAST),
    BackpropClassifier(output_activation="softmax", loss="squared_error", learning_rate_init=0.01, **FAST),
    BackpropRegressor(activation="tanh", solver="sgd", learning_rate_init=0.01, **FAST),
]


# The checks train small networks for a few epochs: a ConvergenceWarning is the
# expected outcome there (checks about warnings record their own).
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: {})
def test_sklearn_compatible_estimator(estimator, check):
    name = getattr(check, "func", check).__name__
    if name.startswith("check_array_api") and not ARRAY_API_DISPATCH:
        pytest.skip(
            "scikit-learn's array API dispatch needs SciPy >= 1.14; installed "
            f"{scipy.__version__} (run by the main CI environment)"
        )
    check(estimator)
