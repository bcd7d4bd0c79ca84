"""pyperf's Runner.bench_time_func on the four cases, each loop run in a fresh thread (its stack shallow, as the suite's rounds are), gc off.

Usage: python pyperf_loop.py -o OUT.json [pyperf's options: -p PROCESSES -n VALUES -l LOOPS -w WARMUPS]
Taking turns with a block (PARTNER_TURNS set, partner.py; run with --in-process): only the case
PARTNER_CASE, each warm-up and value timed in a turn of its own; the turns it had are written to
PARTNER_OUT when it ends (its values after the block ended are not paired).
"""
import atexit
import gc
import os
import threading
import time

import pyperf
import tensorflow as tf

from cases import CASES, DEVICE, make
from partner import ENV, SETTLE, Partner

partner = Partner() if os.environ.get(ENV) else None


def time_func(loops, body):
    """The seconds `loops` calls of `body` take, timed in a fresh thread under the case's device (after SETTLE calls when taking turns)."""
    took = []
    settle = SETTLE if partner is not None else 0

    def run():
        enabled = gc.isenabled()
        gc.disable()
        with tf.device(DEVICE):
            for _ in range(settle):
                body()
            start = time.perf_counter()
            for _ in range(loops):
                body()
            took.append(time.perf_counter() - start)
        if enabled:
            gc.enable()

    paired = partner is not None and partner.take()
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if paired:
        partner.give()
    return took[0]


def _turns_had() -> None:
    with open(os.environ["PARTNER_OUT"], "w", encoding="utf-8") as out:
        out.write(str(partner.turns))


runner = pyperf.Runner()
bodies = make()
if partner is not None:
    atexit.register(_turns_had)
    partner.start()
for name in CASES if partner is None else [os.environ["PARTNER_CASE"]]:
    runner.bench_time_func(name, time_func, bodies[name])
