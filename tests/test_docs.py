"""The code examples of docs/ run and print what they say."""

import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def python_block(markdown: str, heading: str) -> str:
    """The first ```python block after ``heading``."""
    section = markdown.split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_your_own_network_example_finds_the_closed_form_fixed_points():
    code = python_block((DOCS / "library.md").read_text(), "## Your own network")
    printed = io.StringIO()
    scope = {}
    with contextlib.redirect_stdout(printed):
        exec(code, scope)
    # h = tanh(2h) per unit: 0 and ±a, a = tanh(2a); 3 × 3 points, the 4 corners stable
    assert printed.getvalue().split() == ["9", "4"]
    corners = scope["unique_fps"].xstar[scope["unique_fps"].is_stable]
    assert set(map(tuple, (corners > 0).astype(int))) == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_readme_example_prints_the_27_points_and_their_proof():
    code = python_block((ROOT / "README.md").read_text(), "In\nPython, the same steps are a few calls:")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {})
    lines = printed.getvalue().splitlines()
    assert "Number of fixed points: 27" in lines and "Stable fixed points: 8 / 27" in lines
    assert lines[-1] == "27"
