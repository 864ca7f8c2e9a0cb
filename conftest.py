"""pytest's collection of the package's doctests (``--doctest-modules`` on ``skbackprop``)."""

import importlib.util

# The numba kernels import numba at module level (they are imported only when
# numba is installed); without numba there is nothing to collect there.
collect_ignore = []
if importlib.util.find_spec("numba") is None:
    collect_ignore.append("skbackprop/_epoch_kernel.py")
