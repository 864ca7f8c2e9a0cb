"""The training loop, made of parts with one job each.

- :class:`Batches`, the batch source: where the rows of an epoch come from
  (dense or sparse, in order or shuffled).
- :class:`Step`, the step engine: the cost and gradient of a batch (the
  numerical core) and the optimizer's update.
- :func:`run_epochs`, the epoch loop of the stochastic solvers ('sgd',
  'adam'), and :func:`run_lbfgs`, the L-BFGS iterations. Both report through
  the same end-of-epoch path (``training.epoch_end.EpochEnd``).

A new data source is a new batch source, a new engine a new step engine; the
loop itself has no branch for either. Arrays of other libraries (the Array
API standard) go through the same parts: the batches are gathered on their
device and :func:`train_epoch_on_device` reads the costs once per epoch.
Nothing here imports scikit-learn.
See the design record, docs/design.rst (section "design-architecture").
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import scipy.sparse as sp

from ..core import kernels
from ..core.losses import _total_weight
from ..core.network import DropoutMasks, Network, _chunk_rows, abs_max
from ..core.ops import ops_of
from ..core.optimizers import BLOCK, minimize_lbfgs
from .workspace import FRESH

#: Weights beyond this magnitude mean the run has blown up, even where a clipped
#: cost (cross-entropy) stays finite.
WEIGHT_LIMIT = 1e10


def exploded(params: np.ndarray) -> bool:
    """True when a weight is NaN, infinite or beyond ``WEIGHT_LIMIT`` (two passes, no copy)."""
    # NaN propagates through max and min, and fails the comparison.
    return not abs_max(params) < WEIGHT_LIMIT


#: Shuffled dense training sets whose copy (``X``, ``Y`` and the sample weights
#: together) takes at most this many bytes are gathered whole into the
#: shuffled order once per epoch, and the batches are slices of that copy,
#: where the steps are small (a ``take`` per batch costs about as much as a
#: small step); larger sets, and the batches of large steps, are gathered
#: batch by batch into buffers of one batch, so that the extra memory stays
#: bounded.
EPOCH_GATHER_BYTES = 32 * 2**20


def _nbytes(array) -> int:
    """Bytes of a dense array of any library (the standard has no ``nbytes``)."""
    if isinstance(array, np.ndarray):
        return array.nbytes
    return math.prod(array.shape) * ops_of(array).host_dtype(array.dtype).itemsize


class Batches:
    """The mini-batches of an epoch: in order, or shuffled anew at each pass.

    Iterating yields ``(X_batch, Y_batch, sample_weight_batch, batch_weight)``
    and skips batches whose samples all have weight zero.

    Where the rows come from (every way yields the same rows in the same order):

    - in order: views of ``X``, ``Y`` and the sample weights, made once;
    - shuffled, dense, a copy of at most ``EPOCH_GATHER_BYTES`` and targets no
      larger than the inputs: one gather per epoch of all the rows, in the
      shuffled order, into reused buffers whose slices (made once) are the
      batches. One large ``take`` costs much less than one per batch, which
      counts where the steps are small; the caller passes ``gather_limit=0``
      for large steps, where a per-batch ``take`` is a small part of the
      step and the copy of the data would only add memory.
      Targets larger than the inputs (thousands of classes) would more than
      double the memory of the data; their steps are dominated by the output
      layer anyway;
    - shuffled otherwise: each batch's rows gathered into reused buffers of one
      batch (sparse ``X``: a new matrix per batch).

    :attr:`gathers_epoch` says whether the whole epoch is gathered;
    ``gather_limit`` (bytes; default :data:`EPOCH_GATHER_BYTES`) bounds the
    copy, and 0 never makes one (dask's streamed chunks, where a copy of the
    chunk would be one chunk more in memory). The buffers are made on the first pass, so that a batch source that is never
    iterated (a compiled epoch reads ``X`` itself) costs no memory; they come
    from ``workspace`` (``training.workspace``: new arrays by default, the
    buffers of the previous call for ``partial_fit``).

    Arrays of another library stay on their device: the order is shuffled
    by NumPy's generator on the host (so the batches are those of the NumPy
    path) and sent to the device once per epoch, where the rows are gathered.
    The batches' weights are summed on the host from a copy of the sample
    weights made once, so no step waits for the device.
    """

    def __init__(
        self, X, Y, sample_weight, batch_size: int, shuffle: bool, rng,
        gather_limit: int | None = None, workspace=FRESH,
    ) -> None:
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self.workspace = workspace
        self.batch_size, self.shuffle, self.rng = batch_size, shuffle, rng
        self.ops = ops = ops_of(Y)
        n_samples = X.shape[0]
        self.n_samples = n_samples
        self.starts = range(0, n_samples, batch_size)
        # The sample weights on the host (themselves for NumPy).
        self._host_weight = None if sample_weight is None else ops.to_host(sample_weight)
        self.total_weight = float(
            n_samples if sample_weight is None else self._host_weight.sum()
        )
        self.order = np.arange(n_samples)
        self._bounds = [(start, min(start + batch_size, n_samples)) for start in self.starts]
        sparse = sp.issparse(X)
        whole = shuffle and not sparse and _nbytes(Y) <= _nbytes(X)
        if whole:
            copy_bytes = _nbytes(X) + _nbytes(Y)
            copy_bytes += 0 if sample_weight is None else _nbytes(sample_weight)
            limit = EPOCH_GATHER_BYTES if gather_limit is None else gather_limit
            whole = copy_bytes <= limit
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
        empty = self.workspace.empty
        if self.gathers_epoch:
            self._epoch = (
                empty("batches X", X.shape, X.dtype, X),
                empty("batches Y", Y.shape, Y.dtype, Y),
                None if sw is None else empty("batches weights", self.n_samples, sw.dtype, sw),
            )
            self._slices = self._views(*self._epoch)
        elif self.shuffle:
            rows = min(self.batch_size, self.n_samples)
            self._buffers = (
                None if sparse else empty("batches X", (rows, X.shape[1]), X.dtype, X),
                empty("batches Y", (rows, *Y.shape[1:]), Y.dtype, Y),
                None if sw is None else empty("batches weights", rows, sw.dtype, sw),
            )
        elif not sparse:
            self._slices = self._views(X, Y, sw)
        self._ready = True

    def _views(self, X, Y, sw) -> list[tuple]:
        """The batches as views of ``X``, ``Y`` and ``sw``, with their weights where fixed."""
        return [
            (X[a:b, ...], Y[a:b, ...], None if sw is None else sw[a:b], float(b - a))
            for a, b in self._bounds
        ]

    def __len__(self) -> int:
        return len(self.starts)

    def __iter__(self):
        if not self._ready:
            self._prepare()
        if self.shuffle:
            self.rng.shuffle(self.order)
        # The order where the rows are (once per epoch: one transfer to a device).
        order = self.ops.from_host(self.order, self.Y) if self.shuffle else None
        if self._epoch is not None:
            X, Y, sw = self._epoch
            take = self.ops.take_rows
            take(self.X, order, X)
            take(self.Y, order, Y)
            if sw is not None:
                take(self.sample_weight, order, sw)
        if self._slices is not None:
            yield from self._yield_slices()
        else:
            yield from self._yield_gathered(order)

    def _batch_weight(self, start: int, stop: int, sw_batch) -> float:
        """The weight of the batch of rows ``start:stop`` of the epoch's order."""
        if sw_batch is None:
            return float(stop - start)
        if self.ops.host:
            return float(sw_batch.sum())
        rows = self.order[start:stop] if self.shuffle else slice(start, stop)
        return float(self._host_weight[rows].sum())

    def _yield_slices(self):
        """The batches from :attr:`_slices`; a weighted batch's weight is summed anew."""
        for (start, stop), (X_batch, Y_batch, sw_batch, weight) in zip(
            self._bounds, self._slices, strict=True
        ):
            if sw_batch is not None:
                weight = self._batch_weight(start, stop, sw_batch)
                if not weight > 0:  # a batch of zero-weight samples has nothing to teach
                    continue
            yield X_batch, Y_batch, sw_batch, weight

    def _yield_gathered(self, order):
        """The batches gathered one by one (large or sparse ``X``)."""
        X, Y, sw = self.X, self.Y, self.sample_weight
        X_buf, Y_buf, sw_buf = self._buffers or (None, None, None)
        take = self.ops.take_rows
        for start, stop in self._bounds:
            if not self.shuffle:  # sparse, in order
                rows = slice(start, stop)
                X_batch, Y_batch = X[rows], Y[rows]
                sw_batch = None if sw is None else sw[rows]
            else:
                rows, n = order[start:stop], stop - start
                if X_buf is None:  # sparse
                    X_batch = X[self.order[start:stop]]
                else:
                    X_batch = take(X, rows, X_buf[:n, ...])
                Y_batch = take(Y, rows, Y_buf[:n, ...])
                sw_batch = None if sw is None else take(sw, rows, sw_buf[:n])
            weight = self._batch_weight(start, stop, sw_batch)
            if weight > 0:  # a batch of zero-weight samples has nothing to teach
                yield X_batch, Y_batch, sw_batch, weight


class TrainingData:
    """What the loop asks of its training data, wherever the rows are.

    The shell decides what kind of data a call has once, at the entry of
    ``fit``/``partial_fit``, and hands the loop one of these: in-memory
    arrays of any library (:class:`ArrayData`) or data kept elsewhere in
    chunks (a dask cluster: ``integrations.dask.DaskData``). The loop asks it
    for its batch source, its L-BFGS step engine and what it needs to know,
    and never asks which kind it is.
    """

    shape: tuple[int, int]
    dtype: np.dtype
    total_weight: float

    def batches(self, batch_size: int, shuffle: bool, rng, small_steps: bool = True):
        """The batch source of the stochastic solvers (as :class:`Batches`).

        ``small_steps``: whether the steps are small enough that copying the
        whole shuffled epoch at once pays (see :data:`EPOCH_GATHER_BYTES`).
        """
        raise NotImplementedError

    def lbfgs_step(self, network: Network, loss: str, alpha: float, params):
        """The step engine of L-BFGS (as :class:`Step` without an optimizer)."""
        raise NotImplementedError

    def lbfgs_arguments(self) -> tuple:
        """What :meth:`lbfgs_step`'s engine is called with: ``step.loss(*arguments)``."""
        return (self, None, None)

    def device_like(self):
        """An array whose library and device the parameters must follow, or None (NumPy)."""
        return None

    def block_rows(self) -> int:
        """Rows of one block of a full-batch evaluation (the BLAS thread limit asks)."""
        return min(self.shape[0], _chunk_rows(self))

    def outputs_finite(self, network: Network, coefs, intercepts) -> bool:
        """Whether the network's outputs are finite for every row."""
        raise NotImplementedError

    def largest_values(self) -> tuple[float | None, float | None]:
        """``max |X|`` and ``max |Y|`` where cheap to know (a divergence's advice), else None."""
        return None, None

    def score(self, est) -> float:
        """``est``'s score on this data (a validation set)."""
        raise NotImplementedError


class ArrayData(TrainingData):
    """In-memory training data: ``X`` (dense or sparse), encoded ``Y``, sample weights.

    Arrays of any library: they stay where they are, and the batch source and
    the step engine work on them there. The batch source takes its buffers
    from ``workspace`` (see :class:`Batches`).
    """

    def __init__(self, X, Y, sample_weight, workspace=FRESH) -> None:
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self.shape, self.dtype = X.shape, X.dtype
        self.workspace = workspace

    def batches(self, batch_size: int, shuffle: bool, rng, small_steps: bool = True) -> Batches:
        return Batches(
            self.X, self.Y, self.sample_weight, batch_size, shuffle, rng,
            gather_limit=None if small_steps else 0, workspace=self.workspace,
        )

    def lbfgs_step(self, network: Network, loss: str, alpha: float, params) -> Step:
        return Step(network, loss, alpha, params)

    def lbfgs_arguments(self) -> tuple:
        return (self.X, self.Y, self.sample_weight)

    def device_like(self):
        return None if ops_of(self.X).host else self.X

    def block_rows(self) -> int:
        return min(self.X.shape[0], _chunk_rows(self.X))

    def outputs_finite(self, network: Network, coefs, intercepts) -> bool:
        return network.outputs_finite(self.X, coefs, intercepts)

    def largest_values(self) -> tuple[float, float]:
        X, Y = self.X, self.Y
        return abs_max(X.data if sp.issparse(X) else X), abs_max(Y)


class Step:
    """The step engine: a batch's cost and gradient, the optimizer's update, an epoch's undo.

    ``params`` is the flat parameter vector the network's ``coefs`` and
    ``intercepts`` are views of; the gradient lands in :attr:`grads`, laid
    out the same way. ``optimizer`` is None for L-BFGS, which only asks for
    costs and gradients. The gradient and the epoch's snapshot are buffers of
    ``workspace`` (new arrays by default; see ``training.workspace``); the
    snapshot is filled by :meth:`begin_epoch`. ``start``, when given, is a
    vector holding the values ``params`` has now that training never writes
    (``partial_fit``'s published weights): the first epoch is undone from it,
    so it needs no snapshot copy.
    """

    #: Dropout rates of the hidden layers (None: no dropout; see :class:`DropoutStep`).
    dropout: tuple | None = None

    #: The L2 gradient the next :meth:`update` adds itself, ``(n_coefs, alpha / W)``, or None.
    _decay: tuple | None = None
    _may_fuse = False

    def __init__(
        self, network: Network, loss: str, alpha: float, params, optimizer=None, workspace=FRESH,
        start=None,
    ) -> None:
        self.network, self.loss_name, self.alpha = network, loss, alpha
        self.params, self.optimizer = params, optimizer
        self.ops = ops_of(params)
        self.coefs, self.intercepts = network.unpack(params)
        self.grads = workspace.empty("gradient", params.shape, params.dtype, params)
        self.coef_grads, self.intercept_grads = network.unpack(self.grads)
        self.snapshot = workspace.empty("snapshot", params.shape, params.dtype, params)
        self._start, self._epoch_start = start, self.snapshot
        # Only an update over a large host vector can take the penalty's gradient
        # (see the optimizers' ``fuses_decay``); small steps skip the question.
        self._may_fuse = bool(
            alpha and optimizer is not None and isinstance(params, np.ndarray)
            and params.shape[0] >= min(kernels.MIN_PARAMS, 2 * BLOCK)
        )

    def begin_epoch(self) -> None:
        if self._start is not None:  # the first epoch starts from values kept elsewhere
            self._epoch_start, self._start = self._start, None
            return
        self._epoch_start = self.snapshot
        self.snapshot[...] = self.params

    def undo_epoch(self) -> None:
        self.params[...] = self._epoch_start

    def loss(self, X, Y, sample_weight, weight_sum=None) -> float:
        """The batch's cost; its gradient goes to :attr:`grads`.

        ``weight_sum`` is the batch's weight when the caller knows it (see
        :meth:`Network.loss_and_grad`). Where the optimizer's update adds the
        L2 penalty's gradient within its own passes (compiled, or block by
        block: ``fuses_decay``), :attr:`grads` holds the gradient without it
        until :meth:`update`.
        """
        fuse = self._may_fuse and self.optimizer.fuses_decay(self.params)
        if fuse:
            if weight_sum is None:
                weight_sum = float(_total_weight(Y, sample_weight, self.ops))
            self._decay = (self.network.n_coefs, self.alpha / weight_sum)
        else:
            self._decay = None
        return self.network.loss_and_grad(
            X, Y, self.coefs, self.intercepts, self.coef_grads, self.intercept_grads,
            self.loss_name, self.alpha, sample_weight, weight_sum, penalty_gradient=not fuse,
        )

    def update(self) -> None:
        """One optimizer step along the last gradient (and the penalty's, if still due)."""
        self.optimizer.step(self.params, self.grads, self._decay)


class DropoutStep(Step):
    """The step engine with inverted dropout: new masks for every batch.

    ``rates`` holds one dropout rate per hidden layer; ``rng`` draws the masks
    (the estimator's generator, so a fit is reproducible from its
    ``random_state``). Only the stochastic solvers take it: a cost that
    changes at every evaluation would mislead L-BFGS's line search.
    """

    def __init__(
        self, network: Network, loss: str, alpha: float, params, optimizer, rates, rng,
        workspace=FRESH, start=None,
    ):
        super().__init__(network, loss, alpha, params, optimizer, workspace, start)
        self.dropout, self.rng = tuple(rates), rng
        self._hidden_units = network.layer_units[1:-1]

    def loss(self, X, Y, sample_weight, weight_sum=None) -> float:
        """The cost of the batch on a thinned network; its gradient goes to :attr:`grads`."""
        masks = DropoutMasks.draw(self.dropout, X.shape[0], self._hidden_units, self.rng, self.params)
        return self.network.loss_and_grad(
            X, Y, self.coefs, self.intercepts, self.coef_grads, self.intercept_grads,
            self.loss_name, self.alpha, sample_weight, weight_sum, masks,
        )


class BatchProgressBar:
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
    progress = BatchProgressBar(len(batches)) if show_progress and len(batches) > 1 else None
    accumulated = 0.0
    loss, update, isfinite = step.loss, step.update, math.isfinite  # looked up once
    # An overflow in a step is no reason to warn: it is found right after, by
    # the checks of the cost (each batch), of the weights and of the
    # optimizer's state (each epoch), and ends the run as diverged.
    with np.errstate(over="ignore", invalid="ignore"):
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


def train_epoch_on_device(batches: Batches, step: Step, show_progress: bool = False):
    """:func:`train_epoch` for arrays on a device: the costs are read once, at the end.

    Each batch's cost stays a 0-d array on the device, where they are added
    up, so no step waits for the device to finish; the epoch's total cost and
    the weights are checked after the last batch. An epoch that diverged
    midway is found there, and is undone all the same.
    """
    tic = time.perf_counter()
    progress = BatchProgressBar(len(batches)) if show_progress and len(batches) > 1 else None
    accumulated = 0.0
    loss, update = step.loss, step.update
    for b, (X_batch, Y_batch, sw_batch, batch_weight) in enumerate(batches, 1):
        batch_loss = loss(X_batch, Y_batch, sw_batch, batch_weight)
        update()
        accumulated = accumulated + batch_loss * batch_weight
        if progress is not None:
            progress.update(b)
    mean = step.ops.item(accumulated) / batches.total_weight
    if not math.isfinite(mean) or exploded(step.params):
        raise Diverged
    return mean, time.perf_counter() - tic


def run_epochs(
    batches, step, epoch_end, max_epochs: int, show_progress=False, train=train_epoch
) -> str:
    """The epoch loop of 'sgd' and 'adam': train an epoch, then the end-of-epoch path.

    ``train(batches, step, show_progress)`` trains one epoch: :func:`train_epoch`,
    or the compiled epoch of ``training/compiled_epoch.py``. Returns why it stopped:
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
            if not step.optimizer.state_finite():
                raise Diverged
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
    params, ops = step.params, step.ops
    # The iterate of the last finished iteration, on the host (SciPy's side).
    finished = ops.to_host(params).astype(np.float64)
    tic = [time.perf_counter()]
    stopped = [False]

    def set_params(x):
        # On a device: one transfer of the parameter vector per evaluation.
        params[...] = ops.from_host(x, params, params.dtype)

    def cost_and_grad(x):
        set_params(x)
        # A trial point whose cost or gradient overflows is answered with an
        # infinite cost, which makes the line search step back: no warning.
        with np.errstate(over="ignore", invalid="ignore"):
            value = ops.item(step.loss(*data))
            grad = ops.to_host(step.grads).astype(np.float64)
        if not (np.isfinite(value) and np.isfinite(grad).all()):
            return np.inf, np.zeros_like(x)
        return value, grad

    def on_iteration(intermediate_result):
        finished[...] = intermediate_result.x
        set_params(finished)
        now = time.perf_counter()
        stop = epoch_end.end(intermediate_result.fun, now - tic[0], None)
        tic[0] = now
        if stop:
            stopped[0] = True
            raise StopIteration
        epoch_end.begin()

    epoch_end.begin()
    try:
        result = minimize_lbfgs(cost_and_grad, finished.copy(), max_iter, max_fun, tol, on_iteration)
    except KeyboardInterrupt:
        # params may hold a line-search trial point of the unfinished iteration
        set_params(finished)
        return None, "interrupted"
    return result, "stopped" if stopped[0] else "done"
