"""The report's page in a real browser (headless Chromium): the summary's tables first, every chart and plot drawn, sorting, the first screen, offline."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tfvarbench.cli import main
from tfvarbench.cli.readme import LEAST_WINDOW, framed, screenshot

ROOT = Path(__file__).resolve().parent.parent
# Offline and quiet: no network, no first-run or sync work, a profile of its own.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SECTIONS = ["summary", "CPU_0", "CPU_1", "comparison", "fastest", "cost-model", "bandwidth", "time", "plots"]  # time: where the run's time went (render/spent.py)


BROWSER_ENV = "TFVARBENCH_CHROMIUM"  # a Chromium of your own (a path), when none is on PATH
GET_ONE = f"apt-get install chromium, or set {BROWSER_ENV} to a Chromium or Chrome binary"


def find_chromium() -> str | None:
    """The browser: TFVARBENCH_CHROMIUM, else chromium (or chromium-browser) on PATH; None when there is none."""
    given = os.environ.get(BROWSER_ENV)
    if given:
        return given if Path(given).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium() -> str:
    """The browser. Without one the page tests are skipped, saying how to get one; in CI (CI set) that is a failure:
    .ci/run installs Debian's, and a green CI must have opened the page."""
    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium in CI: {GET_ONE} (.ci/run installs Debian's)", pytrace=False)
        pytest.skip(f"no Chromium here: {GET_ONE}")
    return found


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's run as a report, made by the command users run (once a browser is known to be there to open it)."""
    chromium()
    out = tmp_path_factory.mktemp("page") / "report"
    assert main(["report", str(ROOT / "results/examples/quick-2cpu.json"), "--out", str(out)]) == 0
    return out / "index.html"


def rendered(page: Path, tmp_path: Path, window: tuple[int, int] = (1400, 900)) -> str:
    """The DOM after the page's script ran (virtual time lets the load event fire before the dump)."""
    result = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={window[0]},{window[1]}", "--hide-scrollbars",
         "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.slow  # a browser: end to end
def test_the_page_opens_offline_with_the_summary_first_and_every_plot_drawn(page: Path, tmp_path: Path) -> None:
    dom = rendered(page, tmp_path)
    assert not re.search(r"""(src|href)=["']https?:""", dom)  # nothing to fetch: it opens offline
    ids = re.findall(r'<section id="([^"]+)"', dom)
    assert ids == SECTIONS  # the summary first, then the evidence, plots last
    summary = dom.split('<section id="summary">')[1].split("</section>")[0]
    assert "What to use on this machine" in summary
    # The summary's tables come first: the first table of the page is the first job's, before any list.
    assert dom.index("<table") > dom.index('<section id="summary">') and summary.index("<table") < summary.find("<ul>")
    assert summary.index("Write new values") < summary.index("<table")
    contents = dom.split('<nav class="toc">')[1].split("</nav>")[0]
    assert re.findall(r'href="#([^"]+)"', contents) == SECTIONS
    images = re.findall(r"<img [^>]*>", dom)
    pngs = [p for p in page.parent.iterdir() if p.suffix == ".png"]
    assert len(images) == len(pngs) >= 5
    # Each job's table has its chart beside it, and it drew.
    jobs = re.findall(r'<div class="job">(.*?)</figure>', summary, re.S)
    assert len(jobs) == summary.count("<table") >= 6
    assert all('data-loaded="yes"' in job and 'data-name="glance-' in job for job in jobs)
    assert all('data-loaded="yes"' in img for img in images), [img[:200] for img in images if 'data-loaded="yes"' not in img]
    assert re.search(rf'id="page-status"[^>]*data-images="{len(images)}/{len(images)}"', dom)
    # The script marked the numeric columns (right-aligned, sorted by value with its unit).
    comparison = dom.split('<section id="comparison">')[1].split("</section>")[0]
    assert 'class="num"' in comparison


def _clicked(page: Path, tmp_path: Path, section: str, header: str) -> str:
    """The first table of `section` as the browser shows it after its `header` (JavaScript, with `t` the table) was clicked."""
    clicked = page.parent / f"clicked-{section}.html"
    script = (f"<script>window.addEventListener('load',function(){{var t=document.querySelector('#{section} table');"
              f"{header}.click();}});</script>")
    clicked.write_text(page.read_text().replace("</body>", script + "</body>"))
    return rendered(clicked, tmp_path).split(f'<section id="{section}">')[1].split("</table>")[0]


def _body_rows(table: str) -> list[str]:
    return re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)


def _seconds(cell: str) -> float:
    """A time as a table shows it ("4.61 µs") in seconds."""
    number, unit = cell.split()[:2]
    return float(number) * {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


@pytest.mark.slow  # a browser: end to end
def test_a_table_sorts_by_time_with_its_unit(page: Path, tmp_path: Path) -> None:
    """Click the "median" header of the fastest table: rows come out in time order, ms after µs."""
    header = "Array.prototype.find.call(t.tHead.rows[0].cells,function(c){return c.textContent==='median'})"
    table = _clicked(page, tmp_path, "fastest", header)
    column = re.findall(r"<th[^>]*>([^<]*)</th>", table).index("median")
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row)[column] for row in _body_rows(table)]
    values = [_seconds(cell) for cell in cells]
    assert len(values) > 10 and values == sorted(values)


@pytest.mark.slow  # a browser: end to end
def test_the_summary_tables_sort_by_time_with_its_unit(page: Path, tmp_path: Path) -> None:
    """Click a size column of the first job's table: its ways come out fastest first."""
    table = _clicked(page, tmp_path, "summary", "t.tHead.rows[0].cells[3]")
    cells = [re.sub(r"<[^>]+>", "", re.findall(r"<td[^>]*>(.*?)</td>", row)[3]) for row in _body_rows(table)]
    values = [_seconds(cell) for cell in cells if cell != "–"]
    assert len(values) >= 3 and values == sorted(values) and "fastest" in cells[0]


@pytest.mark.slow  # a browser: end to end
def test_the_first_screen_shows_at_least_two_jobs_tables(page: Path, tmp_path: Path) -> None:
    """At 1400 x 900 the bottom of the second job's table is inside the first 900 pixels (the page's script measures it;
    a headless window's inner height is less than its size, a screenshot's is not, so the 900 is fixed)."""
    measured = page.parent / "measured.html"
    probe = ("<script>window.addEventListener('load',function(){var s=document.getElementById('page-status');"
             "var t=document.querySelectorAll('#summary table');var seen=0;"
             "Array.prototype.forEach.call(t,function(x){if(x.getBoundingClientRect().bottom<=900)seen++;});"
             "s.setAttribute('data-first-screen',seen+'/'+window.innerWidth+'x'+window.innerHeight);});</script>")
    measured.write_text(page.read_text().replace("</body>", probe + "</body>"))
    found = re.search(r'data-first-screen="(\d+)/(\d+)x(\d+)"', rendered(measured, tmp_path))
    assert found, "the probe did not run"
    tables, width, _ = map(int, found.groups())
    assert width == 1400 and tables >= 2


# A chart shown at less than this share of its drawn width has text below about 7 px (its smallest is 7 pt at 96 dpi).
LEGIBLE = 0.75
# What a reader checks by looking, measured by the page itself once everything loaded: the page within the window and
# every element within the page's text column, but those inside a box that scrolls sideways (a wide table, a wide plot);
# every image drawn, at a legible size. The page runs in a frame of the window's width (Chromium makes no narrower
# window than 500 px), and says what it found on the frame's parent, which --dump-dom prints.
FIT_PROBE = """<script>window.addEventListener('load',function(){
var width=document.documentElement.clientWidth,wide=[],small=[],broken=[],each=function(l,f){Array.prototype.forEach.call(l,f);};
var main=document.querySelector('main'),style=getComputedStyle(main),box=main.getBoundingClientRect();
var left=box.left+parseFloat(style.paddingLeft),right=box.right-parseFloat(style.paddingRight);
function inScroller(e){for(var p=e.parentElement;p&&p!==main;p=p.parentElement){var o=getComputedStyle(p).overflowX;
if(o==='auto'||o==='scroll')return true;}return false;}
function name(e,r){return e.tagName.toLowerCase()+(e.id?'#'+e.id:'')+(e.className?'.'+e.className:'')+(e.dataset.name?'['+e.dataset.name+']':'')+' '+Math.round(r.left)+'..'+Math.round(r.right);}
if(box.left<-0.5||box.right>width+0.5)wide.push(name(main,box));
each(main.querySelectorAll('*'),function(e){var r=e.getBoundingClientRect();
if(e.tagName==='SCRIPT'||(r.width===0&&r.height===0)||inScroller(e))return;
if(r.right>right+0.5||r.left<left-0.5)wide.push(name(e,r));});
each(document.images,function(i){var r=i.getBoundingClientRect();if(!(i.complete&&i.naturalWidth>0)){broken.push(i.dataset.name);return;}
if(r.width<LEGIBLE*i.naturalWidth-0.5)small.push(i.dataset.name+' '+Math.round(r.width)+' of '+i.naturalWidth+' px');});
parent.document.body.setAttribute('data-fit',JSON.stringify({width:width,scrollWidth:document.documentElement.scrollWidth,
wide:wide,small:small,broken:broken,images:document.images.length}));});</script>"""


@pytest.mark.slow  # a browser: end to end
@pytest.mark.parametrize("width", [1400, 390])  # a desktop window and a phone
def test_the_page_fits_the_window_and_every_chart_is_legible(page: Path, tmp_path: Path, width: int) -> None:
    """Nothing wider than the page (a wide table scrolls in its own box), every chart drawn at a legible size
    (stacked under its table when there is no room beside it). The screenshot is for the person who changes the page."""
    probed = page.parent / f"fit-{width}.html"
    probed.write_text(framed(page, width, 900, FIT_PROBE.replace("LEGIBLE", str(LEGIBLE))))
    found = re.search(r'data-fit="([^"]+)"', rendered(probed, tmp_path, (max(width, LEAST_WINDOW), 900)))
    assert found, "the probe did not run"
    fit = json.loads(html.unescape(found.group(1)))
    shot = page.parent / f"page-{width}.png"
    screenshot(page, shot, (width, 900))
    assert fit["width"] == width and fit["images"] >= 5, fit
    assert fit["wide"] == [] and fit["scrollWidth"] <= width, (fit, str(shot))
    assert fit["small"] == [], (fit, str(shot))
    assert fit["broken"] == [], (fit, str(shot))


@pytest.mark.parametrize(("ci", "outcome"), [("", "1 skipped"), ("true", "1 error")])
def test_without_chromium_the_page_tests_skip_saying_how_to_get_one_but_fail_in_ci(run_pytest, plugins_env, ci: str, outcome: str) -> None:
    env = {k: v for k, v in plugins_env().items() if k not in ("CI", BROWSER_ENV)}
    env.update(PATH=str(Path(sys.executable).parent), **({"CI": ci} if ci else {}))  # only the interpreter: no chromium on PATH
    result = run_pytest("tests/test_page.py", "-m", "slow", "-k", "first_screen", "-rs", env=env, timeout=120)
    assert outcome in result.stdout, result.stdout[-2000:]
    said = f"no Chromium in CI: {GET_ONE}" if ci else f"no Chromium here: {GET_ONE}"
    assert said in result.stdout
