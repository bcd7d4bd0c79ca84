"""`tfvarbench readme [RUN]`: the README's "what to use" tables, the docs' plots and the screenshots, from one saved run.

The README quotes the report of results/examples' quick run; tests/test_readme.py fails when the
tables between its markers differ from `block(RUN)`. This refreshes them, the example plots the docs
show, and the page's screenshot, in one step, after a new example run is committed.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..render.document import markdown
from ..render.report import build_report, write_report
from ..runs import atomic_write, load_run
from .usage import BadInput

__all__ = ["BEGIN", "END", "LEAST_WINDOW", "PHONE", "WINDOW", "block", "framed", "replace_block", "screenshot"]

BEGIN = "<!-- tfvarbench readme: begin (tfvarbench readme writes between these lines) -->"
END = "<!-- tfvarbench readme: end -->"
EXAMPLE = "results/examples/quick-2cpu.json"
# The first screen a reader sees; tests/test_page.py checks two jobs' tables fit in it.
WINDOW = (1400, 900)
PHONE = (390, 844)  # and a phone's: the page holds at both (tests/test_page.py)


def block(run: str | Path) -> str:
    """The report's summary of `run` (summary.md) one heading level down, as the README holds it."""
    pages = build_report([load_run(run)], plots=False).pages
    return markdown([replace(section, level=section.level + 1) for section in pages["summary.md"]])


def replace_block(text: str, new: str, name: str) -> str:
    """`text` with what stands between the markers replaced by `new`; BadInput when the markers are missing."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise BadInput(f"{name}: needs one line {BEGIN!r} and, after it, one line {END!r}")
    head, rest = text.split(BEGIN)
    return f"{head}{BEGIN}\n\n{new}\n{END}{rest.split(END, 1)[1]}"


# Headless Chromium makes no window narrower than this; a phone's page is shown in a frame of its width inside one.
LEAST_WINDOW = 500


def framed(page: Path, width: int, height: int, script: str = "") -> str:
    """A page holding `page` in a frame `width` wide (its own document, as a window that wide shows it), `script` run in the frame."""
    import html

    inner = page.read_text(encoding="utf-8").replace("</body>", script + "</body>")
    return (f'<!doctype html><html><body style="margin:0"><iframe style="border:0;display:block" width="{width}" height="{height}" '
            f'srcdoc="{html.escape(inner, quote=True)}"></iframe></body></html>')


def screenshot(page: Path, png: Path, window: tuple[int, int] = WINDOW) -> None:
    """The page's first screen in headless Chromium, as a PNG written whole (a window narrower than Chromium makes: framed)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise BadInput("chromium is not installed (Debian: apt-get install chromium); needed for --screenshot")
    with tempfile.TemporaryDirectory() as scratch:
        shot, shown = Path(scratch) / "shot.png", page
        if window[0] < LEAST_WINDOW:
            shown = Path(scratch) / "framed.html"
            shown.write_text(framed(page, *window), encoding="utf-8")
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars", f"--user-data-dir={scratch}/profile",
             f"--window-size={max(window[0], LEAST_WINDOW)},{window[1]}", "--virtual-time-budget=5000", f"--screenshot={shot}", shown.as_uri()],
            capture_output=True, timeout=120, check=False,
        )
        if not shot.exists():
            raise BadInput(f"{png}: chromium made no screenshot of {page}")
        if window[0] < LEAST_WINDOW:
            from PIL import Image

            with Image.open(shot) as full:
                full.crop((0, 0, window[0], window[1])).save(shot)
        staging = png.with_name(png.name + ".tmp")
        shutil.copyfile(shot, staging)
        staging.replace(png)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("readme", help="refresh the README's tables, the example plots and the screenshot from a saved run")
    parser.add_argument("saved", nargs="?", default=EXAMPLE, metavar="RUN", help=f"the saved run the README quotes (default: {EXAMPLE})")
    parser.add_argument("--readme", default="README.md", help="the file with the markers (default: README.md)")
    parser.add_argument("--screenshot", default=None, metavar="PNG",
                        help="where the page's first screen goes (default: report.png beside the run, and a phone's beside it "
                             "as report-390.png); 'none' to skip")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    readme = Path(args.readme)
    if not readme.is_file():
        raise BadInput(f"{readme}: no such file")
    text = replace_block(readme.read_text(encoding="utf-8"), block(args.saved), str(readme))
    examples = Path(args.saved).parent
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "report"
        report = write_report([load_run(args.saved)], out)
        # Only the plots already beside the run are replaced: the ones the docs show.
        plots = [name for name in report.images if (examples / name).exists()]
        for name in plots:
            atomic_write(examples / name, report.images[name])
        shot = None if args.screenshot == "none" else Path(args.screenshot or examples / "report.png")
        if shot is not None:
            screenshot(out / "index.html", shot)
            screenshot(out / "index.html", shot.with_name(f"{shot.stem}-{PHONE[0]}{shot.suffix}"), PHONE)
    atomic_write(readme, text)
    print(f"{readme}: tables of {args.saved}; plots {', '.join(plots) or 'none'}; screenshot {shot or 'skipped'}")
    return 0
