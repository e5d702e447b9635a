"""No file under tests/ names an absolute path: the suite must pass on any clone.

Real data is reached through the ``shared_data`` fixture (tests/conftest.py), which resolves
``../shared/data`` relative to the repository (or ``$SEQFRAME_SHARED_DATA``) and skips when it is
absent; temporary files go to pytest's ``tmp_path``. A path from the root of one machine's file
system works on that machine only, and is what this test catches: in Python files it looks at
every string literal (the leading part of f-strings included), in other text files at every
line. (This file writes its examples with ``@`` for the root, so it passes its own check.)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# The operating system's own interfaces are the same on every Linux machine.
SYSTEM = ("/proc", "/dev", "/sys")
TEXT_SUFFIXES = {".py", ".toml", ".cfg", ".ini", ".txt", ".md", ".json", ".csv", ".ts", ".yaml",
                 ".yml", ".tsv"}
# A path that starts at a root: POSIX "/x/...", home "~/x", or a Windows drive "C:\x", "C:/x".
# It must not follow a word character, a dot, a slash, a colon or a closing bracket (relative
# "a/b", "../x", "{tmp}/x", URLs "https://host/x" are fine), and its first part must be a name
# (so "x / 2" is not one).
ABSOLUTE = re.compile(r"(?<![\w./:\\~})\]-])(?:/|~/|[A-Za-z]:[\\/])[A-Za-z0-9_.~-]+")


def absolute_paths(text: str) -> list[str]:
    """The absolute paths in ``text``, system interfaces (/proc, /dev, /sys) left out."""
    found = [m.group(0) for m in ABSOLUTE.finditer(text)]
    return [p for p in found if p not in SYSTEM]


def python_strings(source: str) -> list[str]:
    """Every string literal of a Python source in source order, and the leading literal part of
    every f-string (a part after ``{...}`` continues a path, as in ``f"{tmp_path}/data"``).
    Comments are not strings and are not looked at."""
    tree = ast.parse(source)
    inner = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
             for part in node.values[1:]}
    nodes = [node for node in ast.walk(tree) if isinstance(node, ast.Constant)
             and isinstance(node.value, str) and id(node) not in inner]
    return [n.value for n in sorted(nodes, key=lambda n: (n.lineno, n.col_offset))]


def offences(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".py":
        return [p for s in python_strings(text) for p in absolute_paths(s)]
    return absolute_paths(text)


def test_no_file_under_tests_names_an_absolute_path():
    checked, bad = 0, {}
    for path in sorted(TESTS.rglob("*")):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES or "__pycache__" in path.parts:
            continue
        if any(part.endswith(".egg-info") or part == "build" for part in path.parts):
            continue  # pip's build output of the demo plugins, not ours
        checked += 1
        found = offences(path)
        if found:
            bad[str(path.relative_to(TESTS))] = found
    assert checked > 100  # the walk really saw the suite
    assert not bad, (
        f"absolute paths under tests/: {bad}. Use the shared_data fixture for ../shared/data, "
        f"tmp_path for scratch files, and paths relative to the repository otherwise.")


def _from_root(text: str) -> str:
    """``text`` with ``@`` standing for the root (and ``C@`` for the drive ``C`` colon)."""
    return text.replace("C@", "C:").replace("D@", "D:").replace("@", "/")


def test_the_check_catches_what_broke_the_suite(tmp_path):
    bad = tmp_path / "test_bad.py"
    bad.write_text(_from_root(
        'from pathlib import Path\n'
        'DATA = Path("@work/shared/data") / "airline.csv"\n'
        'def f(user):\n'
        '    return f"@home/{user}/data", "~@corpus.txt", r"C@\\data\\x.ts", "D@@x"\n'),
        encoding="utf-8")
    assert offences(bad) == _from_root_all(["@work", "@home", "~@corpus.txt", "C@\\data", "D@@x"])
    toml = tmp_path / "run.toml"
    toml.write_text(_from_root('data = "@srv/series.csv"\n'), encoding="utf-8")
    assert offences(toml) == [_from_root("@srv")]


def _from_root_all(items: list[str]) -> list[str]:
    return [_from_root(item) for item in items]


def test_relative_paths_urls_arithmetic_and_system_files_pass(tmp_path):
    good = tmp_path / "test_good.py"
    good.write_text(_from_root(
        '# a comment may name @work/shared\n'
        'A = "../shared/data/airline.csv"\n'
        'B = "tests/docs/x.md"\n'
        'C = "https://example.org/a/b"\n'
        'D = "loss / 2 and 3/4 and and/or"\n'
        'E = Path("@proc") / "self"; F = "@dev/null"; G = f"{tmp_path}/data"\n'
        'H = "runs/charlm-gru-..."\n'),
        encoding="utf-8")
    assert offences(good) == []
