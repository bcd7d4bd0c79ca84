"""The report as one self-contained HTML page, rendered from the same sections as the Markdown."""
from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from .document import Section

__all__ = ["page"]


def page(pages: dict[str, list[Section]], images: dict[str, bytes], runs: Sequence[Any]) -> str:
    """Every page's sections as HTML tables, every PNG inlined, through templates/report.html.j2."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(loader=PackageLoader("tfvarbench.render", "templates"), autoescape=select_autoescape(["html", "j2"]))
    pictures = [
        {"name": name, "src": "data:image/png;base64," + base64.b64encode(data).decode()}
        for name, data in images.items()
        if name.endswith(".png")
    ]
    return environment.get_template("report.html.j2").render(pages=pages, pictures=pictures, runs=runs)
