"""Shared test helpers: markers for what needs a newer scikit-learn."""

import pytest
import sklearn
from packaging.version import Version

SKLEARN_VERSION = Version(sklearn.__version__)


def sklearn_at_least(version: str, why: str):
    """A skip marker for tests that need scikit-learn >= ``version`` (``why`` says what for)."""
    return pytest.mark.skipif(
        SKLEARN_VERSION < Version(version),
        reason=f"needs scikit-learn >= {version} ({why}); installed {sklearn.__version__}",
    )
