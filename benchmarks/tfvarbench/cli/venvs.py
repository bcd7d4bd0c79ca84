"""Virtual environments holding one TensorFlow release and a tfvarbench checkout, built once and reused (`ab --baseline-tf`)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from ..runs import atomic_write
from .usage import BadInput

__all__ = ["tensorflow_venv"]

MARKER = "tfvarbench-venv.json"  # written last: a folder without it was never finished, and is built again


def tensorflow_venv(version: str, checkout: Path, cache: Path) -> str:
    """The interpreter of a virtual environment with tensorflow==`version` (or tf-nightly) and `checkout` installed (editable).

    Built in `cache`/tf-VERSION-pyX.Y the first time; reused while its marker names the same
    release and checkout (a nightly is reused too: delete its folder for a newer one).
    """
    if not version or any(c.isspace() for c in version) or version.startswith("-"):
        raise BadInput(f"TensorFlow release {version!r}: give a version such as 2.20.0, or nightly")
    folder = cache / f"tf-{version}-py{sys.version_info.major}.{sys.version_info.minor}"
    python = folder / "bin" / "python"
    wanted = {"tensorflow": version, "checkout": str(checkout)}
    marker = folder / MARKER
    try:
        if json.loads(marker.read_text(encoding="utf-8")) == wanted and python.exists():
            print(f"TensorFlow {version}: reusing {folder}", flush=True)
            return str(python)
    except (OSError, ValueError):
        pass
    print(f"TensorFlow {version}: building {folder} (once; reused after)", flush=True)
    if folder.exists() and not (folder / "pyvenv.cfg").is_file():
        raise BadInput(f"--venv-cache {cache}: {folder.name} is there and is not a virtual environment; choose another cache")
    shutil.rmtree(folder, ignore_errors=True)  # a virtual environment of ours, unfinished or for another checkout
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadInput(f"--venv-cache {cache}: cannot create it: {error.strerror}") from None
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    steps = [[sys.executable, "-m", "venv", str(folder)]]
    if version == "nightly":  # tf-nightly is another distribution of the same module: the release goes, the nightly comes
        steps += [[*pip, "install", "--quiet", "-e", str(checkout)], [*pip, "uninstall", "--yes", "tensorflow"], [*pip, "install", "--quiet", "tf-nightly"]]
    else:
        steps += [[*pip, "install", "--quiet", f"tensorflow=={version}", "-e", str(checkout)]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise BadInput(f"TensorFlow {version}: cannot build its environment in {folder}: {last}")
    atomic_write(marker, json.dumps(wanted))
    return str(python)
