"""Child processes: start one, watch it, stop it and say how it ended. The one place that does.

Every figure tfvarbench saves comes from a child process: a block of a run, a multi-worker worker,
a parameter-server task, a block of an `ab` pair. Each is started here in a session of its own (so
stopping it stops whatever it started too), with its output in a log file, and stopped here: a
block as Ctrl-C would stop it (SIGINT to its group, so its finalizers stop its own workers; SIGKILL
if it lingers), a worker or a server at once (SIGKILL: it holds nothing to save). pyperf has one
spawner and one `popen_killer` for the same reasons.

children.py starts, watches and stops them (and holds Ctrl-C while a child is started and counted, so
an interrupt never leaves one running unseen); ports.py finds free loopback ports for a cluster; the
parent and its children share a wire of environment variables (wire.py: `TURNS`, `ITERATIONS`,
`WORKER_CORE`), each written and read there, and a value that does not parse is one line naming it.
Imports nothing else of tfvarbench and no TensorFlow: every layer may use it.
"""
from __future__ import annotations

from .children import STOP_GRACE_S, Child, ChildFailed, Group, exit_words, held_signals, log_tail, start
from .ports import PortsUnavailable, free_ports
from .wire import ITERATIONS, TURNS, WORKER_CORE, TurnEnds, WireError, encode_core, parse_core

__all__ = ["ITERATIONS", "STOP_GRACE_S", "TURNS", "WORKER_CORE", "Child", "ChildFailed", "Group", "PortsUnavailable", "TurnEnds",
           "WireError", "encode_core", "exit_words", "free_ports", "held_signals", "log_tail", "parse_core", "start"]
