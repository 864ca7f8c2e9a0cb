"""
The classic network against the modern default
===============================================

The network of the textbooks that introduced backpropagation has sigmoid
hidden units, one sigmoid output unit per class, the quadratic cost
``1/2 ||y - a||^2`` and plain stochastic gradient descent with a large step
size on small mini-batches. Today's default, which
:class:`~skbackprop.BackpropClassifier` shares with scikit-learn's
``MLPClassifier``, has ReLU hidden units, a softmax output, the cross-entropy
cost and the Adam optimizer.

Both are one list of keyword arguments away. We train several variants for 30
epochs on the digits data and watch their accuracy on a held-out validation
set after every epoch: first the classic network with each of the two costs
at the same step size, then the classic network with its textbook step size
against the modern default.
"""

# %%
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skbackprop import BackpropClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)

# %%
# The networks
# ------------
# All have one hidden layer of 30 units. ``output_activation='sigmoid'`` on a
# ten-class problem gives ten independent sigmoid units, as in the textbooks;
# ``predict_proba`` then normalises their outputs to sum to one.
classic = dict(
    hidden_layer_sizes=(30,),
    activation="sigmoid",
    output_activation="sigmoid",
    solver="sgd",
    momentum=0.0,
    batch_size=10,
    alpha=0.0,
)
networks = {
    "quadratic cost, step 0.5": dict(classic, loss="squared_error", learning_rate_init=0.5),
    "cross-entropy cost, step 0.5": dict(classic, loss="cross_entropy", learning_rate_init=0.5),
    "classic, quadratic cost, step 3.0": dict(
        classic, loss="squared_error", learning_rate_init=3.0
    ),
    "modern default (batches of 200)": dict(hidden_layer_sizes=(30,)),
    "modern default, batches of 10": dict(hidden_layer_sizes=(30,), batch_size=10),
}

# %%
# Passing ``X_val`` and ``y_val`` to ``fit`` scores the model on them after
# every epoch (``validation_scores_``) without changing how it trains. All
# of them run the full 30 epochs on purpose, so we silence the
# ``ConvergenceWarning``.
models = {}
for name, settings in networks.items():
    model = BackpropClassifier(max_iter=30, random_state=0, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    models[name] = model
    scores = model.validation_scores_
    print(f"{name:<36} validation accuracy after 1, 5 and 30 epochs: "
          f"{scores[0]:.3f}, {scores[4]:.3f}, {scores[-1]:.3f}")

# %%
# Learning curves
# ---------------
# **Left:** at the same step size the quadratic cost learns far more slowly at
# first. With sigmoid outputs its output error is
# :math:`(a - y)\,a(1 - a)`: an output unit that is saturated near 0 or 1
# passes back almost no error, even when it is wrong. The cross-entropy
# cost cancels the factor :math:`a(1 - a)` (see :ref:`costs`), so the error
# that reaches the weights is simply :math:`a - y`. This is why the
# cross-entropy became the standard cost for classification.
#
# **Right:** the textbooks compensated with a much larger step size, and with
# it the classic network learns this small problem well. The modern default
# starts slowly here, not because of its units or cost but because Adam's
# default step is small and batches of 200 give it only 7 steps per epoch,
# against 126 for batches of 10; with the same small batches it learns as
# fast as the tuned classic network, without any tuning of the step size.
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True, layout="constrained")
panels = [list(networks)[:2], list(networks)[2:]]
titles = ["Quadratic vs cross-entropy cost (sigmoid outputs, SGD)",
          "Classic network vs modern default"]
for ax, names, title in zip(axes, panels, titles, strict=True):
    for name in names:
        scores = models[name].validation_scores_
        ax.plot(range(1, len(scores) + 1), scores, marker="o", markersize=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_title(title, fontsize=10)
    ax.set_ylim(0.0, 1.0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
axes[0].set_ylabel("validation accuracy")
plt.show()
