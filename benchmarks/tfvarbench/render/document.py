"""A report as data: sections with a title, a sentence or two and a table of cells, rendered to any format.

Tables are built once, as rows of text cells; Markdown (here) and HTML (html.py) are two views of
the same rows, so the formats can never disagree.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tabulate import tabulate

__all__ = ["Section", "markdown"]


@dataclass(frozen=True)
class Section:
    """A heading at `level` (1 is a page's title), its text, and optionally one table."""

    title: str
    level: int = 1
    text: str = ""
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = field(default=(), repr=False)
    bullets: tuple[str, ...] = ()  # shown after the table
    marks: tuple[tuple[str, ...], ...] = field(default=(), repr=False)  # per cell a word for the page's style ("fastest", "tied")
    chart: str = ""  # an image of the report the page draws beside the table

    @property
    def anchor(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")


def markdown(sections: Sequence[Section]) -> str:
    """Sections as GitHub-flavoured Markdown."""
    parts = []
    for section in sections:
        block = [f"{'#' * section.level} {section.title}"]
        if section.text:
            block.append(section.text)
        if section.headers:
            block.append(tabulate(list(section.rows), headers=list(section.headers), tablefmt="github"))
        if section.bullets:
            block.append("\n".join(f"- {line}" for line in section.bullets))
        parts.append("\n\n".join(block))
    return "\n\n".join(parts) + "\n"
