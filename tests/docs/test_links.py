"""Every relative link in docs/ points at a file that exists, and at a heading that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs._tools import DOCS, REPO

INLINE = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
REFERENCE = re.compile(r"^\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
# pages that other parts of the project write; linked from here before they exist
WRITTEN_ELSEWHERE = {DOCS / "concepts" / "vanishing-gradients.md", DOCS / "benchmarks.md"}


def prose(text: str) -> str:
    """The text without fenced code blocks (whose brackets are code, not links)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(m) for m in re.findall(r"^#+\s+(.*)$", prose(page.read_text()), re.MULTILINE)}


def links() -> list[tuple[Path, str]]:
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        text = prose(page.read_text())
        for target in INLINE.findall(text) + REFERENCE.findall(text):
            if not re.match(r"^[a-z]+:", target):  # skip http:, https:, mailto:
                found.append((page, target))
    return found


def resolve(page: Path, target: str) -> tuple[Path, str]:
    path, _, anchor = target.partition("#")
    return ((page.parent / path).resolve() if path else page), anchor


def test_there_are_links_to_check():
    assert len(links()) > 50


def test_relative_links_resolve():
    broken = []
    for page, target in links():
        path, anchor = resolve(page, target)
        where = f"{page.relative_to(REPO)}: {target}"
        if path in WRITTEN_ELSEWHERE and not path.exists():
            continue
        if not path.exists():
            broken.append(f"{where} (no such file)")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{where} (no heading #{anchor})")
    assert not broken, "broken links:\n  " + "\n  ".join(broken)


@pytest.mark.parametrize("page", sorted(WRITTEN_ELSEWHERE), ids=lambda p: p.name)
def test_pages_written_elsewhere_exist(page):
    if not page.exists():
        pytest.skip(f"{page.relative_to(REPO)} is not written yet (another part of the project)")
    assert page.read_text().strip()


def test_slugs_follow_github():
    assert slug("Install and list") == "install-and-list"
    assert slug("`seqframe_register_cells`") == "seqframe_register_cells"
    assert slug("1. Start from a working package") == "1-start-from-a-working-package"
