"""A plain script's loop, in the manner of TensorFlow's own eager benchmarks: gc off, the calls in a module-level loop, samples of CALLS calls.

Usage: python plain_loop.py OUT.json [CALLS [SAMPLES]]; writes {case: [seconds a call, one per sample]}.
Taking turns with a block (PARTNER_TURNS set, partner.py): one sample a turn, the cases in turn,
until the block ends; writes {"turns": n, "samples": [[turn, case, seconds a call], ...]}.
"""
import gc
import json
import os
import sys
import time

import tensorflow as tf

from cases import CASES, DEVICE, make
from partner import ENV, SETTLE, Partner

calls = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
samples = int(sys.argv[3]) if len(sys.argv) > 3 else 5
bodies = make()
found = {}
gc.disable()
if os.environ.get(ENV):
    partner, samples = Partner(), []
    with tf.device(DEVICE):
        for name in CASES:
            for _ in range(1000):  # warm up
                bodies[name]()
        partner.start()
        while partner.take():
            name = CASES[len(samples) % len(CASES)]
            body = bodies[name]
            for _ in range(SETTLE):
                body()
            start = time.perf_counter()
            for _ in range(calls):
                body()
            samples.append([len(samples), name, (time.perf_counter() - start) / calls])
            partner.give()
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        json.dump({"turns": partner.turns, "samples": samples}, out)
    sys.exit(0)
with tf.device(DEVICE):
    for name in CASES:
        body = bodies[name]
        for _ in range(1000):  # warm up
            body()
        per_call = []
        for _ in range(samples):
            start = time.perf_counter()
            for _ in range(calls):
                body()
            per_call.append((time.perf_counter() - start) / calls)
        found[name] = per_call
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump(found, out)
