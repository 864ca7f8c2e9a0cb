"""Dask arrays and DataFrames: training where the chunks live, prediction blockwise.

Nothing here imports dask at module level: this module is imported with the
estimators, dask only when an input is a dask collection (which means dask is
already imported).

- **The first pass** (:func:`_survey_chunk`, on the workers) reads every
  chunk once: it checks it as the in-memory path checks the whole data
  (finite numbers, one target per row, valid weights) and returns its number
  of rows and a summary of its targets (the labels with their counts, or the
  targets' range). The estimator learns ``classes_`` from the summaries as it
  would from the whole ``y``, which never comes to the client.
- **The training data** (:class:`DaskData`, a ``training.loop.TrainingData``) is a list
  of prepared chunks: inputs as floats, targets encoded, weights combined,
  computed on the workers. L-BFGS persists them there, and every cost and
  gradient evaluation is a map-reduce (:class:`MapReduceStep`): the
  parameter vector goes out once, each chunk's sums come back added up in a
  tree. SGD and Adam stream them (:class:`StreamedBatches`): each epoch takes
  the chunks in a new order, one at a time, the next fetched while the
  current one trains, its rows shuffled into mini-batches. A large chunk
  comes to the client in blocks of rows (:func:`_fetch`), so the client
  holds the chunk that trains, the one arriving and a block or two besides
  the model (measured on 2026-12-07: its peak rose by 1.1 to 2.5 chunks
  during a fit, with a small model; docs/scaling_out.rst has the figures).
- **Aligned arrays.** An array that travels between dask processes may be
  rebuilt at any byte address of the buffer it arrived in. NumPy computes
  on an array whose address is not a multiple of its item size through
  other loops (matrix products without BLAS, sums in other blocks), so the
  same numbers round differently, and ``take`` first copies the whole
  array. Every array a chunk's arithmetic reads is therefore aligned first
  (:func:`_aligned_arrays`, a copy only where it is needed), which makes a
  fit reproducible bit for bit whatever the transport did.
- **Prediction** maps a lean copy of the fitted estimator over the blocks
  of ``X`` (:func:`predict`); **scores** add up a few sums per chunk
  (:func:`score`), so neither brings the data to the client.

The design record, docs/design.rst, has the reasoning (section "design-dask").
"""

from __future__ import annotations

import copy
import math
import numbers
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.utils.validation import check_array

from .. import _scores
from .._validation import check_some_weight, one_column_as_1d, sample_weight_values
from ..core.network import Network
from ..core.ops import NUMPY
from ..training.loop import Batches, TrainingData

#: Chunks fetched ahead of the one training (SGD and Adam): the next one.
PREFETCH = 1

#: Bytes of rows per block in which a streamed chunk comes to the client
#: (see :func:`_fetch`): the client's memory holds a block or two beyond
#: the chunks. Smaller blocks save memory and cost a round trip each.
TRANSFER_BYTES = 8 * 2**20

#: The fitted attributes a lean copy of an estimator keeps besides its
#: parameters: what encoding targets, predicting and scoring read, without the
#: training state (optimizer, histories), which may be large.
_LEAN_KEEP = (
    "n_features_in_", "classes_", "_label_binarizer", "out_activation_", "n_outputs_",
    "loss_function_", "n_layers_", "coefs_", "intercepts_", "_network",
)

#: Parameters a lean copy blanks: possibly unpicklable (callables) or large,
#: and read only when training starts.
_LEAN_BLANK = {"callbacks": None, "coefs_init": None, "intercepts_init": None}


def is_dask_collection(obj) -> bool:
    """Whether ``obj`` is a dask collection (array, DataFrame, Series), without importing dask."""
    if "dask" not in sys.modules:  # no dask collection can exist
        return False
    from dask.base import is_dask_collection as check

    return bool(check(obj))


def _aligned_arrays(*arrays) -> tuple:
    """``arrays``, each at an address its item size divides (a copy where it is not).

    distributed rebuilds an array it received as a view of the received
    bytes, wherever in them it happens to start, and NumPy computes on a
    misaligned array through other loops than on an aligned one: matrix
    products without BLAS, sums split into other blocks. The same numbers
    then give other roundings, depending on where the bytes landed, which
    varies from run to run; ``take`` also copies the whole array first.
    None stays None.
    """
    return tuple(None if a is None else np.require(a, requirements="A") for a in arrays)


def _lean(est, weights: bool = True):
    """A shallow copy of ``est`` with only the attributes in :data:`_LEAN_KEEP`.

    ``weights=False`` leaves out the network and its weights too.
    """
    keep = {*est.get_params(deep=False), *(_LEAN_KEEP if weights else _LEAN_KEEP[:-3])}
    lean = copy.copy(est)
    lean.__dict__ = {k: v for k, v in est.__dict__.items() if k in keep}
    lean.__dict__.update(_LEAN_BLANK)
    if callable(lean.weight_init):
        lean.weight_init = "auto"
    return _own_network(lean)


def _own_network(est):
    """``est`` (a shallow copy) with a network of its own.

    A network keeps work buffers between calls; tasks that run in threads
    of one process (dask's local scheduler, a worker's threads) must not
    share them.
    """
    if getattr(est, "_network", None) is not None:
        est = copy.copy(est)
        est._network = _worker_network(est._network)
    return est


# --------------------------------------------------------------------------- #
# Inputs: dask collections as arrays whose row chunks match
# --------------------------------------------------------------------------- #
def _as_array(obj, name: str):
    """A dask array from a dask array, DataFrame or Series (others: a NumPy array)."""
    import dask.array as da

    if isinstance(obj, da.Array):
        return obj
    if is_dask_collection(obj):
        if hasattr(obj, "to_dask_array"):
            return obj.to_dask_array()
        raise TypeError(
            f"{name} is a dask {type(obj).__name__}; pass a dask array, DataFrame or Series."
        )
    return np.asarray(obj)


def _whole_columns(array):
    """``array`` with one chunk across its columns (a chunk is a set of whole rows)."""
    if array.ndim == 2 and array.numblocks[1] > 1:
        return array.rechunk({1: -1})
    return array


def input_array(X, name: str = "X"):
    """``X`` as a 2-D dask array with whole rows per chunk."""
    X = _as_array(X, name)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D dask array for {name}, got {X.ndim} dimension(s); reshape it to "
            "(n_samples, n_features)."
        )
    return _whole_columns(X)


def _rows_like(array, X, name: str):
    """``array`` (dask or in memory) as a dask array chunked along its rows like ``X``."""
    import dask.array as da

    array = _as_array(array, name)
    if not isinstance(array, da.Array):
        if any(math.isnan(c) for c in X.chunks[0]):
            raise ValueError(
                f"X is a dask collection of unknown chunk sizes and {name} is not a dask "
                f"collection; pass {name} as a dask array or Series partitioned like X."
            )
        array = da.from_array(array, chunks=(X.chunks[0], *array.shape[1:]))
    array = _whole_columns(array)
    known = not any(math.isnan(c) for c in (*X.chunks[0], *array.chunks[0]))
    if array.numblocks[0] != X.numblocks[0] or (known and array.chunks[0] != X.chunks[0]):
        raise ValueError(
            f"X and {name} are chunked differently along the rows (X: {X.chunks[0]}, {name}: "
            f"{array.chunks[0]}); each chunk of X needs its rows' {name} in the matching "
            f"chunk. Rechunk {name} like X: {name} = {name}.rechunk({{0: X.chunks[0]}})."
        )
    return array


def _chunks_of(X, y, sample_weight) -> list[tuple]:
    """``(X, y, sample_weight)`` blocks per row chunk (``Delayed``); a scalar weight repeats.

    The graphs are taken as they are: optimizing them (on their own, or even
    together) fuses the work they share (``y`` computed from ``X``, say) into
    each, which then runs twice per pass.
    """
    scalar = sample_weight is None or isinstance(sample_weight, numbers.Number)
    arrays = (X, y) if scalar else (X, y, sample_weight)
    blocks = [list(a.to_delayed(optimize_graph=False).ravel()) for a in arrays]
    if scalar:
        blocks.append([sample_weight] * len(blocks[0]))
    return list(zip(*blocks, strict=True))


def _aligned(est, X, y, sample_weight, *, reset: bool):
    """``X``, ``y`` and ``sample_weight`` as dask arrays chunked alike along the rows.

    ``X`` has whole rows per chunk; its features set ``n_features_in_`` (and
    the names of a DataFrame's columns) or are checked against them. ``y``
    may be None (prediction); a scalar or absent weight stays as it is.
    """
    X_given = X
    X = input_array(X)
    if y is not None:
        y = _rows_like(y, X, "y")
    if sample_weight is not None and not isinstance(sample_weight, numbers.Number):
        sample_weight = _rows_like(sample_weight, X, "sample_weight")
    _check_features(est, X_given, X.shape[1], reset=reset)
    return X, y, sample_weight


def _float_dtype(X) -> np.dtype:
    """float32 stays float32; every other dtype trains in float64."""
    return np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64)


def _check_features(est, X_given, n_features: int, reset: bool) -> None:
    """``n_features_in_`` (and ``feature_names_in_`` of a DataFrame), set or checked."""
    columns = getattr(X_given, "columns", None)
    names = None
    if columns is not None and all(isinstance(c, str) for c in columns):
        names = np.asarray(list(columns), dtype=object)
    if reset:
        est.n_features_in_ = n_features
        if names is not None:
            est.feature_names_in_ = names
        elif hasattr(est, "feature_names_in_"):
            del est.feature_names_in_
        return
    if n_features != est.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {type(est).__name__} is expecting "
            f"{est.n_features_in_} features as input."
        )
    fitted = getattr(est, "feature_names_in_", None)
    if fitted is not None and names is not None and list(fitted) != list(names):
        raise ValueError(
            f"The feature names of X, {list(names)}, differ from those seen in fit, "
            f"{list(fitted)}; pass the columns in the same order."
        )


# --------------------------------------------------------------------------- #
# The first pass
# --------------------------------------------------------------------------- #
def _as_targets(y, labels: bool) -> np.ndarray:
    """One chunk's targets checked: labels of any type, or finite numbers."""
    y = check_array(
        y, ensure_2d=False, dtype=None if labels else np.float64, ensure_min_samples=0,
        input_name="y",
    )
    return y[:, 0] if y.ndim == 2 and y.shape[1] == 1 and labels else y


def _survey_chunk(x, y, sw, labels: bool, dtype) -> dict:
    """What the first pass learns of one chunk (on a worker); ``error`` says what is wrong.

    ``labels``: the targets are class labels (their unique values and counts
    are summarised) rather than numbers (their smallest and largest row).
    """
    try:
        x = check_array(x, dtype=dtype, ensure_min_samples=0, input_name="X")
        n = x.shape[0]
        if np.shape(y)[0] != n:
            raise ValueError(f"this chunk of X has {n} rows but that of y has {np.shape(y)[0]}.")
        y = _as_targets(y, labels)
        weights = sample_weight_values(sw, n, dtype)
    except (ValueError, TypeError) as exc:
        return {"error": str(exc)}
    summary = {"error": None, "rows": n}
    summary["weight"] = float(n if weights is None else weights.sum(dtype=np.float64))
    if labels and y.ndim == 2:  # label-indicator rows
        summary["values"] = np.unique(y, axis=0)
    elif labels:  # the labels, with their counts and (sample) weights
        values, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        summary["values"], summary["counts"] = values, counts
        summary["label_weights"] = (
            counts.astype(np.float64) if weights is None
            else np.bincount(inverse.ravel(), weights=weights, minlength=values.shape[0])
        )
    else:
        y2 = y.reshape(n, -1)
        summary["values"] = np.vstack([y2.min(axis=0), y2.max(axis=0)]) if n else y2
    return summary


def _survey(chunks, labels: bool, dtype, what: str) -> list[dict]:
    """The first pass over ``chunks``; raises on the first chunk with a problem."""
    import dask

    tasks = [dask.delayed(_survey_chunk)(x, y, sw, labels, dtype) for x, y, sw in chunks]
    summaries = dask.compute(*tasks)
    start = 0
    for i, summary in enumerate(summaries):
        if summary["error"] is not None:
            raise ValueError(
                f"{summary['error']} (found in chunk {i} of {what}, which starts at row {start}; "
                "the estimator is left as it was.)"
            )
        start += summary["rows"]
    return list(summaries)


def _target_sample(summaries: list[dict], labels: bool, y_ndim: int):
    """The targets' summary as a small ``y``: the unique labels (with counts) or the range rows."""
    parts = [s["values"] for s in summaries if s["rows"]]
    if not parts:
        return np.empty(0), None
    if not labels:
        sample = np.vstack(parts)
        return (sample[:, 0] if y_ndim == 1 else sample), None
    if y_ndim == 2 and parts[0].ndim == 2:
        return np.unique(np.vstack(parts), axis=0), None
    values = np.concatenate(parts)
    counts = np.concatenate([s["counts"] for s in summaries if s["rows"]])
    try:
        unique, inverse = np.unique(values, return_inverse=True)
    except TypeError as exc:
        raise ValueError(f"y mixes labels of different types ({exc}); use one type.") from exc
    return unique, np.bincount(inverse, weights=counts)


# --------------------------------------------------------------------------- #
# Prepared chunks and the training data
# --------------------------------------------------------------------------- #
def _prepare_chunk(x, y, sw, encoder, dtype):
    """One chunk as the network trains on it: ``(X, Y, weights, y)``, on a worker.

    The arrays are C-contiguous and aligned (see :func:`_aligned_arrays`).
    """
    X = np.require(x, dtype=dtype, requirements=["C", "A"])
    y = _as_targets(y, encoder.labels)
    Y, implied = encoder(y)
    weights = sample_weight_values(sw, X.shape[0], dtype)
    if implied is not None:
        implied = implied.astype(dtype)
        weights = implied if weights is None else weights * implied
    return (X, *_aligned_arrays(Y, weights), y)


def _client():
    """The ``distributed.Client`` that ``dask.compute`` would use now, or None."""
    if "distributed" not in sys.modules:  # no client can exist
        return None
    from dask.base import get_scheduler
    from distributed import Client

    client = getattr(get_scheduler(), "__self__", None)
    return client if isinstance(client, Client) else None


def _whole_or_layout(chunk, limit: int) -> tuple:
    """``(arrays, None)`` or ``(None, layout)`` of a prepared chunk's ``X``, ``Y`` and weights.

    The arrays themselves where they take at most ``limit`` bytes, else their
    shapes and dtypes (None for absent weights).
    """
    arrays = chunk[:3]
    if sum(a.nbytes for a in arrays if a is not None) <= limit:
        return arrays, None
    return None, [None if a is None else (a.shape, a.dtype) for a in arrays]


def _rows(chunk, start: int, stop: int) -> tuple:
    """Rows ``start:stop`` of a prepared chunk's ``X``, ``Y`` and weights (views)."""
    return tuple(None if a is None else a[start:stop] for a in chunk[:3])


def _fetch(chunk, client=None) -> tuple:
    """A prepared chunk's ``(X, Y, weights)`` in the client's memory, aligned.

    Without a distributed ``client`` the chunk is computed in this process.
    With one, it is computed on a worker. A chunk of at most
    :data:`TRANSFER_BYTES` comes over whole; a larger one stays on its
    worker while its rows come over in blocks of about that size (two asked
    for at a time), each copied into arrays allocated here. Gathered whole,
    a large chunk would come as one message: through the scheduler unless
    the client gathers from the workers directly (in a ``LocalCluster`` the
    scheduler lives in the client's process: a second copy of the chunk),
    and at whatever byte address it lands in the received buffer (a third
    copy, to align it).
    """
    if client is None:
        import dask

        return _aligned_arrays(*dask.compute(chunk)[0][:3])
    prepared = client.compute(chunk)
    whole, layout = client.submit(_whole_or_layout, prepared, TRANSFER_BYTES).result()
    if whole is not None:
        return _aligned_arrays(*whole)
    arrays = [None if spec is None else np.empty(*spec) for spec in layout]
    row_bytes = sum(math.prod(shape[1:]) * dtype.itemsize for shape, dtype in filter(None, layout))
    step = max(1, TRANSFER_BYTES // row_bytes)
    starts = range(0, layout[0][0][0], step)
    parts, asked = [], 0
    for start in starts:
        while asked < len(starts) and len(parts) < 2:
            parts.append(client.submit(_rows, prepared, starts[asked], starts[asked] + step))
            asked += 1
        block = parts.pop(0).result()  # its future dropped: the worker lets the block go
        for array, rows in zip(arrays, block, strict=True):
            if array is not None:
                array[start : start + rows.shape[0], ...] = rows
        del block
    return tuple(arrays)


class DaskData(TrainingData):
    """Training (or validation) data as prepared chunks of a dask collection.

    ``chunks`` are ``Delayed`` objects giving ``(X, Y, weights, y)``;
    ``rows`` and ``weights`` their numbers of rows and total sample weights.
    """

    def __init__(self, chunks: list, rows: list[int], weights: list[float], n_features: int, dtype):
        self.chunks, self.rows, self.weights = chunks, rows, weights
        self.shape = (int(sum(rows)), n_features)
        self.dtype = np.dtype(dtype)
        self.total_weight = float(sum(weights))

    def _subset(self, indices) -> DaskData:
        return DaskData(
            [self.chunks[i] for i in indices], [self.rows[i] for i in indices],
            [self.weights[i] for i in indices], self.shape[1], self.dtype,
        )

    def hold_out(self, fraction: float, seed: int) -> tuple[DaskData, DaskData]:
        """Whole chunks held out for validation (``fraction`` of them, at least one)."""
        n = len(self.chunks)
        if n < 2:
            raise ValueError(
                "early_stopping on a dask collection holds out whole chunks for validation, "
                "but X has only one chunk. Rechunk X into more chunks (X.rechunk), or pass "
                "X_val and y_val."
            )
        n_val = min(n - 1, max(1, round(fraction * n)))
        held = np.sort(np.random.default_rng(seed).choice(n, n_val, replace=False))
        kept = np.setdiff1d(np.arange(n), held)
        train, validation = self._subset(kept), self._subset(held)
        for part, what in ((train, "training"), (validation, "validation")):
            if not part.total_weight > 0:
                raise ValueError(
                    f"The {what} chunks held out by early stopping have no samples of "
                    "positive weight; rechunk X, or pass X_val and y_val."
                )
        return train, validation

    def batches(self, batch_size: int, shuffle: bool, rng, small_steps: bool = True) -> StreamedBatches:
        return StreamedBatches(self, batch_size, shuffle, rng)

    def lbfgs_step(self, network: Network, loss: str, alpha: float, params) -> MapReduceStep:
        return MapReduceStep(network, loss, alpha, params, self)

    def outputs_finite(self, network: Network, coefs, intercepts) -> bool:
        import dask

        net = dask.delayed(network)  # each task makes its own copy
        weights = dask.delayed((list(coefs), list(intercepts)))
        tasks = [dask.delayed(_chunk_outputs_finite)(net, weights, c) for c in self.chunks]
        return all(dask.compute(*tasks))

    def score(self, est) -> float:
        import dask

        lean = dask.delayed(_lean(est))
        parts = dask.compute(*[dask.delayed(_prepared_score_parts)(lean, c) for c in self.chunks])
        return _combine_scores(est, parts)


def _worker_network(network: Network) -> Network:
    """A copy of ``network`` without work buffers, for one task (see :func:`_own_network`)."""
    return Network(network.layer_units, network.activation, network.out_activation)


def _chunk_outputs_finite(network, weights, chunk) -> bool:
    X = chunk[0]
    return X.shape[0] == 0 or _worker_network(network).outputs_finite(X, *weights)


# --------------------------------------------------------------------------- #
# SGD and Adam: the chunks streamed through the client
# --------------------------------------------------------------------------- #
class StreamedBatches:
    """The batch source of :class:`DaskData` (as ``training.loop.Batches``): chunks streamed.

    Each pass takes the chunks in a new random order (``shuffle``) and yields
    the mini-batches of one chunk at a time (its rows shuffled by
    ``training.loop.Batches``, gathered batch by batch) while the next chunk is
    fetched in the background (:func:`_fetch`), from the moment the loop
    has taken the current chunk's first batch: by then the loop holds
    nothing of the chunk before. So the client holds at most ``1 +
    PREFETCH`` chunks, and the blocks of one in transit.
    """

    ops = NUMPY
    gathers_epoch = False

    def __init__(self, data: DaskData, batch_size: int, shuffle: bool, rng) -> None:
        self.X, self.data = data, data
        self.batch_size, self.shuffle, self.rng = batch_size, shuffle, rng
        self.n_samples, self.total_weight = data.shape[0], data.total_weight
        self._len = sum(math.ceil(r / batch_size) for r in data.rows)

    def __len__(self) -> int:
        return self._len

    def __iter__(self):
        chunks, client = self.data.chunks, _client()
        order = self.rng.permutation(len(chunks)) if self.shuffle else np.arange(len(chunks))
        if not len(order):
            return
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = deque([pool.submit(_fetch, chunks[order[0]], client)])
            asked = 1
            for _ in order:
                X, Y, weights = pending.popleft().result()
                batches = iter(())
                if X.shape[0]:
                    # Shuffled batches gathered one at a time, never a shuffled
                    # copy of the whole chunk (one chunk more in memory).
                    source = Batches(X, Y, weights, min(self.batch_size, X.shape[0]),
                                     self.shuffle, self.rng, gather_limit=0)
                    batches = iter(source)
                    del source
                del X, Y, weights
                first = next(batches, None)
                if first is not None:
                    yield first
                del first
                # The loop has taken this chunk's first batch, so nothing of the
                # previous chunk is referenced any more: the next may come.
                while asked < len(order) and len(pending) < PREFETCH:
                    pending.append(pool.submit(_fetch, chunks[order[asked]], client))
                    asked += 1
                yield from batches


# --------------------------------------------------------------------------- #
# L-BFGS: each evaluation a map-reduce over the persisted chunks
# --------------------------------------------------------------------------- #
def _chunk_cost(network: Network, loss: str, params, chunk, weight_sum: float):
    """One chunk's share of the cost and its gradient (no penalty), on a worker.

    The parameter vector arrives with every evaluation, and a chunk computed
    on another worker arrives with the task: each at whatever address the
    transport left it, hence aligned first (:func:`_aligned_arrays`).
    """
    X, Y, weights, params = _aligned_arrays(*chunk[:3], params)
    grads = np.zeros_like(params)
    if X.shape[0] == 0:
        return 0.0, grads
    network = _worker_network(network)
    coefs, intercepts = network.unpack(params)
    coef_grads, intercept_grads = network.unpack(grads)
    value = network.loss_and_grad(
        X, Y, coefs, intercepts, coef_grads, intercept_grads, loss, 0.0, weights, weight_sum
    )
    return value, grads


def _add(a, b):
    return a[0] + b[0], a[1] + b[1]


def _tree_sum(parts: list):
    """The ``Delayed`` sum of ``parts``, added pairwise in a tree."""
    import dask

    while len(parts) > 1:
        pairs = [dask.delayed(_add)(a, b) for a, b in zip(parts[::2], parts[1::2], strict=False)]
        parts = pairs + ([parts[-1]] if len(parts) % 2 else [])
    return parts[0]


class MapReduceStep:
    """The step engine of L-BFGS on :class:`DaskData` (as ``training.loop.Step``).

    The chunks are persisted (on the workers of a distributed cluster). Each
    call of :meth:`loss` sends the parameter vector once, computes every
    chunk's cost and gradient where the chunk is, adds them up in a tree and
    adds the penalty on the client, as ``Network.loss_and_grad`` does.
    """

    ops = NUMPY

    def __init__(self, network: Network, loss: str, alpha: float, params, data: DaskData) -> None:
        import dask

        self.network, self.loss_name, self.alpha, self.params = network, loss, alpha, params
        self.grads = np.empty_like(params)
        self.coefs, _ = network.unpack(params)
        self.coef_grads, _ = network.unpack(self.grads)
        # Persisted where they are computed; later passes (the check of the
        # outputs) read them there too.
        self.chunks = data.chunks = list(dask.persist(*data.chunks))
        self.weight_sum = data.total_weight
        self._network = dask.delayed(network)  # each task makes its own copy

    def loss(self, *_) -> float:
        import dask

        params = dask.delayed(self.params.copy())
        parts = [
            dask.delayed(_chunk_cost)(self._network, self.loss_name, params, c, self.weight_sum)
            for c in self.chunks
        ]
        value, grads = dask.compute(_tree_sum(parts))[0]
        self.grads[...] = grads
        if self.alpha:
            value += self.network.add_penalty(
                self.coefs, self.coef_grads, self.alpha, self.weight_sum
            )
        return value


# --------------------------------------------------------------------------- #
# Fit: the first pass, then the training data
# --------------------------------------------------------------------------- #
class _Targets:
    """A chunk's targets encoded on a worker as the estimator encodes ``y``.

    Calling it gives ``(Y, implied)``: the network's targets and the weights
    the targets imply (``class_weight``, one per class in ``class_weights``),
    or None.
    """

    def __init__(self, est, class_weights=None) -> None:
        self.est = _lean(est, weights=False)
        self.labels = est._labels_as_targets
        self.classes = getattr(est, "classes_", None)
        self.class_weights = class_weights

    def __call__(self, y):
        Y = self.est._chunk_targets(y)
        if self.class_weights is None:
            return Y, None
        return Y, self.class_weights[np.searchsorted(self.classes, y)]

    def chunk_weight(self, summary: dict) -> float:
        """A chunk's total weight, class weights included, from its first-pass summary."""
        if self.class_weights is None or not summary["rows"]:
            return summary["weight"]
        implied = self.class_weights[np.searchsorted(self.classes, summary["values"])]
        return float(np.dot(summary["label_weights"], implied))


def _prepared(X, y, sample_weight, encoder: _Targets, dtype) -> list:
    """The ``Delayed`` prepared chunks ``(X, Y, weights, y)`` of dask ``X``, ``y``."""
    import dask

    enc = dask.delayed(encoder)
    return [
        dask.delayed(_prepare_chunk)(x, yb, sw, enc, dtype)
        for x, yb, sw in _chunks_of(X, y, sample_weight)
    ]


def training_data(est, X, y, sample_weight, *, first_call: bool, incremental: bool, classes):
    """``(DaskData, n_outputs)`` for fitting ``est`` on dask ``X``, ``y``, ``sample_weight``.

    Runs the first pass, learns (or checks) the classes or the targets' range
    from its summaries as from the whole ``y``, and defines the prepared
    chunks (computed where training needs them).
    """
    X, y, sample_weight = _aligned(est, X, y, sample_weight, reset=first_call)
    dtype, labels = _float_dtype(X), est._labels_as_targets
    summaries = _survey(_chunks_of(X, y, sample_weight), labels, dtype, "X")
    rows = [s["rows"] for s in summaries]
    if not sum(rows):
        raise ValueError("Found array with 0 sample(s); at least one sample is required.")
    sample, counts = _target_sample(summaries, labels, y.ndim)
    if y.ndim == 2 and y.shape[1] == 1:
        sample = one_column_as_1d(sample)
    if not (first_call or incremental):
        est._check_warm_start_targets(sample)
    Y = est._encode_targets(sample, first_call=first_call, classes=classes)
    encoder = _Targets(est, est._class_weight_table(counts))
    weights = [encoder.chunk_weight(s) for s in summaries]
    if not sum(weights) > 0:
        check_some_weight(
            np.zeros(1),
            "sample_weight is zero for every sample" if encoder.class_weights is None
            else "class_weight (times sample_weight) is zero for every sample",
        )
    data = DaskData(_prepared(X, y, sample_weight, encoder, dtype), rows, weights, X.shape[1], dtype)
    return data, Y.shape[1]


def validation_data(est, X_val, y_val, dtype) -> DaskData:
    """``X_val`` and ``y_val`` (dask, or ``y_val`` in memory) as validation data, checked."""
    X = input_array(X_val, "X_val")
    y = _rows_like(y_val, X, "y_val")
    if X.shape[1] != est.n_features_in_:
        raise ValueError(
            f"X_val has {X.shape[1]} features, but {type(est).__name__} is expecting "
            f"{est.n_features_in_} features as input."
        )
    labels = est._labels_as_targets
    summaries = _survey(_chunks_of(X, y, None), labels, dtype, "X_val")
    sample, _ = _target_sample(summaries, labels, y.ndim)
    est._check_validation_targets(sample)
    rows = [s["rows"] for s in summaries]
    chunks = _prepared(X, y, None, _Targets(est), dtype)
    return DaskData(chunks, rows, [float(r) for r in rows], X.shape[1], dtype)


# --------------------------------------------------------------------------- #
# Prediction and scores
# --------------------------------------------------------------------------- #
def _apply(block, est, method: str):
    (block,) = _aligned_arrays(block)  # as the same rows in memory would be computed
    return getattr(_own_network(est), method)(block)


def predict(est, X, method: str):
    """``est.<method>(X)`` for a dask ``X``: a dask array computed blockwise on the workers."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est, "coefs_")
    X, _, _ = _aligned(est, X, None, None, reset=False)
    lean = _lean(est)
    probe = getattr(lean, method)(np.zeros((1, X.shape[1]), dtype=est.coefs_[0].dtype))
    if probe.ndim == 1:
        return X.map_blocks(
            _apply, lean, method, dtype=probe.dtype, drop_axis=1, chunks=(X.chunks[0],),
            meta=np.empty((0,), dtype=probe.dtype),
        )
    return X.map_blocks(
        _apply, lean, method, dtype=probe.dtype, chunks=(X.chunks[0], (probe.shape[1],)),
        meta=np.empty((0, 0), dtype=probe.dtype),
    )


def _score_parts(est, X, y, weights):
    """One chunk's parts of ``est``'s score (``_scores.accuracy_parts`` or ``r2_parts``)."""
    est = _own_network(est)
    X, weights = _aligned_arrays(X, weights)
    out = est._raw_output(X)
    if est._labels_as_targets:
        return _scores.accuracy_parts(y, est._labels_from_output(out), weights)
    return _scores.r2_parts(y, out, weights)


def _prepared_score_parts(est, chunk):
    X, _, weights, y = chunk
    return _score_parts(est, X, y, weights)


def _raw_score_parts(est, x, y, sw, dtype):
    x = check_array(x, dtype=dtype, ensure_min_samples=0, input_name="X")
    y = _as_targets(y, est._labels_as_targets)
    return _score_parts(est, x, y, sample_weight_values(sw, x.shape[0], np.float64))


def _combine_scores(est, parts) -> float:
    if est._labels_as_targets:
        return _scores.accuracy_from_parts(parts)
    return _scores.r2_from_parts(parts)


def score(est, X, y, sample_weight) -> float:
    """``est.score`` for dask ``X``: parts computed chunk by chunk, the score on the client."""
    import dask
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est, "coefs_")
    X, y, sample_weight = _aligned(est, X, y, sample_weight, reset=False)
    lean = dask.delayed(_lean(est))
    dtype = est.coefs_[0].dtype
    tasks = [
        dask.delayed(_raw_score_parts)(lean, x, yb, sw, dtype)
        for x, yb, sw in _chunks_of(X, y, sample_weight)
    ]
    return _combine_scores(est, dask.compute(*tasks))
