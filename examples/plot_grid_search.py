"""
Choosing the architecture with GridSearchCV
===========================================

:class:`~skbackprop.BackpropClassifier` is an ordinary scikit-learn estimator,
so its hyper-parameters can be tuned with
:class:`~sklearn.model_selection.GridSearchCV`. Here we search over the size
of the hidden layers and the hidden activation on the digits data and show the
cross-validated accuracy of every combination as a heat map.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skbackprop import BackpropClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0

# %%
# The search
# ----------
# Five hidden activations times four layouts, each scored by 3-fold
# cross-validation: 60 fits. To keep the example fast every network gets a
# fixed budget of 40 epochs of Adam, so we silence the ``ConvergenceWarning``
# it raises at the end of them. The parameter names are scikit-learn's;
# ``'logistic'`` would work as well as ``'sigmoid'``.
param_grid = {
    "hidden_layer_sizes": [(4,), (16,), (64,), (16, 16)],
    "activation": ["identity", "sigmoid", "tanh", "relu", "leaky_relu"],
}
search = GridSearchCV(
    BackpropClassifier(learning_rate_init=0.01, max_iter=40, random_state=0),
    param_grid,
    cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X, y)
print("best parameters:", search.best_params_)
print(f"best cross-validated accuracy: {search.best_score_:.3f}")

# %%
# The scores as a heat map
# ------------------------
# Rows are activations, columns hidden layouts. Four hidden units squeeze
# ten classes through a narrow bottleneck, and every activation suffers, the
# sigmoid most. From 16 units on, the choice of activation matters less than
# the width. ``'identity'`` hidden units make the whole network a linear
# model, and it stops improving at the accuracy of a linear classifier,
# while the nonlinear activations reach the best scores with 64 units.
sizes = param_grid["hidden_layer_sizes"]
activations = param_grid["activation"]
scores = np.empty((len(activations), len(sizes)))
for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True
):
    scores[activations.index(params["activation"]), sizes.index(params["hidden_layer_sizes"])] = score

fig, ax = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
image = ax.imshow(scores, cmap="viridis", vmin=scores.min(), vmax=1.0)
ax.set_xticks(range(len(sizes)), [str(s) for s in sizes])
ax.set_yticks(range(len(activations)), activations)
ax.set_xlabel("hidden_layer_sizes")
ax.set_ylabel("activation")
for i in range(len(activations)):
    for j in range(len(sizes)):
        colour = "black" if scores[i, j] > scores.min() + 0.6 * (1 - scores.min()) else "white"
        ax.text(j, i, f"{scores[i, j]:.3f}", ha="center", va="center", color=colour)
fig.colorbar(image, ax=ax, label="mean 3-fold CV accuracy")
ax.set_title("GridSearchCV on digits")
plt.show()

# %%
# How different are the best cells?
# ---------------------------------
# ``cv_results_`` also holds the spread of each score over the three folds.
# The best few combinations differ by less than that spread, so several of
# them are equally good choices; the grid rules out the narrow layouts more
# than it crowns a winner.
results = pd.DataFrame(search.cv_results_).sort_values("rank_test_score")
columns = ["param_activation", "param_hidden_layer_sizes", "mean_test_score", "std_test_score"]
print(results[columns].head(5).to_string(index=False))
