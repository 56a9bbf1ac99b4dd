"""docs/configuration.md's key table, generated from components/config/keys.py.

After changing the table: `.venv/bin/python -m components.config.reference`
rewrites the part of the doc between the markers; a test fails while they differ.
"""

from __future__ import annotations

from pathlib import Path

from components.config.keys import KEYS, Key

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
COMMAND = ".venv/bin/python -m components.config.reference"
BEGIN = f"<!-- generated from components/config/keys.py by `{COMMAND}`: edit the table there -->"
END = "<!-- end of generated table -->"


def _type(key: Key) -> str:
    if key.choices:
        return "one of " + ", ".join(f"`{choice}`" for choice in key.choices)
    return key.type


def _default(key: Key) -> str:
    if key.shown_default is not None:
        return key.shown_default
    if key.default is None:
        return "unset"
    if isinstance(key.default, bool):
        return f"`{str(key.default).lower()}`"
    if isinstance(key.default, tuple):
        return f"`[{', '.join(key.default)}]`"
    return f"`{key.default}`"


def table() -> str:
    rows = [f"| `{key.name}` | {_type(key)} | {_default(key)} | {key.used_by} | {key.doc} |" for key in KEYS]
    return "\n".join(["| key | type | default | used by | meaning |", "|---|---|---|---|---|", *rows])


def updated(doc: str) -> str:
    """DOC with the text between the markers replaced by the current table."""
    before, _, rest = doc.partition(BEGIN + "\n")
    _, found, after = rest.partition(END)
    if not found:
        raise ValueError(f"{DOC} lacks the markers {BEGIN!r} and {END!r}")
    return f"{before}{BEGIN}\n{table()}\n{END}{after}"


if __name__ == "__main__":
    DOC.write_text(updated(DOC.read_text()))
