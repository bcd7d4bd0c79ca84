"""Files and folders written whole or not at all, and never over what the user saved.

A folder of tfvarbench's own (a report, a history) holds a marker listing the files it wrote. A
later write replaces only those files: anything else in the folder is the user's and stays, and a
folder that holds files but no marker is not replaced at all. A symlinked target is written where
the link points. Nothing is left behind: staging goes on a failure, an error or Ctrl-C alike.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..processes import held_signals
from .load import RunError

__all__ = ["MARKER", "atomic_write", "folder_problem", "writable_problem", "write_folder"]

# The marker a folder of tfvarbench's own holds; the name is the one earlier reports used.
MARKER = ".tfvarbench-report"
_STAGING = ".tfvarbench-staging-"


def writable_problem(path: Path) -> str | None:
    """Why nothing can be made at `path` (resolved), or None when it can: tried, not guessed from mode bits.

    Root ignores mode bits, so only a real attempt tells: a temporary file in the nearest folder that exists.
    """
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, so nothing can be made under it" if existing != path else None
    try:
        handle, probe = tempfile.mkstemp(prefix=".tfvarbench-probe-", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        return f"cannot write in {existing}: {error.strerror or error}"
    return None


def atomic_write(target: str | os.PathLike[str], content: str | bytes) -> None:
    """Write `content` (text as UTF-8, or bytes) to `target` (or where its symlink points) through a temporary file and a rename.

    The one way tfvarbench writes a file a reader may open at any moment: a saved run, a block's
    results, a comparison, a shared file of iterations. A reader sees the old file or the new one,
    never half of one; a full disk or Ctrl-C leaves the old one and no temporary file.
    """
    target = Path(target).resolve()
    made = _make_parents(target.parent)
    temporary = None
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with held_signals():
            handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)  # mkstemp made it private; an output is for reading
        with held_signals():
            os.replace(temporary, target)
            temporary = made = None
    except OSError as error:  # a full or read-only disk: named by the file the user asked for, not the temporary one
        raise OSError(error.errno, error.strerror, str(target)) from None
    finally:
        with held_signals():
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
            _remove_empty(made or [])


def _listing(folder: Path) -> tuple[str, set[str] | None] | None:
    """(kind, the files tfvarbench wrote there) from the folder's marker, None without one.

    A marker written before markers listed files says only that it is a report or a history:
    the files a new write would make are then taken as that earlier write's, and no other.
    """
    marker = folder / MARKER
    if not marker.is_file():
        return None
    text = marker.read_text(encoding="utf-8", errors="replace")
    try:
        data = json.loads(text)
        return str(data["kind"]), {str(name) for name in data["files"]}
    except (ValueError, KeyError, TypeError):
        return ("history" if text.startswith("tfvarbench history") else "report"), None


def folder_problem(target: str | os.PathLike[str], kind: str, names: Iterable[str] = ()) -> str | None:
    """Why `target` cannot take a tfvarbench `kind` writing `names`, or None when it can.

    It can when it is missing, empty, or holds an earlier `kind` of tfvarbench's whose listed
    files are the only ones the new write would replace.
    """
    target = Path(target).resolve()
    if not target.exists():
        return None
    if not target.is_dir():
        return "is a file, not a folder"
    present = {entry.name for entry in target.iterdir() if not entry.name.startswith(_STAGING)} - {MARKER}
    found = _listing(target)
    if found is None:
        if not present:
            return None
        example = sorted(present)[0]
        return f"holds files that are not a tfvarbench {kind} (such as {example}): choose a new or empty folder"
    earlier, listed = found
    if earlier != kind:
        return f"holds a tfvarbench {earlier}, not a {kind}: choose another folder"
    for name in sorted(set(names) & present):
        if (listed is not None and name not in listed) or not (target / name).is_file() or (target / name).is_symlink():
            return f"{name} there is not one tfvarbench wrote, and the {kind} would replace it: move it or choose another folder"
    return None


def write_folder(target: str | os.PathLike[str], files: Mapping[str, str | bytes], kind: str) -> Path:
    """Write `files` (name -> text or bytes) as the tfvarbench `kind` folder `target`, whole or not at all.

    A new folder is built beside the target and renamed into place. An existing one (an earlier
    `kind`, or empty; also `.`, a mount point, a symlink's target) gets each file renamed in, then
    the earlier write's other files removed: the user's own files stay. Raises RunError when
    `folder_problem` objects. Returns the folder written (a symlink's target).
    """
    target = Path(target).resolve()
    for name in files:
        if name in ("", ".", "..", MARKER) or "/" in name or os.sep in name:
            raise ValueError(f"{name!r}: not a plain file name")
    problem = folder_problem(target, kind, files)
    if problem:
        raise RunError(f"{target}: {problem}")
    marker = json.dumps({"kind": kind, "written_by": f"tfvarbench {kind}", "files": sorted(files)}, indent=1) + "\n"
    try:
        if target.is_dir():
            _write_into(target, files, marker)
        else:
            _write_new(target, files, marker)
    except OSError as error:  # a full or read-only disk: named by the folder the user asked for, not a staging file
        raise OSError(error.errno, error.strerror, str(target)) from None
    return target


def _fill(folder: Path, files: Mapping[str, str | bytes]) -> None:
    for name, content in files.items():
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content, encoding="utf-8")
        (folder / name).chmod(0o644)


def _write_new(target: Path, files: Mapping[str, str | bytes], marker: str) -> None:
    made = _make_parents(target.parent)
    staging = None
    try:
        with held_signals():
            staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{target.name}-", dir=target.parent))
        _fill(staging, files)
        _fill(staging, {MARKER: marker})
        staging.chmod(0o755)  # mkdtemp made it private; a report is for reading
        with held_signals():
            staging.rename(target)
            staging = made = None
    finally:
        with held_signals():
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            _remove_empty(made or [])


def _write_into(target: Path, files: Mapping[str, str | bytes], marker: str) -> None:
    found = _listing(target)
    earlier = found[1] if found and found[1] is not None else set()
    staging = None
    try:
        with held_signals():
            staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=target))
        _fill(staging, files)
        with held_signals():
            # Listed first, every file of both writes: whatever stops the moves, the marker covers them.
            both = json.loads(marker) | {"files": sorted(earlier | set(files))}
            _replace_with(target / MARKER, json.dumps(both, indent=1) + "\n", staging)
            for name in files:
                os.replace(staging / name, target / name)
            for name in sorted(earlier - set(files)):
                stale = target / name
                if stale.is_file() and not stale.is_symlink():
                    stale.unlink()
            _replace_with(target / MARKER, marker, staging)
    finally:
        with held_signals():
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)


def _replace_with(path: Path, text: str, staging: Path) -> None:
    temporary = staging / f"{path.name}.new"
    temporary.write_text(text, encoding="utf-8")
    temporary.chmod(0o644)
    os.replace(temporary, path)


def _make_parents(folder: Path) -> list[Path]:
    """Make `folder` and its missing parents; return those made, deepest first, to undo a failed write."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return
