"""Reference fits: a fingerprint of what training computes, to compare before and after a change.

A refactoring that should change no behaviour must leave every fit bit for
bit the same. This script fits a fixed set of models (both estimators, every
solver, every hidden activation, float64 and float32, dense and sparse input,
early stopping, ``partial_fit``, warm starts, sample and class weights) and
prints, or saves as JSON, a SHA-256 of each model's weights, ``loss_curve_``,
``n_iter_`` and predictions. It runs the set twice, in two subprocesses: once
on the NumPy path (``SKBACKPROP_ACCELERATOR=0``) and once with the compiled
kernels where numba is installed.

Bits depend on the machine (its BLAS and CPU), so the record is not kept in
the repository: record on the commit before the change, check after it, on
the same machine and environment::

    python benchmarks/reference_fits.py --save /tmp/before.json
    # ... the change ...
    python benchmarks/reference_fits.py --check /tmp/before.json

``--check`` lists every fit whose fingerprint differs and exits with 1 if any
does. Only the public API is used (the estimators, their fitted attributes
and the environment switch of the compiled path).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import warnings

import numpy as np

HIDDEN = ("identity", "logistic", "tanh", "relu", "leaky_relu")
SOLVERS = {
    "sgd": dict(solver="sgd", momentum=0.0, learning_rate_init=0.05),
    "nesterov": dict(solver="sgd", momentum=0.9, learning_rate_init=0.02),
    "momentum-invscaling": dict(
        solver="sgd", momentum=0.9, nesterovs_momentum=False, learning_rate="invscaling",
        learning_rate_init=0.05,
    ),
    "adam": dict(solver="adam", learning_rate_init=0.01),
    "lbfgs": dict(solver="lbfgs"),
}


def _data():
    from sklearn.datasets import load_digits, load_iris, make_regression
    from sklearn.preprocessing import StandardScaler

    X_iris, y_iris = load_iris(return_X_y=True)
    X_digits, y_digits = load_digits(return_X_y=True)
    X_reg, y_reg = make_regression(n_samples=120, n_features=6, n_targets=2, random_state=0)
    return {
        "iris": (StandardScaler().fit_transform(X_iris), y_iris),
        "digits": (X_digits[:400] / 16.0, y_digits[:400]),
        "regression": (StandardScaler().fit_transform(X_reg), y_reg / 100.0),
    }


def _cases():
    """``(name, estimator kind, parameters, data name, fit options)`` of every reference fit."""
    for solver, settings in SOLVERS.items():
        for activation in HIDDEN:
            common = dict(hidden_layer_sizes=(7, 5), activation=activation, max_iter=15,
                          random_state=0, **settings)
            yield f"clf-{solver}-{activation}", "classifier", common, "iris", {}
            yield f"reg-{solver}-{activation}", "regressor", common, "regression", {}
        base = dict(hidden_layer_sizes=(20,), max_iter=10, random_state=1, **settings)
        yield f"clf-{solver}-digits-f32", "classifier", base, "digits", {"dtype": "float32"}
        yield f"clf-{solver}-digits-sparse", "classifier", base, "digits", {"sparse": True}
        yield (f"clf-{solver}-classic", "classifier",
               dict(base, activation="logistic", output_activation="sigmoid",
                    loss="squared_error", batch_size=10), "digits", {})
        yield (f"clf-{solver}-weights", "classifier", dict(base, class_weight="balanced"),
               "iris", {"sample_weight": True})
        yield (f"reg-{solver}-tanh-out", "regressor",
               dict(base, output_activation="tanh"), "regression", {"squash": True})
        if solver != "lbfgs":
            yield (f"clf-{solver}-early-stopping", "classifier",
                   dict(base, early_stopping=True, max_iter=30), "digits", {})
            yield f"clf-{solver}-partial-fit", "classifier", base, "iris", {"partial_fit": 4}
        yield (f"clf-{solver}-warm-start", "classifier", dict(base, warm_start=True), "iris",
               {"refit": True})


def _fingerprint(model, X) -> str:
    digest = hashlib.sha256()
    for array in (*model.coefs_, *model.intercepts_):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(np.asarray(model.loss_curve_, dtype=np.float64).tobytes())
    digest.update(str(model.n_iter_).encode())
    out = model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)
    digest.update(np.ascontiguousarray(out).tobytes())
    return digest.hexdigest()


def _fit_one(kind, params, X, y, options):
    import scipy.sparse as sp

    from skbackprop import BackpropClassifier, BackpropRegressor

    Est = BackpropClassifier if kind == "classifier" else BackpropRegressor
    model = Est(**params)
    if options.get("dtype"):
        X = X.astype(options["dtype"])
    if options.get("sparse"):
        X = sp.csr_matrix(X)
    if options.get("squash"):
        y = np.tanh(y)
    fit_args = {}
    if options.get("sample_weight"):
        fit_args["sample_weight"] = np.linspace(0.5, 2.0, X.shape[0])
    if options.get("partial_fit"):
        classes = np.unique(y)
        for _ in range(options["partial_fit"]):
            model.partial_fit(X, y, classes=classes)
    else:
        model.fit(X, y, **fit_args)
        if options.get("refit"):
            model.fit(X, y, **fit_args)
    return _fingerprint(model, X)


def fingerprints() -> dict:
    """Every reference fit's fingerprint, in this process (its path as the environment says)."""
    data = _data()
    result = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of short fits
        for name, kind, params, data_name, options in _cases():
            X, y = data[data_name]
            try:
                result[name] = _fit_one(kind, params, X, y, options)
            except Exception as exc:  # noqa: BLE001 - recorded: an error is behaviour too
                result[name] = f"{type(exc).__name__}: {exc}"
    return result


def run_both_paths() -> dict:
    """The fingerprints on the NumPy path and, where numba is installed, the compiled one."""
    paths = {"numpy": "0", "compiled": "1"}
    record = {}
    for path, flag in paths.items():
        env = dict(os.environ, SKBACKPROP_ACCELERATOR=flag)
        out = subprocess.run(
            [sys.executable, __file__, "--one-process"], env=env, check=True,
            capture_output=True, text=True,
        ).stdout
        record.update({f"{path}/{k}": v for k, v in json.loads(out).items()})
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", help="write the fingerprints to this JSON file")
    parser.add_argument("--check", help="compare with the fingerprints in this JSON file")
    parser.add_argument("--one-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_process:
        # The compiled path from the first fit on: a process otherwise loads numba
        # only once its work makes it pay (skbackprop.core.kernels.plan).
        from skbackprop.training import compiled_epoch

        compiled_epoch.warm_up()  # nothing where SKBACKPROP_ACCELERATOR=0
        print(json.dumps(fingerprints()))
        return 0
    record = run_both_paths()
    if args.save:
        with open(args.save, "w") as f:
            json.dump(record, f, indent=1, sort_keys=True)
        print(f"{len(record)} fingerprints saved to {args.save}")
    if args.check:
        with open(args.check) as f:
            before = json.load(f)
        changed = sorted(k for k in before.keys() | record.keys() if before.get(k) != record.get(k))
        for name in changed:
            print(f"DIFFERS: {name}\n  before: {before.get(name)}\n  after:  {record.get(name)}")
        print(f"{len(record) - len(changed)} of {len(record)} fits bit-identical")
        return 1 if changed else 0
    if not (args.save or args.check):
        for name, value in sorted(record.items()):
            print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
