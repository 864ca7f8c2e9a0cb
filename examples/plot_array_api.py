"""
Training on PyTorch tensors (and other array libraries)
=======================================================

With scikit-learn's array API dispatch switched on, the estimators accept
arrays of any library that follows the Array API standard and compute in that
library, on the arrays' device: PyTorch tensors on the CPU or a GPU, CuPy
arrays, and so on. Everything follows ``X``: the targets and sample weights
are moved to its library and device, the weights ``coefs_`` live there and the
predictions come back there.

This example trains the same network on NumPy arrays and on PyTorch tensors
(on the CPU here, so that it runs anywhere; on a machine with a GPU, put the
tensors on ``"cuda"``) and checks that the two fits are the same fit. Where
PyTorch is not installed it uses array-api-strict, the reference
implementation of the standard, instead.
"""

# %%
# Switching dispatch on
# ---------------------
# scikit-learn's dispatch needs SciPy's array API mode, which SciPy reads when
# it is first imported: ``SCIPY_ARRAY_API=1`` must be in the environment before
# anything imports SciPy (set it in the shell, or first thing in a script).
import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")

import importlib.util
import warnings

import matplotlib.pyplot as plt
import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)

if importlib.util.find_spec("torch") is not None:
    import torch

    library = "PyTorch"
    device = "cuda" if torch.cuda.is_available() else "cpu"

    def to_library(array):
        return torch.asarray(array, device=device)

    def to_numpy(array):
        return array.cpu().numpy()

else:  # the standard's reference implementation
    import array_api_strict as xp

    library, device = "array-api-strict", "CPU_DEVICE"

    def to_library(array):
        return xp.asarray(array)

    def to_numpy(array):
        return np.asarray(array)


print(f"training on {library} arrays, device {device!r}")

# %%
# One network, two kinds of arrays
# --------------------------------
# The same estimator settings and the same ``random_state``: the starting
# weights are drawn by NumPy's generator on the host and the batch order is
# shuffled there too, so both fits take the same steps.
params = dict(hidden_layer_sizes=(64,), max_iter=30, batch_size=64, random_state=0)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # 30 epochs, on purpose
    numpy_model = BackpropClassifier(**params).fit(X_train, y_train)

    with sklearn.config_context(array_api_dispatch=True):
        X_train_l, y_train_l = to_library(X_train), to_library(y_train)
        model = BackpropClassifier(**params).fit(X_train_l, y_train_l)
        predicted = model.predict(to_library(X_test))
        accuracy = model.score(to_library(X_test), to_library(y_test))

print(f"coefs_[0] is a {type(model.coefs_[0]).__module__}.{type(model.coefs_[0]).__name__}")
print(f"predict returned a {type(predicted).__module__}.{type(predicted).__name__}")
print(f"classes_ stays NumPy: {type(model.classes_).__name__} {model.classes_.tolist()}")
print(f"test accuracy: {library} {accuracy:.3f}, NumPy {numpy_model.score(X_test, y_test):.3f}")

# %%
# The same fit
# ------------
# float32 on both sides: the largest difference between the two sets of
# weights is float32 rounding (each library has its own matrix products).
difference = max(
    float(np.max(np.abs(to_numpy(W) - W_np)))
    for W, W_np in zip(model.coefs_, numpy_model.coefs_, strict=True)
)
print(f"largest weight difference after 30 epochs: {difference:.2e}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(numpy_model.loss_curve_, lw=4, alpha=0.4, label="NumPy arrays")
ax.plot(model.loss_curve_, "k--", lw=1.2, label=f"{library} arrays ({device})")
ax.set_xlabel("epoch")
ax.set_ylabel("training cost")
ax.set_yscale("log")
ax.set_title("One network trained on two kinds of arrays")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Predicting with the wrong kind of array
# ---------------------------------------
# A model fitted on one library's arrays predicts on that library's arrays, on
# the same device; anything else is refused with scikit-learn's error, rather
# than silently copied between devices.
with sklearn.config_context(array_api_dispatch=True):
    try:
        model.predict(X_test)  # NumPy arrays, but the model lives in the other library
    except ValueError as error:
        print(str(error).split(". ")[0] + ".")
