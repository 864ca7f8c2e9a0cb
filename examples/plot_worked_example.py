"""
The worked example, one backpropagation step by hand
====================================================

The classic textbook walk-through of backpropagation uses a tiny network: two
inputs, two sigmoid hidden units, two sigmoid outputs, fixed starting weights,
the squared error and a learning rate of 0.5. One gradient-descent step on the
single training sample ``(0.05, 0.10) -> (0.01, 0.99)`` changes the eight
weights by amounts that the walk-through works out digit by digit.

Here we take that same step through the public API of
:class:`~skbackprop.BackpropRegressor` and compare every weight with the
published values.
"""

# %%
# The network and its starting weights
# ------------------------------------
# Weights ``w1, w2`` feed hidden unit ``h1`` and ``w3, w4`` feed ``h2``;
# ``w5, w6`` feed output ``o1`` and ``w7, w8`` feed ``o2``. In the
# ``coefs_`` layout, ``coefs_[l][j, k]`` is the weight from unit ``j`` of one
# layer to unit ``k`` of the next, so each *column* holds the weights into one
# unit.
import numpy as np

from skbackprop import BackpropRegressor

X = np.array([[0.05, 0.10]])
y = np.array([[0.01, 0.99]])

coefs_init = [
    np.array([[0.15, 0.25], [0.20, 0.30]]),  # [[w1, w3], [w2, w4]]
    np.array([[0.40, 0.50], [0.45, 0.55]]),  # [[w5, w7], [w6, w8]]
]
intercepts_init = [np.array([0.35, 0.35]), np.array([0.60, 0.60])]

net = BackpropRegressor(
    hidden_layer_sizes=(2,),
    activation="sigmoid",
    output_activation="sigmoid",
    loss="squared_error",
    solver="sgd",
    learning_rate_init=0.5,
    momentum=0.0,
    alpha=0.0,
    batch_size=1,
    shuffle=False,
    coefs_init=coefs_init,
    intercepts_init=intercepts_init,
)

# %%
# Inside the step: a trace
# ------------------------
# :func:`skbackprop.inspect.trace` runs the forward and backward pass of the
# step without taking it, and keeps every intermediate value: the
# pre-activations ``z`` (the walk-through's *net*), the activations (*out*),
# the deltas ``dE/dz`` and the gradients. It does not change ``net``. Here
# they are next to the values the walk-through works out by hand.
from skbackprop.inspect import check_gradients, trace

result = trace(net, X, y)
out_h1, out_o1 = result.activations[0][0, 0], result.activations[1][0, 0]
rows = [
    ("net_h1", result.z[0][0, 0], "0.3775"),
    ("out_h1", out_h1, "0.593269992"),
    ("out_h2", result.activations[0][0, 1], "0.596884378"),
    ("net_o1", result.z[1][0, 0], "1.105905967"),
    ("out_o1", out_o1, "0.75136507"),
    ("out_o2", result.activations[1][0, 1], "0.772928465"),
    ("E_total", result.loss, "0.298371109"),
    ("dE/dout_o1 = out_o1 - target_o1", out_o1 - y[0, 0], "0.74136507"),
    ("dout_o1/dnet_o1 = out_o1 (1 - out_o1)", out_o1 * (1 - out_o1), "0.186815602"),
    ("delta_o1 = dE/dnet_o1", result.deltas[1][0, 0], "0.138498562"),
    ("dE/dw5", result.coef_grads[1][0, 0], "0.082167041"),
    ("dE/dout_h1 = delta_h1 / (out_h1 (1 - out_h1))",
     result.deltas[0][0, 0] / (out_h1 * (1 - out_h1)), "0.036350306"),
    ("dE/dw1", result.coef_grads[0][0, 0], "0.000438568"),
]
print(f"{'quantity':<48}{'trace':>14}{'walk-through':>14}")
for name, value, published_value in rows:
    print(f"{name:<48}{value:>14.9f}{published_value:>14}")
    assert abs(value - float(published_value)) < 1e-8

# %%
# Every value agrees to the digits the walk-through prints. ``print(result)``
# shows the whole trace as a table (every unit and every parameter), and
# ``result.to_frame()`` gives it as a pandas DataFrame. The deltas are the
# derivatives of the cost with respect to the pre-activations; with more than
# one sample they are divided by the batch size, because the cost is the mean
# over the batch.
#
# The textbook's other check, the gradient against finite differences of the
# cost, is :func:`skbackprop.inspect.check_gradients`; it works on any
# network and prints the relative error of each layer:
print(check_gradients(net, X, y))

# %%
# The step, drawn
# ---------------
# :class:`skbackprop.inspect.NetworkDisplay` draws the same trace as the
# network: each unit with its bias, pre-activation ``z`` and activation ``a``
# (and, with ``show_deltas=True``, its delta), each connection with its
# weight, its gradient and, given the learning rate, its value after the
# plain gradient step ``w - 0.5 dC/dw``. Lines are blue for positive weights
# and as wide as the weight is large; a label's frame is blue where the step
# raises the weight and red where it lowers it. ``w5`` reads 0.40, gradient
# 0.0822, new value 0.3589: the walk-through's numbers.
import matplotlib.pyplot as plt

from skbackprop.inspect import NetworkDisplay

display = NetworkDisplay.from_estimator(net, X, y, learning_rate=0.5, show_deltas=True)
plt.show()

# %%
# One step
# --------
# ``partial_fit`` runs one epoch over the data it is given; with one sample
# and ``batch_size=1`` that is exactly one gradient step. The cost it reports
# for the epoch, ``loss_``, is measured before the step: the walk-through's
# ``E_total = 1/2 (0.01 - out_o1)^2 + 1/2 (0.99 - out_o2)^2``.
net.partial_fit(X, y)


def weights(coefs):
    """The eight weights w1..w8 from the ``coefs_`` layout."""
    (w1, w3), (w2, w4) = coefs[0]
    (w5, w7), (w6, w8) = coefs[1]
    return [w1, w2, w3, w4, w5, w6, w7, w8]


before = weights(coefs_init)
after = weights(net.coefs_)
# Values printed in the walk-through (to the digits it prints).
published = [
    "0.149780716", "0.19956143", "0.24975114", "0.29950229",
    "0.35891648", "0.408666186", "0.511301270", "0.561370121",
]
published_error = "0.298371109"

print(f"{'weight':<8}{'before':>10}{'after (skbackprop)':>22}{'published':>14}{'difference':>13}")
for i, (b, a, p) in enumerate(zip(before, after, published, strict=True), start=1):
    print(f"w{i:<7}{b:>10.4f}{a:>22.9f}{p:>14}{a - float(p):>13.1e}")
print(f"\nE_total before the step: {net.loss_:.9f} (published {published_error})")
assert np.allclose(after, [float(p) for p in published], atol=1e-8)
assert abs(net.loss_ - float(published_error)) < 1e-8

# %%
# Every weight agrees with the published value to all the digits printed
# there (differences are below ``1e-8``, the rounding of the published
# numbers). The output-layer weights move most: their gradient is the
# output error times the hidden activation, while the hidden weights are
# reached only through the sigmoid derivatives of two layers and the small
# inputs 0.05 and 0.10.

# %%
# Keep going
# ----------
# Repeating the step drives the outputs towards their targets. Each call of
# ``partial_fit`` continues from the current weights, so the loop below takes
# steps 2, 3, ... and appends the cost measured before each one to
# ``loss_curve_``, which :class:`skbackprop.inspect.LossCurveDisplay` draws.
from skbackprop.inspect import LossCurveDisplay

for _ in range(1999):
    net.partial_fit(X, y)
print("outputs after 2000 steps:", net.predict(X).round(4), "targets:", y[0])

curve = LossCurveDisplay.from_estimator(net, yscale="log")
curve.ax_.set_xlabel("gradient step (one partial_fit each)")
curve.ax_.set_title("The worked example, continued")
curve.ax_.grid(True, which="both", alpha=0.3)
plt.show()
