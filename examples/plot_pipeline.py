"""
Scaling the inputs in a Pipeline
================================

Gradient descent works best when every input has a similar range: a weight
on a feature measured in thousands receives gradients thousands of times
larger than a weight on a feature measured in thousandths, and one step size
cannot suit both. The usual fix is to standardise the inputs, and the safe
way to do it is inside a :class:`~sklearn.pipeline.Pipeline`, so that the
scaler learns its means and standard deviations from the training folds only.

We train the same network on scikit-learn's breast-cancer data, whose 30
features range from about 0.001 to over 4000, with and without a
:class:`~sklearn.preprocessing.StandardScaler` in front.
"""

# %%
# The features' scales
# --------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

X, y = load_breast_cancer(return_X_y=True)
spread = X.std(axis=0)
print(f"feature standard deviations range from {spread.min():.4f} to {spread.max():.1f}")

# %%
# Two estimators
# --------------
# The network is the same in both: 16 ReLU units, Adam, at most 300 epochs.
# ``make_pipeline`` chains the scaler and the network into one estimator that
# ``cross_val_score``, ``GridSearchCV`` and the rest treat like any other.
network = BackpropClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0)
estimators = {
    "without scaling": network,
    "StandardScaler + network": make_pipeline(StandardScaler(), network),
}

# %%
# Cross-validated accuracy
# ------------------------
# Both get the same budget of at most 300 epochs, which some folds use up
# (the tiny training cost keeps creeping down); we silence the
# ``ConvergenceWarning`` this raises, since the budget is part of the
# comparison.
cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
scores = {}
for name, estimator in estimators.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores[name] = cross_val_score(estimator, X, y, cv=cv)
    print(f"{name:<26} accuracy {scores[name].mean():.3f} +/- {scores[name].std():.3f}")

# %%
# Loss curves on one split
# ------------------------
# Fitting both on the same training split shows where the difference comes
# from. With standardised inputs the cost falls smoothly and keeps falling.
# Without, it drops at first, then stalls and wobbles at a level several
# times higher: a weight on a feature measured in hundreds moves the hidden
# units hundreds of times more per unit of change than a weight on a feature
# measured in hundredths, so the cost is a long, narrow valley that the
# optimizer zigzags across instead of descending along it.
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")

ax = axes[0]
order = np.argsort(spread)
ax.semilogy(spread[order], "o", label="raw")
ax.semilogy(StandardScaler().fit_transform(X).std(axis=0)[order], "o", label="standardised")
ax.set_xlabel("feature (sorted by spread)")
ax.set_ylabel("standard deviation")
ax.set_title("Feature scales")
ax.legend()

ax = axes[1]
for name, estimator in estimators.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X_train, y_train)
    model = estimator[-1] if hasattr(estimator, "steps") else estimator
    ax.plot(model.loss_curve_, label=f"{name} (test acc. {estimator.score(X_test, y_test):.3f})")
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training cost")
ax.set_title("Loss curves")
ax.legend(fontsize=8)

ax = axes[2]
ax.boxplot(list(scores.values()), showmeans=True)
ax.set_xticks([1, 2], ["without\nscaling", "StandardScaler\n+ network"])
ax.set_ylabel("accuracy (5 folds)")
ax.set_title("Cross-validated accuracy")
plt.show()
