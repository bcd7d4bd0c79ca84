"""Entry point of a task that only serves: `python -m tfvarbench.measure.server` (a parameter server, or a worker of one).

Under tf.distribute.ParameterServerStrategy the coordinator runs the program; parameter servers
hold variables and workers run the functions it schedules, and neither runs any code of its own.
So this process reads its task from TF_CONFIG, starts TensorFlow's gRPC server for it, says so on
one line (which the parent waits for) and serves until it is killed: it never exits by itself,
so a server that has exited has failed (tfvarbench.measure.cluster names it).
"""
from __future__ import annotations

import json
import os
import sys

from ..processes import WORKER_CORE, parse_core
from .settings import keep_to

__all__ = ["main"]


def main() -> int:
    import tensorflow as tf

    keep_to(parse_core(os.environ.get(WORKER_CORE)))  # a pinned block gives each process of the cluster a core
    config = json.loads(os.environ["TF_CONFIG"])
    task = config["task"]
    server = tf.distribute.Server(
        tf.train.ClusterSpec(config["cluster"]), job_name=task["type"], task_index=int(task["index"]), protocol="grpc", start=True
    )
    print(f"serving {task['type']} {task['index']} at {config['cluster'][task['type']][int(task['index'])]}", flush=True)
    server.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
