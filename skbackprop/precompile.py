"""``python -m skbackprop.precompile``: fill numba's cache with every compiled kernel.

With the ``fast`` extra installed (numba), the first process that needs a
compiled kernel would compile it (several seconds); later processes load it
from numba's disk cache (a fraction of a second). A process never blocks a
small fit on a compile: it keeps the NumPy path until the kernels are in the
cache (see ``skbackprop.core.kernels``). Run this once after installing, in
the environment and as the user that will fit, so that every later process
finds the kernels ready:

.. code-block:: bash

   python -m skbackprop.precompile

It prints where the kernels and numba's cache live. ``--check`` only tells
whether the cache is filled (exit status 0 if it is, 1 if not).
``--background`` is what a process that has done enough work on the NumPy path
starts by itself: quiet, at low priority, and once at a time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .core import kernels
from .core.kernels.source import cache_dir, cache_mark
from .training.compiled_epoch import precompile

#: A background compile whose lock file is older than this is taken as dead.
STALE_LOCK_SECONDS = 15 * 60


def _numba_cache_of(dispatcher) -> str:
    """Where numba keeps the compiled code of ``dispatcher`` (for the printout only)."""
    cache = getattr(dispatcher, "_cache", None)
    path = getattr(cache, "_cache_path", None)
    return str(path) if path else "not cached on disk (no writable cache directory)"


def _report(mark: Path, seconds: float) -> None:
    from .core.kernels import updates
    from .training.compiled_epoch import _compile

    module = _compile()
    print(f"compiled (or loaded) every kernel in {seconds:.1f} s")
    print(f"kernel module:       {module.__file__}")
    print(f"its numba cache:     {_numba_cache_of(module.epoch)}")
    print(f"update kernels:      {_numba_cache_of(updates.adam)}")
    print(f"mark of a full cache: {mark}")
    print("Set SKBACKPROP_CACHE_DIR (the kernel module and the mark) and NUMBA_CACHE_DIR "
          "(numba's cache) to writable folders where these are read-only.")


def _background() -> int:
    """Compile once at a time, at low priority, quietly; the lock file keeps others out."""
    try:
        os.nice(10)
    except (AttributeError, OSError):
        pass
    lock = cache_mark().with_suffix(".compiling")
    try:
        if time.time() - lock.stat().st_mtime > STALE_LOCK_SECONDS:
            lock.unlink(missing_ok=True)
    except OSError:
        pass
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except OSError:  # another process compiles, or the folder is not writable
        return 0
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        precompile()
    finally:
        lock.unlink(missing_ok=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str or None
        Arguments (None: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success; 1 where numba is missing or switched off, or (with
        ``--check``) where the cache is not filled.
    """
    parser = argparse.ArgumentParser(
        prog="python -m skbackprop.precompile",
        description="Compile skbackprop's numba kernels into numba's disk cache, so that no "
        "later process compiles them.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true",
                       help="only say whether the cache is filled (exit status 0 if so)")
    group.add_argument("--background", action="store_true",
                       help="quiet, low priority, once at a time (what skbackprop starts itself)")
    args = parser.parse_args(argv)
    if args.background:
        return _background()
    if not kernels.available():
        print("numba is not installed (pip install 'skbackprop[fast]') or switched off "
              "(SKBACKPROP_ACCELERATOR=0): nothing to compile.", file=sys.stderr)
        return 1
    if args.check:
        mark = cache_mark()
        filled = mark.exists()
        print(f"numba's cache is {'filled' if filled else 'not filled'} ({mark}); "
              f"kernel folder {cache_dir()}")
        return 0 if filled else 1
    tic = time.perf_counter()
    mark = precompile()
    _report(mark, time.perf_counter() - tic)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
