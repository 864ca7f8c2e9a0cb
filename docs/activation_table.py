"""The activation table of docs/neuron.rst, generated from skbackprop's activation table.

``docs/conf.py`` writes it to :data:`TARGET` at build time; the table therefore lists
every entry of ``skbackprop.core.activations.ACTIVATIONS`` with the formulas
the entries carry, and a new activation appears without editing the docs.
"""

from pathlib import Path

from skbackprop.core.activations import ACTIVATIONS

#: Where the generated table goes (ignored by git; included by neuron.rst).
TARGET = Path(__file__).with_name("_generated") / "activation_table.rst"


def activation_table() -> str:
    """The reST ``list-table`` of every activation: name, f(z), f'(z), range, notes."""
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 14 30 30 14 20",
        "",
        "   * - name",
        "     - :math:`f(z)`",
        "     - :math:`f'(z)`",
        "     - range",
        "     - notes",
    ]
    for name, entry in ACTIVATIONS.items():
        notes = []
        if entry.from_z:
            notes.append("derivative from :math:`z`")
        if entry.note:
            notes.append(entry.note)
        lines += [
            f"   * - ``'{name}'``",
            f"     - :math:`{entry.formula}`",
            f"     - :math:`{entry.derivative_formula}`",
            f"     - :math:`{entry.range_formula}`",
            f"     - {'; '.join(notes) if notes else ''}".rstrip(),
        ]
    return "\n".join(lines) + "\n"
