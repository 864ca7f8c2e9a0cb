"""scikit-learn's callback API (``sklearn.callback``, experimental since 1.9).

With scikit-learn >= 1.9 the estimators take ``set_callbacks(...)``: a call
to ``fit`` or ``partial_fit`` is the root task, each epoch (each L-BFGS
iteration) one of its subtasks, and a callback whose ``on_fit_task_end``
returns True at the end of an epoch stops training. Callbacks set on a
``Pipeline`` or a search reach the estimator through scikit-learn's own
propagation. With an older scikit-learn, :class:`CallbackSupportMixin` is an
empty class, :func:`with_callbacks` returns the method unchanged and nothing
here is called.
"""

from __future__ import annotations

from ..training.epoch_end import Handler

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin, with_callbacks

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised by the oldest-versions CI run
    AVAILABLE = False

    class CallbackSupportMixin:  # type: ignore[no-redef]
        """Stand-in for scikit-learn < 1.9, which has no callback API."""

    def with_callbacks(method):  # type: ignore[no-redef]
        return method


#: Attributes scikit-learn sets on the estimator for the length of a fit; a
#: failed fit, which puts the estimator back as it was, keeps them so that the
#: callbacks are still torn down.
TRANSIENT = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")


def _snapshot(est) -> dict:
    """The fitted attributes at this point of training, copied (training goes on in place)."""
    return {
        "coefs_": [W.copy() for W in est.coefs_],
        "intercepts_": [b.copy() for b in est.intercepts_],
        "n_iter_": est.n_iter_,
        "loss_": est.loss_,
    }


class FitTask:
    """The root task of one ``fit``/``partial_fit`` call, and its epochs as subtasks.

    ``X`` and ``y`` are the data the call was given (checked), ``sample_weight``
    goes to the callbacks as metadata.
    """

    def __init__(self, est, X, y, sample_weight, max_subtasks: int) -> None:
        self.X, self.y = X, y
        self.metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.context = est._init_callback_context(max_subtasks=max_subtasks)
        self.context.call_on_fit_task_begin(
            estimator=est, X=X, y=y, metadata=self.metadata
        )

    def epochs(self, est) -> EpochTasks:
        """The observer that makes each epoch of ``est``'s training a subtask."""
        return EpochTasks(self, est)

    def finish(self, est) -> None:
        """The end of the root task: the estimator itself is the fitted estimator."""
        self.context.call_on_fit_task_end(
            estimator=est, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes={},
        )


class EpochTasks(Handler):
    """Each epoch (L-BFGS iteration) a subtask of the fit task; True from a callback stops.

    An observer of the end-of-epoch path (it runs after the record is
    published): scikit-learn's callbacks see the estimator of this epoch.
    """

    def __init__(self, task: FitTask, est) -> None:
        self.task, self.est, self.current = task, est, None

    def _call(self, hook) -> bool:
        task, est = self.task, self.est
        return hook(
            estimator=est, X=task.X, y=task.y, metadata=task.metadata,
            reconstruction_attributes=lambda: _snapshot(est),
        )

    def begin(self) -> None:
        self.current = self.task.context.subcontext(task_name="epoch")
        self._call(self.current.call_on_fit_task_begin)

    def end(self, record, entry) -> bool:
        context, self.current = self.current, None
        return bool(self._call(context.call_on_fit_task_end))

    def close(self) -> None:
        # An epoch that began but did not finish (interrupted, diverged, or the
        # iteration L-BFGS never ran) ends as an empty task.
        if self.current is not None:
            self.current.call_on_fit_task_end(estimator=self.est)
            self.current = None
