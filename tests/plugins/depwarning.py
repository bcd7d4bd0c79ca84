"""A dependency that warns while a case runs: `-p depwarning` raises a DeprecationWarning, attributed to
this module (not the harness), in every test's call. A run must show it and lose nothing.
"""
from __future__ import annotations

import warnings

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    warnings.warn("depwarning: this dependency's API is deprecated", DeprecationWarning, stacklevel=1)
    yield
