"""The one way tests read the documentation (README.md and docs/*.md).

Tests check facts the docs state (a key, a command, a table row, a test's
name), not sentences: text is compared with its whitespace collapsed, so
rewrapping a paragraph breaks no test.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DOCS = ROOT / "docs"
HEADING = re.compile(r"^(#{1,6}) (.+)$")


def path(page: str) -> Path:
    """`README.md`, or a page of docs/ by its file name (`ci.md`)."""
    return ROOT / page if page == "README.md" else DOCS / page


def pages() -> list[str]:
    """README.md and every page of docs/."""
    return ["README.md", *sorted(p.name for p in DOCS.glob("*.md"))]


@cache
def text(page: str) -> str:
    return path(page).read_text()


def flat(value: str) -> str:
    """Whitespace runs (line breaks and indentation included) as one space."""
    return re.sub(r"\s+", " ", value).strip()


def _heading(line: str, fenced: bool) -> re.Match[str] | None:
    return None if fenced else HEADING.match(line)


def _lines(page: str) -> list[tuple[str, bool]]:
    """Each line, and whether it is inside a fenced code block (a `# comment` there is no heading)."""
    result, fenced = [], False
    for line in text(page).splitlines():
        if line.startswith("```"):
            fenced = not fenced
            result.append((line, True))
        else:
            result.append((line, fenced))
    return result


def headings(page: str) -> list[str]:
    return [match[2] for line, fenced in _lines(page) if (match := _heading(line, fenced))]


def section(page: str, heading: str, subsections: bool = True) -> str:
    """The text under `heading` (its title without the #s): up to the next heading
    of the same or a higher level, or, without subsections, up to the next heading."""
    lines = _lines(page)
    for start, (line, fenced) in enumerate(lines):
        match = _heading(line, fenced)
        if match and match[2] == heading:
            level = len(match[1])
            body = []
            for following, following_fenced in lines[start + 1:]:
                found = _heading(following, following_fenced)
                if found and (not subsections or len(found[1]) <= level):
                    break
                body.append(following)
            return "\n".join(body)
    raise AssertionError(f"{path(page).relative_to(ROOT)} has no heading {heading!r} (it has {headings(page)})")


def table_rows(page: str, heading: str) -> list[tuple[str, ...]]:
    """The cells of the rows of the tables directly under `heading` (header and rule left out)."""
    rows = []
    in_table = False
    for line in section(page, heading, subsections=False).splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = tuple(cell.strip() for cell in line.strip().strip("|").split(" | "))
        if not in_table:  # the header
            in_table = True
            continue
        if set(line) <= set("|-: "):
            continue
        rows.append(cells)
    return rows


def mentions(page: str, fact: str, heading: str | None = None) -> bool:
    """Whether the page (or its section) states `fact`, however the lines are wrapped."""
    where = text(page) if heading is None else section(page, heading)
    return flat(fact) in flat(where)


def code_spans(page: str) -> list[str]:
    """Every inline code span (`...`), its whitespace collapsed (a span may be wrapped)."""
    prose = re.sub(r"^```.*?^```", "", text(page), flags=re.MULTILINE | re.DOTALL)
    return [flat(span) for span in re.findall(r"`([^`]+)`", prose)]


def code_blocks(page: str, heading: str | None = None) -> list[str]:
    """The contents of the fenced code blocks (of the page, or of its section)."""
    where = text(page) if heading is None else section(page, heading)
    return re.findall(r"^```[\w-]*\n(.*?)^```", where, flags=re.MULTILINE | re.DOTALL)


def links(page: str) -> list[str]:
    """The targets of the page's markdown links."""
    return re.findall(r"\]\(([^)\s]+)\)", text(page))
