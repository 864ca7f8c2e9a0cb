"""The first fits of a new process, with and without numba, next to scikit-learn.

Each measurement is a new Python process that imports the library, then fits
k models one after the other and reports the time of the first 1, 5 and
``--fits`` (default 100) fits (iris, the estimators' defaults, ``random_state``
0, 1, 2, ...), or the time of one fit on digits. The processes are:

- ``numba``: skbackprop with numba installed and its cache filled (the
  script runs ``python -m skbackprop.precompile`` first);
- ``numba cold``: the same with empty caches (``SKBACKPROP_CACHE_DIR`` and
  ``NUMBA_CACHE_DIR`` pointed at new temporary folders); the process may
  start the background compile, and the script waits for it to finish before
  the next measurement, so that it does not slow the others down;
- ``numpy``: skbackprop with the compiled code switched off
  (``SKBACKPROP_ACCELERATOR=0``);
- ``sklearn``: scikit-learn's ``MLPClassifier`` with its defaults.

The kinds are interleaved (their order turning from repeat to repeat),
repeated (``--repeats``, default 8) and the medians printed with each kind's
ratio to the NumPy path (the targets: at most 1.1 for every k and for digits,
and at most 1 / 1.3 at k = 100 with a filled cache).
Each process also reports whether it imported numba and a hash of every
fitted model's weights: the script checks that every repeat of a kind gave
the same models (the path a fit takes may depend on the work, never on a
clock).

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_first_fit.py
    python benchmarks/bench_first_fit.py --quick     # a smoke run: 1 repeat, 12 fits
    python benchmarks/bench_first_fit.py --rst       # also the docs table
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import hashlib, json, sys, time, warnings
tic = time.perf_counter()
import numpy as np
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
if {sklearn!r}:
    from sklearn.neural_network import MLPClassifier as Model
else:
    from skbackprop import BackpropClassifier as Model
imported = time.perf_counter() - tic
X, y = (load_iris if {data!r} == "iris" else load_digits)(return_X_y=True)
warnings.simplefilter("ignore", ConvergenceWarning)
seconds, digest, numba_at = [], hashlib.sha256(), None
for k in range({fits}):
    tic = time.perf_counter()
    model = Model(random_state=k).fit(X, y)
    seconds.append(time.perf_counter() - tic)
    for array in model.coefs_ + model.intercepts_:
        digest.update(np.ascontiguousarray(array).tobytes())
    if numba_at is None and "numba" in sys.modules:
        numba_at = k + 1
background = False
if not {sklearn!r}:
    from skbackprop.core import kernels
    background = kernels._STATE.background_started
print(json.dumps(dict(seconds=seconds, imported=imported, digest=digest.hexdigest()[:16],
                      numba_at=numba_at, background=background)))
"""

KINDS = ("numba", "numba cold", "numpy", "sklearn")


def run_child(kind: str, data: str, fits: int, env: dict) -> dict:
    """One new process: ``fits`` fits of ``kind`` on ``data``; its report."""
    code = CHILD.format(sklearn=kind == "sklearn", data=data, fits=fits)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def environment(kind: str, cold_dir: Path | None) -> dict:
    """The child's environment for ``kind`` (a cold run gets empty cache folders)."""
    env = dict(os.environ)
    if kind == "numpy":
        env["SKBACKPROP_ACCELERATOR"] = "0"
    if kind == "numba cold":
        env["SKBACKPROP_CACHE_DIR"] = str(cold_dir / "skbackprop")
        env["NUMBA_CACHE_DIR"] = str(cold_dir / "numba")
    return env


def wait_for_background_compile(cold_dir: Path, limit: float = 300.0) -> float:
    """Wait until the background compile has left its mark in ``cold_dir``; seconds waited."""
    tic = time.perf_counter()
    folder = cold_dir / "skbackprop"
    while not any(folder.glob("*.filled")) and time.perf_counter() - tic < limit:
        time.sleep(0.5)
    while any(folder.glob("*.compiling")) and time.perf_counter() - tic < limit:
        time.sleep(0.2)  # the lock goes once the mark is written
    return time.perf_counter() - tic


def measure(fits: int, repeats: int, kinds=KINDS) -> dict:
    """``results[kind][data]``: the reports of every repeat, kinds interleaved."""
    results = {kind: {"iris": [], "digits": []} for kind in kinds}
    for repeat in range(repeats):
        # The order of the kinds turns from repeat to repeat: no kind always
        # follows the same other one.
        for kind in kinds[repeat % len(kinds):] + kinds[:repeat % len(kinds)]:
            for data, n in (("iris", fits), ("digits", 1)):
                with tempfile.TemporaryDirectory() as cold:
                    report = run_child(kind, data, n, environment(kind, Path(cold)))
                    if report["background"]:
                        report["waited"] = wait_for_background_compile(Path(cold))
                results[kind][data].append(report)
    return results


def summary(results: dict, fits: int) -> list[tuple[str, ...]]:
    """Table rows: the medians of the first k fits per kind, with their ratio to the NumPy path."""
    points = [1, 5, fits] if fits > 5 else [1, fits]

    def median_total(reports, k):
        return statistics.median(sum(r["seconds"][:k]) for r in reports)

    numpy = results.get("numpy")
    rows = []
    for kind, by_data in results.items():
        cells = [kind]
        for k in points:
            t = median_total(by_data["iris"], k)
            ratio = f" ({t / median_total(numpy['iris'], k):.2f})" if numpy else ""
            cells.append(f"{t:.3f}{ratio}")
        t = median_total(by_data["digits"], 1)
        ratio = f" ({t / median_total(numpy['digits'], 1):.2f})" if numpy else ""
        cells.append(f"{t:.3f}{ratio}")
        loaded = [r["numba_at"] for r in by_data["iris"]]
        cells.append("never" if all(a is None for a in loaded) else
                     ", ".join("-" if a is None else str(a) for a in loaded))
        same = len({r["digest"] for r in by_data["iris"]}) == 1
        cells.append("yes" if same else "NO")
        rows.append(tuple(cells))
    return rows


def header(fits: int) -> tuple[str, ...]:
    points = [1, 5, fits] if fits > 5 else [1, fits]
    return ("process", *(f"iris, first {k} fit{'s' * (k > 1)} (s)" for k in points),
            "digits, first fit (s)", "numba loaded at fit", "same models every run")


def print_table(head, rows) -> None:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def print_rst(head, rows) -> None:
    print(".. list-table::\n   :header-rows: 1\n")
    for row in [head, *rows]:
        print(f"   * - {row[0]}")
        for cell in row[1:]:
            print(f"     - {cell}")


def environment_lines() -> list[str]:
    import numpy
    import sklearn
    from threadpoolctl import threadpool_info

    lines = [f"python {sys.version.split()[0]}, numpy {numpy.__version__}, "
             f"scikit-learn {sklearn.__version__}, {os.cpu_count()} CPUs"]
    try:
        import importlib.metadata
        lines.append(f"numba {importlib.metadata.version('numba')}")
    except Exception:  # noqa: BLE001 - only for the printout
        lines.append("numba not installed")
    lines += [f"{i['internal_api']} {i.get('version')}: {i['num_threads']} threads"
              for i in threadpool_info()]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fits", type=int, default=100, help="fits per iris process (100)")
    parser.add_argument("--repeats", type=int, default=8, help="repeats of every kind (8)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, 12 fits")
    parser.add_argument("--rst", action="store_true", help="also print the docs table")
    args = parser.parse_args(argv)
    fits, repeats = (12, 1) if args.quick else (args.fits, args.repeats)
    print("\n".join(environment_lines()))
    filled = subprocess.run([sys.executable, "-m", "skbackprop.precompile"],
                            capture_output=True, text=True)
    kinds = KINDS if filled.returncode == 0 else ("numpy", "sklearn")
    if filled.returncode != 0:
        print("numba is not installed or switched off: only the NumPy path and scikit-learn")
    results = measure(fits, repeats, kinds)
    rows = summary(results, fits)
    print(f"\nmedians of {repeats} new processes per kind; in brackets: the time over the "
          "NumPy path's\n")
    print_table(header(fits), rows)
    waited = [r["waited"] for by_data in results.values() for reports in by_data.values()
              for r in reports if "waited" in r]
    if waited:
        print(f"\n{len(waited)} process(es) started the background compile; the script waited "
              f"up to {max(waited):.1f} s for it to finish (not timed)")
    if args.rst:
        print()
        print_rst(header(fits), rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
