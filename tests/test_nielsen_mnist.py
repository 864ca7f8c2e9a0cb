"""benchmarks/nielsen_mnist.py: its safe MNIST loaders, the book's L2 mapping, a smoke run.

The script is imported from its file (``benchmarks/`` is not a package). All
data are tiny fakes written to ``tmp_path``: random pixels, every digit
present.
"""

import gzip
import importlib.util
import io
import os
import pickle
import re
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "nielsen_mnist.py"


@pytest.fixture(scope="module")
def nm():
    """The script as a module (registered in ``sys.modules`` while its dataclasses are built)."""
    spec = importlib.util.spec_from_file_location("nielsen_mnist", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def fake_set(rng, n):
    """``n`` random uint8 images (as float32 / 255, like the book's pickle) and labels, all digits."""
    pixels = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
    labels = rng.permutation(np.arange(n) % 10).astype(np.int64)
    return (pixels / np.float32(255.0)).astype(np.float32), labels


class Py2StylePickler(pickle._Pickler):
    """Writes bytes with the opcodes of a Python 2 ``str``, as the book's file has them.

    Loaded with ``encoding='latin1'`` they come back as ``str``, which NumPy
    turns back into the array's bytes. ``pickle._Pickler`` is the pure-Python
    pickler, the one whose dispatch table can be extended.
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def write_book_pickle(path, sets, style):
    """``sets`` pickled with protocol 2 and gzipped, by Python 3 or as Python 2 wrote it."""
    if style == "python3":
        data = pickle.dumps(sets, protocol=2)
    else:  # Python 2 and NumPy 1: str opcodes and the numpy.core module name
        buffer = io.BytesIO()
        Py2StylePickler(buffer, protocol=2).dump(sets)
        data = buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
        assert b"cnumpy.core.multiarray\n_reconstruct\n" in data
    with gzip.open(path, "wb") as f:
        f.write(data)


def write_idx(path, array, magic, compress):
    """An IDX file of uint8 ``array``: big-endian magic and dimensions, then the bytes."""
    data = struct.pack(">i", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    data += np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(data)


def write_idx_dir(directory, rng, n_train_file, n_test, compress=False, dotted=False):
    """The four MNIST IDX files; returns the raw (images, labels) of the training and t10k files."""
    raw = {}
    for which, n in (("train", n_train_file), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
        for stem, array, magic in ((f"{which}-images-idx3-ubyte", images, 2051),
                                   (f"{which}-labels-idx1-ubyte", labels, 2049)):
            name = stem.replace("-idx", ".idx") if dotted else stem
            write_idx(directory / (name + (".gz" if compress else "")), array, magic, compress)
        raw[which] = (images, labels)
    return raw


@pytest.mark.parametrize("style", ["python3", "python2"])
def test_book_pickle_loads_the_arrays_exactly(nm, tmp_path, style):
    rng = np.random.default_rng(0)
    sets = (fake_set(rng, 30), fake_set(rng, 20), fake_set(rng, 20))
    path = tmp_path / "mnist.pkl.gz"
    write_book_pickle(path, sets, style)

    splits = nm.load_mnist(path)

    for (X, y), (X_ref, y_ref) in zip(splits.parts().values(), sets, strict=True):
        assert X.dtype == np.float32 and y.dtype == np.int64
        np.testing.assert_array_equal(X, X_ref)
        np.testing.assert_array_equal(y, y_ref)


@pytest.mark.parametrize(("compress", "dotted"), [(False, False), (True, False), (True, True)])
def test_idx_files_are_scaled_and_split_as_the_book_does(nm, tmp_path, compress, dotted):
    rng = np.random.default_rng(1)
    raw = write_idx_dir(tmp_path, rng, n_train_file=40, n_test=15, compress=compress, dotted=dotted)

    splits = nm.load_idx_dir(tmp_path, n_train=30)

    images, labels = raw["train"]
    flat = images.reshape(40, 784) / 255.0
    X, y = splits.train  # the first n_train images train, the rest validate
    np.testing.assert_allclose(X, flat[:30], rtol=1e-6)
    np.testing.assert_array_equal(y, labels[:30])
    np.testing.assert_allclose(splits.validation[0], flat[30:], rtol=1e-6)
    np.testing.assert_array_equal(splits.validation[1], labels[30:])
    test_images, test_labels = raw["t10k"]
    np.testing.assert_allclose(splits.test[0], test_images.reshape(15, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(splits.test[1], test_labels)
    assert X.dtype == np.float32 and X.min() >= 0.0 and X.max() <= 1.0
    assert nm.N_TRAIN == 50_000  # the book's split, the default


def test_pickle_naming_another_global_is_refused_before_anything_runs(nm, tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump((fake_set(np.random.default_rng(2), 10), Payload(), None), f, protocol=2)

    with pytest.raises(pickle.UnpicklingError, match=r"refused .*\b(posix|nt|os)\.mkdir\b"):
        nm.load_mnist(path)
    assert not marker.exists()
    # The command line reports it instead of running it.
    assert nm.main(["--data", str(path)]) == 2
    assert not marker.exists()


def test_idx_with_the_wrong_magic_number_is_rejected(nm, tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, np.zeros((2, 28, 28), np.uint8), 2049, compress=False)  # a labels magic

    with pytest.raises(ValueError, match="magic number 2049, expected 2051"):
        nm.read_idx(path, nm.IDX_IMAGES_MAGIC)


# The file holds a 16-byte header and 3 * 784 bytes of pixels: 2,368 bytes.
@pytest.mark.parametrize(("keep", "message"), [(2358, "truncated or corrupt"),
                                               (10, "header is cut short"), (2, "too short")])
def test_truncated_idx_file_is_rejected(nm, tmp_path, keep, message):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    write_idx(path, np.ones((3, 28, 28), np.uint8), 2051, compress=True)
    with gzip.open(path, "rb") as f:
        data = f.read()
    assert len(data) == 2368
    with gzip.open(path, "wb") as f:
        f.write(data[:keep])

    with pytest.raises(ValueError, match=message):
        nm.read_idx(path, nm.IDX_IMAGES_MAGIC)


def test_missing_data_says_where_to_get_it(nm, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"mnist\.pkl\.gz.*train-images-idx3-ubyte"):
        nm.load_mnist(tmp_path / "absent.pkl.gz")
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        nm.load_mnist(tmp_path)  # a directory without the IDX files


def test_wrong_structure_or_shapes_are_rejected_clearly(nm, tmp_path):
    rng = np.random.default_rng(3)
    X, y = fake_set(rng, 10)
    path = tmp_path / "mnist.pkl.gz"
    write_book_pickle(path, ((X[:, :100], y), (X, y), (X, y)), "python3")
    with pytest.raises(ValueError, match=r"training set: expected float images of shape \(n, 784\)"):
        nm.load_mnist(path)
    write_book_pickle(path, ((X, y), (X, y + 5), (X, y)), "python3")
    with pytest.raises(ValueError, match="validation set: labels must be the digits 0 to 9"):
        nm.load_mnist(path)
    write_book_pickle(path, ((X, y), (X, y)), "python3")
    with pytest.raises(ValueError, match=r"expected the book's structure.*a tuple of 2 items"):
        nm.load_mnist(path)


def test_alpha_gives_the_books_weight_decay_per_step(nm):
    """With zero inputs the first layer's weights only decay: by (1 - eta*lambda/n) a step."""
    n, lam = 50, 5.0
    config = nm.Config("decay", 3, "cross_entropy", eta=0.5, epochs=1, lam=lam)
    rng = np.random.default_rng(4)
    W0 = [rng.standard_normal((6, 3)), rng.standard_normal((3, 10))]
    b0 = [rng.standard_normal(3), rng.standard_normal(10)]
    estimator = nm.make_estimator(config, n_train=n, seed=0)
    estimator.set_params(coefs_init=W0, intercepts_init=b0)

    estimator.partial_fit(np.zeros((n, 6)), np.arange(n) % 10, classes=nm.CLASSES)

    steps = n // nm.BATCH_SIZE
    np.testing.assert_allclose(estimator.coefs_[0], W0[0] * (1 - 0.5 * lam / n) ** steps)
    assert nm.alpha_for(5.0, 50_000) == pytest.approx(0.001)


def test_only_rejects_an_unknown_configuration(nm, capsys):
    with pytest.raises(SystemExit):
        nm.main(["--data", "x", "--only", "ch1-30,ch9-1"])
    assert "ch9-1" in capsys.readouterr().err


def test_smoke_run_prints_the_table_beside_the_books_figures(nm, tmp_path, capsys):
    rng = np.random.default_rng(5)
    path = tmp_path / "mnist.pkl.gz"
    write_book_pickle(path, (fake_set(rng, 80), fake_set(rng, 20), fake_set(rng, 30)), "python3")

    status = nm.main(["--data", str(path), "--epochs", "1", "--limit-train", "60",
                      "--only", "ch1-30,ch3-l2-30", "--rst"])

    out = capsys.readouterr().out
    assert status == 0
    assert "numpy: " in out and "skbackprop: " in out and "date: " in out
    header = next(line for line in out.splitlines() if line.startswith("config"))
    columns = re.split(r"\s{2,}", header)
    assert columns[columns.index("book %") - 2] == "best % (epoch)"
    rows = {line.split()[0]: re.split(r"\s{2,}", line) for line in out.splitlines()
            if line.startswith(("ch1-30 ", "ch3-l2-30 "))}
    assert set(rows) == {"ch1-30", "ch3-l2-30"}
    for name, book in (("ch1-30", "95.42"), ("ch3-l2-30", "96.49")):
        cells = dict(zip(columns, rows[name], strict=True))
        assert cells["book %"] == book and cells["epochs"] == "1" and cells["scored on"] == "test"
        best, epoch = re.fullmatch(r"(\d+\.\d\d) \((\d+)\)", cells["best % (epoch)"]).groups()
        assert 0.0 <= float(best) <= 100.0 and epoch == "1"
        assert float(cells["last %"]) == float(best) and float(cells["s/epoch"]) > 0.0
    # lambda = 5 on 60 rows: alpha = 5 * 10 / 60
    assert rows["ch3-l2-30"][columns.index("lambda (alpha)")] == "5 (0.833)"
    assert ".. list-table::" in out and "     - 96.49" in out
