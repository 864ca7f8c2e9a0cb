"""
XOR: why a hidden layer is needed
=================================

The exclusive-or of two bits is the classic function a single layer of units
cannot compute: no straight line puts ``(0, 1)`` and ``(1, 0)`` on one side and
``(0, 0)`` and ``(1, 1)`` on the other. A network without hidden layer (here
``hidden_layer_sizes=()``, which is logistic regression) therefore gets at most
three of the four points right; trained on the cross-entropy it does even
less, as we will see. One hidden layer of two sigmoid units is
enough: the hidden units bend the input space so that the output unit can
separate it with a line.
"""

# %%
# The four points
# ---------------
import matplotlib.pyplot as plt
import numpy as np
from scipy.special import expit

from skbackprop import BackpropClassifier

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
y = np.array([0, 1, 1, 0])

# %%
# Two networks
# ------------
# Both use sigmoid units, the cross-entropy cost and full-batch L-BFGS. With
# only four points and two hidden units the starting weights matter: from
# some of them training ends in a local minimum that misclassifies a point or
# two (try other values of ``random_state``). The seed below reaches the
# global minimum.
common = dict(activation="sigmoid", solver="lbfgs", alpha=1e-3, max_iter=1000)
no_hidden = BackpropClassifier(hidden_layer_sizes=(), random_state=0, **common).fit(X, y)
hidden = BackpropClassifier(hidden_layer_sizes=(2,), random_state=1, **common).fit(X, y)

for name, model in [("no hidden layer", no_hidden), ("2 hidden units", hidden)]:
    print(f"{name:<16} accuracy {model.score(X, y):.2f}   predictions {model.predict(X)}")

# %%
# Decision regions
# ----------------
# The shading is the predicted probability of class 1; the black line is
# where it crosses 0.5. Without a hidden layer the model's boundary could only
# be a straight line, and no line helps: by symmetry the cost is smallest
# when every point gets probability 1/2, so the model learns (almost)
# nothing and the whole plane stays pale. With two hidden units, class 0 gets
# a band along the diagonal through ``(0, 0)`` and ``(1, 1)``, and class 1
# the two corners on either side of it: two boundary lines, one per hidden
# unit.
grid = np.linspace(-0.5, 1.5, 201)
xx, yy = np.meshgrid(grid, grid)
points = np.c_[xx.ravel(), yy.ravel()]

fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True, layout="constrained")
for ax, (title, model) in zip(
    axes,
    [("No hidden layer", no_hidden), ("One hidden layer of 2 sigmoid units", hidden)],
    strict=True,
):
    proba = model.predict_proba(points)[:, 1].reshape(xx.shape)
    filled = ax.contourf(xx, yy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.8)
    if proba.min() < 0.45 and proba.max() > 0.55:  # draw the boundary only where there is one
        ax.contour(xx, yy, proba, levels=[0.5], colors="black", linewidths=1.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolor="black", s=120, vmin=0, vmax=1)
    ax.set_title(f"{title}\naccuracy {model.score(X, y):.2f}")
    ax.set_xlabel("x1")
    ax.set_aspect("equal")
axes[0].set_ylabel("x2")
fig.colorbar(filled, ax=axes, shrink=0.8, label="P(class 1)")
plt.show()

# %%
# What the hidden layer does
# --------------------------
# Mapping the four inputs through the hidden layer gives their coordinates as
# seen by the output unit. ``(0, 0)`` and ``(1, 1)`` land on the same corner,
# and the two classes *are* linearly separable: the output unit's line
# (``w1 h1 + w2 h2 + b = 0``) separates them.
W1, W2 = hidden.coefs_
b1, b2 = hidden.intercepts_
H = expit(X @ W1 + b1)  # the sigmoid

fig, ax = plt.subplots(figsize=(4.5, 4.2), layout="constrained")
ax.scatter(H[:, 0], H[:, 1], c=y, cmap="RdBu_r", edgecolor="black", s=120, vmin=0, vmax=1)
labels = {}  # inputs that land on (almost) the same hidden point share a label
for (h1, h2), (x1, x2) in zip(H, X, strict=True):
    key = (round(h1, 1), round(h2, 1))
    labels.setdefault(key, [(h1, h2), []])[1].append(f"({x1:.0f}, {x2:.0f})")
for (h1, h2), names in labels.values():
    ax.annotate(" and ".join(names), (h1, h2), textcoords="offset points", xytext=(0, 12), ha="center")
h = np.linspace(-0.2, 1.2, 2)
w, b = W2[:, 0], b2[0]
ax.plot(h, -(w[0] * h + b) / w[1], "k-", label="output unit's boundary")
ax.set_xlim(-0.2, 1.2)
ax.set_ylim(-0.1, 1.2)
ax.set_xlabel("hidden unit 1")
ax.set_ylabel("hidden unit 2")
ax.set_title("The inputs as the output unit sees them")
ax.legend(loc="upper right")
plt.show()
