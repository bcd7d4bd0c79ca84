"""A pytest plugin (for tests only) that breaks one case in one block of a run, or a whole block.

TFVARBENCH_BREAK="assign_add_no_read:2" makes that variant's body do nothing in block 2, so its
verification must fail there, in that block's process, and the failure must reach the parent run.
TFVARBENCH_CRASH_BLOCK="2" makes block 2's process die after collection, as a crash would.
TFVARBENCH_HANG_BLOCK="2" makes block 2's process hang after collection, as a deadlock would.
Load it with `PYTHONPATH=tests/plugins pytest benchmarks -p breakcase`.
"""
from __future__ import annotations

import dataclasses
import os
import time

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    name, _, block = os.environ.get("TFVARBENCH_BREAK", "").partition(":")
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        case = params.get("case")
        if case is not None and case.name == name and str(params.get("block")) == block:
            build = case.build

            def broken(setup, build=build):
                build(setup)  # declares what the state must be, then the body never changes it
                return lambda: None

            params["case"] = dataclasses.replace(case, build=broken)


def pytest_collection_finish(session: pytest.Session) -> None:
    block = str(session.config.getoption("tfvarbench_block"))
    if os.environ.get("TFVARBENCH_CRASH_BLOCK") == block:
        os._exit(3)
    if os.environ.get("TFVARBENCH_HANG_BLOCK") == block:
        print("hanging", flush=True)
        time.sleep(3600)
