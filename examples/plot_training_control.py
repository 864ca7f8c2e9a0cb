"""
Controlling training: early stopping, validation and loss curves
================================================================

Three ways to watch and steer a run of :class:`~skbackprop.BackpropClassifier`:

* early stopping on a held-out validation set, which keeps the weights of the
  best epoch;
* a callback, called after every epoch, that records anything you like and
  can stop training;
* the learning-rate schedules of ``solver='sgd'``, visible in ``history_``.

The :ref:`user guide page on training control <training>` describes every
option; this example draws the curves.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skbackprop import BackpropClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)

# %%
# Early stopping
# --------------
# ``early_stopping=True`` sets aside ``validation_fraction`` of the training
# data (stratified by class), scores the model on it after every epoch and
# stops once the score has not improved by ``tol`` for ``n_iter_no_change``
# epochs. The weights of the best epoch are restored at the end. A
# deliberately large network and step size make it overfit quickly.
clf = BackpropClassifier(
    hidden_layer_sizes=(128,),
    learning_rate_init=0.01,
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=15,
    max_iter=200,
    random_state=0,
)
clf.fit(X_train, y_train)
best_epoch = int(np.argmax(clf.validation_scores_)) + 1
print(f"ran {clf.n_iter_} epochs; best validation accuracy {clf.best_validation_score_:.3f} "
      f"at epoch {best_epoch}; test accuracy of the kept weights {clf.score(X_test, y_test):.3f}")

# %%
# The training cost keeps falling for as long as the run lasts, while the
# validation accuracy levels off: after that point more epochs only fit the
# training set more tightly. Training stops ``n_iter_no_change`` epochs after
# the best validation score, and the model keeps the weights of that best
# epoch (dashed line).
#
# :class:`skbackprop.inspect.LossCurveDisplay` draws ``loss_curve_``, the
# ``validation_scores_`` on a second y axis and that kept epoch.
from skbackprop.inspect import LossCurveDisplay

display = LossCurveDisplay.from_estimator(clf, yscale="log")
display.ax_.set_title("Early stopping: loss curve and validation curve")
plt.show()

# %%
# A callback
# ----------
# A callback is any callable ``callback(estimator, record)``; it runs after
# each epoch with the estimator (its current weights included) and that
# epoch's record of ``history_``. Returning True stops training. This one
# records the accuracy on the test set, which the training never sees, and
# stops once the training cost drops below 0.01.
test_accuracy = []


def monitor(estimator, record):
    test_accuracy.append(estimator.score(X_test, y_test))
    return record["loss"] < 0.01


clf = BackpropClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.01, max_iter=200,
                         callbacks=[monitor], random_state=0)
clf.fit(X_train, y_train)
print(f"the callback stopped training after {clf.n_iter_} epochs")

# %%
# ``history_`` holds one record per epoch; a :class:`pandas.DataFrame` makes a
# readable table of it.
history = pd.DataFrame(clf.history_).set_index("epoch")
print(history[["loss", "learning_rate"]].iloc[[0, 1, 2, -3, -2, -1]])

fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
ax.plot(history.index, test_accuracy, marker="o", markersize=3)
ax.set_xlabel("epoch")
ax.set_ylabel("test accuracy")
ax.set_title("Recorded by a callback")
ax.grid(True, alpha=0.3)
plt.show()

# %%
# Learning-rate schedules
# -----------------------
# With ``solver='sgd'`` the step size can stay ``'constant'``, decay as
# ``learning_rate_init / (t + 1) ** power_t`` with ``t`` the number of
# samples seen (``'invscaling'``), or be divided by 5 each time the training
# cost stalls for ``n_iter_no_change`` epochs (``'adaptive'``). The step size
# used in each epoch is in ``history_``. Each run gets at most 60 epochs;
# the ones that use them all raise a ``ConvergenceWarning``, which we silence.
#
# The adaptive schedule follows the constant one (the wide pale line) until
# the training cost stalls for ``n_iter_no_change`` epochs. There the constant
# run stops, while the adaptive one cuts the step by 5, again at each new
# stall, and settles a little lower. The inverse scaling schedule cuts the step from the first
# epoch on, here too fast: its cost stays well above the other two.
fig, (ax_lr, ax_loss) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
styles = {"constant": dict(lw=4, alpha=0.4), "invscaling": dict(lw=1.5), "adaptive": dict(lw=1.5)}
for schedule, power_t in [("constant", 0.5), ("invscaling", 0.25), ("adaptive", 0.5)]:
    clf = BackpropClassifier(
        hidden_layer_sizes=(64,), solver="sgd", learning_rate=schedule, power_t=power_t,
        learning_rate_init=0.2, momentum=0.9, n_iter_no_change=5, tol=1e-3, max_iter=60,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    rates = [record["learning_rate"] for record in clf.history_]
    label = f"{schedule} (test acc. {clf.score(X_test, y_test):.3f})"
    ax_lr.plot(range(1, clf.n_iter_ + 1), rates, label=label, **styles[schedule])
    ax_loss.plot(range(1, clf.n_iter_ + 1), clf.loss_curve_, label=label, **styles[schedule])
ax_lr.set_yscale("log")
ax_lr.set_xlabel("epoch")
ax_lr.set_ylabel("step size")
ax_lr.set_title("Step size per epoch")
ax_loss.set_yscale("log")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("training cost")
ax_loss.set_title("Loss curves")
ax_loss.legend()
plt.show()
