"""Which tests a session holds: every family's variants × sizes × dtypes × devices × blocks, with the timer they use."""
from __future__ import annotations

from pathlib import Path

import pytest

from .state import BLOCKS, CHILD_BLOCK, CHILD_THREADS, NOT_RUN, PRESENT, PROFILE, SELECTED, THREADS, block_of, threads_of


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise every family test over its variants x sizes x dtypes x devices x blocks."""
    if "case" not in metafunc.fixturenames:
        return
    family = getattr(metafunc.module, "family", None)
    if family is None:
        raise pytest.UsageError(f"{metafunc.module.__name__} asks for 'case' but defines no module-level `family`")
    grid = [pytest.param(case, size, dtype, id=f"{case.name}-{size}-{dtype}") for case, size, dtype in family.grid(metafunc.config.stash[PROFILE])]
    metafunc.parametrize(("case", "size", "dtype"), grid)
    # What this machine does not run is deselected, said once per reason at the end (`not_run`), not a skip a case.
    placements = [
        pytest.param(device, id=device, marks=[pytest.mark.tfvarbench_not_run(reason)] if reason else [])
        for device, reason in family.devices(metafunc.config.stash[SELECTED], metafunc.config.stash[PRESENT], metafunc.config.getoption("workers"))
    ]
    metafunc.parametrize("device", placements)
    if family.clusters:
        ids = [f"{ps}ps-{workers}w" for ps, workers in family.clusters]
        metafunc.parametrize("cluster", family.clusters, ids=ids)
    blocks = metafunc.config.stash[BLOCKS]
    # A block's process makes only its own block's tests (same ids): the full profile's five blocks
    # made and then deselected four fifths of its items in every process.
    child_block = metafunc.config.stash.get(CHILD_BLOCK, None)
    numbers = [child_block] if child_block is not None and 1 <= child_block <= blocks else range(1, blocks + 1)
    metafunc.parametrize("block", numbers, ids=[f"block{n}" for n in numbers])
    counts = metafunc.config.stash.get(THREADS, [None])
    # Each count is a case of its own, timed in block processes of its own (plugin.runner); a family
    # whose fixture takes no thread count (the parameter-server clusters) runs once, at TensorFlow's default.
    if len(counts) > 1 and "threads" in metafunc.fixturenames:
        metafunc.parametrize("threads", counts, ids=[f"threads{n}" for n in counts])


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> list[pytest.Item] | None:
    """A family this profile does not run makes no tests at all, unless named: said once at the end (`not_run`), not collected as cases."""
    module = getattr(collector, "module", None)
    family = getattr(module, "family", None)
    if family is None or not family.profiles or not callable(obj) or not collector.funcnamefilter(name):
        return None
    config = collector.config
    if config.stash[PROFILE].among(family.profiles) or _named(config, family.name, module.__file__):
        return None
    reason = f"the {family.name} family runs in --profile {' or '.join(family.profiles)}, or when selected by name (-k {family.name})"
    config.stash.setdefault(NOT_RUN, {}).setdefault(reason, None)
    return []


def _named(config: pytest.Config, family: str, module: str) -> bool:
    """Whether the command line asks for this family by name: in -k, or its module as an argument."""
    module_name = Path(module).name
    return family in (config.option.keyword or "") or any(Path(arg.split("::")[0]).name == module_name for arg in config.args)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tfvarbench_not_run(reason): a case this machine does not run (deselected, said once per reason)")


def not_run(config: pytest.Config) -> list[str]:
    """One line per reason cases were not run for: how many (when collected, then deselected), and the option or hardware that would run them."""
    return [f"not run: {reason}" if count is None else f"{count} case{'s' if count != 1 else ''} not run: {reason}"
            for reason, count in config.stash.get(NOT_RUN, {}).items()]


@pytest.hookimpl(trylast=True)  # after -k and -m: what is not run is counted among what was asked for
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every benchmark reads a clock that first waits for device work, and runs with gc off.
    from ..measure.timing import synced_clock

    reasons = config.stash.setdefault(NOT_RUN, {})
    dropped, cases = [], {}
    for item in items:
        mark = item.get_closest_marker("tfvarbench_not_run")
        if mark is not None:
            # a case, not its blocks: the same case in each block is one case not run
            params = getattr(getattr(item, "callspec", None), "params", {})
            cases.setdefault(mark.args[0], set()).add((item.path, item.originalname, tuple(str(v) for k, v in params.items() if k != "block")))
            dropped.append(item)
    for reason, found in cases.items():
        reasons[reason] = reasons.get(reason, 0) + len(found)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item.get_closest_marker("tfvarbench_not_run") is None]

    for item in items:
        if "case" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.benchmark(timer=synced_clock, disable_gc=True))
    child_block = config.stash.get(CHILD_BLOCK, None)
    if child_block is not None:  # a block's process runs its own block (and block 1 anything unblocked) at its own thread count
        child_threads = config.stash.get(CHILD_THREADS, None)
        in_block = lambda item: block_of(item) == child_block or (block_of(item) is None and child_block == 1)  # noqa: E731
        keep = lambda item: in_block(item) and threads_of(item) in (None, child_threads)  # noqa: E731
        others = [item for item in items if not keep(item)]
        if others:
            config.hook.pytest_deselected(items=others)
            items[:] = [item for item in items if keep(item)]


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """What the profile leaves out to keep to its time, and the profile that runs it."""
    profile = config.stash.get(PROFILE, None)
    note = profile.left_out() if profile is not None else None
    return [f"tfvarbench: {note}"] if note else None
