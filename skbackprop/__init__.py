"""skbackprop: scikit-learn compatible neural networks trained by backpropagation."""

from . import inspect
from ._base import DivergenceError
from ._classifier import BackpropClassifier
from ._regressor import BackpropRegressor

__version__ = "0.1.0"

__all__ = ["BackpropClassifier", "BackpropRegressor", "DivergenceError", "__version__", "inspect"]
