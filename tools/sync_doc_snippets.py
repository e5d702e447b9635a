"""Keep the code shown in docs/ identical to the files it comes from.

A Markdown file includes code by putting a comment right before a fenced block::

    <!-- include: examples/sine-task/seqframe_sine/task.py#prepare -->
    ```python
    ...
    ```

The path is relative to the Markdown file. Without ``#section`` the whole file is shown; with it,
the lines between ``--8<-- [start:section]`` and ``--8<-- [end:section]`` markers (in a comment
of the source file), dedented. Marker lines never appear in the docs.

    python tools/sync_doc_snippets.py          # rewrite every included block from its file
    python tools/sync_doc_snippets.py --check  # exit 1, listing the stale blocks

tests/docs/test_snippets.py runs the check, so a tutorial cannot drift from its example plugin.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
INCLUDE = re.compile(r"^<!-- include: (?P<path>[^#\s]+)(?:#(?P<section>[\w-]+))? -->$")
MARKER = re.compile(r"--8<-- \[(start|end):([\w-]+)\]")
FENCE = re.compile(r"^(```+)")


class SnippetError(Exception):
    """An include that names a missing file or section, or is not followed by a code block."""


def extract(path: Path, section: str | None) -> str:
    """The text a Markdown include of ``path`` (``#section``) shows."""
    if not path.is_file():
        raise SnippetError(f"included file {path} does not exist")
    lines = path.read_text(encoding="utf-8").splitlines()
    if section is not None:
        marks = {MARKER.search(line).groups(): i for i, line in enumerate(lines)
                 if MARKER.search(line)}
        if ("start", section) not in marks or ("end", section) not in marks:
            raise SnippetError(f"{path} has no section {section!r} (start and end markers)")
        lines = lines[marks[("start", section)] + 1 : marks[("end", section)]]
    kept = [line for line in lines if not MARKER.search(line)]
    return textwrap.dedent("\n".join(kept)).strip("\n") + "\n"


def sync_text(markdown: Path, text: str) -> tuple[str, list[str]]:
    """``text`` with every included block refreshed, and the includes that were stale."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    stale: list[str] = []
    i = 0
    while i < len(lines):
        out.append(lines[i])
        match = INCLUDE.match(lines[i].strip())
        i += 1
        if not match:
            continue
        fence = FENCE.match(lines[i]) if i < len(lines) else None
        include = lines[i - 1].strip()
        if fence is None:
            raise SnippetError(f"{markdown}: `{include}` is not followed by a ``` block")
        closing = [j for j in range(i + 1, len(lines)) if lines[j].strip() == fence.group(1)]
        end = closing[0] if closing else None
        if end is None:
            raise SnippetError(f"{markdown}: unclosed code block after {include}")
        body = extract((markdown.parent / match["path"]).resolve(), match["section"])
        if "".join(lines[i + 1 : end]) != body:
            stale.append(f"{markdown.relative_to(ROOT)}: {match['path']}"
                         + (f"#{match['section']}" if match["section"] else ""))
        out += [lines[i], body, lines[end]]
        i = end + 1
    return "".join(out), stale


def markdown_files() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def count_includes() -> int:
    return sum(bool(INCLUDE.match(line.strip())) for md in markdown_files()
               for line in md.read_text(encoding="utf-8").splitlines())


def main(argv: list[str]) -> int:
    check = "--check" in argv
    all_stale = []
    for markdown in markdown_files():
        text = markdown.read_text(encoding="utf-8")
        new, stale = sync_text(markdown, text)
        all_stale += stale
        if stale and not check:
            markdown.write_text(new, encoding="utf-8")
    for item in all_stale:
        print(("stale: " if check else "updated: ") + item)
    if check and all_stale:
        print("run python tools/sync_doc_snippets.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
