"""Saving and loading: the estimators' state as plain values, and a clear pickling error.

A fitted estimator keeps three working objects besides its arrays: the
network (its structure and work buffers), the optimizer (its settings and
moment arrays) and the random generator. Saved, each becomes a dict of
strings, numbers and arrays (:func:`plain_state`), and loading makes the
objects again (:func:`live_state`). So a model saved with skops needs no
trusted type but the estimator's own class, and a model loaded from a
pickle continues ``partial_fit`` or a warm start exactly where it stopped.

:func:`check_picklable` runs when an estimator is pickled: a parameter that
holds a function the standard pickle cannot save (a lambda, a function
defined inside another) fails with an error that names the parameter and the
fix, instead of pickle's bare ``PicklingError``.
"""

from __future__ import annotations

import pickle
import sys

import numpy as np

from ..core.network import Network
from ..core.optimizers import OPTIMIZERS

#: The parameters that may hold user functions.
CALLABLE_PARAMETERS = ("callbacks", "weight_init")

#: Bit generators a saved random generator may name (NumPy's own).
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")

#: Modules of picklers that save functions by value (they can save a lambda).
_BY_VALUE_PICKLERS = ("cloudpickle", "dill")


def plain_state(state: dict) -> dict:
    """``state`` (an estimator's attributes) with its working objects as plain dicts."""
    state = dict(state)
    network = state.get("_network")
    if isinstance(network, Network):
        state["_network"] = {
            "layer_units": list(network.layer_units),
            "activation": network.activation,
            "out_activation": network.out_activation,
        }
    optimizer = state.get("_optimizer")
    if optimizer is not None and not isinstance(optimizer, dict):
        state["_optimizer"] = {"kind": optimizer.kind, **vars(optimizer)}
    rng = state.get("_rng")
    if isinstance(rng, np.random.Generator):
        state["_rng"] = rng.bit_generator.state
    return state


def live_state(state: dict) -> dict:
    """The inverse of :func:`plain_state`: the working objects made again."""
    state = dict(state)
    if isinstance(state.get("_network"), dict):
        state["_network"] = Network(**state["_network"])
    if isinstance(state.get("_optimizer"), dict):
        state["_optimizer"] = _optimizer(state["_optimizer"])
    if isinstance(state.get("_rng"), dict):
        state["_rng"] = _generator(state["_rng"])
    return state


def _optimizer(saved: dict):
    """An optimizer with the saved attributes (``kind`` names its class)."""
    attributes = dict(saved)
    kind = attributes.pop("kind", None)
    if kind not in OPTIMIZERS:
        raise ValueError(
            f"The saved optimizer state names an unknown optimizer {kind!r}; expected one of "
            f"{sorted(OPTIMIZERS)}. The file was not written by skbackprop."
        )
    cls = OPTIMIZERS[kind]
    optimizer = cls.__new__(cls)
    optimizer.__dict__.update(attributes)
    return optimizer


def _generator(saved: dict) -> np.random.Generator:
    """A NumPy generator in the saved state of its bit generator."""
    name = saved.get("bit_generator")
    if name not in _BIT_GENERATORS:
        raise ValueError(
            f"The saved random generator names an unknown bit generator {name!r}; expected "
            f"one of {list(_BIT_GENERATORS)}."
        )
    bit_generator = getattr(np.random, name)()
    bit_generator.state = saved
    return np.random.Generator(bit_generator)


def check_picklable(est) -> None:
    """Refuse, with the fix, to pickle a parameter the running pickler cannot save.

    Called from the estimator's ``__reduce_ex__``. Copies (``copy.copy``,
    ``copy.deepcopy``) and picklers that save functions by value
    (cloudpickle, as joblib and dask use it; dill) are let through.
    """
    if not _standard_pickling():
        return
    for name in CALLABLE_PARAMETERS:
        value = getattr(est, name, None)
        if value is None or isinstance(value, str):
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            try:
                pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001 - each pickling failure gets the message
                raise pickle.PicklingError(_message(est, name, item, exc)) from exc


def _standard_pickling() -> bool:
    """Whether the estimator is being pickled by pickle's own rules (not copied)."""
    caller = sys._getframe(3)  # the caller of the estimator's __reduce_ex__
    if caller.f_globals.get("__name__") == "copy":
        return False
    frame = caller
    while frame is not None:
        parts = frame.f_globals.get("__name__", "").split(".")
        if any(part in _BY_VALUE_PICKLERS for part in parts):
            return False
        frame = frame.f_back
    return True


def _message(est, name: str, item, exc: Exception) -> str:
    what = {
        "callbacks": (
            "Use module-level functions or instances of classes defined at module level "
            "as callbacks, or call set_params(callbacks=None) before saving and set the "
            "callbacks again after loading."
        ),
        "weight_init": (
            "Use a module-level function, or call set_params(weight_init='auto') before "
            "saving (the fitted weights are kept; weight_init only draws starting weights)."
        ),
    }[name]
    return (
        f"Cannot pickle {type(est).__name__}: its `{name}` parameter holds {item!r}, which "
        f"pickle cannot save ({exc}). {what}"
    )
