"""The exceptions skbackprop raises besides scikit-learn's and Python's own."""

from __future__ import annotations

__all__ = ["DivergenceError"]


class DivergenceError(ValueError):
    """Raised when training diverges (the cost, a weight or an output becomes inf or NaN).

    A ``ValueError``, as scikit-learn raises for a diverging MLP, so that
    ``except ValueError`` and ``error_score`` handling keep working.
    """
