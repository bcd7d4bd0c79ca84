"""Loaded into every pytest the harness's tests start (PYTEST_PLUGINS, tests/conftest.py): a warning
raised by the harness's own code is an error there, so a deprecation under the newest dependencies
fails a test instead of waiting for a user's run. A user's `pytest benchmarks` only shows warnings.
"""
from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Appended last, so it outranks the ignores in pyproject.toml; the module is a regex from its start.
    config.addinivalue_line("filterwarnings", "error:::tfvarbench")
