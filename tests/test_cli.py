"""The command line demo, ``python -m skbackprop``.

Oracles: argparse's conventions (usage errors exit with status 2 and name the
option on stderr; ``--help`` and ``--version`` exit with status 0) and the
table layout the demo documents (a header line, a column line, one row per
model).
"""

import subprocess
import sys

import pytest
from sklearn.exceptions import ConvergenceWarning

import skbackprop
from skbackprop.__main__ import main

SMALL = ["--max-iter", "5", "--hidden", "8"]


def _table(out: str) -> dict[str, list[str]]:
    """The model rows of the demo's output, keyed by model name."""
    lines = out.strip().splitlines()
    assert len(lines) == 4, out
    assert lines[1] == "model                  test accuracy  fit time (s)  final loss  epochs"
    rows = {}
    for line in lines[2:]:
        name, fields = line[:22].strip(), line[22:].split()
        rows[name] = fields
    return rows


# --------------------------------------------------------------------------- #
# Runs
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "argv, layers",
    [
        (SMALL, "hidden layers (8,)"),
        (["--max-iter", "3", "--hidden", "8", "4", "--seed", "7"], "hidden layers (8, 4)"),
        (["--max-iter", "3", "--hidden", "none"], "no hidden layer"),
        (["--max-iter", "3", "--hidden", "NONE"], "no hidden layer"),
    ],
    ids=["one layer", "two layers, seed 7", "none", "NONE"],
)
def test_prints_one_row_per_model(capsys, argv, layers):
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ""
    max_iter = argv[argv.index("--max-iter") + 1]
    header = out.splitlines()[0]
    assert header.startswith(f"skbackprop {skbackprop.__version__}: digits, 1347 train / 450 test")
    assert f"{layers}, Adam, up to {max_iter} epochs" in header
    rows = _table(out)
    assert list(rows) == ["BackpropClassifier", "sklearn MLPClassifier"]
    for accuracy, seconds, loss, epochs in rows.values():
        assert 0.0 <= float(accuracy) <= 1.0
        assert float(seconds) >= 0.0
        assert float(loss) > 0.0
        # So few epochs never meet the stopping rule: every run uses all of them.
        assert epochs == max_iter


def test_no_convergence_warning_escapes(recwarn):
    # The demo silences ConvergenceWarning itself (few epochs are the point of a
    # quick run); pytest would otherwise show it.
    main(SMALL)
    assert not [w for w in recwarn if issubclass(w.category, ConvergenceWarning)]


def test_same_seed_same_table(capsys):
    main(SMALL + ["--seed", "3"])
    first = capsys.readouterr().out
    main(SMALL + ["--seed", "3"])
    second = capsys.readouterr().out
    losses = [row[2] for row in _table(first).values()]
    assert losses == [row[2] for row in _table(second).values()]


# --------------------------------------------------------------------------- #
# Usage errors: exit status 2, option and reason on stderr
# --------------------------------------------------------------------------- #
HIDDEN_MSG = "argument --hidden: hidden layer sizes must be positive integers"
MAX_ITER_MSG = "argument --max-iter: must be a positive integer"
SEED_MSG = "argument --seed: must be an integer from 0 to 4294967295"
USAGE_ERRORS = [
    (["--hidden", "0"], f"{HIDDEN_MSG} (or 'none' for no hidden layer), got '0'"),
    (["--hidden", "-5"], f"{HIDDEN_MSG} (or 'none' for no hidden layer), got '-5'"),
    (["--hidden", "10", "-3"], f"{HIDDEN_MSG} (or 'none' for no hidden layer), got '-3'"),
    (["--hidden", "10", "0"], f"{HIDDEN_MSG} (or 'none' for no hidden layer), got '0'"),
    (["--hidden", "2.5"], f"{HIDDEN_MSG} (or 'none' for no hidden layer), got '2.5'"),
    (["--hidden", "abc"], f"{HIDDEN_MSG} (or 'none' for no hidden layer), got 'abc'"),
    (["--hidden"], "argument --hidden: expected at least one argument"),
    (["--hidden", "--max-iter", "5"], "argument --hidden: expected at least one argument"),
    (["--hidden", "none", "5"], "argument --hidden: 'none' cannot be combined with layer sizes"),
    (["--hidden", "5", "none"], "argument --hidden: 'none' cannot be combined with layer sizes"),
    (["--max-iter", "0"], f"{MAX_ITER_MSG}, got '0'"),
    (["--max-iter", "-1"], f"{MAX_ITER_MSG}, got '-1'"),
    (["--max-iter", "ten"], f"{MAX_ITER_MSG}, got 'ten'"),
    (["--max-iter"], "argument --max-iter: expected one argument"),
    (["--seed", "-1"], f"{SEED_MSG}, got '-1'"),
    (["--seed", "4294967296"], f"{SEED_MSG}, got '4294967296'"),
    (["--seed", "x"], f"{SEED_MSG}, got 'x'"),
    (["--hiden", "8"], "unrecognized arguments: --hiden 8"),
]


@pytest.mark.parametrize(
    "argv, message", USAGE_ERRORS, ids=[" ".join(argv) for argv, _ in USAGE_ERRORS]
)
def test_usage_error(capsys, argv, message):
    with pytest.raises(SystemExit) as excinfo:
        main(argv)
    assert excinfo.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("usage: python -m skbackprop")
    assert f"python -m skbackprop: error: {message}\n" in err
    assert "Traceback" not in err


def test_valid_edge_values_are_accepted(capsys):
    assert main(["--max-iter", "1", "--hidden", "1", "--seed", "4294967295"]) == 0
    assert "up to 1 epochs" in capsys.readouterr().out


# --------------------------------------------------------------------------- #
# --help and --version
# --------------------------------------------------------------------------- #
def test_help_is_plain_text(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["--help"])
    assert excinfo.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m skbackprop")
    assert "``" not in out
    for option in ("--hidden", "--max-iter", "--seed", "--version"):
        assert option in out
    assert "BackpropClassifier" in out and "MLPClassifier" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["--version"])
    assert excinfo.value.code == 0
    assert capsys.readouterr().out == f"skbackprop {skbackprop.__version__}\n"


def test_version_from_the_shell():
    result = subprocess.run(
        [sys.executable, "-m", "skbackprop", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"skbackprop {skbackprop.__version__}\n"
