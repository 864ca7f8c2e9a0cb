"""Compiled training epochs for small dense problems (numba).

On small tables and small batches a training step is a few microseconds of
arithmetic wrapped in tens of microseconds of Python: calls, checks and
temporary arrays at every layer of every batch. When `numba
<https://numba.pydata.org>`_ is installed (``pip install "skbackprop[fast]"``),
:func:`epoch_trainer` replaces the epoch of the NumPy path
(``training.loop.train_epoch``) by one compiled call: the batch loop, the gather of
the shuffled rows, the forward pass, the cost and output delta, the backward
pass, the L2 penalty and the optimizer update all run inside it, and Python
runs once per epoch. The matrix products still go to BLAS (numba calls it
for ``np.dot``).

It is the same algorithm as the NumPy path, written a second time
element by element: the same operations in the same order wherever the
order is known (element-wise passes, the optimizer updates, the shuffling,
which stays in Python on the same generator), but sums of many terms
(costs, row sums of the softmax) and the element-wise functions of the math
library (``exp``, ``tanh``, ``log``) may round differently in the last bit.
The tests check that both paths give the same weights within 1e-12 relative
in float64 after several epochs, for every combination of hidden activation,
output, cost and solver this path takes.

The compiled path runs when all of these hold, and the NumPy path otherwise:

- numba is installed and not switched off (``SKBACKPROP_ACCELERATOR=0``),
  and loaded: a process loads it once its work makes the load pay
  (``core.kernels.plan``, asked by :func:`epoch_trainer` with the run's
  estimated work; the NumPy epochs before count toward it);
- the inputs are a dense float32 or float64 array (C-contiguous, or small
  enough, ``COPY_LIMIT``, to be copied into C order once per call);
- the solver is 'sgd' or 'adam' (L-BFGS evaluates the whole data at once,
  where Python's share is already small);
- the steps are small: the largest matrix product of a step is under
  ``training.threads.SMALL_STEP`` multiply-adds (larger steps are bound by the
  products, where NumPy's vectorised element-wise functions are faster);
- the hidden layers are not too wide for their activation's scalar form
  (``kernel_values_limit`` of its table entry: for ``tanh``, the kernel's
  scalar ``tanh`` is slower than NumPy's vectorised one);
- no per-batch progress bar is drawn (``verbose >= 2`` in a terminal);
- no dropout (the masks of every batch come from the NumPy generator, and
  the thinned network's pass is the NumPy path's);
- both activations' entries in the activation table carry the kernel's code
  (``kernel_forward`` and ``kernel_derivative``, or their block forms), and
  so does the cost's entry in the cost table (``kernel_term``).

The kernels are compiled on first use and cached on disk by numba, so a
second process loads them instead of compiling (``python -m
skbackprop.precompile`` compiles them all at once); importing skbackprop does
not import numba. The kernel's activations and costs come from the
activation table (``core/activations.py``) and the cost table
(``core/losses.py``): ``core/kernels/source.py`` generates their code into
the kernel module, whose file is named after a hash of its text, so a changed
table never meets a stale cache.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..core import kernels
from ..core.activations import ACTIVATIONS, LEAKY_SLOPE, _half_log_max, exp_limit
from ..core.losses import COSTS, _clip_bounds
from ..core.optimizers import SGD, Adam
from .loop import WEIGHT_LIMIT, Diverged, train_epoch
from .threads import small_step

#: Inputs that are not C-contiguous (Fortran-ordered, strided views) are copied
#: once per call up to this size; larger ones take the NumPy path.
COPY_LIMIT = 256 * 2**20


# Optimizer codes.
_SGD, _MOMENTUM, _NESTEROV, _ADAM = 0, 1, 2, 3

_kernels: dict = {}


def epoch_trainer(batches, step, show_progress: bool = False, epochs: int = 1):
    """The epoch function of a run over ``batches`` with the engine ``step``, or None.

    The result is called as ``train(batches, step, show_progress)`` and
    returns ``(mean cost, seconds)`` like ``training.loop.train_epoch``. A run
    that could use numba (the compiled epoch, or the compiled update of a
    large network) asks ``core.kernels.plan`` with its estimated time for
    ``epochs`` epochs whether numba is (or now gets) loaded: then the compiled
    epoch where it suits, else None (the NumPy path, whose large updates
    then run compiled). A run that goes on without numba gets the NumPy epoch
    that counts its work toward loading it (``core.kernels.spend``). None
    otherwise: the caller's NumPy (or device) epoch.
    """
    compiled = _suits(batches, step, show_progress)
    updates = step.optimizer is not None and kernels.suits(step.params)
    if not (compiled or updates):
        return None
    seconds = kernels.estimated_seconds(
        step.network.layer_units, batches.batch_size, len(batches)
    )
    if kernels.plan(seconds * epochs):
        return CompiledEpoch(batches, step) if compiled else None
    return CountedEpoch(seconds)


def _suits(batches, step, show_progress: bool) -> bool:
    """Whether the compiled epoch can train an epoch of ``batches`` with ``step``."""
    X, params = batches.X, step.params
    return bool(
        kernels.available()
        and not show_progress
        and isinstance(X, np.ndarray)
        and X.ndim == 2
        and X.dtype == params.dtype
        and params.dtype in (np.float32, np.float64)
        and (X.flags.c_contiguous or X.nbytes <= COPY_LIMIT)
        and type(step.optimizer) in (SGD, Adam)
        and step.dropout is None
        and small_step(step.network.layer_units, batches.batch_size)
        and not _slow_hidden(step.network, batches.batch_size)
        and _compilable(step.network, step.loss_name)
    )


class CountedEpoch:
    """The NumPy path's epoch, counting its estimated ``seconds`` toward loading numba."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, batches, step, show_progress: bool = False) -> tuple[float, float]:
        result = train_epoch(batches, step, show_progress)
        kernels.spend(self.seconds)
        return result


def _compilable(network, loss: str) -> bool:
    """Whether both activations' table entries and the cost's carry the kernel's code."""
    from ..core.kernels.source import compilable

    return bool(COSTS[loss].kernel_term) and all(
        compilable(ACTIVATIONS[name]) for name in (network.activation, network.out_activation)
    )


def _slow_hidden(network, batch_size: int) -> bool:
    """Whether the hidden activation of a step costs more compiled than the NumPy path saves.

    The math library's scalar ``tanh`` that the kernel calls takes about ten
    times as long per value as NumPy's vectorised one, so wide tanh layers
    run faster on the NumPy path: the entry's ``kernel_values_limit``.
    """
    limit = ACTIVATIONS[network.activation].kernel_values_limit
    hidden_values = batch_size * sum(network.layer_units[1:-1])
    return limit is not None and hidden_values > limit


class CompiledEpoch:
    """One compiled call per epoch over ``batches`` with the engine ``step``.

    Holds the work buffers (sized for one batch) and the constants of the
    network; the optimizer's state stays in the optimizer object, whose
    arrays the kernel updates in place.
    """

    def __init__(self, batches, step) -> None:
        net, dtype = step.network, step.params.dtype
        units = np.asarray(net.layer_units, dtype=np.int64)
        rows = batches.batch_size
        act_offsets = np.concatenate([[0], np.cumsum(units[1:]) * rows])
        # The network's shape for the kernel: units, offsets of the weights and
        # of the intercepts in the flat parameters, offsets of each layer's
        # activations (and deltas) in their buffers.
        self.layout = np.concatenate(
            [units, net._coef_offsets, net._intercept_offsets, act_offsets]
        ).astype(np.int64)
        module = _compile()
        # The activation and cost codes: positions in the tables the kernel was generated from.
        keep_z = ACTIVATIONS[net.activation].from_z and len(units) > 2
        self.codes = np.array(
            [module.CODES[net.activation], module.CODES[net.out_activation],
             module.LOSS_CODES[step.loss_name], 0, rows, batches.sample_weight is not None, keep_z],
            dtype=np.int64,
        )
        # Constants in the parameters' dtype, as the NumPy path's scalars become,
        # then the work buffers: one scratch value, the batch's rows, targets
        # and weights, the activations, the deltas and, for hidden activations
        # whose derivative reads z, the pre-activations.
        consts = [1.0, LEAKY_SLOPE, _half_log_max(dtype), *_clip_bounds(dtype),
                  np.finfo(dtype).tiny, exp_limit(dtype), 0.0]
        width = int(units[1:].sum())
        size = len(consts) + rows * (int(units[0]) + int(units[-1]) + 1 + (2 + keep_z) * width)
        # From the batch source's workspace: kept across partial_fit calls.
        workspace = batches.workspace
        self.work = workspace.empty("compiled epoch work", size, dtype)
        self.work[: len(consts)] = consts
        self.X = np.ascontiguousarray(batches.X)
        # Targets stay as they are when boolean (the classifier's one-hot
        # rows) or of the parameters' dtype; the kernel reads them as numbers.
        Y = batches.Y
        self.Y = np.ascontiguousarray(Y, dtype=None if Y.dtype in (np.bool_, dtype) else dtype)
        sw = batches.sample_weight
        self.sw = np.ascontiguousarray(sw, dtype=dtype) if sw is not None else self.work[:0]
        # The optimizer's scalars (3) and, for Adam, each step's step size.
        self.opt_scalars = workspace.empty("compiled epoch scalars", 3 + len(batches), dtype)
        self.opt_scalars[...] = 0.0
        self.kernel = module.epoch

    def _optimizer_arguments(self, optimizer):
        """The optimizer's code and state arrays; fills :attr:`opt_scalars` for this epoch."""
        scalars = self.opt_scalars
        if isinstance(optimizer, Adam):
            for k in range(3, scalars.shape[0]):  # Adam.step's scalars, step by step
                eps, scalars[k] = optimizer.step_scalars(optimizer.t + k - 2)
            scalars[:3] = optimizer.beta_1, optimizer.beta_2, eps
            return _ADAM, optimizer._m, optimizer._v
        scalars[:2] = -float(optimizer.learning_rate), optimizer.momentum
        if optimizer.velocity is None:
            return _SGD, scalars[:0], scalars[:0]
        return (_NESTEROV if optimizer.nesterov else _MOMENTUM), optimizer.velocity, scalars[:0]

    def __call__(self, batches, step, show_progress: bool = False) -> tuple[float, float]:
        tic = time.perf_counter()
        if batches.shuffle:
            batches.rng.shuffle(batches.order)
        params, optimizer = step.params, step.optimizer
        code, state1, state2 = self._optimizer_arguments(optimizer)
        self.codes[3] = code
        accumulated, steps, diverged = self.kernel(
            self.X, self.Y, self.sw, batches.order, params, step.grads, state1, state2,
            self.layout, self.codes, float(step.alpha), WEIGHT_LIMIT, self.work,
            self.opt_scalars,
        )
        if code == _ADAM:
            optimizer.t += steps
        if diverged:  # a cost or, at the end, a weight that is not finite or too large
            raise Diverged
        return accumulated / batches.total_weight, time.perf_counter() - tic


def _compile():
    """The kernel module for the activation and cost tables as they stand (generated on first use).

    Importing it compiles the kernel, or loads it from numba's disk cache.
    The module is kept per state of the tables: the entries' identities
    (entries are frozen, so a changed entry is a new object) and their names.
    """
    from ..core.kernels.source import load_epoch_module

    key = (tuple(map(id, ACTIVATIONS.values())), tuple(ACTIVATIONS),
           tuple(map(id, COSTS.values())), tuple(COSTS))
    module = _kernels.get(key)
    if module is None:
        module = _kernels[key] = load_epoch_module()
    return module


def warm_up() -> None:
    """Compile (or load from numba's disk cache) the epoch kernel for every dtype it takes.

    float32 and float64 parameters, each with boolean targets (classifiers)
    and targets of the parameters' dtype (regressors). The kernels count as
    loaded afterwards (``core.kernels.loaded``).
    """
    if not kernels.available():
        return
    kernels.warm_up()
    from ..core.network import Network
    from .loop import Batches, Step

    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for target_dtype in (np.bool_, dtype):
            X = rng.random((4, 2)).astype(dtype)
            Y = np.eye(2, dtype=target_dtype)[[0, 1, 0, 1]]
            net = Network([2, 3, 2], "relu", "softmax")
            params = net.init_params("glorot_uniform", rng, dtype)
            step = Step(net, "cross_entropy", 0.0, params, SGD(params.size, dtype, 0.1))
            batches = Batches(X, Y, None, 2, True, rng)
            CompiledEpoch(batches, step)(batches, step)


def precompile() -> Path | None:
    """Compile (or load) every kernel and leave the mark that says numba's cache is filled.

    What ``python -m skbackprop.precompile`` runs. Returns the mark's path,
    or None where numba is not installed or switched off.
    """
    from ..core.kernels.source import cache_mark

    if not kernels.available():
        return None
    warm_up()
    mark = cache_mark()
    mark.write_text("every kernel of this module is in numba's cache\n", encoding="utf-8")
    return mark
