"""
Recognising hand-written digits
===============================

scikit-learn ships a small version of the classic digit-recognition task:
1797 images of 8 x 8 pixels with 16 grey levels, each showing a digit from 0
to 9. A network with one hidden layer learns it to about 97 % accuracy on
held-out images in a few seconds. We look at which digits it confuses and at
the images it gets wrong.
"""

# %%
# Data
# ----
# Pixel values run from 0 to 16; dividing by 16 puts them in ``[0, 1]``, a
# range in which the default starting weights work well.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split

from skbackprop import BackpropClassifier

digits = load_digits()
X = digits.data / 16.0
y = digits.target
X_train, X_test, y_train, y_test, img_train, img_test = train_test_split(
    X, y, digits.images, test_size=0.3, stratify=y, random_state=0
)
print(f"{X_train.shape[0]} training and {X_test.shape[0]} test images, {X.shape[1]} pixels each")

# %%
# Training
# --------
# One hidden layer of 64 ReLU units, a softmax output over the ten classes and
# the cross-entropy cost (the defaults), trained by Adam with a step size of
# 0.005. Early stopping holds back 10 % of the training images and stops when
# the accuracy on them has not improved for 10 epochs, keeping the best
# weights.
clf = BackpropClassifier(
    hidden_layer_sizes=(64,),
    learning_rate_init=0.005,
    early_stopping=True,
    max_iter=300,
    random_state=0,
)
clf.fit(X_train, y_train)
print(f"stopped after {clf.n_iter_} epochs; best validation accuracy "
      f"{clf.best_validation_score_:.3f}")
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Confusion matrix
# ----------------
# Row ``i``, column ``j`` counts the test images of digit ``i`` that the
# network read as ``j``; a perfect classifier has numbers only on the diagonal.
y_pred = clf.predict(X_test)
fig, ax = plt.subplots(figsize=(6, 5.5), layout="constrained")
ConfusionMatrixDisplay.from_predictions(y_test, y_pred, ax=ax, colorbar=False, cmap="Blues")
ax.set_title(f"Digits test set: accuracy {np.mean(y_pred == y_test):.3f}")
plt.show()

# %%
# The images it gets wrong
# ------------------------
# Each panel shows a misclassified test image with its true label, the
# predicted label and the probability the network gave to its prediction.
# Many of them are hard to read even for a person.
proba = clf.predict_proba(X_test)
wrong = np.flatnonzero(y_pred != y_test)
print(f"{wrong.size} misclassified test images")
n_show = min(wrong.size, 12)
n_cols = 6
n_rows = max(1, int(np.ceil(n_show / n_cols)))
fig, axes = plt.subplots(
    n_rows, n_cols, figsize=(1.6 * n_cols, 1.9 * n_rows), squeeze=False, layout="constrained"
)
for ax in axes.ravel():
    ax.set_axis_off()
for ax, i in zip(axes.ravel(), wrong[:n_show], strict=False):
    ax.imshow(img_test[i], cmap="gray_r", interpolation="nearest")
    ax.set_title(f"true {y_test[i]}, pred {y_pred[i]}\np = {proba[i].max():.2f}", fontsize=9)
fig.suptitle("Misclassified test images")
plt.show()
