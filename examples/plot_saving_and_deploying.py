"""
Saving and deploying
====================

A trained network leaves Python in one of three ways:

1. **pickle** (or ``joblib.dump``): the whole estimator, ready to predict and
   to go on training;
2. **skops**: the same, in a format that is loaded without running
   arbitrary code, after checking which types it holds;
3. **ONNX**: the network's computation as a graph, run by onnxruntime in any
   language and on any platform, without Python or scikit-learn.

This example does all three with a pipeline trained on the digits, and checks
that each copy predicts what the original does.
"""

# %%
# A pipeline to deploy
# --------------------
# A scaler and a network with one hidden layer of 64 ReLU units, trained by
# Adam on 1,500 of the 1,797 digits; the rest is held out.
import pathlib
import pickle
import tempfile
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, y_train, X_test, y_test = X[:1500], y[:1500], X[1500:], y[1500:]
net = BackpropClassifier(hidden_layer_sizes=(64,), max_iter=30, random_state=0)
pipe = make_pipeline(StandardScaler(), net).fit(X_train, y_train)
print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")

workspace = tempfile.TemporaryDirectory()  # removed at the end
folder = pathlib.Path(workspace.name)

# %%
# pickle: everything, training state included
# -------------------------------------------
# A pickled estimator keeps its weights and also what training needs to
# continue: the optimizer's state (here Adam's moments) and the random
# generator that shuffles the batches. A copy loaded from disk and the
# original, trained further on the same data, stay identical.
path = folder / "pipe.pkl"
path.write_bytes(pickle.dumps(pipe))
loaded = pickle.loads(path.read_bytes())
print("same probabilities:", np.array_equal(loaded.predict_proba(X_test), pipe.predict_proba(X_test)))

scaled = pipe[0].transform(X_train)
for model in (net, loaded[-1]):
    for _ in range(3):
        model.partial_fit(scaled, y_train)
same = all(np.array_equal(a, b) for a, b in zip(net.coefs_, loaded[-1].coefs_, strict=True))
print("identical after three more epochs each:", same)

# %%
# Only load pickles you trust: unpickling runs code named in the file. Also
# load them with the same versions of skbackprop and scikit-learn.
#
# A pickle saves functions by name, so a ``lambda`` among the ``callbacks``
# (or as ``weight_init``) cannot be saved. The error says which parameter
# holds it and what to do:
watched = BackpropClassifier(max_iter=2, callbacks=[lambda est, record: None])
watched.fit(X_train[:100], y_train[:100])
try:
    pickle.dumps(watched)
except pickle.PicklingError as exc:
    print(exc)

# %%
# skops: loading without running code
# -----------------------------------
# skops writes the estimator's state as data. Before loading, list the types
# the file holds that skops does not trust by default: a fitted model holds
# only arrays, numbers, strings, lists and dicts besides the estimator (the
# network, the optimizer and the random generator are saved as plain dicts),
# so the list is the estimator class alone.
import skops.io as sio

path = folder / "pipe.skops"
sio.dump(pipe, path)
untrusted = sio.get_untrusted_types(file=path)
print("untrusted types:", untrusted)
from_skops = sio.load(path, trusted=untrusted)
print("same probabilities:", np.array_equal(from_skops.predict_proba(X_test), pipe.predict_proba(X_test)))

# %%
# ONNX: the network as a graph
# ----------------------------
# ``import skbackprop.onnx`` registers converters for both estimators with
# skl2onnx; then ``skl2onnx.to_onnx`` converts the estimator alone or inside a
# pipeline (here the scaler is converted too). A float32 sample gives a
# float32 graph. ``zipmap=False`` returns the probabilities as a matrix
# rather than a list of dictionaries.
import onnxruntime as rt
import skl2onnx

import skbackprop.onnx  # noqa: F401  (registers the converters)

onx = skl2onnx.to_onnx(pipe, X_train[:1].astype(np.float32), options={id(net): {"zipmap": False}})
path = folder / "pipe.onnx"
path.write_bytes(onx.SerializeToString())
print("operators:", [node.op_type for node in onx.graph.node])

session = rt.InferenceSession(str(path), providers=["CPUExecutionProvider"])
labels, proba = session.run(None, {"X": X_test.astype(np.float32)})
difference = np.abs(proba - pipe.predict_proba(X_test))
print("same labels:", np.array_equal(labels, pipe.predict(X_test)))
print(f"largest difference in a probability: {difference.max():.1e}")

# %%
# The graph computes in float32, the pipeline in float64: the probabilities
# differ by float32 rounding, far below anything that changes a label. An
# onnxruntime session also answers single rows without Python's per-call
# overhead. Both, measured on the machine that built this page:
def per_call(function, rows, repeat=50):
    """Median seconds of ``function(rows)`` over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(rows)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def onnx_proba(rows):
    return session.run(None, {"X": rows.astype(np.float32)})[1]


sizes = [1, 10, 100]
python_times = [per_call(pipe.predict_proba, X_test[:n]) for n in sizes]
onnx_times = [per_call(onnx_proba, X_test[:n]) for n in sizes]

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
# Exact agreements (a difference of 0) are drawn at 1e-14.
left.hist(np.maximum(difference.ravel(), 1e-14), bins=np.logspace(-14, -5, 37), color="tab:blue")
left.set_xscale("log")
left.set_xlabel("|ONNX (float32) - predict_proba (float64)|, 0 drawn at 1e-14")
left.set_ylabel("probabilities")
left.set_title(f"{difference.size} probabilities of {len(X_test)} test digits")

positions = np.arange(len(sizes))
right.bar(positions - 0.2, np.array(python_times) * 1e3, 0.4, label="pipeline.predict_proba")
right.bar(positions + 0.2, np.array(onnx_times) * 1e3, 0.4, label="onnxruntime session")
right.set_xticks(positions, [f"{n} row{'s' if n > 1 else ''}" for n in sizes])
right.set_ylabel("milliseconds per call (median)")
right.set_title("Latency of one call")
right.legend()
fig.tight_layout()
plt.show()

# %%
# The same converters handle a ``ColumnTransformer`` in front of the network,
# the classifier's options ``nocl`` and ``output_class_labels``, string class
# labels and regressors; see :ref:`deploying` for what the graph computes.
workspace.cleanup()
