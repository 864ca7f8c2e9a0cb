"""Out of core on dask: the client's memory during a streamed fit.

SGD and Adam stream the chunks of a dask collection through the client. The
promise (docs/scaling_out.rst): the client's resident memory rises by at
most three chunks during ``fit``, whatever the size of the data. The test
fits Adam on an array generated lazily chunk by chunk on the workers, three
times a worker's memory limit, in a fresh Python process (its own
``LocalCluster`` of two worker processes), and reads that process's peak
resident set size.

The peak is ``VmHWM`` of ``/proc/self/status``, reset to the current
resident size just before the fit (writing 5 to ``/proc/self/clear_refs``);
where the reset is refused, a thread samples ``VmRSS`` every millisecond
instead. The rise is measured from the resident size just before the fit,
after a small warm-up fit has loaded every module and cache the fit uses.
Linux only (``/proc``).

Without dask and distributed installed the module is skipped, except where
``SKBACKPROP_TEST_DASK=1`` (the CI run with the ``[dask]`` extra) requires them.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import skbackprop

REQUIRED = os.environ.get("SKBACKPROP_TEST_DASK") == "1"

if REQUIRED:
    import dask  # noqa: F401
    import distributed  # noqa: F401
else:
    pytest.importorskip("dask", reason="dask is an optional extra ([dask])")
    pytest.importorskip("dask.array", reason="dask.array needs dask[array]")
    pytest.importorskip("distributed", reason="the [dask] extra has distributed")

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status"),
]

#: The fit, run by ``python script.py ROWS COLUMNS CHUNKS LIMIT``; prints one JSON line.
SCRIPT = textwrap.dedent('''
    import gc
    import json
    import re
    import sys
    import threading
    import time
    import warnings

    import numpy as np


    def status(key):
        """A field of /proc/self/status, in bytes."""
        with open("/proc/self/status") as f:
            return int(re.search(key + r":\\s+(\\d+) kB", f.read()).group(1)) * 1024


    def generate(block_id=None, block_info=None):
        """One chunk, made on a worker: a random first column, the rest the chunk's number."""
        shape = block_info[None]["chunk-shape"]
        block = np.empty(shape)
        block.fill(block_id[0] / 100)
        block[:, 0] = np.random.default_rng(block_id[0]).random(shape[0])
        return block


    def data(rows, columns, n_chunks):
        import dask.array as da

        X = da.map_blocks(generate, chunks=((rows,) * n_chunks, (columns,)), dtype=float,
                          meta=np.empty((0, 0)))
        return X, (X[:, 0] > 0.5).astype(int)


    def main():
        import distributed

        from skbackprop import BackpropClassifier

        rows, columns, n_chunks, limit = map(int, sys.argv[1:5])
        warnings.simplefilter("ignore")  # distributed's notices, ConvergenceWarning
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, memory_limit=limit)
        client = distributed.Client(cluster)
        params = dict(hidden_layer_sizes=(8,), solver="adam", batch_size=500, max_iter=1,
                      random_state=0)
        BackpropClassifier(**params).fit(*data(200, columns, 2))  # warm-up
        X, y = data(rows, columns, n_chunks)
        gc.collect()
        peak, samples, done = None, [], threading.Event()
        before = status("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            def sample():
                while not done.is_set():
                    samples.append(status("VmRSS"))
                    time.sleep(0.001)

            threading.Thread(target=sample, daemon=True).start()
        tic = time.perf_counter()
        est = BackpropClassifier(**params).fit(X, y)
        seconds = time.perf_counter() - tic
        done.set()
        peak = max(samples) if samples else status("VmHWM")
        print(json.dumps({
            "before": before, "peak": peak, "chunk": rows * columns * 8,
            "data": rows * columns * 8 * n_chunks, "limit": limit, "seconds": seconds,
            "rows_trained": int(est.t_),
        }))
        client.close()
        cluster.close()


    if __name__ == "__main__":
        main()
''')


def test_a_streamed_fit_raises_the_clients_memory_by_at_most_three_chunks(tmp_path):
    rows, columns, n_chunks = 6144, 1024, 36  # chunks of 48 MiB, 1.69 GiB in all
    limit = 576 * 2**20  # per worker: its Python and libraries take about 280 MiB of it
    script = tmp_path / "streamed_fit.py"
    script.write_text(SCRIPT)
    # The skbackprop these tests import, whether installed or not.
    home = str(Path(skbackprop.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([home, os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(
        [sys.executable, str(script), str(rows), str(columns), str(n_chunks), str(limit)],
        capture_output=True, text=True, timeout=170, env=env, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["rows_trained"] == rows * n_chunks  # every row of every chunk, once
    assert result["data"] >= 3 * result["limit"]
    rise = (result["peak"] - result["before"]) / result["chunk"]
    assert rise <= 3, (
        f"the client's peak rose by {rise:.2f} chunks of {result['chunk'] / 2**20:.0f} MiB "
        f"(from {result['before'] / 2**20:.0f} MiB to {result['peak'] / 2**20:.0f} MiB)"
    )
