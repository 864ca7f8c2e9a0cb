"""ONNX export through skl2onnx: converters for both estimators.

Importing this module registers a converter, a shape calculator and the
usual options of scikit-learn classifiers with skl2onnx, after which
``skl2onnx.to_onnx`` converts ``BackpropClassifier`` and
``BackpropRegressor`` alone or inside a ``Pipeline`` or a
``ColumnTransformer``::

    import skl2onnx
    import skbackprop.onnx  # noqa: F401  (registers the converters)

    onx = skl2onnx.to_onnx(model, X[:1].astype(np.float32))

The graph is the network of ``predict`` and ``predict_proba``: for each
layer a ``Gemm`` (``A @ W + b``) and the activation, whose nodes its entry of
the activation table gives (``core/activations.py``: ``Relu``, ``Tanh``,
``Sigmoid``, ``Max(z, 0.01 z)`` for the leaky ReLU, nothing for the identity,
compositions of float64-capable operators for ELU, softplus and SiLU; the
GELU's ``Erf``, which onnxruntime runs in float32 only, is computed in
float32 and cast back in a float64 graph, so a float64 GELU graph agrees with
the estimator to about 1e-7 relative rather than 1e-12), then the output
layer as the estimator computes it:

- softmax outputs: ``Softmax`` over each row; labels from its ``ArgMax``;
- one sigmoid output (binary): the probabilities ``[1 - p, p]``, the label
  of the positive class where ``p > 0.5``;
- sigmoid outputs for labels (multilabel): the probabilities of each label,
  and the 0/1 indicator matrix ``p > 0.5`` as the labels;
- one sigmoid unit per class of a single-label problem (the classic
  network): ``predict_proba``'s row normalisation, ``sigmoid(z_k) / sum_j
  sigmoid(z_j)``, computed as a softmax of ``log sigmoid(z)`` as the
  estimator does (finite where every sigmoid underflows, with an accurate
  ``log1p`` that keeps saturated units apart as NumPy does); labels from the
  ``ArgMax`` of those probabilities (saturated units tie there, and
  ``ArgMax`` takes the first of tied values, as ``predict``);
- regression: the identity, ``Sigmoid``, ``Tanh``, or ``Exp`` (Poisson) with
  the estimator's cap on its input; the output has shape
  ``(n_samples, n_outputs)``, as for scikit-learn's ``MLPRegressor``.

A float64 input (``DoubleTensorType``) gives a float64 graph; any other
input a float32 graph, whatever the dtype the model was trained in.

Classifier options are scikit-learn's: ``zipmap`` (True, False or
'columns'), ``nocl`` (labels replaced by their indices) and
``output_class_labels`` (an extra output with ``classes_``, with
``zipmap=False``); pass them as ``options={id(model): {...}}`` or
``options={BackpropClassifier: {...}}`` to ``skl2onnx.to_onnx``.

Needs the ``onnx`` extra: ``pip install "skbackprop[onnx]"`` (skl2onnx and
onnx); onnxruntime runs the graphs.
"""

from __future__ import annotations

import numpy as np

try:
    from onnx import TensorProto, numpy_helper
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )
    from skl2onnx.common.utils import check_input_and_output_numbers, check_input_and_output_types
    from skl2onnx.common.utils_classifier import get_label_classes
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError(
        "skbackprop.onnx needs skl2onnx and onnx, which are not installed: "
        'pip install "skbackprop[onnx]" (and onnxruntime to run the graphs).'
    ) from exc

from ._classifier import BackpropClassifier
from ._regressor import BackpropRegressor
from .core.activations import ACTIVATIONS
from .core.ops import ops_of

__all__ = ["register_converters"]

#: The options scikit-learn's classifier converters take.
CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
}


def register_converters() -> None:
    """Register the converters of both estimators with skl2onnx (done on import).

    Calling it again changes nothing.
    """
    update_registered_converter(
        BackpropClassifier, "SkbackpropBackpropClassifier", _classifier_shapes,
        _convert_classifier, options=CLASSIFIER_OPTIONS,
    )
    update_registered_converter(
        BackpropRegressor, "SkbackpropBackpropRegressor", _regressor_shapes,
        _convert_regressor,
    )


# --------------------------------------------------------------------------- #
# Shapes and types of the outputs
# --------------------------------------------------------------------------- #
_INPUT_TYPES = [FloatTensorType, DoubleTensorType, Int64TensorType]


def _check_input(operator) -> int:
    """The input's type and width checked against the model; returns the batch dimension."""
    check_input_and_output_types(operator, good_input_types=_INPUT_TYPES)
    est = operator.raw_operator
    shape = operator.inputs[0].type.shape
    width = shape[1] if len(shape) == 2 else None
    if isinstance(width, int) and width != est.n_features_in_:
        raise ValueError(
            f"The ONNX input has {width} features but {type(est).__name__} was fitted on "
            f"{est.n_features_in_}; pass initial types (or a sample X) of width "
            f"{est.n_features_in_}."
        )
    return operator.inputs[0].get_first_dimension()


def _classifier_shapes(operator) -> None:
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=[1, 2])
    n = _check_input(operator)
    est = operator.raw_operator
    width = len(est.classes_)
    if est._multilabel():
        operator.outputs[0].type = Int64TensorType([n, width])
    else:
        labels = get_label_classes(operator.scope_inst, est)
        kind = StringTensorType if labels.dtype.kind in "OUS" else Int64TensorType
        operator.outputs[0].type = kind([n])
    if len(operator.outputs) == 2:
        operator.outputs[1].type.shape = [n, width]


def _regressor_shapes(operator) -> None:
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    n = _check_input(operator)
    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    kind = DoubleTensorType if double else FloatTensorType
    operator.outputs[0].type = kind([n, operator.raw_operator.n_outputs_])


# --------------------------------------------------------------------------- #
# The graph
# --------------------------------------------------------------------------- #
class _Graph:
    """Adds nodes and constants of one dtype to skl2onnx's container."""

    def __init__(self, scope, operator, container) -> None:
        self.scope, self.container = scope, container
        double = isinstance(operator.inputs[0].type, DoubleTensorType)
        self.proto = TensorProto.DOUBLE if double else TensorProto.FLOAT
        self.dtype = np.float64 if double else np.float32
        coefs = operator.raw_operator.coefs_
        #: The dtype the model was trained in (the exponential's cap depends on it).
        self.model_dtype = ops_of(coefs[0]).host_dtype(coefs[0].dtype)

    def log1p(self, t: str) -> str:
        """``log(1 + t)`` for ``t >= 0`` (see :func:`_log1p`)."""
        return _log1p(self, t)

    def erf(self, x: str) -> str:
        """``erf(x)``; onnxruntime's ``Erf`` takes float only, so float64 goes through float32."""
        if self.dtype == np.float32:
            return self.node("Erf", [x])
        low = self.node("Cast", [x], to=TensorProto.FLOAT)
        return self.node("Cast", [self.node("Erf", [low])], to=TensorProto.DOUBLE)

    def node(self, op_type: str, inputs: list[str], output: str | None = None, **attrs) -> str:
        """Add a node of ``op_type``; returns the name of its output."""
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        name = self.scope.get_unique_operator_name(op_type)
        self.container.add_node(op_type, inputs, [output], name=name, **attrs)
        return output

    def constant(self, value, dtype=None, seed: str = "c") -> str:
        """An initializer holding ``value`` (the graph's float type unless ``dtype``)."""
        array = np.asarray(value, dtype=dtype or self.dtype)
        name = self.scope.get_unique_variable_name(seed)
        if array.dtype.kind in "OUS":
            content = [str(v).encode("utf-8") for v in array.ravel()]
            self.container.add_initializer(name, TensorProto.STRING, list(array.shape), content)
        else:
            self.container.add_initializer(name, None, None, numpy_helper.from_array(array, name))
        return name


def _host(array) -> np.ndarray:
    """A fitted array as NumPy (models fitted on other array libraries included)."""
    return np.asarray(ops_of(array).to_host(array))


def _activate(graph: _Graph, z: str, activation: str) -> str:
    """The nodes of ``activation`` applied to ``z``, from its entry in the activation table."""
    build = ACTIVATIONS[activation].onnx
    if build is None:
        raise NotImplementedError(
            f"activation={activation!r} has no ONNX graph in its entry of the activation "
            "table (core/activations.py), so this model cannot be exported to ONNX."
        )
    return build(graph, z)


def _forward(graph: _Graph, est, x: str) -> str:
    """The network's output for input ``x``, as the estimator's predictions compute it."""
    network = est._fitted_network()
    coefs, intercepts = est.coefs_, est.intercepts_
    a = graph.node("Cast", [x], to=graph.proto)
    last = len(coefs) - 1
    output = est._prediction_activation() or network.out_activation
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        weights = graph.constant(_host(W), seed="W"), graph.constant(_host(b), seed="b")
        z = graph.node("Gemm", [a, *weights])
        a = _activate(graph, z, output if i == last else network.activation)
    return a


def _convert_classifier(scope, operator, container) -> None:
    est = operator.raw_operator
    graph = _Graph(scope, operator, container)
    out = _forward(graph, est, operator.inputs[0].full_name)
    label_name = operator.outputs[0].full_name
    if est._multilabel():  # the sigmoid of each label, and 0/1 labels
        proba = out
        above = graph.node("Greater", [out, graph.constant(0.5)])
        graph.node("Cast", [above], label_name, to=TensorProto.INT64)
    else:
        codes, proba = _codes_and_probabilities(graph, est, out)
        values = _label_values(get_label_classes(scope, est))
        classes = graph.constant(values, dtype=values.dtype, seed="classes")
        graph.node("Gather", [classes, codes], label_name, axis=0)
    if len(operator.outputs) == 2:
        graph.node("Identity", [proba], operator.outputs[1].full_name)


def _codes_and_probabilities(graph: _Graph, est, out: str) -> tuple[str, str]:
    """The class index of each row (int64) and ``predict_proba``, from the network's output."""
    if est._sigmoid_multiclass():  # out is z: a softmax of log sigmoid(z), as predict_proba
        # Labels from the probabilities, not from z: saturated units tie there.
        proba = graph.node("Softmax", [_log_sigmoid(graph, out)], axis=1)
        return graph.node("ArgMax", [proba], axis=1, keepdims=0), proba
    if len(est.classes_) == 2 and est.n_outputs_ == 1:  # one sigmoid unit: [1 - p, p]
        above = graph.node("Cast", [graph.node("Greater", [out, graph.constant(0.5)])],
                           to=TensorProto.INT64)
        codes = graph.node("Reshape", [above, graph.constant([-1], dtype=np.int64)])
        return codes, graph.node("Concat", [graph.node("Sub", [graph.constant(1.0), out]), out],
                                 axis=1)
    return graph.node("ArgMax", [out], axis=1, keepdims=0), out  # softmax


def _log_sigmoid(graph: _Graph, z: str) -> str:
    """``log sigmoid(z) = min(z, 0) - log1p(exp(-|z|))``, finite for every finite ``z``.

    (onnxruntime has no float64 ``Softplus``.)
    """
    tail = graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [z])])])
    return graph.node("Sub", [graph.node("Min", [z, graph.constant(0.0)]), _log1p(graph, tail)])


def _log1p(graph: _Graph, t: str) -> str:
    """``log(1 + t)`` for ``t >= 0``, accurate where ``t`` is small (ONNX has no ``Log1p``).

    With ``u = 1 + t`` rounded, ``log(u) * t / (u - 1)`` corrects the rounding
    of ``u`` (W. Kahan's formula), and ``t`` itself is the value where ``u``
    rounds to 1. ``log(1 + t)`` alone would lose the digits of tiny ``t``, and
    with them the order of saturated sigmoid units that ``predict_proba``
    (NumPy's ``log1p``) keeps.
    """
    u = graph.node("Add", [t, graph.constant(1.0)])
    ratio = graph.node("Div", [t, graph.node("Sub", [u, graph.constant(1.0)])])
    corrected = graph.node("Mul", [graph.node("Log", [u]), ratio])
    rounded_up = graph.node("Greater", [u, graph.constant(1.0)])
    return graph.node("Where", [rounded_up, corrected, t])


def _label_values(labels: np.ndarray) -> np.ndarray:
    """Class labels as ONNX holds them: strings, or int64 for numbers and booleans.

    Numeric class labels are whole numbers (scikit-learn refuses others as
    classes); float labels come out as integers, as skl2onnx does for
    scikit-learn's classifiers.
    """
    if labels.dtype.kind in "OUS":
        return labels.astype(str)
    return labels.astype(np.int64)


def _convert_regressor(scope, operator, container) -> None:
    graph = _Graph(scope, operator, container)
    out = _forward(graph, operator.raw_operator, operator.inputs[0].full_name)
    graph.node("Identity", [out], operator.outputs[0].full_name)


register_converters()
