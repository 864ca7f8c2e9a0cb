"""The compiled epoch's module, generated from the activation and cost tables.

numba's disk cache watches only the source file of a cached function, so the
activation dispatch of the epoch kernel (``activate`` and ``derive``) and the
cost branches of its ``cost_and_delta`` are not read from globals defined
elsewhere: they are generated, as source text, from
``core.activations.ACTIVATIONS`` and ``core.losses.COSTS`` into the kernel's
template (``epoch.py``, at the line ``# {activation dispatch}`` and the lines
``# {cost ...}``), and the whole module is written to a file whose name holds
a hash of its text, which ends with a hash of ``updates.py`` (the optimizer
updates the kernel calls, compiled into its cached code). numba caches the
compiled code next to that file; a changed table, template or update gives
another file and so another compilation, never a stale cache.

The file goes to ``$SKBACKPROP_CACHE_DIR``, else ``~/.cache/skbackprop``, else
a directory under the system's temporary directory: the first one writable.
Beside it, ``python -m skbackprop.precompile`` leaves a mark once every
kernel is in numba's cache (:func:`cache_mark`), which tells later processes
that loading costs a fraction of a second rather than a compile.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import sys
import tempfile
from pathlib import Path

from ..activations import ACTIVATIONS
from ..losses import COSTS

TEMPLATE = Path(__file__).with_name("epoch.py")
#: The optimizer updates the kernel calls: numba compiles them into the kernel's
#: cached code, so their text is part of the module's name too.
UPDATES = Path(__file__).with_name("updates.py")
#: The kernels compiled from their own files, outside the generated module
#: (numba caches each next to its file): the cache's mark names their text too.
STANDALONE = tuple(Path(__file__).with_name(name) for name in ("decayed.py", "layers.py"))
PLACEHOLDER = "# {activation dispatch}\n"
#: The lines of the template that the cost table fills, with their indentation.
COST_PLACEHOLDER = re.compile(r"^( *)# \{(cost [a-z]+)\}\n", re.MULTILINE)


def _indent(code: str, spaces: int) -> str:
    return "".join(" " * spaces + line if line.strip() else line
                   for line in code.splitlines(keepends=True))


def compilable(entry) -> bool:
    """Whether an activation's entry gives the kernel a forward and a derivative.

    Networks with an activation that does not train on the NumPy path.
    """
    return (entry.kernel_forward is not None or entry.kernel_forward_block is not None) and (
        entry.kernel_derivative is not None or entry.kernel_derivative_block is not None
    )


def dispatch_source(table=None) -> str:
    """``CODES``, ``SOFTMAX``, ``activate`` and ``derive`` for ``table`` (the activation table).

    Each activation's code is its position in the table. The element-wise
    forms loop over the layer and evaluate the entry's expression; block
    forms are pasted as they are; ``"z"`` and ``"d"`` (nothing to do) give
    no branch, and neither do entries without kernel code (see :func:`compilable`).
    """
    table = ACTIVATIONS if table is None else table
    codes = {name: k for k, name in enumerate(table)}
    forward, backward = [], []
    for name, entry in table.items():
        if not compilable(entry):
            continue
        test = f"code == {codes[name]}:  # {name}\n"
        if entry.kernel_forward_block is not None:
            forward.append(test + entry.kernel_forward_block)
        elif entry.kernel_forward != "z":
            forward.append(
                test + "        for i in range(m):\n            for j in range(n):\n"
                "                z = Z[i, j]\n"
                f"                Z[i, j] = {entry.kernel_forward}\n"
            )
        if entry.kernel_derivative_block is not None:
            backward.append(test + entry.kernel_derivative_block)
        elif entry.kernel_derivative != "d":
            variable = "z" if entry.from_z else "a"
            backward.append(
                test + "        for i in range(m):\n            for j in range(n):\n"
                f"                {variable} = A[i, j]\n                d = D[i, j]\n"
                f"                D[i, j] = {entry.kernel_derivative}\n"
            )

    def chain(branches: list[str]) -> str:
        if not branches:
            return "    pass\n"
        return "".join(("    if " if k == 0 else "    elif ") + branch
                       for k, branch in enumerate(branches))

    header = "    m, n = {}.shape\n    one = c[0]\n    zero = one - one\n"
    return (
        "# Generated from core.activations.ACTIVATIONS by core/kernels/source.py.\n"
        f"CODES = {codes!r}\n"
        f"SOFTMAX = {codes.get('softmax', -1)}\n\n\n"
        "@_jit\n"
        "def activate(Z, code, c):  # pragma: no cover - compiled\n"
        "    # The forward functions, in place.\n"
        + header.format("Z") + chain(forward) + "\n\n"
        "@_jit\n"
        "def derive(A, D, code, c):  # pragma: no cover - compiled\n"
        "    # The derivatives, from the output A (or the kept Z), multiplying D in place.\n"
        + header.format("A") + chain(backward)
    )


def cost_source(costs=None, table=None) -> dict[str, str]:
    """The code of the template's ``# {cost ...}`` lines for ``costs`` (the cost table).

    Each cost's code is its position in ``costs``. ``'cost codes'``: the dict
    ``LOSS_CODES``; ``'cost divergence'``: the check of the costs that have
    one (``kernel_diverged``); ``'cost terms'``: each cost's per-element term
    and residual; ``'cost totals'``: each cost's ``kernel_total``, then the
    output's derivative for the outputs that ``fused`` does not list (the
    codes of ``table``, the activation table). Entries without
    ``kernel_term`` get no branch (see ``training/compiled_epoch.py``).
    """
    costs = COSTS if costs is None else costs
    act_codes = {name: k for k, name in enumerate(ACTIVATIONS if table is None else table)}
    loss_codes = {name: k for k, name in enumerate(costs)}
    divergence, terms, totals = [], [], []
    for name, entry in costs.items():
        if not entry.kernel_term:  # trains on the NumPy path
            continue
        test = f"loss == {loss_codes[name]}:  # {name}\n"
        if entry.kernel_diverged is not None:
            divergence.append(
                test + "    for i in range(m):\n        for j in range(n):\n"
                "            a = A[i, j]\n"
                f"            if {entry.kernel_diverged}:\n"
                "                return np.inf\n"
            )
        terms.append(test + _indent(entry.kernel_term + f"D[i, j] = {entry.kernel_delta}\n", 4))
        total = _indent(entry.kernel_total.strip() + "\n", 4) if entry.kernel_total.strip() else ""
        if any(out not in entry.fused for out in entry.outputs):
            fused = [f"out_code != {act_codes[out]}" for out in entry.fused if out in act_codes]
            call = "derive(A, D, out_code, c)  # times f'(Z_L)\n"
            if fused:
                total += f"    if {' and '.join(fused)}:  # not fused\n        {call}"
            else:
                total += f"    {call}"
        if total:
            totals.append(test + total)

    def chain(branches: list[str]) -> str:
        return "".join(("if " if k == 0 else "elif ") + branch for k, branch in enumerate(branches))

    return {
        "cost codes": f"# Generated from core.losses.COSTS by core/kernels/source.py.\n"
                      f"LOSS_CODES = {loss_codes!r}\n",
        "cost divergence": chain(divergence),
        "cost terms": chain(terms) or "pass\n",
        "cost totals": chain(totals),
    }


def module_source(table=None, costs=None) -> str:
    """The whole kernel module for ``table`` and ``costs``: the template with its code filled in."""
    template = TEMPLATE.read_text(encoding="utf-8")
    if PLACEHOLDER not in template:  # pragma: no cover - a broken template
        raise RuntimeError(f"{TEMPLATE} lacks the line {PLACEHOLDER.strip()!r}")
    pieces = cost_source(costs, table)
    text = template.replace(PLACEHOLDER, dispatch_source(table))
    text = COST_PLACEHOLDER.sub(lambda match: _indent(pieces[match[2]], len(match[1])), text)
    updates = hashlib.sha256(UPDATES.read_bytes()).hexdigest()
    return text + f"\n# The updates.py it calls: sha256 {updates}\n"


def cache_dir() -> Path:
    """The first writable of ``$SKBACKPROP_CACHE_DIR``, ``~/.cache/skbackprop``, a temp dir."""
    candidates = []
    if os.environ.get("SKBACKPROP_CACHE_DIR"):
        candidates.append(Path(os.environ["SKBACKPROP_CACHE_DIR"]))
    candidates.append(Path.home() / ".cache" / "skbackprop")
    candidates.append(Path(tempfile.gettempdir()) / f"skbackprop-{os.getuid()}"
                      if hasattr(os, "getuid") else Path(tempfile.gettempdir()) / "skbackprop")
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    return Path(tempfile.mkdtemp(prefix="skbackprop-"))


def module_name(table=None, costs=None) -> str:
    """The kernel module's name for ``table`` and ``costs``: a hash of its text."""
    return _name_of(module_source(table, costs))


def _name_of(text: str) -> str:
    """The kernel module's name for its source ``text``."""
    return f"skbackprop_epoch_{hashlib.sha256(text.encode('utf-8')).hexdigest()[:20]}"


def cache_mark() -> Path:
    """The file whose presence says every kernel is in numba's cache.

    Its name holds the kernel module's name (so a changed table or template
    needs a new mark), a hash of the kernels outside it (:data:`STANDALONE`:
    a changed one is compiled anew), numba's version and a hash of
    ``NUMBA_CACHE_DIR`` (numba keeps its cache elsewhere when that is set).
    """
    try:
        numba_version = importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:
        numba_version = "none"
    where = hashlib.sha256(os.environ.get("NUMBA_CACHE_DIR", "").encode()).hexdigest()[:8]
    kernels = hashlib.sha256(b"".join(path.read_bytes() for path in STANDALONE)).hexdigest()[:8]
    return cache_dir() / f"{module_name()}.{kernels}.numba-{numba_version}.{where}.filled"


def load_epoch_module(table=None, costs=None):
    """Generate (once per text), write and import the kernel module for ``table`` and ``costs``."""
    text = module_source(table, costs)
    name = _name_of(text)
    if name in sys.modules:
        return sys.modules[name]
    path = cache_dir() / f"{name}.py"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
