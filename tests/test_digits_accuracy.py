"""Issue 2's acceptance bar: on load_digits, the default BackpropClassifier's
5-fold accuracy is at least scikit-learn's default MLPClassifier's minus 0.005,
both measured here in the same run with the same folds and seed."""

import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier

from skbackprop import BackpropClassifier


def test_default_classifier_matches_sklearn_on_digits():
    X, y = load_digits(return_X_y=True)
    folds = StratifiedKFold(n_splits=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = cross_val_score(BackpropClassifier(random_state=0), X, y, cv=folds).mean()
        theirs = cross_val_score(MLPClassifier(random_state=0), X, y, cv=folds).mean()
    assert ours >= theirs - 0.005, (ours, theirs)
    assert ours > 0.9  # well above chance (0.1): the comparison is not between two failures
