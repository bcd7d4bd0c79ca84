"""The CI workflows pass zizmor's audit (pinned actions, no persisted credentials, no template injection)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"


def _zizmor() -> str:
    # The one installed beside this interpreter first (tox's env), then whatever PATH has.
    beside = Path(sysconfig.get_path("scripts")) / "zizmor"
    found = str(beside) if beside.is_file() else shutil.which("zizmor")
    if found is None:
        # Not a skip: CI installs the `test` extra, so a missing zizmor is a broken environment.
        pytest.fail("zizmor is not installed: pip install -e '.[test]' (or pip install zizmor)", pytrace=False)
    return found


def _describe(finding: dict) -> str:
    # zizmor's "v1" JSON: a finding's first location is where it points.
    where = finding["locations"][0]["concrete"]
    line = where["location"]["start_point"]["row"] + 1
    severity = finding["determinations"]["severity"]
    return f"line {line}: {finding['ident']} ({severity}): {finding['desc']}: {where['feature'].splitlines()[0]}"


def test_workflows_have_no_zizmor_findings() -> None:
    assert sorted(WORKFLOWS.glob("*.yml")), f"no workflows under {WORKFLOWS}"
    # --strict-collection: a workflow zizmor cannot parse fails here instead of being skipped unaudited.
    done = subprocess.run(
        [_zizmor(), "--offline", "--strict-collection", "--format", "json-v1", str(WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        findings = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"zizmor exited {done.returncode} without a JSON report:\n{done.stderr}", pytrace=False)
    assert not findings, "zizmor found:\n" + "\n".join(_describe(f) for f in findings)
    # 0 is "no findings"; 10-14 mean findings, anything else an error in zizmor itself.
    assert done.returncode == 0, done.stderr


def test_the_lowest_environment_pins_exactly_the_lower_bounds() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    stated = [*project["dependencies"], *(requirement for extra in project["optional-dependencies"].values() for requirement in extra)]
    bounds = dict(requirement.split(">=") for requirement in stated)
    lines = (ROOT / ".ci" / "lowest.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    assert pins == bounds, "every dependency's lower bound is what .ci/lowest.txt pins, and nothing else"
