"""The code shown in docs/ is the code of the example plugins, byte for byte."""

from __future__ import annotations

import pytest

from tests.docs._tools import DOCS, tool

snippets = tool("sync_doc_snippets")


def test_every_included_block_matches_its_file():
    stale = []
    for markdown in snippets.markdown_files():
        stale += snippets.sync_text(markdown, markdown.read_text(encoding="utf-8"))[1]
    assert not stale, ("stale code blocks (run python tools/sync_doc_snippets.py): "
                       + ", ".join(stale))


def test_the_tutorials_really_include_their_examples():
    # a guard against the check passing because nothing is included
    assert snippets.count_includes() >= 15
    task = (DOCS / "plugins" / "tutorial-task.md").read_text()
    assert "<!-- include: examples/sine-task/seqframe_sine/task.py#batches -->" in task
    cell = (DOCS / "plugins" / "tutorial-cell.md").read_text()
    assert "<!-- include: examples/mgu-cell/seqframe_mgu/cell.py#cell -->" in cell


def test_an_edited_block_is_reported_and_rewritten(tmp_path, monkeypatch):
    source = tmp_path / "mod.py"
    source.write_text("a = 1\n# --8<-- [start:part]\n    def f():\n        return 2\n"
                      "# --8<-- [end:part]\n")
    page = tmp_path / "page.md"
    page.write_text("x\n<!-- include: mod.py#part -->\n```python\ndef f():\n    return 3\n```\n")
    monkeypatch.setattr(snippets, "ROOT", tmp_path)  # report paths relative to the temp tree
    new, stale = snippets.sync_text(page, page.read_text())
    assert stale == ["page.md: mod.py#part"]
    assert "```python\ndef f():\n    return 2\n```" in new
    assert snippets.sync_text(page, new)[1] == []


def test_whole_file_includes_drop_the_section_markers(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("# --8<-- [start:x]\nb = 2\n# --8<-- [end:x]\n")
    assert snippets.extract(source, None) == "b = 2\n"


@pytest.mark.parametrize("page, message", [
    ("<!-- include: missing.py -->\n```python\n```\n", "does not exist"),
    ("<!-- include: mod.py#nope -->\n```python\n```\n", "has no section 'nope'"),
    ("<!-- include: mod.py -->\nplain text\n", "is not followed by a ``` block"),
    ("<!-- include: mod.py -->\n```python\nnever closed\n", "unclosed code block"),
])
def test_broken_includes_are_errors(tmp_path, page, message):
    (tmp_path / "mod.py").write_text("a = 1\n")
    md = tmp_path / "page.md"
    md.write_text(page)
    with pytest.raises(snippets.SnippetError, match=message):
        snippets.sync_text(md, page)
