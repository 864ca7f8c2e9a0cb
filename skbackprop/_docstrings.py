"""Docstring fragments shared by both estimators, written once."""

import textwrap

from .core.activations import ACTIVATIONS, ALIASES, hidden_activations
from .core.losses import COSTS

#: The hidden activations as the docstrings list them, from the activation table.
_HIDDEN_CHOICES = ", ".join(repr(name) for name in (*hidden_activations(), *ALIASES))
#: The costs as ``loss_function_`` names them, from the cost table.
_COST_NAMES = ", ".join(repr(name) for name in COSTS)
#: Their notes, from the same table.
_HIDDEN_NOTES = textwrap.fill(
    "; ".join(f"``{name!r}``: {ACTIVATIONS[name].note}" for name in hidden_activations()
              if ACTIVATIONS[name].note) + ".",
    width=78, initial_indent=" " * 8, subsequent_indent=" " * 8,
)

HEAD_PARAMETERS = f"""\
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Units in each hidden layer; the i-th element is the size of the i-th
        hidden layer. An empty tuple gives a network without hidden layer.

    activation : {{{_HIDDEN_CHOICES}}}, \
default='relu'
        Activation of the hidden units (see the activation table of the user
        guide, "The neuron").
{_HIDDEN_NOTES}"""

TRAINING_PARAMETERS = """\
    solver : {'adam', 'sgd', 'lbfgs'}, default='adam'
        Weight optimizer: Adam, mini-batch stochastic gradient descent (with
        optional momentum) or full-batch L-BFGS through scipy.

    alpha : float, default=0.0001
        Strength of the L2 penalty ``alpha / (2 m) * sum ||W||^2`` (biases are
        not penalised), with ``m`` the batch size (or its sum of sample weights).

    dropout : float or sequence of float, default=0.0
        Dropout rate of the hidden units: one float for every hidden layer, or
        one rate per hidden layer, each in [0, 1). During training ('sgd' and
        'adam') each hidden unit's output is dropped, for each sample of each
        batch, with this probability and the kept outputs are scaled by
        ``1 / (1 - rate)`` (inverted dropout); predictions use the whole
        network, deterministically. The masks are drawn from
        ``random_state``. 0 switches it off and trains exactly as without it.
        Not available with 'lbfgs'.

    batch_size : int or 'auto', default='auto'
        Mini-batch size of the stochastic solvers; ``'auto'`` means
        ``min(200, n_samples)``. Ignored by 'lbfgs'.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Step-size schedule of ``solver='sgd'``: constant, decaying as
        ``learning_rate_init / (t + 1) ** power_t`` with ``t`` the number of
        samples seen, or divided by 5 each time ``n_iter_no_change`` epochs pass
        without improvement.

    learning_rate_init : float, default=0.001
        Initial step size of 'sgd' and 'adam'.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations ('lbfgs').

    shuffle : bool, default=True
        Shuffle the samples at every epoch (stochastic solvers).

    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the weight initialisation, the shuffling, the dropout masks and
        the validation split.
        An int gives bit-identical results on the same machine.

    tol : float, default=1e-4
        Training stops when the loss (or the validation score with early
        stopping) does not improve by at least ``tol`` for ``n_iter_no_change``
        consecutive epochs. For 'lbfgs' it is the gradient tolerance.

    verbose : bool or int, default=False
        1 prints one line per epoch, ``Iteration N, loss = ...`` as
        scikit-learn's, followed by the validation score, learning rate and
        seconds; 2 also draws a progress bar within each epoch when the
        output is a terminal.

    warm_start : bool, default=False
        Start ``fit`` from the weights of the previous fit instead of new ones.

    momentum : float, default=0.9
        Momentum of 'sgd', in ``[0, 1]``.

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum (only with 'sgd' and ``momentum > 0``).

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (or use ``X_val``
        and ``y_val`` passed to ``fit``), stop when its score stops improving and
        restore the best weights seen. Stochastic solvers only.

    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.

    beta_1 : float, default=0.9
        Decay rate of Adam's first-moment estimate, in ``[0, 1)``.

    beta_2 : float, default=0.999
        Decay rate of Adam's second-moment estimate, in ``[0, 1)``.

    epsilon : float, default=1e-8
        Numerical-stability constant of Adam.

    n_iter_no_change : int or np.inf, default=10
        Epochs without improvement of at least ``tol`` before stopping;
        ``np.inf`` switches this stop off.

    max_fun : int, default=15000
        Maximum number of cost evaluations of 'lbfgs'.

    weight_init : str or callable, default='auto'
        Starting-weight scheme: 'glorot_uniform' (Glorot & Bengio; bound
        ``sqrt(6 / (fan_in + fan_out))``, or ``sqrt(2 / ...)`` for sigmoid
        units, biases drawn alike), 'glorot_normal', 'he_normal' and
        'he_uniform' (He et al., for ReLU units; zero biases), 'normal'
        (standard normal weights and biases, as in Nielsen's reference network),
        'normal_scaled' (weights ``N(0, 1/fan_in)``), 'uniform' (weights and
        biases in ``(0, 1)``, the textbook recipe), or a callable
        ``f(fan_in, fan_out, rng) -> (W, b)``. 'auto' is 'glorot_uniform'.

    coefs_init : list of array-like or None, default=None
        Explicit starting weights in the ``coefs_`` layout: ``coefs_init[i]``
        has shape ``(fan_in, fan_out)`` of layer ``i``. Overrides
        ``weight_init`` for the weights.

    intercepts_init : list of array-like or None, default=None
        Explicit starting biases in the ``intercepts_`` layout.

    callbacks : list of callable or None, default=None
        Each is called after every epoch as ``callback(estimator, record)``,
        with ``record`` the epoch's entry of ``history_``. A callback that
        returns True stops training."""

COMMON_ATTRIBUTES = f"""\
    loss_ : float
        Training cost of the last epoch, penalty included.

    best_loss_ : float or None
        Smallest training cost seen; None with ``early_stopping=True`` (the
        validation score decides then), as in scikit-learn.

    loss_curve_ : list of float
        Training cost after each epoch (or L-BFGS iteration).

    validation_scores_ : list of float or None
        Score on the validation set after each epoch, when there is one.

    best_validation_score_ : float or None
        Best of ``validation_scores_``. With early stopping, the weights of
        that epoch are the ones kept at the end of ``fit``.

    history_ : list of dict
        One record per epoch: 'epoch', 'loss', 'validation_score',
        'learning_rate', 'seconds'.

    t_ : int
        Number of training samples seen by the stochastic solver.

    coefs_ : list of ndarray
        ``coefs_[i]`` of shape ``(fan_in, fan_out)`` holds the weights from
        layer ``i`` to layer ``i + 1``.

    intercepts_ : list of ndarray
        ``intercepts_[i]`` of shape ``(fan_out,)`` holds the biases of layer
        ``i + 1``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen during fit, when ``X`` has string column names.

    n_iter_ : int
        Epochs (or L-BFGS iterations) run by the last call, as in
        scikit-learn: a warm-started ``fit`` reports its own epochs and
        ``partial_fit`` sets 1. ``len(loss_curve_)`` counts every epoch since
        the weights were initialised.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of output units.

    out_activation_ : str
        Output activation used, under scikit-learn's names where it has one:
        'logistic' (a sigmoid unit), 'softmax', 'identity', 'exp' (Poisson);
        otherwise our own ('tanh').

    loss_function_ : str
        Cost used, one of {_COST_NAMES}."""

def fill(template: str) -> str:
    """Substitute the shared fragments into a docstring template."""
    return template.format(
        head_parameters=HEAD_PARAMETERS,
        training_parameters=TRAINING_PARAMETERS,
        common_attributes=COMMON_ATTRIBUTES,
    )
