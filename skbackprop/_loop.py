"""The training loop, made of parts with one job each.

- :class:`Batches`, the batch source: where the rows of an epoch come from
  (dense or sparse, in order or shuffled).
- :class:`Step`, the step engine: the cost and gradient of a batch (the
  numerical core) and the optimizer's update.
- :func:`run_epochs`, the epoch loop of the stochastic solvers ('sgd',
  'adam'), and :func:`run_lbfgs`, the L-BFGS iterations. Both report through
  the same end-of-epoch path (``_epoch_end.EpochEnd``).

A new data source is a new batch source, a new engine a new step engine; the
loop itself has no branch for either. Nothing here imports scikit-learn.
See the design record, docs/design.rst (section "design-architecture").
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import scipy.sparse as sp

from ._network import Network, abs_max
from ._optimizers import minimize_lbfgs


class DivergenceError(ValueError):
    """Raised when training diverges (the cost, a weight or an output becomes inf or NaN).

    A ``ValueError``, as scikit-learn raises for a diverging MLP, so that
    ``except ValueError`` and ``error_score`` handling keep working.
    """


#: Weights beyond this magnitude mean the run has blown up, even where a clipped
#: cost (cross-entropy) stays finite.
WEIGHT_LIMIT = 1e10


def exploded(params: np.ndarray) -> bool:
    """True when a weight is NaN, infinite or beyond ``WEIGHT_LIMIT`` (two passes, no copy)."""
    # NaN propagates through max and min, and fails the comparison.
    return not abs_max(params) < WEIGHT_LIMIT


#: Shuffled dense training sets whose copy (``X``, ``Y`` and the sample weights
#: together) takes at most this many bytes are gathered whole into the
#: shuffled order once per epoch, and the batches are slices of that copy;
#: larger ones are gathered batch by batch into buffers of one batch, so that
#: the extra memory stays bounded.
EPOCH_GATHER_BYTES = 32 * 2**20


class Batches:
    """The mini-batches of an epoch: in order, or shuffled anew at each pass.

    Iterating yields ``(X_batch, Y_batch, sample_weight_batch, batch_weight)``
    and skips batches whose samples all have weight zero.

    Where the rows come from (every way yields the same rows in the same order):

    - in order: views of ``X``, ``Y`` and the sample weights, made once;
    - shuffled, dense, a copy of at most ``EPOCH_GATHER_BYTES`` and targets no
      larger than the inputs: one gather per epoch of all the rows, in the
      shuffled order, into reused buffers whose slices (made once) are the
      batches. One large ``take`` costs much less than one per batch.
      Targets larger than the inputs (thousands of classes) would more than
      double the memory of the data; their steps are dominated by the output
      layer anyway;
    - shuffled otherwise: each batch's rows gathered into reused buffers of one
      batch (sparse ``X``: a new matrix per batch).

    :attr:`gathers_epoch` says whether the whole epoch is gathered. The
    buffers are made on the first pass, so that a batch source that is never
    iterated (a compiled epoch reads ``X`` itself) costs no memory.
    """

    def __init__(self, X, Y, sample_weight, batch_size: int, shuffle: bool, rng) -> None:
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self.batch_size, self.shuffle, self.rng = batch_size, shuffle, rng
        n_samples = X.shape[0]
        self.n_samples = n_samples
        self.starts = range(0, n_samples, batch_size)
        self.total_weight = float(n_samples if sample_weight is None else sample_weight.sum())
        self.order = np.arange(n_samples)
        self._bounds = [(start, min(start + batch_size, n_samples)) for start in self.starts]
        sparse = sp.issparse(X)
        whole = shuffle and not sparse and Y.nbytes <= X.nbytes
        if whole:
            copy_bytes = X.nbytes + Y.nbytes
            copy_bytes += 0 if sample_weight is None else sample_weight.nbytes
            whole = copy_bytes <= EPOCH_GATHER_BYTES
        self.gathers_epoch = whole
        # Made on the first pass (a compiled epoch may never iterate):
        self._epoch = None  # (X, Y, sample_weight) gathered in the epoch's order
        self._buffers = None  # (X, Y, sample_weight) buffers of one batch
        self._slices = None  # the batches as (X, Y, sample_weight, weight) views
        self._ready = False

    def _prepare(self) -> None:
        """Allocate the buffers and make the views the batches are taken from."""
        X, Y, sw = self.X, self.Y, self.sample_weight
        sparse = sp.issparse(X)
        if self.gathers_epoch:
            self._epoch = (
                np.empty(X.shape, dtype=X.dtype),
                np.empty(Y.shape, dtype=Y.dtype),
                None if sw is None else np.empty(self.n_samples, dtype=sw.dtype),
            )
            self._slices = self._views(*self._epoch)
        elif self.shuffle:
            rows = min(self.batch_size, self.n_samples)
            self._buffers = (
                None if sparse else np.empty((rows, X.shape[1]), dtype=X.dtype),
                np.empty((rows, *Y.shape[1:]), dtype=Y.dtype),
                None if sw is None else np.empty(rows, dtype=sw.dtype),
            )
        elif not sparse:
            self._slices = self._views(X, Y, sw)
        self._ready = True

    def _views(self, X, Y, sw) -> list[tuple]:
        """The batches as views of ``X``, ``Y`` and ``sw``, with their weights where fixed."""
        return [
            (X[a:b], Y[a:b], None if sw is None else sw[a:b], float(b - a))
            for a, b in self._bounds
        ]

    def __len__(self) -> int:
        return len(self.starts)

    def __iter__(self):
        if not self._ready:
            self._prepare()
        if self.shuffle:
            self.rng.shuffle(self.order)
        if self._epoch is not None:
            # mode="clip": the indices are a permutation, always valid; the
            # default mode="raise" copies through a buffer.
            order = self.order
            X, Y, sw = self._epoch
            self.X.take(order, axis=0, out=X, mode="clip")
            self.Y.take(order, axis=0, out=Y, mode="clip")
            if sw is not None:
                self.sample_weight.take(order, out=sw, mode="clip")
        yield from self._yield_slices() if self._slices is not None else self._yield_gathered()

    def _yield_slices(self):
        """The batches from :attr:`_slices`; a weighted batch's weight is summed anew."""
        for X_batch, Y_batch, sw_batch, weight in self._slices:
            if sw_batch is not None:
                weight = float(sw_batch.sum())
                if not weight > 0:  # a batch of zero-weight samples has nothing to teach
                    continue
            yield X_batch, Y_batch, sw_batch, weight

    def _yield_gathered(self):
        """The batches gathered one by one (large or sparse ``X``)."""
        X, Y, sw = self.X, self.Y, self.sample_weight
        X_buf, Y_buf, sw_buf = self._buffers or (None, None, None)
        for start, stop in self._bounds:
            if not self.shuffle:  # sparse, in order
                rows = slice(start, stop)
                X_batch, Y_batch = X[rows], Y[rows]
                sw_batch = None if sw is None else sw[rows]
            else:
                # mode="clip" as above.
                rows, n = self.order[start:stop], stop - start
                if X_buf is None:  # sparse
                    X_batch = X[rows]
                else:
                    X_batch = X.take(rows, axis=0, out=X_buf[:n], mode="clip")
                Y_batch = Y.take(rows, axis=0, out=Y_buf[:n], mode="clip")
                sw_batch = None if sw is None else sw.take(rows, out=sw_buf[:n], mode="clip")
            weight = float(stop - start if sw_batch is None else sw_batch.sum())
            if weight > 0:  # a batch of zero-weight samples has nothing to teach
                yield X_batch, Y_batch, sw_batch, weight


class Step:
    """The step engine: a batch's cost and gradient, the optimizer's update, an epoch's undo.

    ``params`` is the flat parameter vector the network's ``coefs`` and
    ``intercepts`` are views of; the gradient lands in :attr:`grads`, laid
    out the same way. ``optimizer`` is None for L-BFGS, which only asks for
    costs and gradients.
    """

    def __init__(self, network: Network, loss: str, alpha: float, params, optimizer=None) -> None:
        self.network, self.loss_name, self.alpha = network, loss, alpha
        self.params, self.optimizer = params, optimizer
        self.coefs, self.intercepts = network.unpack(params)
        self.grads = np.empty_like(params)
        self.coef_grads, self.intercept_grads = network.unpack(self.grads)
        self.snapshot = params.copy()

    def begin_epoch(self) -> None:
        self.snapshot[...] = self.params

    def undo_epoch(self) -> None:
        self.params[...] = self.snapshot

    def loss(self, X, Y, sample_weight) -> float:
        """The batch's cost; its gradient goes to :attr:`grads`."""
        return self.network.loss_and_grad(
            X, Y, self.coefs, self.intercepts, self.coef_grads, self.intercept_grads,
            self.loss_name, self.alpha, sample_weight,
        )

    def update(self) -> None:
        """One optimizer step along the last gradient."""
        self.optimizer.step(self.params, self.grads)


class ProgressBar:
    """A dependency-free progress bar over the batches of an epoch, redrawn with ``\\r``.

    Works in terminals and in notebooks (both honour the carriage return).
    Redraws are throttled to ten per second so that printing costs nothing.
    """

    def __init__(self, total: int, stream=None, width: int = 30) -> None:
        self.total, self.width = total, width
        self.stream = stream or sys.stdout
        self._last = 0.0

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if done < self.total and now - self._last < 0.1:
            return
        self._last = now
        filled = int(self.width * done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r  [{bar}] {done}/{self.total} batches")
        if done >= self.total:
            self.stream.write("\r" + " " * (self.width + 30) + "\r")
        self.stream.flush()


class Diverged(Exception):
    """Internal signal of :func:`train_epoch`: the cost or the weights stopped being finite."""


def train_epoch(batches: Batches, step: Step, show_progress: bool = False) -> tuple[float, float]:
    """One pass over the batches; returns the mean cost and the seconds it took.

    Raises :class:`Diverged` when a batch's cost or the weights stop being finite.
    """
    tic = time.perf_counter()
    progress = ProgressBar(len(batches)) if show_progress and len(batches) > 1 else None
    accumulated = 0.0
    loss, update, isfinite = step.loss, step.update, math.isfinite  # looked up once
    for b, (X_batch, Y_batch, sw_batch, batch_weight) in enumerate(batches, 1):
        batch_loss = loss(X_batch, Y_batch, sw_batch)
        if not isfinite(batch_loss):
            raise Diverged
        update()
        accumulated += batch_loss * batch_weight
        if progress is not None:
            progress.update(b)
    if exploded(step.params):
        raise Diverged
    return accumulated / batches.total_weight, time.perf_counter() - tic


def run_epochs(
    batches, step, epoch_end, max_epochs: int, show_progress=False, train=train_epoch
) -> str:
    """The epoch loop of 'sgd' and 'adam': train an epoch, then the end-of-epoch path.

    ``train(batches, step, show_progress)`` trains one epoch: :func:`train_epoch`,
    or the compiled epoch of ``_compiled.py``. Returns why it stopped:
    ``'stopped'`` (a handler asked), ``'max_iter'``, ``'interrupted'``
    (Ctrl-C; the unfinished epoch is undone) or ``'diverged'`` (the caller
    decides whether that is an error).
    """
    for _ in range(max_epochs):
        trained = False
        try:
            step.begin_epoch()
            epoch_end.begin()
            loss, seconds = train(batches, step, show_progress)
            trained = True
            if epoch_end.end(loss, seconds, step.optimizer.learning_rate):
                return "stopped"
        except KeyboardInterrupt:
            if not trained:
                step.undo_epoch()
            return "interrupted"
        except Diverged:
            return "diverged"
    return "max_iter"


def run_lbfgs(step: Step, data, epoch_end, max_iter: int, max_fun: int, tol: float):
    """L-BFGS over the whole of ``data = (X, Y, sample_weight)``, each iteration an epoch.

    Returns ``(result, why)``: scipy's ``OptimizeResult`` (None when
    interrupted) and ``'stopped'``, ``'interrupted'`` or ``'done'``.
    ``step.params`` holds the last finished iterate in every case.
    """
    params = step.params
    finished = params.copy()  # the iterate of the last finished iteration
    tic = [time.perf_counter()]
    stopped = [False]

    def cost_and_grad(x):
        params[...] = x
        value = step.loss(*data)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(x)
        return value, step.grads.astype(np.float64)

    def on_iteration(intermediate_result):
        params[...] = finished[...] = intermediate_result.x
        now = time.perf_counter()
        stop = epoch_end.end(intermediate_result.fun, now - tic[0], None)
        tic[0] = now
        if stop:
            stopped[0] = True
            raise StopIteration
        epoch_end.begin()

    epoch_end.begin()
    try:
        result = minimize_lbfgs(cost_and_grad, params, max_iter, max_fun, tol, on_iteration)
    except KeyboardInterrupt:
        # params may hold a line-search trial point of the unfinished iteration
        params[...] = finished
        return None, "interrupted"
    return result, "stopped" if stopped[0] else "done"
