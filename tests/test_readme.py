"""The README's Python examples run as shown.

Every fenced ```python block of ``README.md`` is executed on its own, in a
fresh namespace, the way a reader would paste it into a new interpreter. A
block passes when it runs without an exception, prints something (each example
shows its result) and raises no ``ConvergenceWarning`` (an example should use
settings that converge, not hide the warning).
"""

import re
import traceback
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

# A fence opening with ``python`` at the start of a line, up to the next closing fence.
_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """The ```python blocks of a Markdown text.

    Parameters
    ----------
    text : str
        Markdown source.

    Returns
    -------
    list of (int, str)
        For each block, in order, the line number of its first code line
        (1-based) and its code.
    """
    return [
        (text.count("\n", 0, match.start(1)) + 1, match.group(1)) for match in _FENCE.finditer(text)
    ]


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def test_fence_parser():
    text = "intro\n```python\nx = 1\n```\n\n```bash\nls\n```\n```python\nprint(2)\n```\n"
    assert python_blocks(text) == [(3, "x = 1\n"), (10, "print(2)\n")]


def test_readme_has_python_blocks():
    # Guards the parametrization below against a README (or a regex) that yields nothing.
    assert len(BLOCKS) >= 2


@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "line, code", BLOCKS, ids=[f"block{index}" for index in range(len(BLOCKS))]
)
def test_readme_block_runs(capsys, line, code):
    where = f"README.md, python block starting at line {line}"
    namespace = {"__name__": "__main__"}
    error = None
    try:
        exec(compile(code, where, "exec"), namespace)
    except Exception:
        error = traceback.format_exc()
    if error is not None:  # failed outside the handler, so pytest shows no chained exception
        pytest.fail(f"{where} failed:\n{error}\n--- block ---\n{code}", pytrace=False)
    out = capsys.readouterr().out
    assert out.strip(), f"{where} prints nothing; show the result:\n--- block ---\n{code}"
