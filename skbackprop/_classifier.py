"""BackpropClassifier: label encoding and probabilities over the shared base."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_array

from . import _scores
from . import _validation as v
from ._base import PARAMETER_RULES, BaseBackprop, _check_partial_fit, to_host
from ._docstrings import fill
from ._validation import one_column_as_1d
from .core.activations import ACTIVATIONS
from .core.ops import ops_of


class BackpropClassifier(ClassifierMixin, BaseBackprop):
    __doc__ = fill(
        """Multi-layer network classifier trained by backpropagation.

    A drop-in for scikit-learn's ``MLPClassifier`` with the same parameter and
    attribute names, plus a choice of output layer and cost (the classic
    sigmoid + squared-error network included), more hidden activations,
    explicit starting weights, sample and class weights, an explicit
    validation set and epoch callbacks.

    Parameters
    ----------
{head_parameters}

    output_activation : {{'auto', 'softmax', 'sigmoid'}}, default='auto'
        Output units. 'auto' is softmax for multiclass targets and a sigmoid
        unit per label for binary and multilabel targets. 'sigmoid' on
        multiclass targets gives the classic network, one sigmoid unit per
        class; ``predict_proba`` then normalises each row to sum to 1, and
        ``predict`` takes the class of the largest normalised value (the
        first of them where saturated units tie at 1).
        'softmax' on binary targets uses two output units.

    loss : {{'auto', 'cross_entropy', 'log_loss', 'squared_error'}}, default='auto'
        Cost; 'auto' is cross-entropy. 'log_loss' is scikit-learn's name of
        the same cost, an alias: ``loss_function_`` then reads
        'cross_entropy'. 'squared_error' is the classic quadratic cost
        ``1/2 ||y - a||^2`` averaged over samples.

{training_parameters}

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes in the cost, as in scikit-learn's linear models:
        a dict ``{{label: weight}}`` or 'balanced' for
        ``n_samples / (n_classes * np.bincount(y))``. Multiplies
        ``sample_weight``. Not available for multilabel targets.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (for multilabel targets, the label indices).

{common_attributes}

    See Also
    --------
    BackpropRegressor : The same network for regression.
    sklearn.neural_network.MLPClassifier : scikit-learn's network.

    Notes
    -----
    The cross-entropy and squared-error costs are averaged over the samples
    (their weights, if any) and summed over the outputs; see the user guide for
    how this relates to scikit-learn's losses. On identical settings (same
    starting weights, plain SGD, no shuffling) the two libraries take the same
    gradient steps.

    References
    ----------
    Rumelhart, Hinton & Williams, "Learning representations by
    back-propagating errors", Nature 323 (1986).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skbackprop import BackpropClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BackpropClassifier(hidden_layer_sizes=(10,), solver="lbfgs",
    ...                          max_iter=500, random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """
    )

    _parameter_rules = {
        **PARAMETER_RULES,
        "output_activation": v.options("auto", "softmax", "sigmoid"),
        "loss": v.options("auto", "cross_entropy", "log_loss", "squared_error"),
        "class_weight": v.class_weight,
    }
    _y_numeric = False

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        output_activation="auto",
        loss="auto",
        solver="adam",
        alpha=0.0001,
        dropout=0.0,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        weight_init="auto",
        coefs_init=None,
        intercepts_init=None,
        callbacks=None,
        class_weight=None,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            output_activation=output_activation,
            loss=loss,
            solver=solver,
            alpha=alpha,
            dropout=dropout,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            weight_init=weight_init,
            coefs_init=coefs_init,
            intercepts_init=intercepts_init,
            callbacks=callbacks,
        )
        self.class_weight = class_weight

    # ------------------------------------------------------------------ #
    # Targets
    # ------------------------------------------------------------------ #
    def _encode_targets(self, y, *, first_call, classes=None):
        codes = None if first_call else self._known_label_codes(y, classes)
        if codes is not None:  # every label known: checked as below, for less
            return self._indicator(y, codes)
        check_classification_targets(y)
        if first_call:
            self._learn_classes(y, classes)
        else:
            self._check_classes(y, classes)
        return self._indicator(y)

    def _known_label_codes(self, y, classes) -> np.ndarray | None:
        """Each label's position in ``classes_`` when every label of ``y`` is a known class.

        The quick form of a later call's checks (``check_classification_targets``,
        :meth:`_check_classes`) for the common case: single-label targets of
        integers, booleans or strings (the dtype kind of ``classes_``) that
        are all among ``classes_``, and ``classes`` absent or equal to
        ``classes_``. Such targets pass those checks: labels among the
        classes are binary or multiclass targets, and they are known. None
        otherwise, and the full checks run (and raise with their messages).
        Float labels take the full checks (a float class given through
        ``classes`` need not be a valid label).
        """
        known = self.classes_
        if (
            y.ndim != 1
            or y.dtype.kind not in "biuUS"
            or y.dtype.kind != known.dtype.kind
            or self._multilabel()
        ):
            return None
        if classes is not None:
            classes = np.asarray(classes)
            if classes.shape != known.shape or not np.array_equal(classes, known):
                return None
        codes = np.searchsorted(known, y)
        np.minimum(codes, known.shape[0] - 1, out=codes)
        if not np.array_equal(known[codes], y):
            return None
        return codes

    def _learn_classes(self, y, classes) -> None:
        """Set ``classes_`` from ``y`` (or from ``classes``, for partial_fit)."""
        if classes is None:  # the binarizer finds the type of y (type_of_target is slow)
            binarizer = LabelBinarizer().fit(y)
            multilabel = binarizer.y_type_ == "multilabel-indicator"
        else:
            multilabel = type_of_target(y) == "multilabel-indicator"
            binarizer = LabelBinarizer().fit(y if multilabel else np.asarray(classes))
        if multilabel and classes is not None:
            if unique_labels(classes).tolist() != binarizer.classes_.tolist():
                raise ValueError(
                    f"For multilabel targets `classes` must be the label indices "
                    f"{binarizer.classes_.tolist()} (one per column of y); got "
                    f"{np.asarray(classes).tolist()}."
                )
        if len(binarizer.classes_) < 2:
            raise ValueError(
                f"The classifier needs samples of at least 2 classes in the data, but the "
                f"data contain only one class: {binarizer.classes_[0]!r}."
            )
        if classes is not None and not multilabel:
            self._check_known_labels(y, binarizer.classes_, "y")
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_

    def _check_classes(self, y, classes) -> None:
        """Check a later call's targets (and ``classes``) against ``classes_``."""
        if classes is not None and unique_labels(classes).tolist() != self.classes_.tolist():
            raise ValueError(
                f"`classes`={np.asarray(classes).tolist()} differs from the classes of the "
                f"first partial_fit call, {self.classes_.tolist()}."
            )
        multilabel_model = self._multilabel()
        if multilabel_model and (y.ndim != 2 or y.shape[1] != len(self.classes_)):
            raise ValueError(
                f"The model was fitted on {len(self.classes_)} labels (multilabel); got targets "
                f"of shape {y.shape}."
            )
        if not multilabel_model and y.ndim != 1:
            raise ValueError(
                "The model was fitted on single-label targets; got a label-indicator matrix "
                f"of shape {y.shape}."
            )
        if not multilabel_model:
            self._check_known_labels(y, self.classes_, "y")

    def _check_warm_start_targets(self, y) -> None:
        labels = unique_labels(y)
        if set(labels.tolist()) != set(self.classes_.tolist()):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in the "
                f"previous call to fit. Previously got {self.classes_}, `y` has {labels}"
            )

    @staticmethod
    def _check_known_labels(y, classes, name: str) -> None:
        unseen = np.setdiff1d(np.unique(y), classes)
        if unseen.size:
            raise ValueError(
                f"{name} contains labels {unseen.tolist()!r} that are not in classes "
                f"{classes.tolist()!r}. Pass every label through `classes` on the first "
                "partial_fit call (or fit on data that contains them)."
            )

    def _indicator(self, y, codes=None) -> np.ndarray:
        """The targets as a boolean matrix, one column per output unit.

        Booleans take an eighth of the memory of floats; the network's
        arithmetic reads them as 0 and 1. ``codes``: each label's position in
        ``classes_`` where already known.
        """
        kind = self._label_binarizer.y_type_
        if kind == "multilabel-indicator":
            Y = (y.toarray() if sp.issparse(y) else np.asarray(y)) != 0
        else:
            if codes is None:
                codes = np.searchsorted(self.classes_, y)
            if kind == "binary":
                Y = (codes == 1)[:, np.newaxis]
            else:
                Y = np.zeros((codes.shape[0], len(self.classes_)), dtype=bool)
                Y[np.arange(codes.shape[0]), codes] = True
        if Y.shape[1] == 1 and self._resolve_output()[0] == "softmax":
            Y = np.hstack([~Y, Y])
        return Y

    def _check_validation_targets(self, y_val):
        y_val = one_column_as_1d(check_array(y_val, ensure_2d=False, dtype=None, input_name="y_val"))
        if self._multilabel():
            if y_val.ndim != 2 or y_val.shape[1] != len(self.classes_):
                raise ValueError(
                    f"y_val must be a label-indicator matrix with {len(self.classes_)} columns "
                    f"like y; got shape {y_val.shape}."
                )
            return y_val
        if y_val.ndim != 1:
            raise ValueError(f"y_val must be 1-D like y; got shape {y_val.shape}.")
        self._check_known_labels(y_val, self.classes_, "y_val")
        return y_val

    def _resolve_output(self):
        kind = self._label_binarizer.y_type_
        out = self.output_activation
        if out == "auto":
            out = "softmax" if kind == "multiclass" else "sigmoid"
        if out == "softmax" and kind == "multilabel-indicator":
            raise ValueError(
                "output_activation='softmax' cannot model multilabel targets (its outputs sum "
                "to 1); use 'sigmoid' or 'auto'."
            )
        loss = "cross_entropy" if self.loss in ("auto", "log_loss") else self.loss
        return out, loss

    def _target_weights(self, y):
        if self.class_weight is None:
            return None
        if self._multilabel():
            raise ValueError("class_weight is not supported for multilabel targets.")
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(
                    f"class_weight has labels {sorted(unknown, key=str)!r} that are not among "
                    f"the classes {list(self.classes_)!r}."
                )
            weights = {c: float(self.class_weight.get(c, 1.0)) for c in self.classes_.tolist()}
            return compute_sample_weight(weights, y)
        return compute_sample_weight("balanced", y)

    _labels_as_targets = True

    def _chunk_targets(self, y):
        return self._indicator(y)

    def _class_weight_table(self, counts):
        if self.class_weight is None:
            return None
        table = self._target_weights(self.classes_)  # also checks the labels of a dict
        if self.class_weight == "balanced":  # n_samples / (n_classes * count), as scikit-learn
            table = counts.sum() / (len(counts) * counts)
        return table

    def _stratify_labels(self, y):
        return None if self._multilabel() else y

    # ------------------------------------------------------------------ #
    # Public methods
    # ------------------------------------------------------------------ #
    @available_if(_check_partial_fit)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch of the stochastic solver over ``(X, y)``, keeping optimizer state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Its labels.

        classes : array-like of shape (n_classes,), default=None
            Every label the model will see; required on the first call (for
            multilabel targets the label indices are taken from ``y``).

        sample_weight : float or array-like of shape (n_samples,), default=None
            Weight of each sample in the cost (finite, >= 0, not all zero).

        Returns
        -------
        self : object
            The updated estimator.
        """
        classes = to_host(classes)
        if not hasattr(self, "coefs_") and classes is None and np.ndim(y) == 1:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' needs the whole training set and is not available "
                "with partial_fit; pass a dict computed with "
                "sklearn.utils.class_weight.compute_class_weight instead."
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class (rows sum to 1), or of each label for
            multilabel targets.
        """
        out = self._dask_output(X, "predict_proba")
        if out is not None:
            return out
        return self._proba_from_output(self._forward_output(X, "predict_proba"))

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Natural logarithm of the class probabilities.

        Notes
        -----
        The logarithm is taken of the probabilities ``predict_proba`` returns,
        element by element, so the two rank the classes alike: probabilities
        that are equal (several sigmoid units that all round to 1, say) have
        equal logarithms, and a probability that underflowed to 0 has the
        logarithm ``-inf``.
        """
        out = self._dask_output(X, "predict_log_proba")
        if out is not None:
            return out
        proba = self._proba_from_output(self._forward_output(X, "predict_log_proba"))
        with np.errstate(divide="ignore"):
            return ops_of(proba).log(proba, out=proba)

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels, or a label-indicator matrix for multilabel targets.

        Notes
        -----
        The label of a row is the class of its largest ``predict_proba``
        value, ``classes_[np.argmax(predict_proba(X), axis=1)]``, the first of
        them where several are equal; for multilabel targets a label is set
        where its probability exceeds 0.5.
        """
        out = self._dask_output(X, "predict")
        if out is not None:
            return out
        return self._labels_from_output(self._forward_output(X, "predict"))

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            True labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy (subset accuracy for multilabel targets), as
            ``sklearn.metrics.accuracy_score``.
        """
        return self._score(X, y, sample_weight, super().score)

    def _multilabel(self) -> bool:
        """Whether the model was fitted on label-indicator (multilabel) targets."""
        return self._label_binarizer.y_type_ == "multilabel-indicator"

    def _sigmoid_multiclass(self) -> bool:
        """One sigmoid unit per class of a single-label problem (the classic network)."""
        return self._label_binarizer.y_type_ == "multiclass" and self.out_activation_ == "logistic"

    def _prediction_activation(self):
        # Several sigmoid units for one label: predict_proba normalises the
        # rows from the pre-activations, which stay informative where every
        # sigmoid underflows to 0 (predict then ranks those probabilities).
        return "identity" if self._sigmoid_multiclass() else None

    def _proba_from_output(self, out: np.ndarray) -> np.ndarray:
        """``predict_proba`` from the network's output (overwritten for several units)."""
        ops = ops_of(out)
        if out.shape[1] == 1:
            return ops.concat_columns([1 - out, out])
        if self._sigmoid_multiclass():
            # sigmoid(z_k) / sum_j sigmoid(z_j) as a softmax of log sigmoid(z):
            # rows sum to 1 even where every sigmoid underflows to 0.
            _log_sigmoid(out, ops)
            ACTIVATIONS["softmax"].forward(out, ops)
        return out

    def _labels_from_output(self, out: np.ndarray) -> np.ndarray:
        """Labels from the network's output, in the output's library and device.

        The labels are those of :meth:`predict_proba`'s largest value in each
        row (the first where several are equal, as ``numpy.argmax``); for
        several sigmoid units of one label the probabilities are computed
        from ``out`` first, overwriting it. Labels that library cannot hold
        (strings, objects) come back as NumPy.
        """
        ops = ops_of(out)
        if self._multilabel():
            return ops.astype(out > 0.5, ops.xp.int64)
        if out.shape[1] == 1:
            # The argmax of the row [1 - p, p]: for p >= 1/2 the difference
            # 1 - p is exact, so the second column wins exactly where p > 1/2.
            codes = ops.astype(out[:, 0] > 0.5, ops.xp.int64)
        else:
            if self._sigmoid_multiclass():
                # Not the argmax of the pre-activations: sigmoids that round
                # to the same value (all to 1 when saturated) tie in
                # predict_proba, and the label must be the first of them.
                out = self._proba_from_output(out)
            codes = ops.argmax_rows(out)
        if ops.host:
            return self.classes_[codes]
        if self.classes_.dtype.kind not in "biuf":
            return self.classes_[ops.to_host(codes)]
        classes = ops.from_host(self.classes_, out)
        return ops.xp.take(classes, codes, axis=0)

    def _score_output(self, out, y, sample_weight) -> float:
        pred = self._labels_from_output(out)
        if sp.issparse(y):  # a sparse label-indicator matrix: scikit-learn's metric
            return float(accuracy_score(y, pred, sample_weight=sample_weight))
        return _scores.accuracy(y, pred, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Softmax outputs sum to one, so they cannot represent several labels at once.
        tags.classifier_tags.multi_label = self.output_activation != "softmax"
        return tags


def _log_sigmoid(z, ops):
    """``log sigmoid(z) = min(z, 0) - log1p(exp(-|z|))`` in place, finite for finite ``z``.

    The same branches as ``-logaddexp(0, -z)``, in whole-array passes that
    are several times faster than NumPy's ``logaddexp`` (``predict`` runs it
    too), and the formula of the ONNX graph (``skbackprop.onnx``). The two
    subtractions that make ``-|z|`` are exact (one operand of each is 0).
    """
    low = ops.minimum(z, 0.0)  # min(z, 0)
    ops.subtract(z, low, out=z)  # max(z, 0)
    ops.subtract(low, z, out=z)  # min(z, 0) - max(z, 0) = -|z|
    ops.exp(z, out=z)
    ops.log1p(z, out=z)
    return ops.subtract(low, z, out=z)
