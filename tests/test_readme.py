"""The README is a front door: short, its links resolve, and its example tables are what the report makes of the example run."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tfvarbench.cli import main
from tfvarbench.cli.readme import BEGIN, END, EXAMPLE, block, replace_block

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens (outside code blocks)."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    found = set()
    for title in re.findall(r"^#+ (.+)$", text, flags=re.M):
        found.add(re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-"))
    return found


def test_the_readme_is_at_most_about_250_lines_and_keeps_the_two_quick_start_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    assert "pip install -e . && pytest benchmarks" in text and 'pip install -e ".[test]" && pytest tests --logical-cpus 2' in text
    assert "results/examples/report.png" in text


def broken_links(page: Path) -> tuple[list[str], int]:
    """The relative links of a page that lead nowhere (a missing file, or no such heading), and how many were checked."""
    broken, checked = [], 0
    for target in LINK.findall(re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)):
        if re.match(r"^[a-z]+:", target):
            continue  # a web address: not this repository's to check
        name, _, anchor = target.partition("#")
        linked = (page.parent / name).resolve() if name else page
        if not linked.exists():
            broken.append(f"{target} does not exist")
        elif anchor and anchor not in anchors(linked):
            broken.append(f"{target} has no such heading")
        checked += 1
    return broken, checked


def test_every_relative_link_in_the_readme_and_docs_resolves() -> None:
    found = {page.relative_to(ROOT): broken_links(page) for page in PAGES}
    assert {str(page): broken for page, (broken, _) in found.items() if broken} == {}
    assert sum(checked for _, checked in found.values()) >= 10
    linked_docs = {Path(t.partition("#")[0]).name for t in LINK.findall((ROOT / "README.md").read_text(encoding="utf-8"))}
    assert {p.name for p in PAGES[1:]} <= linked_docs  # every doc is reachable from the front door


def test_a_broken_link_is_caught(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# There\n")
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[a](missing.md) [b](#title) [c](#no-such) [d](there.md#there) [e](there.md#gone) [f](https://example.com/x)\n")
    assert broken_links(page) == (["missing.md does not exist", "#no-such has no such heading", "there.md#gone has no such heading"], 5)


def test_the_readme_tables_are_the_report_of_the_example_run() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    expected = block(ROOT / EXAMPLE).strip()
    assert quoted == expected, "README.md's tables differ from the example run's report: run `tfvarbench readme`"
    assert quoted.startswith("## What to use on this machine") and "\n### Write new values" in quoted


def test_a_changed_figure_makes_the_readme_differ() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tampered = text.replace(" fastest |", " fastest! |", 1)
    assert tampered != text
    assert tampered.split(BEGIN, 1)[1].split(END, 1)[0].strip() != block(ROOT / EXAMPLE).strip()


def test_refreshing_replaces_only_what_stands_between_the_markers() -> None:
    before = f"# Title\n\nintro\n\n{BEGIN}\nold tables\n{END}\n\nmore\n"
    after = replace_block(before, "new tables\n", "README.md")
    assert after == f"# Title\n\nintro\n\n{BEGIN}\n\nnew tables\n\n{END}\n\nmore\n"
    assert replace_block(after, "new tables\n", "README.md") == after


def test_a_readme_without_markers_is_one_line_and_nothing_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no markers here\n")
    assert main(["readme", str(ROOT / EXAMPLE), "--readme", str(readme), "--screenshot", "none"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"tfvarbench readme: {readme}: needs one line")
    assert readme.read_text() == "# no markers here\n" and sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]


def test_refreshing_a_readme_writes_its_tables(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Mine\n\n{BEGIN}\n{END}\n")
    run = tmp_path / "examples" / "run.json"
    run.parent.mkdir()
    run.write_bytes((ROOT / EXAMPLE).read_bytes())
    assert main(["readme", str(run), "--readme", str(readme), "--screenshot", "none"]) == 0
    assert readme.read_text().split(BEGIN)[1].split(END)[0].strip() == block(run).strip()
    assert sorted(p.name for p in run.parent.iterdir()) == ["run.json"]  # no plots were there, so none were written
