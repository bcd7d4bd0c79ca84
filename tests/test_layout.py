"""The layout holds: the flow runs one way, readers never load TensorFlow, no cycles, small modules."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "benchmarks" / "tfvarbench"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter's contracts from pyproject.toml, on the harness found under `root`/benchmarks."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
         "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=root, env={"PYTHONPATH": str(root / "benchmarks"), "PATH": ""}, capture_output=True, text=True, timeout=120,
    )


def test_the_import_contracts_are_kept() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("reader", "line"),
    [("render/tables.py", "from ..measure import devices"), ("runs/load.py", "import tensorflow"), ("cli/compare.py", "from ..measure.run import run_case")],
)
def test_the_contract_breaks_when_a_reader_imports_the_measurement_package(tmp_path: Path, reader: str, line: str) -> None:
    copy = tmp_path / "benchmarks" / "tfvarbench"
    shutil.copytree(HARNESS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    module = copy / reader
    module.write_text(module.read_text() + f"\n{line}\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1 and "BROKEN" in result.stdout, result.stdout[-3000:]


def test_report_compare_and_history_never_load_tensorflow(saved_run: Path, tmp_path: Path, resave) -> None:
    resave(ROOT / "results" / "examples" / "quick-2cpu.json", tmp_path / "again.json")  # the other side of an A/A
    script = f"""
import sys
from tfvarbench.cli import main
run = {str(saved_run)!r}
assert main(["report", run, "--out", {str(tmp_path / "report")!r}]) == 0
blocked = {str(saved_run.parent.parent.parent / "results" / "examples" / "quick-2cpu.json")!r}
assert main(["compare", blocked, {str(tmp_path / "again.json")!r}]) == 0
assert main(["history", {str(saved_run.parent)!r}, "--out", {str(tmp_path / "history")!r}]) == 0
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "tensorflow" or name.startswith("tfvarbench.measure"))
print("LOADED", loaded)
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env={"PYTHONPATH": str(ROOT / "benchmarks"), "PATH": ""},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LOADED []" in result.stdout


def test_the_harness_has_no_import_cycle() -> None:
    import grimp

    graph = grimp.build_graph("tfvarbench", cache_dir=None)
    modules = sorted(graph.modules)
    cycles = []
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            # A package that imports its own submodules to re-export them is not a cycle.
            if imported.startswith(module + ".") or not imported.startswith("tfvarbench"):
                continue
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycles.append(" -> ".join([module, *back]))
    assert cycles == []


def test_every_module_is_small_and_conftest_only_loads_the_plugin() -> None:
    long = {str(path.relative_to(HARNESS)): n for path in HARNESS.rglob("*.py") if (n := len(path.read_text().splitlines())) > 250}
    assert long == {}
    assert len((ROOT / "conftest.py").read_text().splitlines()) < 30
