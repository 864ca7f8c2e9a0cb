"""The cost table of docs/costs.rst, generated from skbackprop's cost table.

``docs/conf.py`` writes it to :data:`TARGET` at build time; the table therefore lists
every entry of ``skbackprop.core.losses.COSTS``, the output activations it
accepts and the pairings whose output delta fuses to ``A - Y``, and a new cost
appears without editing the docs.
"""

from pathlib import Path

from skbackprop.core.losses import COSTS

#: Where the generated table goes (ignored by git; included by costs.rst).
TARGET = Path(__file__).with_name("_generated") / "cost_table.rst"


def cost_table() -> str:
    """The reST ``list-table`` of every cost: name, cost of a sample, outputs, fused, notes."""
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 16 30 18 16 20",
        "",
        "   * - ``loss``",
        "     - cost of one sample",
        "     - output activations",
        "     - :math:`\\Delta_L = (A - Y) / m` for",
        "     - notes",
    ]
    for name, entry in COSTS.items():
        outputs = ", ".join(f"``'{out}'``" for out in entry.outputs)
        fused = ", ".join(f"``'{out}'``" for out in entry.fused) or "none"
        lines += [
            f"   * - ``'{name}'``",
            f"     - :math:`{entry.formula}`",
            f"     - {outputs}",
            f"     - {fused}",
            f"     - {entry.note}".rstrip(),
        ]
    return "\n".join(lines) + "\n"
