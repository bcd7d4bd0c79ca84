"""Outputs are written, never destroyed: each command's output paths, as a user names them (issue 23)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tfvarbench.cli import main
from tfvarbench.runs import MARKER, RunError, write_folder

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ROOT / "results" / "baselines"


def _everything(folder: Path) -> dict[str, str]:
    """Every file under `folder`, hidden ones too, with its content: what a command must leave as it was."""
    return {str(path.relative_to(folder)): path.read_bytes().decode(errors="replace") for path in sorted(folder.rglob("*")) if path.is_file()}


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str], *words: str) -> str:
    """Run the command; it must answer exit 2 with one line on stderr holding `words`."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"tfvarbench {argv[0]}: "), err
    for word in words:
        assert word in err, err
    return err


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder nothing can be written in, for root too (immutable), else by its mode; skipped where neither holds."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    undo: list[str] = []
    if os.geteuid() == 0:
        made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True) if shutil.which("chattr") else None
        if made is not None and made.returncode == 0:
            undo = ["chattr", "-i", str(folder)]
    else:
        folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        yield folder
    else:
        pytest.skip("cannot make a folder read-only here (root without chattr +i)")
    finally:
        if undo:
            subprocess.run(undo, check=True)
        folder.chmod(0o755)


def test_a_report_over_an_earlier_one_keeps_the_users_notes(saved_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["report", str(saved_run), "--out", str(out), "--no-plots"]) == 0
    (out / "notes.txt").write_text("the user's notes")
    (out / "mine").mkdir()
    (out / "mine" / "draft.md").write_text("the user's draft")
    assert main(["report", str(saved_run), "--out", str(out), "--no-plots"]) == 0
    assert (out / "notes.txt").read_text() == "the user's notes" and (out / "mine" / "draft.md").read_text() == "the user's draft"
    listed = json.loads((out / MARKER).read_text())
    assert listed["kind"] == "report" and "notes.txt" not in listed["files"] and "index.html" in listed["files"]
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no staging, no .report.old-PID


def test_a_later_write_removes_only_what_the_earlier_one_wrote(tmp_path: Path) -> None:
    out = tmp_path / "report"
    write_folder(out, {"CPU_0.md": "a", "GPU_0.md": "b"}, kind="report")
    (out / "notes.md").write_text("the user's")
    write_folder(out, {"CPU_0.md": "c"}, kind="report")  # this time no GPU: its page goes, the user's stays
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "CPU_0.md", "notes.md"]
    assert (out / "CPU_0.md").read_text() == "c"


def test_a_file_of_the_users_with_a_name_the_report_writes_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "report"
    write_folder(out, {"CPU_0.md": "a"}, kind="report")
    (out / "summary.md").write_text("the user's summary")
    with pytest.raises(RunError, match="summary.md there is not one tfvarbench wrote"):
        write_folder(out, {"CPU_0.md": "b", "summary.md": "tfvarbench's"}, kind="report")
    assert (out / "summary.md").read_text() == "the user's summary" and (out / "CPU_0.md").read_text() == "a"


def test_a_report_made_before_markers_listed_files_is_replaced_file_by_file(saved_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "old"
    out.mkdir()
    (out / MARKER).write_text("This directory is a tfvarbench report; `tfvarbench report --out` may replace it.\n")
    (out / "comparison.md").write_text("earlier comparison")
    (out / "notes.txt").write_text("the user's")
    assert main(["report", str(saved_run), "--out", str(out), "--no-plots"]) == 0
    assert (out / "comparison.md").read_text() != "earlier comparison" and (out / "notes.txt").read_text() == "the user's"


def test_a_report_is_not_written_over_a_history(saved_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "trends"
    write_folder(out, {"history.csv": "x"}, kind="history")
    _refused(["report", str(saved_run), "--out", str(out)], capsys, "holds a tfvarbench history, not a report")


def test_an_output_folder_that_holds_an_input_is_refused_and_nothing_is_lost(saved_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "DIR"
    folder.mkdir()
    shutil.copy(saved_run, folder / "myrun.json")
    before = _everything(folder)
    _refused(["report", str(folder / "myrun.json"), "--out", str(folder)], capsys, f"--out {folder}: holds the input")
    runs = tmp_path / "RUNS"
    runs.mkdir()
    for index, name in enumerate(sorted(BASELINES.iterdir())):
        shutil.copy(name, runs / f"{index}.json")
    (runs / "history.csv").write_text("an earlier history")
    runs_before = _everything(runs)
    _refused(["history", str(runs), "--out", str(runs)], capsys, "holds the input")
    assert _everything(folder) == before and _everything(runs) == runs_before


def test_compare_never_writes_over_its_inputs_or_one_output_over_another(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "A.json", tmp_path / "B.json"
    shutil.copy(BASELINES / "quick-2cpu-pinned-run1.json", a)
    shutil.copy(BASELINES / "quick-2cpu-pinned-run2.json", b)
    saved = b.read_text()
    _refused(["compare", str(a), str(b), "--json", str(b)], capsys, f"--json {b}: is the input")
    same = tmp_path / "F"
    _refused(["compare", str(a), str(b), "--json", str(same), "--markdown", str(same)], capsys, "are the same file")
    sides = tmp_path / "current"
    sides.mkdir()
    shutil.copy(b, sides / "run.json")
    _refused(["compare", str(a), str(sides), "--json", str(sides / "cmp.json")], capsys, "would be read as a saved run")
    assert b.read_text() == saved and not same.exists() and sorted(p.name for p in sides.iterdir()) == ["run.json"]


def test_a_symlinked_out_is_written_where_it_points_and_stays_a_link(saved_run: Path, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "latest-real"
    target.parent.mkdir()
    link = tmp_path / "latest"
    link.symlink_to(target)  # dangling: the report makes its target
    for _ in range(2):  # new, then over the earlier report
        assert main(["report", str(saved_run), "--out", str(link), "--no-plots"]) == 0
        assert link.is_symlink() and (target / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "reports"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["latest-real"]


def test_out_dot_writes_into_the_current_folder_and_leaves_no_staging(saved_run: Path, tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "tfvarbench", "report", str(saved_run), "--out", ".", "--no-plots"],
                              cwd=here, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert (here / "index.html").is_file() and not [p for p in here.iterdir() if p.name.startswith(".") and p.name != MARKER]
    assert [p.name for p in tmp_path.iterdir()] == ["here"]


def test_out_a_mount_point_is_written_into_it(saved_run: Path, tmp_path: Path) -> None:
    point = tmp_path / "mnt"
    point.mkdir()
    script = f"mount -t tmpfs tmpfs {point} && echo mounted && {sys.executable} -m tfvarbench report {saved_run} --out {point} --no-plots && ls -A {point}"
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True) if shutil.which("unshare") else None
    if done is None or "mounted" not in done.stdout:
        pytest.skip("cannot mount a tmpfs here (needs unshare -m and mount, as root)")
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split()
    assert "index.html" in listed and MARKER in listed and not [name for name in listed if name.startswith(".tfvarbench-staging")]


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "{run}", "--out", "{file}/sub"],
        ["history", "{run}", "--out", "{file}/sub"],
        ["compare", "{a}", "{b}", "--json", "{file}/x.json"],
        ["compare", "{a}", "{b}", "--markdown", "{file}/x.md"],
        ["interleave", "--baseline", "true {results}", "--current", "true {results}", "--out", "{file}/il"],
    ],
    ids=["report", "history", "compare-json", "compare-markdown", "interleave"],
)
def test_an_output_under_a_file_is_one_line_and_exit_2(argv: list[str], saved_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    names = {"run": saved_run, "file": blocker, "a": BASELINES / "quick-2cpu-pinned-run1.json", "b": BASELINES / "quick-2cpu-pinned-run2.json"}
    _refused([arg.format(**names) if "{results}" not in arg else arg for arg in argv], capsys, f"{blocker} is a file, so nothing can be made under it")
    assert blocker.read_text() == "a file, not a folder"


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "{run}", "--out", "{ro}/report"],
        ["report", "{run}", "--out", "{ro}"],
        ["history", "{run}", "--out", "{ro}/history"],
        ["compare", "{a}", "{b}", "--json", "{ro}/x.json"],
        ["interleave", "--baseline", "true {results}", "--current", "true {results}", "--out", "{ro}/il"],
    ],
    ids=["report", "report-into", "history", "compare", "interleave"],
)
def test_an_output_in_a_read_only_folder_is_one_line_and_exit_2(
    argv: list[str], saved_run: Path, read_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = {"run": saved_run, "ro": read_only, "a": BASELINES / "quick-2cpu-pinned-run1.json", "b": BASELINES / "quick-2cpu-pinned-run2.json"}
    _refused([arg.format(**names) if "{results}" not in arg else arg for arg in argv], capsys, f"cannot write in {read_only}")
    assert list(read_only.iterdir()) == []


def test_a_folder_where_a_file_is_meant_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = str(BASELINES / "quick-2cpu-pinned-run1.json"), str(BASELINES / "quick-2cpu-pinned-run2.json")
    folder = tmp_path / "DIR"
    folder.mkdir()
    _refused(["compare", a, b, "--json", str(folder)], capsys, f"--json {folder}: is a folder; name a file")
    _refused(["compare", a, b, "--markdown", str(folder)], capsys, f"--markdown {folder}: is a folder; name a file")
    _refused(["compare", a, b, "--config", str(folder)], capsys, f"--config {folder}: not a file")
    _refused(["report", a, "--out", a], capsys, "is a file; name a folder")


class _Interrupted(dict):
    """Files to write whose third one is never made: Ctrl-C arrives while the folder is being written."""

    def items(self):  # type: ignore[override]
        for index, item in enumerate(super().items()):
            if index == 2:
                raise KeyboardInterrupt
            yield item


@pytest.mark.parametrize("earlier", [False, True], ids=["new-folder", "earlier-report"])
def test_ctrl_c_while_writing_leaves_the_folder_as_it_was_and_no_staging(tmp_path: Path, earlier: bool) -> None:
    out = tmp_path / "deep" / "report"
    if earlier:
        write_folder(out, {"comparison.md": "earlier"}, kind="report")
    before = _everything(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        write_folder(out, _Interrupted({"comparison.md": "new", "fastest.md": "new", "index.html": "new"}), kind="report")
    assert _everything(tmp_path) == before
    assert [p.name for p in tmp_path.iterdir()] == (["deep"] if earlier else [])  # the parents it made went too


def test_a_file_system_refusal_is_one_line_and_exit_2_never_1(saved_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 1 is compare's "a case got slower": a name the file system will not take must not look like one."""
    too_long = tmp_path / ("x" * 300 + ".json")
    _refused(["compare", str(BASELINES / "quick-2cpu-pinned-run1.json"), str(BASELINES / "quick-2cpu-pinned-run2.json"),
              "--json", str(too_long)], capsys, "File name too long")
    _refused(["report", str(saved_run), "--out", str(tmp_path / ("y" * 300))], capsys, "File name too long")
    assert list(tmp_path.iterdir()) == []
