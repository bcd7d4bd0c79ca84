"""WorkerSync: returns only after queued device work, and works where sync_devices() refuses (multi-worker)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

HARNESS = Path(__file__).resolve().parent.parent / "benchmarks"

# One MultiWorkerMirroredStrategy worker: argv = index, comma-separated ports. It runs one SUM step,
# then tries both waits and prints what each did, as JSON on its last line.
WORKER = textwrap.dedent("""
    import json, os, sys
    index, ports = int(sys.argv[1]), sys.argv[2].split(",")
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    os.environ["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
    import tensorflow as tf
    from tfvarbench.measure.worker_sync import WorkerSync
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    wait = WorkerSync("CPU:0")
    with strategy.scope():
        v = tf.Variable(0.0, aggregation=tf.VariableAggregation.SUM)
    strategy.run(lambda: v.assign_add(1.0))
    try:
        tf.test.experimental.sync_devices()
        refused = None
    except Exception as error:
        refused = str(error)
    clock = wait.clock()
    print(json.dumps({"sync_devices_refused": refused, "value": float(v.read_value()), "clock": clock}))
""")


def free_ports(count: int) -> list[int]:
    """Loopback ports free a moment ago, held together so they differ."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for handle in sockets:
            handle.bind(("127.0.0.1", 0))
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(HARNESS), "TF_CPP_MIN_LOG_LEVEL": "2"}


def _last_json(stdout: str) -> Any:
    return json.loads(stdout.strip().splitlines()[-1])


def test_it_returns_only_after_work_queued_before_it_has_run() -> None:
    # Asynchronous eager execution queues ops as a GPU stream does. The queued function cannot
    # finish before `release` is set, so `done` is unset when the wait starts, by construction.
    code = textwrap.dedent("""
        import json, threading, time
        import tensorflow as tf
        from tfvarbench.measure.worker_sync import WorkerSync
        tf.config.experimental.set_synchronous_execution(False)
        release, done = threading.Event(), threading.Event()
        def step(x):
            release.wait(30)
            time.sleep(0.2)  # still running when a wait that waits for nothing would return
            done.set()
            return x
        wait = WorkerSync(["CPU:0"])
        with tf.device("CPU:0"):
            tf.py_function(step, [tf.zeros([])], tf.float32)
        before = done.is_set()
        release.set()
        wait()
        print(json.dumps([before, done.is_set()]))
    """)
    finished = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert _last_json(finished.stdout) == [False, True]


def test_it_works_in_a_one_worker_cluster(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = free_ports(1)[0]
    finished = subprocess.run([sys.executable, str(script), "0", str(port)], env=_env(), capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-2000:]
    report = _last_json(finished.stdout)
    assert report["value"] == 1.0 and report["clock"] > 0
    assert report["sync_devices_refused"] is None  # one worker has no remote peers: sync_devices() still works here


def test_it_works_in_a_two_worker_cluster_where_sync_devices_refuses(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    ports = ",".join(str(port) for port in free_ports(2))
    workers = [
        subprocess.Popen([sys.executable, str(script), str(index), ports], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for index in range(2)
    ]
    try:
        outputs = [worker.communicate(timeout=120) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    for worker, (stdout, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr[-2000:]
        report = _last_json(stdout)
        assert report["value"] == 2.0  # both workers' steps were summed
        assert "Haven't set up remote eager worker" in report["sync_devices_refused"]
