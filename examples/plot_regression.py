"""
Regression: predicted versus true
=================================

:class:`~skbackprop.BackpropRegressor` fits real-valued targets with an
identity output unit and the squared-error cost. We fit Friedman's classic
benchmark function

.. math:: y = 10 \\sin(\\pi x_1 x_2) + 20 (x_3 - 0.5)^2 + 10 x_4 + 5 x_5 + \\varepsilon,

with five more inputs that have no influence at all, and compare the
predictions on held-out points with the true values.
"""

# %%
# Data and model
# --------------
# The inputs are uniform on ``[0, 1]``; the targets range over roughly 0 to
# 30, which an identity output handles without rescaling. L-BFGS suits a
# small data set like this one: full-batch, no step size to tune. Eight tanh
# units and a moderate L2 penalty are enough; wider layers or a weaker
# penalty fit the noise of the 1050 training points and do worse on the test
# points.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_friedman1
from sklearn.model_selection import train_test_split

from skbackprop import BackpropRegressor

X, y = make_friedman1(n_samples=1500, n_features=10, noise=1.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

reg = BackpropRegressor(
    hidden_layer_sizes=(8,), activation="tanh", solver="lbfgs", alpha=1.0,
    max_iter=2000, random_state=0,
)
reg.fit(X_train, y_train)
y_pred = reg.predict(X_test)
print(f"{reg.n_iter_} L-BFGS iterations, test R^2 = {reg.score(X_test, y_test):.3f}")
rmse = np.sqrt(np.mean((y_pred - y_test) ** 2))
print(f"test RMSE = {rmse:.2f} (the noise alone has standard deviation 1.0)")

# %%
# Predicted versus true
# ---------------------
# A perfect model puts every point on the diagonal. Points scatter around it
# by about the noise level; there is no visible bend at either end, which
# would mean the model systematically under- or over-predicts large values.
fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
ax.scatter(y_test, y_pred, s=12, alpha=0.6)
low, high = min(y_test.min(), y_pred.min()), max(y_test.max(), y_pred.max())
ax.plot([low, high], [low, high], "k--", lw=1, label="predicted = true")
ax.set_xlabel("true y")
ax.set_ylabel("predicted y")
ax.set_title(f"Friedman #1, held-out points (R$^2$ = {reg.score(X_test, y_test):.3f})")
ax.set_aspect("equal")
ax.legend(loc="upper left")
plt.show()

# %%
# What each input does
# --------------------
# Vary one input over ``[0, 1]`` with all others fixed at 0.5 and watch the
# prediction. The fitted curves follow the true effects (dashed, shifted to
# meet the model at 0.5): a parabola with its minimum at 0.5 for ``x3``,
# straight lines of slope 10 and 5 for ``x4`` and ``x5``, and a flat line for
# the inputs ``x6`` to ``x10``, which play no part in ``y`` (``x8`` is shown).
grid = np.linspace(0, 1, 101)
fig, axes = plt.subplots(1, 4, figsize=(11, 3), sharey=True, layout="constrained")
truth = {
    2: lambda t: 20 * (t - 0.5) ** 2,
    3: lambda t: 10 * t,
    4: lambda t: 5 * t,
    7: lambda t: 0 * t,
}
for ax, (j, effect) in zip(axes, truth.items(), strict=True):
    Z = np.full((grid.size, X.shape[1]), 0.5)
    Z[:, j] = grid
    prediction = reg.predict(Z)
    centre = reg.predict(np.full((1, X.shape[1]), 0.5))[0]
    ax.plot(grid, prediction, label="model")
    ax.plot(grid, effect(grid) - effect(np.array(0.5)) + centre, "k--", lw=1, label="true effect")
    ax.set_xlabel(f"x{j + 1}")
    ax.grid(True, alpha=0.3)
axes[0].set_ylabel("prediction")
axes[0].legend()
fig.suptitle("Prediction as one input varies (the others at 0.5)")
plt.show()
