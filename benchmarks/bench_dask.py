"""Dask arrays: L-BFGS map-reduce against in memory, out-of-core Adam, scaling with rows.

Everything runs on a ``distributed.LocalCluster`` of two worker processes with
one thread each (``--memory-limit`` per worker, default 1.5 GiB), started by
this script. The data is synthetic and made lazily by dask, chunk by chunk on
the workers: Gaussian inputs (784 features) drawn from a generator seeded by
``(seed, chunk index)``, and labels from one fixed rule, the argmax of
``X @ R`` for a fixed 784 x 10 matrix ``R`` (10 classes). The same seed and
chunking give the same rows, so a fit on the dask arrays and a fit on the
same rows computed into NumPy see identical data; held-out rows come from
another seed and the same rule. Every model is
``BackpropClassifier(hidden_layer_sizes=(64,), random_state=0)``.

**Part 1, L-BFGS map-reduce against in memory** (float64, 200,000 rows in
chunks of 25,000; ``solver='lbfgs', max_iter=10``). Rows: ``dask`` is the fit
on the dask arrays (the prepared chunks persisted on the workers, every cost
and gradient evaluation a map-reduce over them); ``in memory`` the fit on the
same rows computed into NumPy arrays in this process beforehand. Columns:

- ``fit s``: seconds of ``fit``. For ``dask`` it includes the first pass over
  the data and generating it (twice: the first pass and the persist), for
  ``in memory`` not (computing the rows into memory is not timed);
- ``evals``: cost-and-gradient evaluations, counted by wrapping a counter
  (and a clock) around ``skbackprop.integrations.dask.MapReduceStep.loss`` for ``dask``
  and ``skbackprop.training.loop.Step.loss`` for ``in memory``: each L-BFGS
  evaluation is one call of these (private classes, patched only for the
  benchmark);
- ``s/eval``: ``fit s / evals``; ``median s/eval``: the median of the
  seconds of those calls (the evaluation alone, without the setup of the
  fit; the median, as the dask fit's first evaluation also waits for the
  chunks to be generated and persisted);
- ``n_iter_``: L-BFGS iterations of the fit;
- ``max|dcoef|``: the largest absolute difference between the ``coefs_`` of
  the two fits (they start from the same weights; the sums are only added
  in a different order);
- ``worker peak MiB``: the peak resident set size of each worker process,
  read with ``client.run`` right after the dask fit: ``VmHWM`` of
  ``/proc/self/status`` on Linux, ``ru_maxrss`` elsewhere. Not
  ``ru_maxrss`` on Linux: it survives ``execve``, and the nannies that
  spawn the workers live in this process, so a worker's ``ru_maxrss``
  starts at this process's peak of that moment. The peak includes the
  worker's Python and libraries: compare it with the baseline printed
  before the part (skbackprop imported on the workers);
- ``spilled MiB``: what each worker wrote to disk when its memory passed the
  spill threshold (distributed's ``worker.memory.spill``, 70% of the limit
  by default), read after the fit from the worker's spill metrics
  (``data.cumulative_metrics``, the part's increase). Anything but 0 means
  some persisted chunks went to disk and the evaluations read them back; a
  larger ``--memory-limit`` measures the map-reduce alone;
- ``client peak MiB``: the peak resident set size of this process
  (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) after the in-memory fit,
  its copy of the data included.

**Part 2, out-of-core Adam** (float32, about 4 x one worker's memory limit:
2,050,000 rows, 6.0 GiB, by default; ``solver='adam', batch_size=500``,
``--epochs`` epochs, default 1). The dask arrays are never persisted: the
chunks stream through this process, one training while the next is fetched.
Columns: rows, GiB of inputs and their ratio to one worker's memory limit,
``fit s`` (the whole ``fit``: the first pass over the data, the epochs and
the final check that the outputs on the training data are finite, each
pass generating the chunks anew), ``s/epoch`` (the mean of the ``seconds``
of ``history_``, the training passes alone), ``client peak MiB`` (peak
resident set size of this process, ``ru_maxrss``, read after the fit; the
baseline before the fit is printed; target: under 1 GB = 953.7 MiB, and
whether it is met), ``rise (chunks)`` (that peak less the peak before the
fit, in chunks of inputs: docs/scaling_out.rst promises at most three,
beside the model), the workers' peaks and what they spilled (read after
the fit, as in part 1) and the accuracy on 20,000 held-out rows, computed
by ``score`` on dask arrays (blockwise on the workers).

**Part 3, scaling with rows** (Adam, float32, one epoch, batches of 500, on
1x, 2x and 4x 50,000 rows in chunks of 25,000): ``s/epoch`` (the epoch's
``seconds`` in ``history_``), ``s/epoch/10k`` (the same per 10,000 rows;
constant when the time grows linearly with the rows), ``vs 1x`` (that per-row
time relative to the first row's) and ``fit s``.

The parts run in the order 2, 3, 1: ``ru_maxrss`` never goes down, and part
2's reading of the client's peak must come before part 1 holds its data in
this process. Before each part the workers' peaks are reset to their
current resident set size (writing 5 to ``/proc/self/clear_refs``, Linux;
where that fails, ``client.restart()`` starts new workers), so that each
part's worker peaks are its own; the ``before`` value printed with each
part is that reset baseline.
``--quick`` shrinks everything (20,000 rows for part 1, 50,000 for part 2,
which then no longer exceeds a worker's memory, 10,000 as part 3's base,
chunks of 5,000) for a smoke run of under a minute; the full run takes about
5 minutes on two otherwise idle cores, part 2 about half of it.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_dask.py
    python benchmarks/bench_dask.py --quick                  # a smoke run, under a minute
    python benchmarks/bench_dask.py --parts 2 --ooc-rows 4000000 --memory-limit 3GiB
    python benchmarks/bench_dask.py --rst                    # also print RST tables
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import importlib.metadata
import os
import platform
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_vs_sklearn

from bench_vs_sklearn import rst_table  # noqa: E402  (this folder)

from skbackprop import BackpropClassifier  # noqa: E402
from skbackprop.core import kernels  # noqa: E402
from skbackprop.integrations.dask import MapReduceStep  # noqa: E402
from skbackprop.training.loop import Step  # noqa: E402

N_FEATURES, N_CLASSES, HIDDEN = 784, 10, (64,)
RULE_SEED, TRAIN_SEED, TEST_SEED = 0, 1, 2
MIB = 2**20
CLIENT_TARGET = 10**9  # bytes: part 2's client peak should stay under 1 GB


# --------------------------------------------------------------------------- #
# Data: generated lazily, chunk by chunk, on the workers
# --------------------------------------------------------------------------- #
def rule() -> np.ndarray:
    """The fixed labelling rule: ``y = argmax(X @ R)``."""
    return np.random.default_rng(RULE_SEED).standard_normal((N_FEATURES, N_CLASSES))


def _gaussian_block(seed, dtype, block_id=None, block_info=None):
    """One chunk of inputs; its rows depend only on ``seed`` and the chunk's index."""
    shape = block_info[None]["chunk-shape"]
    return np.random.default_rng([seed, block_id[0]]).standard_normal(shape, dtype=dtype)


def _label_block(x, R):
    return np.argmax(x @ R.astype(x.dtype), axis=1)


def make_data(n_rows: int, chunk_rows: int, dtype, seed: int, tag: str):
    """Lazy dask arrays ``X`` (``n_rows`` x 784 of ``dtype``) and ``y`` (labels 0-9).

    ``tag`` goes into the arrays' key names: each use of the data gets keys of
    its own (a pair of arrays with the same rows but another tag too), so that
    a computation never meets the scheduler's state of another's keys.
    """
    import dask.array as da

    dtype = np.dtype(dtype)
    chunk_rows = max(1, min(chunk_rows, n_rows))
    sizes = [chunk_rows] * (n_rows // chunk_rows)
    if n_rows % chunk_rows:
        sizes.append(n_rows % chunk_rows)
    name = f"bench-{tag}-{seed}-{n_rows}-{chunk_rows}-{dtype.name}"
    X = da.map_blocks(
        _gaussian_block, seed, dtype, chunks=(tuple(sizes), (N_FEATURES,)), dtype=dtype,
        meta=np.empty((0, 0), dtype=dtype), name=f"X-{name}",
    )
    y = X.map_blocks(
        _label_block, rule(), drop_axis=1, dtype=np.int64, meta=np.empty((0,), dtype=np.int64),
        name=f"y-{name}",
    )
    return X, y


# --------------------------------------------------------------------------- #
# Measuring
# --------------------------------------------------------------------------- #
def _max_rss_kib() -> int:
    """This process's ``ru_maxrss``, KiB (Linux gives KiB, macOS bytes)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def _worker_peak_kib() -> int:
    """This (worker) process's peak resident set size since its program started, KiB.

    ``VmHWM`` of ``/proc/self/status`` where there is one (Linux), else
    ``ru_maxrss``, which survives ``execve``: a worker process spawned by a
    nanny of this (client) process starts with the client's peak at that time.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return _max_rss_kib()


def client_peak_mib() -> float:
    return _max_rss_kib() / 1024


def worker_peaks_mib(client) -> list[float]:
    """Each worker's peak resident set size, MiB, in the order of their addresses."""
    peaks = client.run(_worker_peak_kib)
    return [peaks[address] / 1024 for address in sorted(peaks)]


def _spilled_mib(dask_worker) -> float:
    """MiB this worker has spilled to disk since it started (NaN where not known)."""
    metrics = getattr(dask_worker.data, "cumulative_metrics", None)
    if metrics is None:
        return float("nan")
    return metrics.get(("disk-write", "bytes"), 0.0) / 2**20


def worker_spilled_mib(client) -> dict:
    """Each worker's MiB spilled to disk since it started, by address."""
    return client.run(_spilled_mib)


def spilled_since(client, before: dict) -> list[float]:
    """Each worker's MiB spilled to disk since ``before``, in the order of their addresses."""
    after = worker_spilled_mib(client)
    return [after[address] - before.get(address, 0.0) for address in sorted(after)]


def _import_skbackprop() -> None:
    import skbackprop  # noqa: F401


def _reset_peak() -> bool:
    """Reset this process's peak resident set size to the current one (Linux).

    Writing 5 to ``/proc/self/clear_refs`` resets ``VmHWM``; False where that
    is not possible.
    """
    import gc

    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def fresh_workers(client, ran_before: bool) -> tuple[list[float], dict]:
    """Workers with skbackprop imported and their peaks reset: ``(peaks MiB, spilled)``.

    Where the peaks cannot be reset and another part ran before, the workers
    are restarted instead (``client.restart()``).
    """
    client.run(_import_skbackprop)
    if not all(client.run(_reset_peak).values()) and ran_before:
        client.restart()
        client.run(_import_skbackprop)
    return worker_peaks_mib(client), worker_spilled_mib(client)


def mib_list(values) -> str:
    return "/".join(f"{v:.0f}" for v in values)


@contextlib.contextmanager
def counted(cls):
    """Count and time the calls of ``cls.loss`` (one per cost-and-gradient evaluation)."""
    original = cls.loss
    tally = []  # the seconds of each call

    @functools.wraps(original)
    def loss(self, *args, **kwargs):
        tic = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            tally.append(time.perf_counter() - tic)

    cls.loss = loss
    try:
        yield tally
    finally:
        cls.loss = original


def into_memory(X, y):
    """Dask ``X`` and ``y`` as NumPy arrays, computed one chunk at a time into place.

    ``dask.compute(X, y)`` would join the chunks on one worker first, which
    then needs the whole data in its memory.
    """
    import dask

    X_mem, y_mem = np.empty(X.shape, dtype=X.dtype), np.empty(y.shape, dtype=y.dtype)
    start = 0
    for i in range(X.numblocks[0]):
        x_block, y_block = dask.compute(X.blocks[i], y.blocks[i])
        stop = start + x_block.shape[0]
        X_mem[start:stop], y_mem[start:stop] = x_block, y_block
        start = stop
    return X_mem, y_mem


def timed_fit(model, X, y) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached, on purpose
        tic = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - tic


# --------------------------------------------------------------------------- #
# The parts
# --------------------------------------------------------------------------- #
def part_lbfgs(client, args, ran_before: bool):
    """Part 1: L-BFGS on the dask arrays (map-reduce) and on the same rows in memory."""
    X, y = make_data(args.lbfgs_rows, args.chunk_rows, np.float64, TRAIN_SEED, tag="lbfgs")
    baseline, spilled_before = fresh_workers(client, ran_before)
    print(f"\n## Part 1: L-BFGS, {args.lbfgs_rows:,} x {N_FEATURES} float64 in "
          f"{X.numblocks[0]} chunks, max_iter={args.max_iter}; worker peaks before: "
          f"{mib_list(baseline)} MiB", flush=True)

    def model():
        return BackpropClassifier(
            solver="lbfgs", hidden_layer_sizes=HIDDEN, max_iter=args.max_iter, random_state=0
        )

    on_dask = model()
    with counted(MapReduceStep) as dask_tally:
        dask_seconds = timed_fit(on_dask, X, y)
    dask_peaks, dask_spilled = worker_peaks_mib(client), spilled_since(client, spilled_before)

    X_mem, y_mem = into_memory(
        *make_data(args.lbfgs_rows, args.chunk_rows, np.float64, TRAIN_SEED, tag="in-memory")
    )
    in_memory = model()
    with counted(Step) as mem_tally:
        mem_seconds = timed_fit(in_memory, X_mem, y_mem)
    mem_client_peak = client_peak_mib()
    diff = max(
        float(np.max(np.abs(a - b))) for a, b in zip(on_dask.coefs_, in_memory.coefs_, strict=True)
    )

    header = ["fit", "fit s", "evals", "s/eval", "median s/eval", "n_iter_", "max|dcoef|",
              "worker peak MiB", "spilled MiB", "client peak MiB"]
    rows = []
    for name, seconds, tally, est, d, peaks, spilled, client_peak in (
        ("dask", dask_seconds, dask_tally, on_dask, f"{diff:.2e}", mib_list(dask_peaks),
         mib_list(dask_spilled), "-"),
        ("in memory", mem_seconds, mem_tally, in_memory, "-", "-", "-",
         f"{mem_client_peak:.0f}"),
    ):
        median = float(np.median(tally)) if tally else float("nan")
        rows.append([name, f"{seconds:.2f}", str(len(tally)), f"{seconds / max(len(tally), 1):.3f}",
                     f"{median:.3f}", str(est.n_iter_), d, peaks, spilled, client_peak])
    print_table(header, rows)
    return header, rows


def part_out_of_core(client, args, ran_before: bool, limit_bytes: int):
    """Part 2: Adam on dask arrays larger than a worker's memory, never persisted."""
    X, y = make_data(args.ooc_rows, args.chunk_rows, np.float32, TRAIN_SEED, tag="ooc")
    X_test, y_test = make_data(args.test_rows, args.chunk_rows, np.float32, TEST_SEED, tag="test")
    gib = X.nbytes / 2**30
    ratio = X.nbytes / limit_bytes
    baseline, spilled_before = fresh_workers(client, ran_before)
    client_before = client_peak_mib()
    print(f"\n## Part 2: out-of-core Adam, {args.ooc_rows:,} x {N_FEATURES} float32 "
          f"({gib:.2f} GiB, {ratio:.2f}x a worker's memory limit) in {X.numblocks[0]} chunks, "
          f"{args.epochs} epoch(s), batch_size=500; worker peaks before: {mib_list(baseline)} "
          f"MiB, client peak before: {client_before:.0f} MiB", flush=True)
    model = BackpropClassifier(
        solver="adam", hidden_layer_sizes=HIDDEN, max_iter=args.epochs, batch_size=500,
        random_state=0,
    )
    seconds = timed_fit(model, X, y)
    client_peak = client_peak_mib()
    peaks, spilled = worker_peaks_mib(client), spilled_since(client, spilled_before)
    accuracy = model.score(X_test, y_test)
    per_epoch = float(np.mean([record["seconds"] for record in model.history_]))
    met = "met" if client_peak * MIB < CLIENT_TARGET else "NOT met"
    # The rise of the client's peak over its peak before the fit, in chunks
    # (docs/scaling_out.rst promises at most three, the model aside).
    chunk_mib = X.chunks[0][0] * N_FEATURES * X.dtype.itemsize / MIB
    rise = (client_peak - client_before) / chunk_mib
    header = ["rows", "GiB", "x limit", "epochs", "fit s", "s/epoch", "client peak MiB",
              "< 1 GB", "rise (chunks)", "worker peak MiB", "spilled MiB", "test acc"]
    rows = [[f"{args.ooc_rows:,}", f"{gib:.2f}", f"{ratio:.2f}", str(model.n_iter_),
             f"{seconds:.1f}", f"{per_epoch:.1f}", f"{client_peak:.0f}", met,
             f"{rise:.2f} of {chunk_mib:.0f} MiB", mib_list(peaks), mib_list(spilled),
             f"{accuracy:.4f}"]]
    print_table(header, rows)
    return header, rows


def part_scaling(client, args, ran_before: bool):
    """Part 3: one Adam epoch on 1x, 2x and 4x the base number of rows."""
    fresh_workers(client, ran_before)
    print(f"\n## Part 3: scaling, Adam, one epoch, float32, batch_size=500, chunks of "
          f"{args.chunk_rows:,} rows", flush=True)
    header = ["rows", "chunks", "s/epoch", "s/epoch/10k", "vs 1x", "fit s"]
    rows, first = [], None
    for times in (1, 2, 4):
        n = args.scale_rows * times
        X, y = make_data(n, args.chunk_rows, np.float32, TRAIN_SEED, tag=f"scale{times}")
        model = BackpropClassifier(
            solver="adam", hidden_layer_sizes=HIDDEN, max_iter=1, batch_size=500, random_state=0
        )
        seconds = timed_fit(model, X, y)
        epoch = model.history_[0]["seconds"]
        per_10k = epoch / (n / 10_000)
        first = first or per_10k
        rows.append([f"{n:,}", str(X.numblocks[0]), f"{epoch:.2f}", f"{per_10k:.3f}",
                     f"{per_10k / first:.2f}", f"{seconds:.2f}"])
        print(f"  {n:,} rows: {epoch:.2f} s/epoch", flush=True)
    print_table(header, rows)
    return header, rows


# --------------------------------------------------------------------------- #
# Output
# --------------------------------------------------------------------------- #
def print_table(header, rows) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)), flush=True)


def describe(client) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    print(f"# {shlex.join(['python', *sys.argv])}")
    print(f"# {now:%Y-%m-%d %H:%M} UTC, {platform.node()}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs")
    packages = ("numpy", "scipy", "scikit-learn", "dask", "distributed", "skbackprop")
    versions = {p: importlib.metadata.version(p) for p in packages}
    print("# " + ", ".join(f"{k} {v}" for k, v in versions.items()) +
          f", numba {'installed' if kernels.available() else 'absent'}")
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            print(f"# {name}={os.environ[name]} is set")
    with contextlib.suppress(ImportError):
        import threadpoolctl

        for info in threadpoolctl.threadpool_info():
            print(f"# client: {info.get('internal_api')} {info.get('version')} "
                  f"threads={info.get('num_threads')} {info.get('architecture')} "
                  f"({info.get('filepath')})")
        infos = client.run(threadpoolctl.threadpool_info)
        for address in sorted(infos):
            pools = ", ".join(f"{i.get('internal_api')} threads={i.get('num_threads')}"
                              for i in infos[address])
            print(f"# worker {address}: {pools}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small data everywhere: a smoke run of under a minute")
    parser.add_argument("--parts", default="1,2,3",
                        help="comma-separated parts to run (they run in the order 2, 3, 1)")
    parser.add_argument("--memory-limit", default="1.5GiB",
                        help="memory limit of each of the two workers (default 1.5GiB)")
    parser.add_argument("--chunk-rows", type=int, default=None,
                        help="rows per chunk (default 25,000; --quick 5,000)")
    parser.add_argument("--lbfgs-rows", type=int, default=None,
                        help="part 1's rows (default 200,000; --quick 20,000)")
    parser.add_argument("--max-iter", type=int, default=10, help="part 1's L-BFGS max_iter")
    parser.add_argument("--ooc-rows", type=int, default=None,
                        help="part 2's rows (default: 4x a worker's memory limit in float32 "
                             "rows, in whole chunks; --quick 50,000)")
    parser.add_argument("--epochs", type=int, default=1, help="part 2's epochs (default 1)")
    parser.add_argument("--test-rows", type=int, default=20_000, help="part 2's held-out rows")
    parser.add_argument("--scale-rows", type=int, default=None,
                        help="part 3's base rows (default 50,000; --quick 10,000)")
    parser.add_argument("--rst", action="store_true", help="also print RST tables")
    args = parser.parse_args(argv)
    parts = {int(p) for p in args.parts.split(",") if p.strip()}
    if not parts <= {1, 2, 3}:
        parser.error("--parts takes 1, 2 and 3")

    import dask.utils
    from distributed import Client, LocalCluster

    limit_bytes = dask.utils.parse_bytes(args.memory_limit)
    args.chunk_rows = args.chunk_rows or (5_000 if args.quick else 25_000)
    args.lbfgs_rows = args.lbfgs_rows or (20_000 if args.quick else 200_000)
    args.scale_rows = args.scale_rows or (10_000 if args.quick else 50_000)
    if args.ooc_rows is None:
        if args.quick:
            args.ooc_rows = 50_000
        else:
            rows = 4 * limit_bytes / (N_FEATURES * np.dtype(np.float32).itemsize)
            args.ooc_rows = max(1, round(rows / args.chunk_rows)) * args.chunk_rows

    start = time.perf_counter()
    # With dashboard_address=None the scheduler still serves HTTP (health, metrics), on
    # port 8787 or, where that is taken, on another one with a warning: harmless here.
    warnings.filterwarnings("ignore", message="Port 8787 is already in use")
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=args.memory_limit,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        describe(client)
        baseline, _ = fresh_workers(client, ran_before=False)
        print(f"# LocalCluster: 2 workers x 1 thread, memory_limit={args.memory_limit} each; "
              f"worker peak RSS after start (skbackprop imported): {mib_list(baseline)} MiB; "
              f"client peak RSS: {client_peak_mib():.0f} MiB", flush=True)
        tables, ran = {}, False
        if 2 in parts:
            tables[2] = part_out_of_core(client, args, ran, limit_bytes)
            ran = True
        if 3 in parts:
            tables[3] = part_scaling(client, args, ran)
            ran = True
        if 1 in parts:
            tables[1] = part_lbfgs(client, args, ran)
    print(f"\n# total {time.perf_counter() - start:.0f} s")
    if args.rst:
        titles = {1: "L-BFGS map-reduce against in memory", 2: "Out-of-core Adam",
                  3: "Scaling with rows"}
        for part in sorted(tables):
            print(f"\n{titles[part]}\n{'~' * len(titles[part])}\n")
            header, body = tables[part]
            # A trailing underscore (n_iter_) would be a link reference in RST.
            rst_table([h[:-1] + "\\_" if h.endswith("_") else h for h in header], body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
