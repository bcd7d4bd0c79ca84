"""The report's page in a real browser (headless Chromium): summary first, every section there, every plot drawn, offline."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tfvarbench.cli import main

ROOT = Path(__file__).resolve().parent.parent
# Offline and quiet: no network, no first-run or sync work, a profile of its own.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SECTIONS = ["summary", "CPU_0", "CPU_1", "comparison", "fastest", "cost-model", "bandwidth", "plots"]


def chromium() -> str:
    """The browser; missing is a failure, not a skip: .ci/run installs it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is not installed (Debian: apt-get install chromium; .ci/run does this)"
    return found


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's run as a report, made by the command users run."""
    out = tmp_path_factory.mktemp("page") / "report"
    assert main(["report", str(ROOT / "results/examples/quick-2cpu.json"), "--out", str(out)]) == 0
    return out / "index.html"


def rendered(page: Path, tmp_path: Path) -> str:
    """The DOM after the page's script ran (virtual time lets the load event fire before the dump)."""
    result = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_page_opens_offline_with_the_summary_first_and_every_plot_drawn(page: Path, tmp_path: Path) -> None:
    dom = rendered(page, tmp_path)
    assert not re.search(r"""(src|href)=["']https?:""", dom)  # nothing to fetch: it opens offline
    ids = re.findall(r'<section id="([^"]+)"', dom)
    assert ids == SECTIONS  # the summary first, then the evidence, plots last
    assert ids[0] == "summary" and "What to use on this machine" in dom.split('<section id="CPU_0"')[0]
    contents = dom.split('<nav class="toc">')[1].split("</nav>")[0]
    assert re.findall(r'href="#([^"]+)"', contents) == SECTIONS
    images = re.findall(r"<img [^>]*>", dom)
    pngs = [p for p in page.parent.iterdir() if p.suffix == ".png"]
    assert len(images) == len(pngs) >= 5
    assert all('data-loaded="yes"' in img for img in images), [img[:200] for img in images if 'data-loaded="yes"' not in img]
    assert re.search(rf'id="page-status"[^>]*data-images="{len(images)}/{len(images)}"', dom)
    # The script marked the numeric columns (right-aligned, sorted by value with its unit).
    comparison = dom.split('<section id="comparison">')[1].split("</section>")[0]
    assert 'class="num"' in comparison


def test_a_table_sorts_by_time_with_its_unit(page: Path, tmp_path: Path) -> None:
    """Click the "median" header of the fastest table: rows come out in time order, ms after µs."""
    sorted_page = page.parent / "sorted.html"
    click = ("<script>window.addEventListener('load',function(){var t=document.querySelector('#fastest table');"
             "var h=Array.prototype.find.call(t.tHead.rows[0].cells,function(c){return c.textContent==='median'});h.click();});</script>")
    sorted_page.write_text(page.read_text().replace("</body>", click + "</body>"))
    table = rendered(sorted_page, tmp_path).split('<section id="fastest">')[1].split("</table>")[0]
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    column = headers.index("median")
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row)[column] for row in rows]
    scale = {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
    values = [float(cell.split()[0]) * scale[cell.split()[1]] for cell in cells]
    assert len(values) > 10 and values == sorted(values)
