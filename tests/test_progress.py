"""A run of blocks' progress line: cases done and the time left, from finished blocks or from the first block's calibrations."""
from __future__ import annotations

import json
from pathlib import Path

from tfvarbench.measure.progress import Estimate, Follower, ProgressLine, duration



def test_time_left_in_the_first_block_comes_from_its_calibrations(clock) -> None:
    estimate = Estimate({1: 4, 2: 4}, clock)
    estimate.start(1)
    assert estimate.left_s() is None and estimate.line().endswith("estimating the time left")
    clock.now += 3.0  # start-up
    for _ in range(2):  # two of four cases calibrated, 1 s each to prepare, 5 s of rounds each to come
        clock.now += 1.0
        estimate.event("ready", 1.0, 5.0)
    # spent 5 s; owed 10 s of rounds; two cases to go at 6 s each: the block ends 5 + 10 + 12 = 27 s in
    assert estimate.left_s() == 22.0 + 27.0  # the rest of this block, then one more like it
    estimate.event("timed", 10.0)
    clock.now += 10.0
    assert estimate.left_s() == 12.0 + 27.0


def test_time_left_after_a_block_comes_from_the_blocks_already_run(clock) -> None:
    estimate = Estimate({1: 2, 2: 2, 3: 2}, clock)
    estimate.start(1)
    clock.now += 60.0
    estimate.finish()
    assert estimate.finished_line() == "block 1 of 3 took 1 min 00 s, about 2 min 00 s left"
    estimate.start(2)
    clock.now += 15.0
    estimate.event("ready", 1.0, 1.0)
    estimate.reported()
    assert estimate.left_s() == 45.0 + 60.0
    assert estimate.line() == "block 2 of 3: 1 of 2 cases done, about 1 min 45 s left"
    estimate.event("ready", 1.0, 1.0)
    assert estimate.line() == "block 2 of 3: 1 of 2 cases done (2 calibrated), about 1 min 45 s left"
    clock.now += 100.0  # slower than the last block: never a negative time for this one
    assert estimate.left_s() == 60.0


def test_a_terminal_line_is_rewritten_in_place_and_ended_once() -> None:
    written: list[str] = []
    line = ProgressLine(written.append, terminal=True)
    line.show("block 1 of 2: 0 of 4 cases done, estimating the time left")
    line.show("block 1 of 2: 4 of 4 cases done")
    line.end()
    assert written[0].startswith("\r") and written[1].startswith("\r")
    assert written[1] == "\r" + "block 1 of 2: 4 of 4 cases done".ljust(len(written[0]) - 1)  # the longer line is blanked out
    assert written[2:] == ["\n"]


def test_plain_lines_carry_no_control_characters_and_come_every_few_seconds(clock) -> None:
    written: list[str] = []
    line = ProgressLine(written.append, terminal=False, clock=clock, every_s=10.0)
    for step in range(25):
        line.show(f"step {step}")
        clock.now += 1.0
    line.end()
    assert written == ["step 0\n", "step 10\n", "step 20\n"]
    assert not any(c in "".join(written) for c in "\r\x1b")


def test_the_follower_reads_whole_lines_only(tmp_path: Path) -> None:
    stream = tmp_path / "block-1.reports"
    estimate = Estimate({1: 3})
    estimate.start(1)
    follower = Follower(stream, estimate)
    follower.read()  # not written yet
    ready = json.dumps({"progress": ["ready", 0.5, 2.0]}) + "\n"
    teardown = json.dumps({"when": "teardown", "nodeid": "x"}) + "\n"
    stream.write_text(ready + teardown[:10])  # a line the child is still writing
    follower.read()
    assert (estimate.ready, estimate.done) == (1, 0)
    stream.write_text(ready + teardown)
    follower.read()
    assert (estimate.ready, estimate.done) == (1, 1)


def test_a_run_of_some_blocks_names_them_as_the_run_does(clock) -> None:
    estimate = Estimate({2: 3}, clock, total=3)  # only block 2 of 3 selected
    estimate.start(2)
    assert estimate.line() == "block 2 of 3: 0 of 3 cases done, estimating the time left"
    clock.now += 5.0
    estimate.finish()
    assert estimate.finished_line() == "block 2 of 3 took 5 s"


def test_durations_read_as_words() -> None:
    assert [duration(s) for s in (0.4, 45, 380, 3900)] == ["0 s", "45 s", "6 min 20 s", "1 h 05 min"]
