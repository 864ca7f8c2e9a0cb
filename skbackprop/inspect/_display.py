"""Figures of a training step and of a training run, drawn with matplotlib.

:class:`NetworkDisplay` draws the :class:`~skbackprop.inspect.Trace` of one
step as the network it ran through; :class:`LossCurveDisplay` draws the loss
and validation curves of a fitted estimator. Both follow scikit-learn's
Display convention: a ``from_estimator`` class method computes what to draw
and calls ``plot``, which draws and stores the matplotlib objects as
attributes ending in ``_``.

matplotlib is optional (the ``plot`` extra) and imported only when a figure
is drawn: importing :mod:`skbackprop` does not import it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LossCurveDisplay", "NetworkDisplay"]

#: Colours of positive and negative values (weights, gradients, activations).
POSITIVE, NEGATIVE = "tab:blue", "tab:red"

#: Layers with more units than this are drawn as heatmaps by default.
MAX_UNITS = 12

#: With ``edge_labels='auto'``, the connections between two layers are labelled up to this many.
MAX_EDGE_LABELS = 6


def _pyplot():
    """``matplotlib.pyplot``, or an ImportError that names the extra to install."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            'Drawing needs matplotlib: pip install "skbackprop[plot]" (or pip install matplotlib).'
        ) from exc
    return plt


def _last_step(estimator):
    """The final estimator of a Pipeline (and the steps before it), else the estimator itself."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        return estimator[:-1], estimator[-1]
    return None, estimator


def _format(value: float, values_format: str | None) -> str:
    """A number as the figure prints it: 4 decimals, or 3 significant digits when tiny or huge."""
    value = float(value)
    if values_format is not None:
        return format(value, values_format)
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.4f}"
    return f"{value:.3g}"


def _colour(value: float) -> str:
    return NEGATIVE if value < 0 else POSITIVE


# --------------------------------------------------------------------------- #
# The network
# --------------------------------------------------------------------------- #
class NetworkDisplay:
    """One training step drawn as the network: units, weights, gradients.

    Each unit is a circle with its values for one sample of the batch: the
    input, or the bias, pre-activation ``z`` and activation ``a`` (and the
    delta ``dC/dz`` with ``show_deltas=True``). Each connection is a line
    coloured by the sign of its weight (blue positive, red negative), as wide
    as the weight is large, labelled with the weight, its gradient
    ``dC/dw`` and, given a ``learning_rate``, the weight after one plain
    gradient step ``w - learning_rate * dC/dw``. Weights are numbered as in
    the textbook walk-through: ``w1, w2, ...`` layer by layer, the weights
    into the first unit of a layer first.

    A network with more than ``max_units`` units in some layer cannot be
    labelled readably; it is drawn as a summary instead, one column of
    heatmaps per layer (weights with the biases as the last row, their
    gradients and, given a ``learning_rate``, the weights after the step).

    Create it with :meth:`from_estimator`, or from a
    :class:`~skbackprop.inspect.Trace` and call :meth:`plot`.

    Parameters
    ----------
    trace : Trace
        The step to draw (see :func:`~skbackprop.inspect.trace`).
    X : ndarray of shape (n_samples, n_features), default=None
        The batch the trace ran on, as the network saw it (after a
        Pipeline's earlier steps); the input units show its row ``sample``.
        None: the inputs are drawn without values.

    Attributes
    ----------
    trace : Trace
        The trace drawn.
    figure_ : matplotlib.figure.Figure
        The figure.
    ax_ : matplotlib.axes.Axes
        The axes of the network drawing; for the summary, the axes whose
        area the heatmaps share (turned off).
    axes_ : ndarray of matplotlib.axes.Axes or None
        The summary's heatmaps, shape ``(n_rows, n_layers)``: row 0 the
        weights, row 1 the gradients, row 2 (with a ``learning_rate``) the
        weights after the step. None for the network drawing.
    summary_ : bool
        Whether the summary was drawn instead of the network.
    labels_ : dict of str to matplotlib.text.Text
        The network drawing's labels, by name: units (``'i1'``, ``'h1'``,
        ``'o1'``; ``'h2.1'`` is unit 1 of hidden layer 2 where there are
        several) and weights (``'w1'``, ...). Empty for the summary.
    edges_ : dict of str to matplotlib.lines.Line2D
        The connections, by weight name. Empty for the summary.
    images_ : ndarray of matplotlib.image.AxesImage or None
        The summary's heatmaps, shaped as ``axes_``.

    See Also
    --------
    skbackprop.inspect.trace : The values drawn.
    LossCurveDisplay : The loss and validation curves of a fitted estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop import BackpropRegressor
    >>> from skbackprop.inspect import NetworkDisplay
    >>> net = BackpropRegressor(hidden_layer_sizes=(2,), activation="sigmoid",
    ...                         output_activation="sigmoid", random_state=0)
    >>> display = NetworkDisplay.from_estimator(
    ...     net, [[0.05, 0.10]], [[0.01, 0.99]], learning_rate=0.5)  # doctest: +SKIP
    """

    def __init__(self, trace, X=None) -> None:
        self.trace = trace
        self.X = None if X is None else np.asarray(X)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        sample_weight=None,
        sample: int = 0,
        learning_rate: float | None = None,
        show_deltas: bool = False,
        edge_labels: bool | str = "auto",
        max_units: int = MAX_UNITS,
        values_format: str | None = None,
        ax=None,
        **kwargs,
    ) -> NetworkDisplay:
        """Trace one step of ``estimator`` on ``(X, y)`` and draw it.

        Parameters
        ----------
        estimator : BackpropClassifier, BackpropRegressor or Pipeline
            Fitted (its weights) or unfitted (the weights ``fit`` would start
            from), as for :func:`~skbackprop.inspect.trace`. For a Pipeline,
            its last step, on ``X`` transformed by the fitted steps before it.
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The batch.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Its targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the cost.
        sample : int, default=0
            The row of the batch whose unit values are shown (the gradients
            are the batch's).
        learning_rate : float, default=None
            Also show each weight after one plain gradient-descent step of
            this size. None: not shown.
        show_deltas : bool, default=False
            Also show each unit's delta ``dC/dz`` for ``sample``.
        edge_labels : bool or 'auto', default='auto'
            Label the connections with their values. 'auto': those between
            two layers joined by at most 6 connections (denser ones would
            hide each other; their colour and width still show the weights).
        max_units : int, default=12
            Above this many units in a layer, draw the heatmap summary.
        values_format : str, default=None
            Format specification of the printed numbers (such as ``'.3g'``);
            None: 4 decimals, or 3 significant digits for very small or
            large values.
        ax : matplotlib.axes.Axes, default=None
            Where to draw; None makes a new figure.
        **kwargs : dict
            Passed to matplotlib: to ``Axes.plot`` for the connections of the
            network drawing, to ``Axes.imshow`` for the summary's heatmaps.

        Returns
        -------
        NetworkDisplay
        """
        from . import trace

        _pyplot()  # fail before the work when matplotlib is missing
        earlier, final = _last_step(estimator)
        if earlier is not None:
            X = earlier.transform(X)
        result = trace(final, X, y, sample_weight=sample_weight)
        display = cls(result, X=_dense_rows(X))
        return display.plot(
            ax, sample=sample, learning_rate=learning_rate, show_deltas=show_deltas,
            edge_labels=edge_labels, max_units=max_units, values_format=values_format, **kwargs,
        )

    def plot(
        self,
        ax=None,
        *,
        sample: int = 0,
        learning_rate: float | None = None,
        show_deltas: bool = False,
        edge_labels: bool | str = "auto",
        max_units: int = MAX_UNITS,
        values_format: str | None = None,
        **kwargs,
    ) -> NetworkDisplay:
        """Draw the trace.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Where to draw (the summary divides its area); None makes a new
            figure sized to the network.
        sample : int, default=0
            The row of the batch whose unit values are shown.
        learning_rate : float, default=None
            Also show the weights after one plain gradient step of this size.
        show_deltas : bool, default=False
            Also show the units' deltas ``dC/dz`` for ``sample``.
        edge_labels : bool or 'auto', default='auto'
            Label the connections; 'auto': where two layers are joined by at
            most 6 connections.
        max_units : int, default=12
            Above this many units in a layer, draw the heatmap summary.
        values_format : str, default=None
            Format specification of the printed numbers; None: 4 decimals,
            or 3 significant digits for very small or large values.
        **kwargs : dict
            Passed to ``Axes.plot`` (connections) or ``Axes.imshow``
            (summary).

        Returns
        -------
        NetworkDisplay
            ``self``, with the attributes of the drawing set.
        """
        plt = _pyplot()
        self._check_plot_arguments(sample, learning_rate, edge_labels)
        sizes = self._sizes()
        self.summary_ = max(sizes) > max_units
        self.labels_, self.edges_, self.axes_, self.images_ = {}, {}, None, None
        if ax is None:
            _, ax = plt.subplots(figsize=self._figure_size(learning_rate), layout="constrained")
        self.ax_, self.figure_ = ax, ax.figure
        if self.summary_:
            self._plot_summary(learning_rate, kwargs)
        else:
            self._plot_network(
                sample, learning_rate, show_deltas, edge_labels, values_format, kwargs
            )
        return self

    # ------------------------------------------------------------------ helpers
    def _check_plot_arguments(self, sample, learning_rate, edge_labels) -> None:
        n_samples = self.trace.z[0].shape[0]
        if not -n_samples <= sample < n_samples:
            raise ValueError(f"sample must index the batch of {n_samples} rows; got {sample!r}.")
        if learning_rate is not None and not (np.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number or None; got {learning_rate!r}.")
        if edge_labels not in (True, False, "auto"):
            raise ValueError(f"edge_labels must be True, False or 'auto'; got {edge_labels!r}.")

    def _figure_size(self, learning_rate) -> tuple[float, float]:
        """A new figure's size: the heatmap grid, or the network drawing, to scale."""
        sizes = self._sizes()
        if self.summary_:
            rows = 3 if learning_rate is not None else 2
            return (3.2 * (len(sizes) - 1) + 1, 2.8 * rows + 0.6)
        return (max(6.0, 3.8 * (len(sizes) - 1) + 1.6), max(3.8, 2.0 * max(sizes) + 1.2))

    def _sizes(self) -> list[int]:
        coefs = self.trace.coefs
        return [coefs[0].shape[0], *(W.shape[1] for W in coefs)]

    def _unit_names(self) -> list[list[str]]:
        sizes = self._sizes()
        n_hidden = len(sizes) - 2
        names = [[f"i{u + 1}" for u in range(sizes[0])]]
        for layer in range(1, len(sizes) - 1):
            prefix = "h" if n_hidden == 1 else f"h{layer}."
            names.append([f"{prefix}{u + 1}" for u in range(sizes[layer])])
        names.append([f"o{u + 1}" for u in range(sizes[-1])])
        return names

    def _plot_network(
        self, sample, learning_rate, show_deltas, edge_labels, values_format, kwargs
    ) -> None:
        sizes = self._sizes()
        # Units at x = layer, centred vertically, one unit apart.
        positions = [[(layer, (n - 1) / 2 - u) for u in range(n)] for layer, n in enumerate(sizes)]

        def fmt(v):
            return _format(v, values_format)

        self._draw_edges(positions, learning_rate, edge_labels, fmt, kwargs)
        self._draw_units(positions, sample, learning_rate, show_deltas, fmt)
        self._draw_frame(sizes, sample, learning_rate)

    def _draw_edges(self, positions, learning_rate, edge_labels, fmt, kwargs) -> None:
        """Each weight as a line (colour: sign, width: size), labelled where there is room."""
        ax, trace = self.ax_, self.trace
        largest = max(float(np.max(np.abs(W))) for W in trace.coefs) or 1.0
        number = 0
        for layer, W in enumerate(trace.coefs):
            G = trace.coef_grads[layer]
            n_in, n_out = W.shape
            labelled = edge_labels is True or (edge_labels == "auto" and W.size <= MAX_EDGE_LABELS)
            for k in range(n_out):
                for j in range(n_in):
                    number += 1
                    name = f"w{number}"
                    (x0, y0), (x1, y1) = positions[layer][j], positions[layer + 1][k]
                    style = {"color": _colour(W[j, k]), "alpha": 0.55, "solid_capstyle": "round",
                             "linewidth": 0.8 + 5.0 * abs(float(W[j, k])) / largest, "zorder": 1}
                    (self.edges_[name],) = ax.plot([x0, x1], [y0, y1], **{**style, **kwargs})
                    if not labelled:
                        continue
                    # Labels of one source sit at one distance along its edges, sources
                    # further down further along: crossing edges get labels on either
                    # side of the crossing.
                    t = 0.5 if n_in == 1 else 0.3 + 0.4 * j / (n_in - 1)
                    lines = [f"{name} = {fmt(W[j, k])}", f"dC/dw = {fmt(G[j, k])}"]
                    if learning_rate is not None:
                        lines.append(f"new {fmt(W[j, k] - learning_rate * G[j, k])}")
                    self.labels_[name] = ax.text(
                        x0 + t * (x1 - x0), y0 + t * (y1 - y0), "\n".join(lines),
                        ha="center", va="center", fontsize=7.5, zorder=3,
                        bbox={"boxstyle": "round,pad=0.25", "fc": "white",
                              "ec": _colour(-G[j, k]), "lw": 0.8},
                    )

    def _unit_lines(self, layer, u, sample, learning_rate, show_deltas, fmt):
        """The text lines of unit ``u`` of ``layer`` and its face colour."""
        trace = self.trace
        if layer == 0:
            value = None if self.X is None else self.X[sample, u]
            lines = [] if value is None else [f"x = {fmt(value)}"]
            return lines, "whitesmoke" if value is None else _colour(value)
        i = layer - 1
        b, gb = trace.intercepts[i][u], trace.intercept_grads[i][u]
        lines = [f"b = {fmt(b)}", f"dC/db = {fmt(gb)}"]
        if learning_rate is not None:
            lines.append(f"new b {fmt(b - learning_rate * gb)}")
        a = trace.activations[i][sample, u]
        lines += [f"z = {fmt(trace.z[i][sample, u])}", f"a = {fmt(a)}"]
        if show_deltas:
            lines.append(f"δ = {fmt(trace.deltas[i][sample, u])}")
        return lines, _colour(a)

    def _draw_units(self, positions, sample, learning_rate, show_deltas, fmt) -> None:
        """Each unit as a circle with its name, and its values in a box beside it."""
        ax, names, n_layers = self.ax_, self._unit_names(), len(positions)
        for layer, column in enumerate(positions):
            for u, (x, y) in enumerate(column):
                lines, face = self._unit_lines(layer, u, sample, learning_rate, show_deltas, fmt)
                ax.scatter([x], [y], s=900, c=face, alpha=0.25, edgecolors="none", zorder=2)
                ax.scatter([x], [y], s=900, facecolors="none", edgecolors="black", zorder=2)
                ax.text(x, y, names[layer][u], ha="center", va="center", fontsize=9,
                        fontweight="bold", zorder=4)
                # The unit's values: beside inputs and outputs, outside the network;
                # above hidden units, clear of the labels of their edges.
                if layer == 0 or layer == n_layers - 1:
                    side = -1 if layer == 0 else 1
                    where = {"xytext": (side * 20, 0), "va": "center",
                             "ha": "right" if side < 0 else "left"}
                else:
                    where = {"xytext": (0, 18), "va": "bottom", "ha": "center"}
                self.labels_[names[layer][u]] = ax.annotate(
                    "\n".join(lines), (x, y), textcoords="offset points", fontsize=7.5, zorder=5,
                    bbox={"boxstyle": "round,pad=0.25", "fc": "lightyellow", "ec": "gray",
                          "lw": 0.6},
                    **where,
                )

    def _draw_frame(self, sizes, sample, learning_rate) -> None:
        """Layer names, limits and the title."""
        ax, trace = self.ax_, self.trace
        titles = ["input"] + [f"hidden {i}" for i in range(1, len(sizes) - 1)] + ["output"]
        bottom = -(max(sizes) - 1) / 2 - 0.3
        for layer, title in enumerate(titles):
            ax.text(layer, bottom, title, ha="center", va="top", fontsize=9, color="dimgray")
        ax.set_xlim(-0.6, len(sizes) - 1 + 0.75)
        ax.set_ylim(bottom - 0.15, (max(sizes) - 1) / 2 + 0.65)
        ax.set_axis_off()
        title = f"One step: cost C = {trace.loss:.6g}"
        if trace.z[0].shape[0] > 1:
            title += f" (batch of {trace.z[0].shape[0]}; units show sample {sample})"
        if learning_rate is not None:
            title += f"; new = w - {learning_rate:g} dC/dw"
        ax.set_title(title, fontsize=10)

    def _plot_summary(self, learning_rate, kwargs) -> None:
        ax, trace = self.ax_, self.trace
        rows = [("weights", trace.coefs, trace.intercepts),
                ("gradients", trace.coef_grads, trace.intercept_grads)]
        if learning_rate is not None:
            rows.append((
                f"after a step of {learning_rate:g}",
                [W - learning_rate * G for W, G in zip(trace.coefs, trace.coef_grads, strict=True)],
                [b - learning_rate * g
                 for b, g in zip(trace.intercepts, trace.intercept_grads, strict=True)],
            ))
        n_layers = len(trace.coefs)
        spec = ax.get_subplotspec()  # None for axes placed by hand: use the whole figure
        grid = (spec.subgridspec(len(rows), n_layers) if spec is not None
                else self.figure_.add_gridspec(len(rows), n_layers))
        ax.set_axis_off()
        self.axes_ = np.empty((len(rows), n_layers), dtype=object)
        self.images_ = np.empty_like(self.axes_)
        for r, (what, coefs, intercepts) in enumerate(rows):
            for layer in range(n_layers):
                cell = self.figure_.add_subplot(grid[r, layer])
                values = np.vstack([coefs[layer], intercepts[layer][None, :]])
                bound = float(np.max(np.abs(values))) or 1.0
                style = {"cmap": "RdBu", "vmin": -bound, "vmax": bound, "aspect": "auto",
                         "interpolation": "nearest"}
                image = cell.imshow(values, **{**style, **kwargs})
                self.figure_.colorbar(image, ax=cell, shrink=0.9)
                name = "output" if layer == n_layers - 1 else f"hidden {layer + 1}"
                cell.set_title(f"{what}: {name}", fontsize=9)
                cell.set_xlabel("to unit", fontsize=8)
                cell.set_ylabel("from unit (last row: bias)", fontsize=8)
                cell.tick_params(labelsize=7)
                self.axes_[r, layer], self.images_[r, layer] = cell, image
        self.figure_.suptitle(f"One step: cost C = {trace.loss:.6g}", fontsize=10)


def _dense_rows(X) -> np.ndarray | None:
    """``X`` as a dense NumPy array, where it is small enough to show its values."""
    if hasattr(X, "toarray"):
        X = X.toarray()
    try:
        return np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- #
# The loss curve
# --------------------------------------------------------------------------- #
class LossCurveDisplay:
    """The training loss per epoch, with the validation score where there is one.

    Draws ``loss_curve_`` against the epoch (the L-BFGS iteration for
    ``solver='lbfgs'``) and ``validation_scores_`` on a second y axis. Where
    early stopping kept the weights of its best epoch, a dashed vertical line
    marks that epoch. Works with :class:`~skbackprop.BackpropClassifier`,
    :class:`~skbackprop.BackpropRegressor` and scikit-learn's
    ``MLPClassifier`` and ``MLPRegressor`` (same attributes), alone or as
    the last step of a Pipeline.

    Create it with :meth:`from_estimator`, or from the curves and call
    :meth:`plot`.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        The training cost after each epoch.
    validation_scores : array-like of shape (n_scored,), default=None
        The validation score after each of the last ``n_scored`` epochs.
    best_epoch : int, default=None
        The epoch (counted from 1) to mark as the one whose weights were
        kept; None: no mark.
    estimator_name : str, default=None
        Shown in the title.
    x_label : str, default='epoch'
        What one step of the x axis is.
    score_name : str, default='validation score'
        The label of the second y axis.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        The figure.
    ax_ : matplotlib.axes.Axes
        The axes of the loss.
    ax_validation_ : matplotlib.axes.Axes or None
        The second y axis (``ax_.twinx()``) of the validation score; None
        without validation scores.
    line_ : matplotlib.lines.Line2D
        The loss curve.
    validation_line_ : matplotlib.lines.Line2D or None
        The validation curve.
    best_epoch_line_ : matplotlib.lines.Line2D or None
        The mark of the best epoch.

    See Also
    --------
    NetworkDisplay : One training step drawn as the network.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skbackprop import BackpropClassifier
    >>> from skbackprop.inspect import LossCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = BackpropClassifier(early_stopping=True, random_state=0).fit(X / 16, y)
    >>> LossCurveDisplay.from_estimator(clf)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        loss_curve,
        validation_scores=None,
        best_epoch: int | None = None,
        estimator_name: str | None = None,
        x_label: str = "epoch",
        score_name: str = "validation score",
    ) -> None:
        self.loss_curve = np.asarray(loss_curve, dtype=float)
        self.validation_scores = (
            None if validation_scores is None else np.asarray(validation_scores, dtype=float)
        )
        self.best_epoch = best_epoch
        self.estimator_name = estimator_name
        self.x_label = x_label
        self.score_name = score_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, yscale: str = "linear", **kwargs) -> LossCurveDisplay:
        """Draw the loss curve of a fitted estimator.

        Parameters
        ----------
        estimator : estimator or Pipeline
            A fitted estimator with ``loss_curve_`` (and, optionally,
            ``validation_scores_``): a skbackprop estimator or scikit-learn's
            ``MLPClassifier`` / ``MLPRegressor``, or a Pipeline ending in one.
        ax : matplotlib.axes.Axes, default=None
            Where to draw; None makes a new figure.
        yscale : str, default='linear'
            Scale of the loss axis (``'log'`` for a cost falling over
            decades).
        **kwargs : dict
            Passed to ``Axes.plot`` for the loss curve.

        Returns
        -------
        LossCurveDisplay
        """
        from sklearn.base import is_classifier
        from sklearn.utils.validation import check_is_fitted

        _pyplot()
        _, final = _last_step(estimator)
        check_is_fitted(final, "loss_curve_")
        scores = getattr(final, "validation_scores_", None)
        scores = None if scores is None or len(scores) == 0 else scores
        best = None
        if scores is not None and getattr(final, "early_stopping", False):
            # Early stopping keeps the weights of the first epoch with the best score.
            best = len(final.loss_curve_) - len(scores) + int(np.argmax(scores)) + 1
        display = cls(
            loss_curve=final.loss_curve_, validation_scores=scores, best_epoch=best,
            estimator_name=type(final).__name__,
            x_label="iteration" if getattr(final, "solver", None) == "lbfgs" else "epoch",
            score_name="validation accuracy" if is_classifier(final) else "validation R²",
        )
        return display.plot(ax, yscale=yscale, **kwargs)

    def plot(self, ax=None, *, yscale: str = "linear", name: str | None = None,
             **kwargs) -> LossCurveDisplay:
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Where to draw; None makes a new figure.
        yscale : str, default='linear'
            Scale of the loss axis.
        name : str, default=None
            Shown in the title; None: ``estimator_name``.
        **kwargs : dict
            Passed to ``Axes.plot`` for the loss curve.

        Returns
        -------
        LossCurveDisplay
            ``self``, with the attributes of the drawing set.
        """
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4), layout="constrained")
        self.ax_, self.figure_ = ax, ax.figure
        n = len(self.loss_curve)
        epochs = np.arange(1, n + 1)
        (self.line_,) = ax.plot(epochs, self.loss_curve, **{"color": POSITIVE,
                                                             "label": "training loss", **kwargs})
        ax.set_yscale(yscale)
        ax.set_xlabel(self.x_label)
        ax.set_ylabel("training loss", color=self.line_.get_color())
        handles = [self.line_]
        self.ax_validation_ = self.validation_line_ = self.best_epoch_line_ = None
        if self.validation_scores is not None:
            scored = np.arange(n - len(self.validation_scores) + 1, n + 1)
            self.ax_validation_ = ax.twinx()
            (self.validation_line_,) = self.ax_validation_.plot(
                scored, self.validation_scores, color="tab:orange", label=self.score_name
            )
            self.ax_validation_.set_ylabel(self.score_name, color="tab:orange")
            handles.append(self.validation_line_)
        if self.best_epoch is not None:
            self.best_epoch_line_ = ax.axvline(
                self.best_epoch, color="gray", linestyle="--", linewidth=1,
                label=f"best {self.x_label} ({self.best_epoch}): weights kept",
            )
            handles.append(self.best_epoch_line_)
        if len(handles) > 1:  # below the axes, clear of both curves
            (self.ax_validation_ or ax).legend(
                handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13),
                ncols=len(handles), fontsize=8, frameon=False,
            )
        name = self.estimator_name if name is None else name
        ax.set_title("Loss curve" if name is None else f"Loss curve of {name}", fontsize=10)
        return self
