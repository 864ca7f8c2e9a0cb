"""
Scaling out with dask
=====================

Three routes to a cluster, from the most to the least built in:

1. ``fit``, ``predict`` and ``score`` on **dask arrays** (or DataFrames):
   L-BFGS evaluates the cost and gradient where the chunks live; SGD and
   Adam stream the chunks through the client; predictions come back as dask
   arrays computed blockwise.
2. **dask-ml's wrappers** (``Incremental``, ``ParallelPostFit``) around the
   estimator, which use ``partial_fit`` and ``predict`` on each block.
3. **scikit-learn's searches on joblib's dask backend**: each fit of a
   ``GridSearchCV`` runs as a task on the cluster.

The example starts a small local cluster (two workers in this process); on a
real cluster, connect a ``distributed.Client`` to its scheduler instead.
"""

# %%
# A cluster and data that is generated where it is used
# -----------------------------------------------------
# The data is a dask array of 40,000 rows in 8 chunks, generated lazily with
# a fixed seed; the labels follow a fixed rule (three classes). Nothing is
# computed until a fit asks for it.
import importlib.util
import warnings

import dask
import dask.array as da
import joblib
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skbackprop import BackpropClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                       dashboard_address=":0")
client = Client(cluster)

X = da.random.default_rng(0).standard_normal((40_000, 20), chunks=(5_000, 20))
direction = np.random.default_rng(1).standard_normal(20)
score_ = X @ direction
y = (score_ > 0).astype(int) + (score_ > 2)
X_test = da.random.default_rng(2).standard_normal((10_000, 20), chunks=(5_000, 20))
y_test = (X_test @ direction > 0).astype(int) + (X_test @ direction > 2)
print(X)

# %%
# Route 1: fit on the dask arrays
# -------------------------------
# With ``solver='lbfgs'`` every cost-and-gradient evaluation is a map-reduce
# over the chunks, which stay on the workers: the result is the in-memory fit,
# summed in another order. The in-memory fit on the same rows, computed here
# for the comparison, shows it.
params = dict(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=50, random_state=0)
on_chunks = BackpropClassifier(**params).fit(X, y)
X_np, y_np = dask.compute(X, y)
in_memory = BackpropClassifier(**params).fit(X_np, y_np)
gap = max(np.abs(a - b).max() for a, b in zip(on_chunks.coefs_, in_memory.coefs_, strict=True))
print(f"L-BFGS: {on_chunks.n_iter_} iterations on chunks, {in_memory.n_iter_} in memory; "
      f"largest weight difference {gap:.1e}")

# %%
# With ``'adam'`` (or ``'sgd'``) training streams the chunks through the
# client, one at a time, in a new order every epoch, with their rows shuffled
# into mini-batches: the data never has to fit in memory. Early stopping holds
# out whole chunks.
streamed = BackpropClassifier(hidden_layer_sizes=(16,), max_iter=15, random_state=0,
                              early_stopping=True).fit(X, y)
print(f"Adam on chunks: {streamed.n_iter_} epochs, best validation accuracy "
      f"{streamed.best_validation_score_:.3f}")

# %%
# Predictions on dask arrays are dask arrays, computed blockwise on the
# workers; ``score`` adds up per-chunk counts and returns a number.
proba = streamed.predict_proba(X_test)
print(proba)
print(f"test accuracy: L-BFGS {on_chunks.score(X_test, y_test):.3f}, "
      f"Adam {streamed.score(X_test, y_test):.3f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
left.plot(in_memory.loss_curve_, lw=4, alpha=0.4, label="in memory")
left.plot(on_chunks.loss_curve_, "k--", lw=1, label="dask chunks")
left.set(title="L-BFGS: the same iterations", xlabel="iteration", ylabel="cost")
left.legend()
right.plot(streamed.loss_curve_, label="training cost")
right.plot(streamed.validation_scores_, label="accuracy on held-out chunks")
right.set(title="Adam, chunks streamed", xlabel="epoch")
right.legend()
fig.tight_layout()

# %%
# Route 2: dask-ml's wrappers
# ---------------------------
# ``Incremental`` calls ``partial_fit`` once per block;
# ``ParallelPostFit`` fits on data in memory and predicts blockwise. (Both are
# optional: dask-ml is not part of the ``[dask]`` extra.)
if importlib.util.find_spec("dask_ml") is not None:
    from dask_ml.wrappers import Incremental

    incremental = Incremental(BackpropClassifier(hidden_layer_sizes=(16,), random_state=0))
    for _ in range(3):  # three passes over the blocks
        incremental.partial_fit(X, y, classes=[0, 1, 2])
    print(f"dask-ml Incremental: test accuracy {incremental.score(X_test, y_test):.3f}")

# %%
# Route 3: a grid search on joblib's dask backend
# -----------------------------------------------
# scikit-learn's searches parallelise through joblib; under the dask backend
# each of the fits is a task on the cluster. The data here is a sample in
# memory, as a search fits many models on it.
X_small, y_small = X_np[:5_000], y_np[:5_000]
search = GridSearchCV(
    BackpropClassifier(hidden_layer_sizes=(16,), max_iter=100, random_state=0),
    {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2]}, cv=3, n_jobs=-1,
)
with joblib.parallel_backend("dask"):
    search.fit(X_small, y_small)
print(f"best parameters {search.best_params_}, cross-validated accuracy "
      f"{search.best_score_:.3f}")

client.close()
cluster.close()
