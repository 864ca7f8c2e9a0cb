"""
Comparing the solvers
=====================

The same network trained on the digits data by the three solvers:

* plain mini-batch stochastic gradient descent (``solver='sgd'``,
  ``momentum=0``),
* SGD with Nesterov's momentum (``momentum=0.9, nesterovs_momentum=True``),
* Adam (``solver='adam'``, the default),
* full-batch L-BFGS (``solver='lbfgs'``).

We plot the training cost ``loss_curve_`` of each. For the stochastic solvers
one point is one epoch (a pass over the training set in mini-batches of 200);
for L-BFGS one point is one iteration, which costs one or a few passes over
the whole training set.
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skbackprop import BackpropClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)

common = dict(hidden_layer_sizes=(32,), max_iter=60, random_state=0)
solvers = {
    "SGD": dict(solver="sgd", learning_rate_init=0.1, momentum=0.0),
    "SGD + Nesterov momentum": dict(
        solver="sgd", learning_rate_init=0.1, momentum=0.9, nesterovs_momentum=True
    ),
    "Adam": dict(solver="adam", learning_rate_init=0.01),
    "L-BFGS": dict(solver="lbfgs"),
}

# %%
# Training
# --------
# Every solver gets the same budget of 60 epochs (or iterations) from the same
# starting weights. Stopping them there is deliberate, so we silence the
# ``ConvergenceWarning`` that says so.
models = {}
for name, settings in solvers.items():
    model = BackpropClassifier(**common, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tic = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - tic
    models[name] = model
    print(f"{name:<26} final loss {model.loss_:.4f}   test accuracy "
          f"{model.score(X_test, y_test):.3f}   {model.n_iter_:3d} epochs/iterations, {seconds:.1f} s")

# %%
# Loss curves
# -----------
# At the same step size, momentum gives plain SGD a large head start: with
# it, SGD falls about as fast as Adam, which scales each weight's step by a
# running estimate of its gradient's size. Both level off after a few tens of
# epochs, where the noise of the mini-batch gradients dominates. L-BFGS, which
# uses the whole training set and a model of the cost's curvature at every
# iteration, starts more slowly but keeps going down and ends far lower (a
# low training cost is not the same thing as a good test accuracy, which the
# printout above reports).
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for name, model in models.items():
    for ax in axes:
        ax.plot(range(1, len(model.loss_curve_) + 1), model.loss_curve_, label=name)
axes[0].set_title("Training cost")
axes[1].set_yscale("log")
axes[1].set_title("Training cost, log scale")
for ax in axes:
    ax.set_xlabel("epoch (L-BFGS: iteration)")
    ax.set_ylabel("cross-entropy + L2 penalty")
    ax.grid(True, alpha=0.3)
axes[0].legend()
plt.show()
