"""Work buffers kept from one training call to the next, and the saved state that undoes a call.

``partial_fit`` with one batch per call (dask-ml's ``Incremental``, a loop
over files) pays every per-call cost once per step. A :class:`Workspace`
keeps the vectors such a call needs (the parameter vector it trains, the
step engine's gradient and snapshot, the batch source's gather buffers, the
copy of the optimizer's state) so that a call after the first allocates
none of them. An estimator holds its workspace as a transient attribute:
never pickled or copied, rebuilt when missing.

:class:`SavedState` is the other half of a transactional call: the state
training changes in place (the optimizer's arrays and scalars), copied into
the workspace's buffers before the call and put back if it fails.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.ops import NUMPY, ops_of


class FreshBuffers:
    """The default "workspace": every buffer a new array (no reuse)."""

    @staticmethod
    def empty(name: str, shape: tuple, dtype, like=None):
        """A new uninitialised array of ``shape`` and ``dtype`` in the library of ``like``."""
        ops = NUMPY if like is None else ops_of(like)
        return ops.empty(shape, dtype, like)


#: The workspace of a call that keeps nothing (``fit``, arrays on a device).
FRESH = FreshBuffers()


class Workspace(FreshBuffers):
    """Named NumPy buffers reused across the training calls of one estimator.

    :meth:`empty` returns the buffer kept under ``name`` when it has the
    shape and dtype asked for, else a new one, kept under that name for the
    next call. The contents are whatever the last user left there. Only for
    host (NumPy) arrays; the shell gives calls on other libraries' arrays
    :data:`FRESH` instead.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}
        #: The parameters last validated and found valid (see the shell).
        self.validated: tuple | None = None
        #: ``(vector, views)``: the parameter vector the last call trained and
        #: the weight arrays it published (views of it), or None.
        self.published: tuple | None = None

    def empty(self, name: str, shape, dtype, like=None) -> np.ndarray:
        if like is not None and not isinstance(like, np.ndarray):  # another library: not kept
            return super().empty(name, shape, dtype, like)
        shape = (int(shape),) if np.isscalar(shape) else tuple(shape)
        dtype = np.dtype(dtype)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
            buffer = self._buffers[name] = np.empty(shape, dtype)
        return buffer

    def get(self, name: str) -> np.ndarray | None:
        """The buffer kept under ``name``, or None."""
        return self._buffers.get(name)

    def __len__(self) -> int:
        return len(self._buffers)


class SavedState:
    """An object's attributes as they are now; :meth:`restore` puts them back.

    Training changes the optimizer in place (its moment or velocity arrays,
    its step count, its learning rate). The attributes are kept as a shallow
    copy and each array's values are copied into a buffer of ``workspace``
    named after ``prefix`` and the attribute: with a :class:`Workspace`
    nothing is allocated after the first call. :meth:`restore` copies the
    values back into the same arrays and resets the attributes, so the
    object is exactly as it was, arrays included.
    """

    def __init__(self, obj: Any, workspace: FreshBuffers, prefix: str) -> None:
        self.obj = obj
        self.attributes = dict(vars(obj))
        self.copies = {}
        for name, value in self.attributes.items():
            if isinstance(value, np.ndarray) or hasattr(value, "__array_namespace__"):
                copy = workspace.empty(f"{prefix}{name}", value.shape, value.dtype, value)
                copy[...] = value
                self.copies[name] = copy

    def restore(self) -> None:
        """Put the object back as it was when saved (the same arrays, their saved values)."""
        for name, copy in self.copies.items():
            self.attributes[name][...] = copy
        attributes = vars(self.obj)
        attributes.clear()
        attributes.update(self.attributes)
