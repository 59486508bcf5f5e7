"""docs/backprop.md maps each equation to a line of the engine: the code it quotes must be the
code, word for word, or a learner reads lines that do not exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# what makes a quoted span a line of code
CODE_MARKS = ("self.", "matmul(", "*=", "-=", " @ ", "im2col(", "col2im(", ".sum(")


def _quoted_code(text: str) -> list[str]:
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    block_lines = [
        line.split("#")[0].strip()
        for block in re.findall(r"```python\n(.*?)```", text, flags=re.S)
        for line in block.splitlines()
    ]
    return [s for s in spans if any(m in s for m in CODE_MARKS)] + [line for line in block_lines if line]


def test_every_line_of_code_backprop_md_quotes_is_in_the_engine():
    engine = "\n".join(p.read_text() for p in (ROOT / "src" / "handwriting" / "nn").glob("*.py"))
    quoted = _quoted_code((ROOT / "docs" / "backprop.md").read_text())
    assert len(quoted) >= 10
    missing = [q for q in quoted if q not in engine]
    assert not missing, f"docs/backprop.md quotes code that is not in src/handwriting/nn: {missing}"
