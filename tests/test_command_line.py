"""The `tfvarbench` command as a user meets it: options checked alike, help, Ctrl-C, and the machine's bounds (issue 23)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tfvarbench.cli import main
from tfvarbench.measure.limits import cores, count_problem

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ROOT / "results" / "baselines"
RUN1, RUN2 = str(BASELINES / "quick-2cpu-pinned-run1.json"), str(BASELINES / "quick-2cpu-pinned-run2.json")
SUBCOMMANDS = ("report", "compare", "history", "interleave", "doctor")


def _tfvarbench(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tfvarbench", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_tfvarbench_alone_and_version_list_every_subcommand() -> None:
    alone = _tfvarbench()
    assert alone.returncode == 2 and alone.stderr.startswith("tfvarbench: name a subcommand\n")
    version = _tfvarbench("--version")
    assert version.returncode == 0 and version.stdout.startswith("tfvarbench 0.1.0\n")
    for listing in (alone.stderr, version.stdout):
        assert all(f"    {name}" in listing for name in SUBCOMMANDS), listing


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_help_says_what_it_does_and_how_it_exits(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as leaving:
        main([name, "--help"])
    assert leaving.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0 " in text and "2 bad input" in text and "130 interrupted (Ctrl-C)" in text
    if name == "compare":
        assert "1 a case got slower" in text
    if name == "interleave":
        assert "/bin/sh -c" in text and "shell-quoted already, so write {results} bare" in text


@pytest.mark.parametrize("threshold", ["-1", "0", "nan", "inf"])
def test_history_checks_its_threshold_as_compare_does(threshold: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["history", str(BASELINES), "--out", str(tmp_path / "h")], ["compare", RUN1, RUN2]):
        assert main([*argv, "--threshold", threshold]) == 2
        assert capsys.readouterr().err == f"tfvarbench {argv[0]}: --threshold {float(threshold)}: must be a fraction such as 0.1\n"
    assert not (tmp_path / "h").exists()


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["history", str(BASELINES), "--out", "{tmp}/h", "--min-run", "0"], "--min-run 0: must be at least 1"),
        (["interleave", "--baseline", "true {results}", "--current", "true {results}", "--out", "{tmp}/il", "--repeats", "0"],
         "--repeats 0: must be at least 1"),
        (["interleave", "--baseline", "cp x '{results}'", "--current", "true {results}", "--out", "{tmp}/il"],
         "--baseline: {results} is in quotes, but tfvarbench quotes the folder itself: write {results} bare"),
    ],
    ids=["min-run", "repeats", "quoted-results"],
)
def test_counts_and_commands_are_checked_before_any_work(argv: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([arg.replace("{tmp}", str(tmp_path)) for arg in argv]) == 2
    assert capsys.readouterr().err == f"tfvarbench {argv[0]}: {said}\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("config", "said"),
    [
        (None, "--config {path}: no such file"),
        ("tool = 1\n", "{path}: `tool` must be a table, got int 1"),
        ("[tool]\ntfvarbench = 'strict'\n", "{path}: `tfvarbench` must be a table, got str 'strict'"),
    ],
    ids=["missing", "tool-not-a-table", "tfvarbench-not-a-table"],
)
def test_a_named_config_that_cannot_be_read_is_one_line_and_exit_2(config: str | None, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pyproject.toml"
    if config is not None:
        path.write_text(config)
    assert main(["compare", RUN1, RUN2, "--config", str(path)]) == 2
    assert capsys.readouterr().err == f"tfvarbench compare: {said.format(path=path)}\n"


def test_a_misspelt_setting_and_a_glob_matching_no_case_are_warned_about_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.tfvarbench.threshold]\n"assignment/*" = 0.2\n\n[tool.tfvarbench.thresholds]\n"asignment/*" = 0.2\n"assignment/*" = 0.3\n')
    assert main(["compare", RUN1, RUN2, "--config", str(config)]) in (0, 1)
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [
        f"tfvarbench compare: warning: {config}: [tool.tfvarbench.threshold] is not a tfvarbench setting (it reads thresholds); ignored",
        f"tfvarbench compare: warning: {config}: threshold 'asignment/*' matches no case of these runs; is it misspelt?",
    ]


def test_interleave_refuses_a_command_that_saved_something_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes = "echo '{\"notes\": 1}' > {results}/notes.json"
    assert main(["interleave", "--baseline", notes, "--current", notes, "--repeats", "1", "--out", str(tmp_path / "il")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"tfvarbench interleave: --baseline command, run 1, saved something that is not a run: {tmp_path / 'il' / 'baseline' / '01' / 'notes.json'}: ")


def test_the_machine_bounds_logical_cpus_and_workers_with_the_bound_in_the_message() -> None:
    assert count_problem(4, 2, available=4) is None and count_problem(1, 2, available=1) is None  # two workers always
    assert count_problem(5, 2, available=4) == (
        "--logical-cpus 5: at most 4 on this machine (4 cores; more logical CPUs would share cores and time each other)"
    )
    assert count_problem(1, 5, available=4).startswith("--workers 5: at most 4 on this machine")


def test_doctor_answers_an_impossible_split_at_once_without_starting_tensorflow() -> None:
    code = "import sys; from tfvarbench.cli import main; code = main(sys.argv[1:]); print('tensorflow' in sys.modules); sys.exit(code)"
    for flag in ("--logical-cpus", "--workers"):
        done = subprocess.run([sys.executable, "-c", code, "doctor", flag, "1000"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and done.stdout == "False\n"
        assert done.stderr == f"tfvarbench doctor: {count_problem(1000 if flag == '--logical-cpus' else 1, 1000 if flag == '--workers' else 2)}\n"
        assert f"at most {max(cores(), 2) if flag == '--workers' else cores()} on this machine" in done.stderr


def test_pytest_refuses_an_impossible_split_before_collecting(run_pytest) -> None:
    done = run_pytest("benchmarks", "--logical-cpus", "1000", "--collect-only", "-q")
    assert done.returncode == 4, done.stdout + done.stderr
    assert f"ERROR: --logical-cpus 1000: at most {cores()} on this machine" in done.stderr


def _interrupt_when(process: subprocess.Popen[str], ready: float, signum: int) -> tuple[int, str]:
    time.sleep(ready)
    os.killpg(process.pid, signum)  # as a terminal's Ctrl-C does: the whole foreground group
    _, err = process.communicate(timeout=120)
    return process.returncode, err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_report_is_one_line_130_and_leaves_nothing(signum: int, saved_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    for ready in (1.5, 0.5, 0.1):  # the report must still be running when the signal comes
        process = subprocess.Popen([sys.executable, "-m", "tfvarbench", "report", str(saved_run), "--out", str(out)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        code, err = _interrupt_when(process, ready, signum)
        if code != 0:
            break
        shutil.rmtree(out)
    assert (code, err) == (130, "tfvarbench report: interrupted\n")
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_interleave_is_one_line_130_and_leaves_no_empty_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "il"
    process = subprocess.Popen(
        [sys.executable, "-m", "tfvarbench", "interleave", "--baseline", "sleep 60 # {results}", "--current", "true {results}", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    assert process.stdout is not None and process.stdout.readline().startswith("[baseline 1/3] sleep 60")
    code, err = _interrupt_when(process, 0.2, signal.SIGINT)
    assert (code, err) == (130, "tfvarbench interleave: interrupted\n")
    assert list(tmp_path.iterdir()) == []
