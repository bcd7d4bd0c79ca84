"""Parameter-server clusters: a task killed mid-case fails its cluster's cases within bounded time, naming it, and leaves no process."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from tfvarbench.measure.cluster import ClusterGroup
from tfvarbench.processes import ChildFailed, exit_words

ROOT = Path(__file__).resolve().parent.parent
PARAMSERVER = ROOT / "benchmarks" / "bench_paramserver.py"


def cluster_processes() -> list[psutil.Process]:
    """Every coordinator or server process of the suite still running on this machine."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if "tfvarbench.measure.server" in command or "tfvarbench.measure.coordinator" in command:
            found.append(process)
    return found


def test_how_a_process_ended_is_said_in_words() -> None:
    assert exit_words(-9) == "was killed by SIGKILL"
    assert exit_words(-15) == "was killed by SIGTERM"
    assert exit_words(1) == "exited with status 1"


def test_a_dead_server_is_named_before_the_coordinator_it_made_fail(tmp_path: Path) -> None:
    group = ClusterGroup(2, 1, PARAMSERVER, "quick", tmp_path)  # starts nothing
    assert group.tasks == [("ps", 0), ("ps", 1), ("worker", 0), ("coordinator", 0)]
    (tmp_path / "ps-1.log").write_text("serving ps 1 at 127.0.0.1:1234\n")
    (tmp_path / "coordinator-0.log").write_text(
        "tfvarbench: connected to 2 ps and 1 workers\ntfvarbench: timing 84 cases in passes\nE0000 UnavailableError: ...\n"
    )
    assert group._failure([None, None, None, None]) is None
    assert group._failure([None, None, None, 0]) is None  # the coordinator finished: the servers are stopped after
    message = group._failure([None, -9, None, 1])
    assert message.startswith("ps 1 of the 2ps/1w cluster was killed by SIGKILL while the coordinator was at: timing 84 cases in passes;")
    assert message.endswith("serving ps 1 at 127.0.0.1:1234")
    # A server that exits at all has failed, even with status 0: it never exits by itself.
    assert group._failure([None, None, 0, None]).startswith("worker 0 of the 2ps/1w cluster exited with status 0")


def test_a_traced_functions_error_is_told_by_its_last_line_not_by_in_user_code() -> None:
    from tfvarbench.measure.coordinator import headline

    traced = AttributeError("in user code:\n\n    File \"bench.py\", line 9, in step  *\n        x.merge_call()\n\n"
                            "    AttributeError: 'NoneType' object has no attribute 'merge_call'\n")
    assert headline(traced) == "AttributeError: 'NoneType' object has no attribute 'merge_call'"
    assert headline(ValueError("bad shape\nmore")) == "ValueError: bad shape"
    assert headline(KeyError()) == "KeyError: "


def test_workers_get_a_gpu_each_and_parameter_servers_and_the_coordinator_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    group = ClusterGroup(2, 2, PARAMSERVER, "quick", tmp_path, gpus=["GPU:0", "GPU:1"])
    cluster = {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2", "127.0.0.1:3"], "ps": ["127.0.0.1:4", "127.0.0.1:5"]}
    seen = {task: group._env(cluster, task, position)["CUDA_VISIBLE_DEVICES"] for position, task in enumerate(group.tasks)}
    assert seen == {("ps", 0): "-1", ("ps", 1): "-1", ("worker", 0): "0", ("worker", 1): "1", ("coordinator", 0): "-1"}
    config = json.loads(group._env(cluster, ("coordinator", 0), 4)["TF_CONFIG"])
    assert config["task"] == {"type": "chief", "index": 0}  # TensorFlow's name for the coordinator's task
    assert group.command(("coordinator", 0))[-3:] == ["GPU:0", "2", "2"]  # labelled with the chief worker's GPU


def test_a_cluster_with_more_workers_than_selected_gpus_is_refused(tmp_path: Path) -> None:
    from tfvarbench.measure.hardware import HardwareError

    with pytest.raises(HardwareError, match=r"each worker needs a GPU of its own, 1 selected \(GPU:0\)"):
        ClusterGroup(1, 2, PARAMSERVER, "quick", tmp_path, gpus=["GPU:0"])


@pytest.mark.slow
def test_killing_a_parameter_server_mid_case_fails_the_cluster_naming_it_and_leaves_no_process(tmp_path: Path) -> None:
    group = ClusterGroup(2, 1, PARAMSERVER, "quick", tmp_path, timeout_s=300)
    group.start()
    deadline = time.monotonic() + 240
    log = group.log_path(("coordinator", 0))
    while "timing" not in (log.read_text(errors="replace") if log.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.2)  # past start-up, into the cases
    time.sleep(0.5)
    os.killpg(group.group.children[group.tasks.index(("ps", 0))].pid, signal.SIGKILL)
    with pytest.raises(ChildFailed) as failure:  # at once: at the timeout it would say "still running after 300 s"
        group.wait()
    assert str(failure.value).startswith("ps 0 of the 2ps/1w cluster was killed by SIGKILL while the coordinator was at: timing")
    assert "serving ps 0 at 127.0.0.1:" in str(failure.value)  # the tail of that server's own log
    assert all(child.poll() is not None for child in group.group.children)
    assert cluster_processes() == []
    assert not group.result_path.exists()


@pytest.mark.slow
def test_a_parameter_server_killed_in_a_run_fails_its_cluster_only_and_the_rest_is_saved(tmp_path: Path) -> None:
    keyword = "(assign_add_no_read and scalar) or (2ps-1w and (assign_add_whole or loopback)) or (1ps-1w and assign_add_whole)"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "killtask", "benchmarks/bench_assign.py", "benchmarks/bench_paramserver.py",
         "-k", keyword, "--blocks", "1", "--logical-cpus", "2", "-q", "-rfE", "--results", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=540,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests" / "plugins"), "TFVARBENCH_KILL_TASK": "2ps/1w:ps:0"},
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-3000:]
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", out, re.MULTILINE)  # a cluster's failure is its cases' fixture's
    assert failed and all("2ps-1w" in name for name in failed), failed
    assert "ps 0 of the 2ps/1w cluster was killed by SIGKILL" in out
    saved = json.loads(next(tmp_path.glob("*/*.json")).read_text())
    names = [bench["name"] for bench in saved["benchmarks"]]
    assert not [name for name in names if "2ps-1w" in name], "a failed case is never saved as a figure"
    assert any("1ps-1w" in name for name in names) and any("assign_add_no_read" in name for name in names)
    assert cluster_processes() == []


@pytest.mark.slow
def test_in_the_quick_profile_the_family_is_not_run_unless_selected_by_name_and_says_so_once(run_pytest, tmp_path: Path) -> None:
    result = run_pytest("benchmarks", "-k", "loopback_copy", "--benchmark-disable", "-q", "-rs", "--results", str(tmp_path))
    assert result.returncode == 5, result.stdout[-3000:]  # every selected case deselected: pytest's "no tests ran"
    lines = [line for line in result.stdout.splitlines() if "not run:" in line]
    # not collected as cases at all: one line, no count
    assert lines == ["not run: the paramserver family runs in --profile full, or when selected by name (-k paramserver)"], lines
    assert "SKIPPED" not in result.stdout and " passed" not in result.stdout and cluster_processes() == []


@pytest.mark.slow
def test_what_the_servers_hold_is_checked_value_by_value_and_shard_by_shard(tmp_path: Path) -> None:
    """A family whose checks are wrong on purpose (an Adam's among them): each case must fail, naming what the servers hold."""
    module = tmp_path / "bench_wrong.py"
    module.write_text(textwrap.dedent("""
        import numpy as np
        import tensorflow as tf
        import bench_paramserver as ps
        from tfvarbench.measure import Family

        family = Family("wrong", dtypes=("float32",), sizes=("1Ki",))
        SPLIT = "FixedShardsPartitioner(2)"

        def _adds_one(s, split):
            strategy, coordinator, servers, workers = ps._remote(s, split)
            with strategy.scope():
                v = tf.Variable(s.host(0))
            step = tf.function(lambda: v.assign_add(tf.ones(s.shape), read_value=False) and None)
            return v, servers, ps._schedule(coordinator, [step] * workers)

        @family.case("assign_add", "adds 1, checked against 2", mode="paramserver")
        def twice(s):
            v, servers, body = _adds_one(s, SPLIT)
            ps._expect_on_servers(s, v, SPLIT, servers, s.adds(np.zeros(s.shape, s.dtype), 2.0))
            return body

        @family.case("assign_add", "whole, checked as split", mode="paramserver")
        def unsplit(s):
            v, servers, body = _adds_one(s, "whole")
            ps._expect_on_servers(s, v, SPLIT, servers, s.adds(np.zeros(s.shape, s.dtype), 1.0))
            return body

        @family.case("Adam step", "made with epsilon 1e-7, checked as if 0.5", mode="paramserver")
        def adam_off(s):
            body = ps._adam_remote(s, "whole")
            ps.EPSILON = 0.5  # the reference reads it when it checks, after the optimizer was made with 1e-7
            return body
    """))
    outcome = ClusterGroup(1, 1, module, "quick", tmp_path / "logs", timeout_s=300).run()
    errors = {entry["case"]: entry["error"] for entry in outcome["cases"]}
    assert re.match(r"VerificationError: shard 0 on /job:ps/replica:0/task:0 on CPU:0 \(1Ki, float32\) after \d+ calls holds (\d+)\.0 "
                    r"at element 0, expected (\d+)\.0 \(512 of 512 elements differ\)", errors["twice"]), errors["twice"]
    assert errors["unsplit"] == "VerificationError: FixedShardsPartitioner(2) split 1Ki into 1 pieces, expected 2"
    assert re.match(r"VerificationError: shard 0 on /job:ps/replica:0/task:0 on CPU:0 \(1Ki, float32\) after \d+ calls holds -\d", errors["adam_off"])
    assert cluster_processes() == []


@pytest.mark.slow
def test_an_adam_step_on_the_servers_runs_with_its_slots_there_and_two_workers_are_skipped_saying_why(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "benchmarks", "-k", "paramserver and adam and 1Ki",
         "--blocks", "1", "--logical-cpus", "2", "-q", "-rs", "--results", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=540,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert re.search(r"7 passed, 2 skipped", out), out[-2000:]
    assert "two workers' Adam steps read and write the same slots at once" in out
    saved = json.loads(next(tmp_path.glob("*/*.json")).read_text())
    records = {bench["name"]: bench["extra_info"] for bench in saved["benchmarks"]}
    remote = [info for info in records.values() if info["mode"] == "paramserver"]
    assert len(remote) == 4 and all((info["checked"]["values"] > 0 and info["checked"]["calls"] == info["calls"]) and info["rule"] == "Adam" and info["workers"] == 1 for info in remote)
    for info in remote:  # the slots and the step count live on the cluster's servers
        assert set(info["slots_and_iterations_held_by"]) <= {str(task) for task in range(info["ps"])}
    assert {info["workers"] for info in records.values() if info["case"] == "adam_local"} == {1, 2}
    assert cluster_processes() == []
