"""The report as one self-contained HTML page, rendered from the same sections as the Markdown."""
from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from typing import Any

from .document import Section

__all__ = ["LEGIBLE", "page", "page_id"]

# A chart is never shown narrower than this share of the width it was drawn at (its smallest text, 7 pt at 96 dpi,
# stays about 7 px): where the page has less room it scrolls sideways in its own box instead of shrinking.
LEGIBLE = 0.8


def page_id(name: str) -> str:
    """The HTML id of a report page: its file name without the extension (summary, CPU_0, comparison)."""
    return name.rsplit(".", 1)[0]


def _code(text: str) -> Any:
    """Text escaped, with `inline code` spans (the only markup sections use) shown as code."""
    from markupsafe import Markup, escape

    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _drawn(png: bytes) -> dict[str, int]:
    """A PNG's width and height in pixels (its header's IHDR), and the least width the page may show it at."""
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return {"width": width, "height": height, "least": math.ceil(LEGIBLE * width)}


def page(pages: dict[str, list[Section]], images: dict[str, bytes], runs: Sequence[Any], captions: dict[str, str] | None = None) -> str:
    """Every page's sections as HTML tables in the order given, a table of contents, every PNG inlined
    (a section's chart beside its table, the rest under Plots), through templates/report.html.j2."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(loader=PackageLoader("tfvarbench.render", "templates"), autoescape=select_autoescape(["html", "j2"]))
    environment.filters["code"] = _code
    captions = captions or {}
    beside = {part.chart for parts in pages.values() for part in parts if part.chart}
    sources = {name: {"src": "data:image/png;base64," + base64.b64encode(data).decode(), **_drawn(data)}
               for name, data in images.items() if name.endswith(".png")}
    # A chart drawn beside its table is not repeated among the plots.
    pictures = [{"name": name, "caption": captions.get(name, name), **image} for name, image in sources.items() if name not in beside]
    sections = [{"id": page_id(name), "title": parts[0].title if parts else page_id(name), "parts": parts} for name, parts in pages.items()]
    return environment.get_template("report.html.j2").render(sections=sections, pictures=pictures, charts=sources, runs=runs)
