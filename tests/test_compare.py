"""`tfvarbench compare`, `history` and `interleave` on runs derived from a real one (no timings asserted)."""
from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path
from typing import Callable

import pytest

from tfvarbench.cli import main
from tfvarbench.analysis.history import find_steps
from tfvarbench.cli.interleave import _order


@pytest.fixture
def make_run(saved_run: Path, tmp_path: Path, deal_blocks) -> Callable[..., Path]:
    """Write a copy of the real run with every round time passed through `change(case, time)`."""
    original = json.loads(saved_run.read_text())
    counter = iter(range(1000))

    def make(
        change: Callable[[dict, float], float] = lambda info, t: t, edit: Callable[[dict], None] | None = None, blocks: int = 1
    ) -> Path:
        run = copy.deepcopy(original if blocks == 1 else deal_blocks(original, blocks))
        for bench in run["benchmarks"]:
            stats = bench["stats"]
            stats["data"] = [change(bench["extra_info"], t) for t in stats["data"]]
            ordered = sorted(stats["data"])
            stats["median"] = ordered[len(ordered) // 2]
        if edit:
            edit(run)
        path = tmp_path / f"run-{next(counter)}.json"
        path.write_text(json.dumps(run))
        return path

    return make


def noisy(spread: float, shift: float = 1.0, seed: int = 0) -> Callable[[dict, float], float]:
    """Each round times `shift` and a random factor within ±spread: machine noise, not a change."""
    rng = random.Random(seed)
    return lambda info, t: t * shift * (1 + rng.uniform(-spread, spread))


def processes(spread: float, seed: int, factor: Callable[[dict], float] = lambda info: 1.0) -> Callable[[dict], None]:
    """An `edit` that sets each block (process) of a case at its own level: the case's time x factor(info),
    times a random process factor with standard deviation `spread`; rounds scatter ±1% around it."""

    def edit(run: dict) -> None:
        rng, level = random.Random(seed), {}
        for bench in run["benchmarks"]:
            base = level.setdefault(bench["name"].rsplit("-block", 1)[0], bench["stats"]["median"])
            process = base * factor(bench["extra_info"]) * (1 + rng.gauss(0, spread))
            data = [process * (1 + rng.uniform(-0.01, 0.01)) for _ in bench["stats"]["data"]]
            bench["stats"].update(data=data, median=sorted(data)[len(data) // 2])

    return edit


def test_identical_runs_are_unchanged_and_exit_0(make_run, capsys) -> None:
    run = make_run(edit=processes(0.01, 1), blocks=3)
    assert main(["compare", str(run), str(make_run(edit=processes(0.01, 2), blocks=3))]) == 0
    out = capsys.readouterr().out
    assert "0 slower" in out and "% of cases can detect a 10% change (median detectable change" in out


def test_a_twenty_percent_slowdown_in_one_family_is_flagged_for_exactly_that_family(make_run, tmp_path: Path) -> None:
    baseline = make_run(edit=processes(0.01, 1), blocks=3)
    current = make_run(edit=processes(0.01, 2, lambda info: 1.2 if info["family"] == "gradient" else 1.0), blocks=3)
    out = tmp_path / "cmp.json"
    md = tmp_path / "cmp.md"
    assert main(["compare", str(baseline), str(current), "--json", str(out), "--markdown", str(md)]) == 1
    result = json.loads(out.read_text())
    slower = {row["name"] for row in result["rows"] if row["verdict"] == "slower"}
    assert slower == {row["name"] for row in result["rows"] if row["name"].startswith("gradient/")}
    assert result["regressions"] == len(slower)
    table = [line for line in md.read_text().splitlines() if line.startswith("| ")][1:]
    verdicts = [line.split("|")[1].strip() for line in table]
    assert verdicts[: len(slower)] == ["slower"] * len(slower)


def test_an_aa_comparison_with_noise_and_a_uniformly_slower_machine_flags_nothing_when_normalised(make_run, capsys) -> None:
    baseline = make_run(edit=processes(0.02, 3), blocks=3)
    current = make_run(edit=processes(0.02, 4, lambda info: 1.3), blocks=3)  # the whole machine 30% slower, yardstick included
    assert main(["compare", str(baseline), str(current)]) == 1
    capsys.readouterr()
    assert main(["compare", str(baseline), str(current), "--normalise"]) == 0
    assert "0 slower" in capsys.readouterr().out


def test_per_case_thresholds_come_from_pyproject_by_glob_and_the_first_match_wins(make_run, tmp_path: Path) -> None:
    current = make_run(edit=processes(0.01, 5, lambda info: 1.2 if info["family"] == "gradient" else 1.0), blocks=3)
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.tfvarbench.thresholds]\n"gradient/*" = 0.5\n"gradient/step_*" = 0.05\n')
    out = tmp_path / "r.json"
    assert main(["compare", str(make_run(edit=processes(0.01, 6), blocks=3)), str(current), "--config", str(config), "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert {row["threshold"] for row in rows if row["name"].startswith("gradient/")} == {0.5}
    assert {row["threshold"] for row in rows if not row["name"].startswith("gradient/")} == {0.1}


def test_a_noisy_case_says_what_it_could_detect_and_that_more_runs_not_blocks_would_do(make_run, tmp_path: Path, capsys) -> None:
    def edit(seed: int):
        def apply(run: dict) -> None:
            processes(0.005, seed)(run)
            rng = random.Random(seed)
            for bench in run["benchmarks"]:  # gradient cases scatter 15% from process to process
                if bench["extra_info"]["family"] == "gradient":
                    bench["stats"]["median"] *= 1 + rng.gauss(0, 0.15)
                    bench["stats"]["data"] = [bench["stats"]["median"]] * len(bench["stats"]["data"])
        return apply
    out = tmp_path / "r.json"
    assert main(["compare", str(make_run(edit=edit(8), blocks=3)), str(make_run(edit=edit(9), blocks=3)), "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    noisy = [row for row in rows if row["name"].startswith("gradient/")]
    steady = [row for row in rows if not row["name"].startswith("gradient/")]
    # With one run a side, runs are taken to drift apart as far as blocks vary: for a case that
    # scatters 15%, that alone is over 10%, and only more runs a side would bring it under.
    assert noisy and all(row["detectable"] > 0.10 and row["blocks_needed"] is None for row in noisy if row["verdict"] == "noisy")
    assert sum(row["verdict"] == "noisy" for row in noisy) >= 0.8 * len(noisy)
    assert all(row["verdict"] == "unchanged" and row["blocks_needed"] is None and row["detectable"] < 0.10 for row in steady)
    printed = capsys.readouterr().out
    assert "more blocks will not do, more runs a side will)" in printed


def test_a_different_machine_is_refused_unless_allowed_and_a_tensorflow_upgrade_is_a_note(make_run, capsys) -> None:
    def other_cpu(run: dict) -> None:
        run["machine_info"]["tfvarbench"]["cpu"]["model"] = "Intel Xeon"

    def newer_tf(run: dict) -> None:
        run["machine_info"]["tfvarbench"]["tensorflow"]["version"] = "2.22.0"

    def pinned(run: dict) -> None:
        run["machine_info"]["tfvarbench"]["settings"] = {"threads": 1, "pinned_to_core": 1, "pythonhashseed": "0"}

    base = make_run(blocks=3)
    assert main(["compare", str(base), str(make_run(edit=pinned, blocks=3))]) == 2
    assert "run settings: () vs (('pinned', 'True'), ('threads', '1'))" in capsys.readouterr().err
    assert main(["compare", str(base), str(make_run(edit=other_cpu, blocks=3))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CPU model: 'AMD EPYC' vs 'Intel Xeon'" in err and "--allow-machine-change" in err
    assert main(["compare", str(base), str(make_run(edit=other_cpu, blocks=3)), "--allow-machine-change"]) == 0
    assert main(["compare", str(base), str(make_run(edit=newer_tf, blocks=3))]) == 0
    assert "TensorFlow 2.21.0 (baseline) vs 2.22.0 (current)" in capsys.readouterr().out


def test_bad_input_is_one_line_and_exit_2(make_run, tmp_path: Path, capsys) -> None:
    def other_cases(run: dict) -> None:
        for bench in run["benchmarks"]:
            bench["extra_info"]["device"] = "GPU:9"

    (tmp_path / "not-a-run.json").write_text('{"x": 1}')
    cases = [
        ([str(tmp_path / "missing.json"), str(make_run())], "missing.json: no such file"),
        ([str(tmp_path / "not-a-run.json"), str(make_run())], "not a saved pytest-benchmark run"),
        ([str(make_run()), str(make_run(edit=other_cases)), "--allow-machine-change"], "no common cases"),
        ([str(make_run()), str(make_run()), "--alpha", "2"], "--alpha 2.0: must be between 0 and 0.5"),
        ([str(make_run()), str(make_run(change=lambda info, t: 1.01 * t))], "one block a side has no spread to judge by"),
    ]
    for args, message in cases:
        assert main(["compare", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and err.startswith("tfvarbench compare: ")


def test_normalise_needs_the_yardstick(make_run, capsys) -> None:
    def drop_yardstick(run: dict) -> None:
        run["benchmarks"] = [b for b in run["benchmarks"] if b["extra_info"]["op"] != "cpu yardstick"]

    assert main(["compare", str(make_run(edit=drop_yardstick)), str(make_run()), "--normalise"]) == 2
    assert "needs the 'reference / cpu yardstick' case" in capsys.readouterr().err


def test_a_sustained_step_is_found_and_a_single_outlier_is_not() -> None:
    flat_then_up = [1.0, 1.02, 0.99, 1.01, 1.2, 1.21, 1.19, 1.2]
    steps = find_steps(flat_then_up)
    assert [(s.at, round(s.ratio, 2)) for s in steps] == [(4, 1.19)]
    assert find_steps([1.0, 1.01, 0.99, 1.5, 1.0, 1.02, 0.98, 1.0]) == []
    assert find_steps([1.0, None, 1.01, 0.99, 0.8, None, 0.79, 0.81])[0].ratio < 0.85


def test_history_writes_csv_trends_and_steps(make_run, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "history"
    folder.mkdir()
    for index, factor in enumerate([1.0, 1.0, 1.0, 1.3, 1.3, 1.3]):
        def stamp(run: dict, index: int = index) -> None:
            run["datetime"] = f"2026-11-{10 + index}T00:00:00+00:00"
        make_run(lambda info, t, f=factor: t * (f if info["case"] == "assign_add" else 1.0), edit=stamp).rename(folder / f"{index}.json")
    assert main(["history", str(folder), "--out", str(tmp_path / "out")]) == 0
    steps = (tmp_path / "out" / "steps.md").read_text()
    rows = [line for line in steps.splitlines() if "assignment/assign_add/" in line]
    assert len(rows) == 6  # 3 sizes x 2 devices, each stepping up 1.3x from the fourth run
    assert all(float(line.split("|")[-2]) == pytest.approx(1.3, abs=0.01) for line in rows)
    assert (tmp_path / "out" / "history.csv").read_text().count("\n") > 6 * 100
    assert len(list((tmp_path / "out").glob("trend-*.png"))) > 100


def test_interleave_alternates_sides_and_saves_each_run(saved_run: Path, tmp_path: Path) -> None:
    assert _order(3) == ["baseline", "current", "current", "baseline", "baseline", "current"]
    # Each command saves the run anew, at its own moment, as a benchmark command would.
    save = "import datetime,json,sys; r=json.load(open(sys.argv[1])); r['datetime']=datetime.datetime.now().isoformat(); json.dump(r, open(sys.argv[2] + '/run.json', 'w'))"
    copy_cmd = f"{sys.executable} -c \"{save}\" {saved_run} {{results}}"
    assert main(["interleave", "--baseline", copy_cmd, "--current", copy_cmd, "--repeats", "2", "--out", str(tmp_path / "il")]) == 0
    assert len(list((tmp_path / "il" / "baseline").rglob("*.json"))) == 2
    assert main(["compare", str(tmp_path / "il" / "baseline"), str(tmp_path / "il" / "current")]) == 0


def test_runs_made_alternately_are_compared_in_pairs_and_runs_made_one_side_after_the_other_are_not(make_run, tmp_path: Path, capsys) -> None:
    """Saved runs' start times decide: B C C B pairs each current run with the baseline run next to it."""
    def timed(name: str, minute: int, seed: int, factor: float = 1.0) -> None:
        def edit(run: dict) -> None:
            processes(0.01, seed, lambda info: factor * (1.1 if info["case"] == "assign_add" and name.startswith("c") else 1.0))(run)
            run["datetime"] = f"2026-11-20T10:{minute:02d}:00+00:00"
        folder = tmp_path / ("baseline" if name.startswith("b") else "current")
        folder.mkdir(exist_ok=True)
        make_run(edit=edit, blocks=3).rename(folder / f"{name}.json")

    # The machine drifts: the first pair ran 8% slower than the second; each pair's runs ran together.
    timed("b1", 0, 1, 1.08), timed("c1", 2, 2, 1.08), timed("c2", 4, 3), timed("b2", 6, 4)
    out = tmp_path / "paired.json"
    assert main(["compare", str(tmp_path / "baseline"), str(tmp_path / "current"), "--json", str(out)]) == 1
    result = json.loads(out.read_text())
    assert result["paired"] and {row["name"] for row in result["rows"] if row["verdict"] == "slower"} == {
        row["name"] for row in result["rows"] if row["name"].startswith("assignment/assign_add/")
    }
    assert "in pairs" in capsys.readouterr().out
    (tmp_path / "baseline" / "b2.json").rename(tmp_path / "b2.json")  # one baseline run left: nothing to pair with c2
    assert main(["compare", str(tmp_path / "baseline"), str(tmp_path / "current"), "--json", str(out)]) in (0, 1)
    assert not json.loads(out.read_text())["paired"]


def test_interleave_reports_a_failing_command_in_one_line(tmp_path: Path, capsys) -> None:
    assert main(["interleave", "--baseline", "exit 3 # {results}", "--current", "true {results}", "--out", str(tmp_path / "x")]) == 2
    assert "--baseline command exited 3 on run 1" in capsys.readouterr().err


def test_with_several_runs_a_side_each_run_is_evidence_and_a_scattered_baseline_resolves_less(make_run, tmp_path: Path) -> None:
    """Runs saved before blocks count as one block each. Baseline runs at 0% and +15% scatter too much to
    resolve current runs at +12% and +30%, and say that more runs (not blocks) would; a steady baseline
    (0%, +2%, +1%) resolves +40%, +45% and +42%."""
    def side(name: str, factors: tuple[float, ...]) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        for factor in factors:
            make_run(lambda info, t, f=factor: t * f).rename(folder / f"{factor}.json")
        return folder

    out = tmp_path / "r.json"
    assert main(["compare", str(side("scattered", (1.0, 1.15))), str(side("cur", (1.12, 1.30))), "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert all(row["verdict"] == "noisy" and row["blocks_needed"] is None and row["drift"] > 0.05 for row in rows)
    assert main(["compare", str(side("steady", (1.0, 1.02, 1.01))), str(side("slower", (1.40, 1.45, 1.42))), "--json", str(out)]) == 1
    assert all(row["verdict"] == "slower" and (row["baseline_blocks"], row["current_blocks"]) == (3, 3) for row in json.loads(out.read_text())["rows"])


def steady(spread: float, seed: int, factor: Callable[[dict], float]) -> Callable[[dict], None]:
    """An `edit` that gives every block of a case rounds at one level, times factor(info), within ±spread."""

    def edit(run: dict) -> None:
        rng, level = random.Random(seed), {}
        for bench in run["benchmarks"]:
            base = level.setdefault(bench["name"].rsplit("-block", 1)[0], bench["stats"]["median"])
            data = [base * factor(bench["extra_info"]) * (1 + rng.uniform(-spread, spread)) for _ in bench["stats"]["data"]]
            bench["stats"].update(data=data, median=sorted(data)[len(data) // 2])

    return edit


def test_with_blocks_one_slow_process_is_not_a_regression_but_a_slowdown_in_every_block_is(make_run, tmp_path: Path) -> None:
    """One run a side, three blocks (processes) per case: two blocks at +40% move the pooled median past
    the threshold but are not a change while one block still runs at the old speed; +20% in every block is."""
    baseline = make_run(edit=steady(0.03, 5, lambda info: 1.0), blocks=3)
    unlucky = make_run(edit=steady(0.03, 6, lambda info: 1.4 if info["block"] > 1 else 1.0), blocks=3)
    out = tmp_path / "r.json"
    assert main(["compare", str(baseline), str(unlucky), "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert rows and all(row["verdict"] != "slower" for row in rows)
    assert {(row["baseline_blocks"], row["current_blocks"]) for row in rows} == {(3, 3)}
    assert sum(row["ratio"] > 1.2 for row in rows) > 0.9 * len(rows)  # what a comparison of medians alone would flag

    slower = make_run(edit=steady(0.03, 7, lambda info: 1.2 if info["family"] == "gradient" else 1.0), blocks=3)
    assert main(["compare", str(baseline), str(slower), "--json", str(out)]) == 1
    rows = json.loads(out.read_text())["rows"]
    flagged = {row["name"] for row in rows if row["verdict"] == "slower"}
    assert flagged == {row["name"] for row in rows if row["name"].startswith("gradient/")}


def test_a_run_on_both_sides_is_refused_in_one_line_and_a_run_given_twice_counts_once(saved_run: Path, tmp_path: Path, resave, capsys) -> None:
    (tmp_path / "runs").mkdir()
    copy = tmp_path / "runs" / "copy.json"
    copy.write_bytes(saved_run.read_bytes())
    for baseline, current in [(saved_run, saved_run), (tmp_path / "runs", saved_run), (tmp_path / "runs", tmp_path / "runs")]:  # a copy is the same run
        assert main(["compare", str(baseline), str(current)]) == 2
        assert capsys.readouterr().err == (f"tfvarbench compare: {baseline} and {current} are the same runs: a run compared with itself"
                                           " shows no change; compare two different runs\n")
    resave(saved_run, tmp_path / "runs" / "later.json", minutes=5)  # the same figures saved again: another run
    assert main(["compare", str(tmp_path / "runs"), str(saved_run)]) == 2
    assert f"both hold the run {saved_run}: a run compared with itself" in capsys.readouterr().err
    main(["compare", str(tmp_path / "runs" / "later.json"), str(saved_run)])
    assert "same run" not in capsys.readouterr().err
    assert main(["report", str(saved_run), str(copy), str(saved_run), "--out", str(tmp_path / "report"), "--no-plots"]) == 0
    out, err = capsys.readouterr()
    assert "report of 1 run(s)" in out
    assert err.splitlines() == [f"tfvarbench report: warning: {copy}: the same run as {saved_run}; counted once",
                                f"tfvarbench report: warning: {saved_run}: given twice; counted once"]
