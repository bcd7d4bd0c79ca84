"""The outputs a command names, checked before it does any work: each problem one line, exit 2.

Every command calls `check_outputs` with its inputs (saved runs, files or folders), its output
files (`--json`, `--markdown`) and its output folders (`--out`), so a run is never spent on an
output that cannot be written, and no output is ever written over an input or over another output.
A folder that tfvarbench fills (a report, a history) is then written with `runs.write_folder`.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..runs import folder_problem, writable_problem
from .usage import BadInput

__all__ = ["check_outputs"]

PathLike = str | os.PathLike[str]


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_file(said: str, path: Path, sources: list[Path]) -> None:
    if path.is_dir():
        raise BadInput(f"{said}: is a folder; name a file")
    for source in sources:
        if path == source:
            raise BadInput(f"{said}: is the input {source}; writing it would destroy it")
        if source.is_dir() and _inside(path, source) and path.suffix == ".json":
            raise BadInput(f"{said}: is inside the input folder {source}, where it would be read as a saved run")


def _check_folder(said: str, path: Path, sources: list[Path], kind: str | None) -> None:
    if path.exists() and not path.is_dir():
        raise BadInput(f"{said}: is a file; name a folder")
    for source in sources:
        if _inside(source, path):
            raise BadInput(f"{said}: holds the input {source}; write the {kind or 'output'} to another folder")
    if kind is not None:
        problem = folder_problem(path, kind)
        if problem:
            raise BadInput(f"{said}: {problem}")
    elif path.is_dir() and any(path.iterdir()):
        raise BadInput(f"{said}: already holds files; choose a new or empty folder")


def check_outputs(
    *,
    inputs: Iterable[PathLike] = (),
    files: Mapping[str, PathLike | None] | None = None,
    folders: Mapping[str, PathLike | None] | None = None,
    kind: str | None = None,
) -> None:
    """Refuse outputs that cannot be written or would destroy an input; raise BadInput naming the option.

    `files` and `folders` map an option (`--json`) to the path given (None: not given). `kind` is
    the tfvarbench folder (`report`, `history`, ...) the `folders` will hold; without it an
    existing folder must be empty. Symlinks count where they point, as they are written there.
    For example: check_outputs(inputs=[args.baseline], files={"--json": args.json}, folders={"--out": args.out}, kind="ab").
    """
    sources = [Path(raw).resolve() for raw in inputs]
    outputs: dict[Path, str] = {}
    for role, given in (("file", files or {}), ("folder", folders or {})):
        for flag, raw in given.items():
            if raw is None:
                continue
            path = Path(raw).resolve()
            said = f"{flag} {raw}"
            if path in outputs:
                raise BadInput(f"{outputs[path]} and {said} are the same {role}: each output needs a path of its own")
            # A folder is written into; a file that exists is replaced by a rename in its folder.
            problem = writable_problem(path.parent if role == "file" and path.exists() else path)
            if problem:
                raise BadInput(f"{said}: {problem}")
            if role == "file":
                _check_file(said, path, sources)
            else:
                _check_folder(said, path, sources, kind)
            for other, earlier in outputs.items():
                if _inside(path, other) or _inside(other, path):
                    raise BadInput(f"{earlier} and {said}: one is inside the other; give each output a place of its own")
            outputs[path] = said
