"""Write ``pickled_models.pkl``: models pickled by skbackprop as it was on 2026-12-07.

Run once, on commit f5dd47a (before the package was split into layers), with
NumPy 2; kept so that the fixture's origin is on record. The pickle holds a
dict: the fitted models (a classifier with Adam and one with SGD and Nesterov
momentum, a regressor with Adam, each after ``partial_fit`` calls so that the
optimizer's state is saved), the data, each model's predictions, and each
model's weights after one more ``partial_fit`` call made then.
``tests/test_persist.py`` loads it and checks that today's code predicts the
same and continues ``partial_fit`` to the same weights, bit for bit.

    python tests/data/make_pickled_models.py
"""

import pickle
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris

from skbackprop import BackpropClassifier, BackpropRegressor


def main() -> None:
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    target = X[:, 0] * 0.5 + X[:, 1]
    models = {
        "classifier-adam": BackpropClassifier(hidden_layer_sizes=(6,), random_state=0),
        "classifier-nesterov": BackpropClassifier(
            hidden_layer_sizes=(5, 4), solver="sgd", learning_rate_init=0.05, random_state=1
        ),
        "regressor-adam": BackpropRegressor(
            hidden_layer_sizes=(6,), activation="tanh", random_state=2
        ),
    }
    record = {"X": X, "labels": labels, "target": target, "models": {}, "expected": {}}
    for name, model in models.items():
        y_fit = target if name.startswith("regressor") else labels
        for _ in range(3):
            model.partial_fit(X, y_fit, **({} if name.startswith("regressor") else
                                            {"classes": np.unique(labels)}))
        saved = pickle.dumps(model)
        out = model.predict(X)
        proba = model.predict_proba(X) if hasattr(model, "predict_proba") else None
        model.partial_fit(X, y_fit)
        record["models"][name] = saved
        record["expected"][name] = {
            "predict": out, "predict_proba": proba,
            "coefs_after": [W.copy() for W in model.coefs_],
            "intercepts_after": [b.copy() for b in model.intercepts_],
        }
    path = Path(__file__).with_name("pickled_models.pkl")
    path.write_bytes(pickle.dumps(record, protocol=4))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
