"""Fixtures for the harness's own tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
PLUGINS = Path(__file__).resolve().parent / "plugins"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The harness's own tests treat every warning as an error, but for the ignores in pyproject.toml.

    A user's `pytest benchmarks` only shows warnings (a warning must never cost a run), so the error
    is added here, first among each test's filters: the ignores, then the test's own marks, outrank it.
    """
    strict = pytest.mark.filterwarnings("error", *config.getini("filterwarnings"))
    for item in items:
        item.add_marker(strict, append=False)


def pytest_configure(config: pytest.Config) -> None:
    """Every pytest a test starts runs strict (tests/plugins/strictwarnings.py), however the test builds its
    environment: from strict_env, from plugins_env, or from os.environ itself (its children inherit this)."""
    strict = strict_env()
    os.environ.update(PYTHONPATH=strict["PYTHONPATH"], PYTEST_PLUGINS=strict["PYTEST_PLUGINS"])


def strict_env(**extra: str) -> dict[str, str]:
    """The environment for a pytest the tests start: tests/plugins importable, and a warning from the
    harness's own code an error there (tests/plugins/strictwarnings.py)."""
    path = os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": path, "PYTEST_PLUGINS": "strictwarnings", **extra}


@pytest.fixture
def saved_run() -> Path:
    """A real two-logical-CPU run of the assignment family, trimmed to three variants."""
    return DATA / "run-2cpu.json"


@pytest.fixture
def example_run() -> Path:
    """The README's run: every family, quick profile, two logical CPUs, three blocks (results/examples)."""
    return DATA.parent.parent / "results" / "examples" / "quick-2cpu.json"


def resaved(run: Path, target: Path, minutes: int = 1) -> Path:
    """`run` saved again at `target` as if made `minutes` later: the same figures, another run (a copy of a file is the same run)."""
    from datetime import datetime, timedelta

    data = json.loads(run.read_text(encoding="utf-8"))
    data["datetime"] = (datetime.fromisoformat(data["datetime"]) + timedelta(minutes=minutes)).isoformat()
    target.write_text(json.dumps(data), encoding="utf-8")
    return target


@pytest.fixture
def resave():
    return resaved


def _deal_blocks(run: dict[str, Any], blocks: int) -> dict[str, Any]:
    benchmarks = []
    for block in range(1, blocks + 1):
        for bench in run["benchmarks"]:
            data = bench["stats"]["data"][block - 1 :: blocks]
            info = {**bench["extra_info"], "block": block, "blocks": blocks, "first_call_s": bench["extra_info"]["first_call_s"] * block}
            stats = {**bench["stats"], "data": data, "median": sorted(data)[len(data) // 2]}
            name = bench["name"].replace("]", f"-block{block}]")
            benchmarks.append({**bench, "name": name, "extra_info": info, "stats": stats})
    return {**run, "benchmarks": benchmarks}


@pytest.fixture
def deal_blocks():
    """deal_blocks(run, n): a saved run's real rounds dealt out to n blocks per case, as a blocked run
    saves them (block b's first call made b times the original, so their median is known)."""
    return _deal_blocks


@pytest.fixture
def two_devices(request: pytest.FixtureRequest) -> list[str]:
    """Two logical CPUs; skipped unless the session was started with --logical-cpus 2 or more."""
    from tfvarbench.plugin.state import PRESENT

    present = request.config.stash[PRESENT]
    if len(present) < 2:
        pytest.skip("needs two devices: run with --logical-cpus 2")
    return present[:2]


def _run_pytest(*args: str, cwd: Path = ROOT, timeout: float = 540, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env or strict_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def plugins_env():
    """plugins_env(PLUGIN=..., NAME=VALUE...): the strict environment of a started pytest with more of tests/plugins loaded in it."""

    def made(*plugins: str, **extra: str) -> dict[str, str]:
        return strict_env(PYTEST_PLUGINS=",".join(("strictwarnings", *plugins)), **extra)

    return made


@pytest.fixture
def run_pytest():
    """Run pytest on this repo in a fresh interpreter (TensorFlow's device setup is once per process)."""
    return _run_pytest


class _Once:
    """The benchmark fixture as it behaves with benchmarks disabled: pedantic() calls the body once."""

    disabled = True
    stats = None

    def __init__(self) -> None:
        self.extra_info: dict[str, Any] = {}

    def pedantic(self, target: Any, **_: Any) -> Any:
        return target()


@pytest.fixture
def once():
    """A factory of disabled-benchmark stand-ins, for running a case once through the harness."""
    return _Once


class ManualClock:
    """A clock that moves only when a test moves it (`clock.now += 2.0`)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
