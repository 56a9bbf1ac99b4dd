"""The docs a user finds their way in: a short README that gives the two
commands and links every page of docs/, links that lead somewhere, and the
tests the docs name that exist."""

from __future__ import annotations

import re

import pytest

from components.config import reference as config_reference
from tests.support import docs


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_the_readme_is_a_short_map():
    assert len(docs.text("README.md").splitlines()) <= 200


def test_the_readme_gives_the_two_commands():
    [block] = docs.code_blocks("README.md", "The two commands")
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert commands == ["bash scripts/run-local", "bash scripts/test"]


def test_the_readme_links_every_docs_page():
    linked = {link.split("#")[0] for link in docs.links("README.md")}
    assert {f"docs/{page}" for page in docs.pages() if page != "README.md"} <= linked


@pytest.mark.parametrize("page", docs.pages())
def test_every_relative_link_leads_to_a_page_and_heading_that_exist(page):
    here = docs.path(page).parent
    for link in docs.links(page):
        if re.match(r"^[a-z]+:", link):
            continue
        target, _, fragment = link.partition("#")
        linked = (here / target).resolve() if target else docs.path(page)
        assert linked.exists(), f"{page}: {link}"
        if fragment:
            name = "README.md" if linked == docs.path("README.md") else linked.name
            assert fragment in {anchor(h) for h in docs.headings(name)}, f"{page}: {link}"


def test_every_fault_row_names_tests_that_exist():
    tests = docs.ROOT.joinpath("tests", "test_host_deploy.py").read_text()
    rows = docs.table_rows("host-deploy.md", "Faults")
    assert len(rows) >= 20
    for row in rows:
        named = re.findall(r"`(test_\w+)`", row[-1])
        assert named, row
        for name in named:
            assert f"def {name}(" in tests, f"docs/host-deploy.md Faults names {name}, which is not a test"


def test_every_test_file_the_testing_page_names_exists():
    named = set(re.findall(r"`(tests/test_\w+\.py)`", docs.text("testing.md")))
    assert len(named) >= 10
    assert not [name for name in named if not (docs.ROOT / name).is_file()]


def test_the_configuration_page_keeps_its_generated_table_between_the_markers():
    text = docs.text("configuration.md")
    assert text.index(config_reference.BEGIN) < text.index(config_reference.END)
    assert docs.mentions("configuration.md", "| `sshPort` |")
