"""skbackprop: scikit-learn compatible neural networks trained by backpropagation."""

# The public submodule skbackprop.inspect; not in __all__, where a star import would
# shadow the standard library's inspect module.
from . import inspect as inspect
from ._classifier import BackpropClassifier
from ._regressor import BackpropRegressor
from .exceptions import DivergenceError

__version__ = "0.1.0"

__all__ = ["BackpropClassifier", "BackpropRegressor", "DivergenceError", "__version__"]
