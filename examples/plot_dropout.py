"""
Dropout against overfitting
===========================

A network with many more weights than training samples can learn its
training set by heart, noise included, and then does worse on new data the
longer it trains. Dropout (Srivastava et al., 2014) counters this: during
training each hidden unit is switched off, for each sample of each batch,
with probability ``dropout``, and the units that stay on are scaled by
``1 / (1 - dropout)``. No unit can rely on particular others being there, and
the network cannot store one sample's label in a few units. Predictions use
the whole network, deterministically.

We train the same large network, two hidden layers of 256 ReLU units (about
83,000 weights), on 500 of scikit-learn's 8 x 8 digit images with and without
dropout, and follow the accuracy on the training images and on held-out
images after every epoch.
"""

# %%
# Data, with noisy labels
# -----------------------
# To make memorising visible, 30 % of the training labels are replaced by
# random digits (a label is then wrong about 27 % of the time). The held-out
# images keep their true labels.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from skbackprop import BackpropClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_val, y_train, y_val = train_test_split(
    X, y, train_size=500, stratify=y, random_state=0
)
rng = np.random.default_rng(0)
noisy = rng.uniform(size=y_train.size) < 0.3
true_train = y_train
y_train = y_train.copy()
y_train[noisy] = rng.integers(0, 10, noisy.sum())
correct = np.mean(y_train == true_train)
print(f"{len(y_train)} training images, {noisy.sum()} relabelled at random, "
      f"{1 - correct:.0%} now wrong; {len(y_val)} held-out images")

# %%
# Training, epoch by epoch
# ------------------------
# ``partial_fit`` runs one epoch per call, so the curves are recorded after
# every epoch. Both networks start from the same weights (``random_state``)
# and are trained by Adam with no L2 penalty; the second drops half of the
# hidden units' outputs at every step (``dropout=0.5``; a list gives one rate
# per hidden layer). The dropout masks come from ``random_state`` too, so the
# run is reproducible.
classes = np.arange(10)
epochs = 120
curves = {}
for rate in (0.0, 0.5):
    clf = BackpropClassifier(
        hidden_layer_sizes=(256, 256), alpha=0.0, batch_size=32, learning_rate_init=0.001,
        dropout=rate, random_state=0,
    )
    history = {"train": [], "validation": [], "validation log loss": []}
    for _ in range(epochs):
        clf.partial_fit(X_train, y_train, classes=classes)
        history["train"].append(clf.score(X_train, y_train))
        history["validation"].append(clf.score(X_val, y_val))
        history["validation log loss"].append(log_loss(y_val, clf.predict_proba(X_val), labels=classes))
    curves[rate] = history
    best = int(np.argmax(history["validation"]))
    print(f"dropout={rate}: training accuracy {history['train'][-1]:.3f}, held-out accuracy "
          f"{history['validation'][-1]:.3f} after {epochs} epochs (best {history['validation'][best]:.3f} "
          f"at epoch {best + 1})")

# %%
# The curves
# ----------
fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
epoch_numbers = np.arange(1, epochs + 1)
colours = {0.0: "tab:red", 0.5: "tab:blue"}
for rate, history in curves.items():
    label = "no dropout" if rate == 0 else f"dropout={rate}"
    ax_acc.plot(epoch_numbers, history["train"], "--", color=colours[rate], label=f"{label}, training")
    ax_acc.plot(epoch_numbers, history["validation"], color=colours[rate], label=f"{label}, held out")
    ax_loss.plot(epoch_numbers, history["validation log loss"], color=colours[rate], label=label)
ax_acc.axhline(correct, color="grey", lw=0.8, ls=":")
ax_acc.text(epochs, correct, "share of correct\ntraining labels", ha="right", va="top",
            fontsize=8, color="grey")
ax_acc.set_xlabel("epoch")
ax_acc.set_ylabel("accuracy")
ax_acc.set_title("Accuracy (training labels are noisy)")
ax_acc.legend(fontsize=8, loc="lower right")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("log loss on held-out images")
ax_loss.set_title("Held-out cost")
ax_loss.legend(fontsize=8)
for ax in (ax_acc, ax_loss):
    ax.grid(alpha=0.3)
plt.show()

# %%
# Without dropout the network reaches 100 % on its training images, wrong
# labels included, and its held-out accuracy falls from its early best as it
# learns them: it memorises the noise, and its held-out cost climbs. With
# ``dropout=0.5`` the training accuracy stays near the share of right labels
# for dozens of epochs and climbs above it only slowly, and the held-out
# accuracy stays close to its best while the held-out cost keeps falling.
# Dropout delays memorising rather than forbidding it. Dropout is one regulariser among others: the L2 penalty
# ``alpha`` and early stopping (``early_stopping=True``, which keeps the
# weights of the best held-out epoch) also fight overfitting, and they can
# be combined with it. It applies to the stochastic solvers only; L-BFGS
# needs one fixed cost and refuses it.
