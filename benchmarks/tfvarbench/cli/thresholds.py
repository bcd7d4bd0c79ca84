"""Per-case thresholds by glob, from [tool.tfvarbench.thresholds] in a pyproject.toml: read for `compare` and `ab` alike."""
from __future__ import annotations

from pathlib import Path

from ..analysis.regress import Comparison
from ..analysis.sides import read_config, unmatched_globs
from .usage import BadInput, warner

__all__ = ["thresholds_of", "warn_unmatched"]


def _config(given: str | None) -> Path | None:
    """The config to read: one named must be a file; without a name, ./pyproject.toml if there is one."""
    if given is None:
        default = Path("pyproject.toml")
        return default if default.is_file() else None
    path = Path(given)
    if not path.exists():
        raise BadInput(f"--config {given}: no such file")
    if not path.is_file():
        raise BadInput(f"--config {given}: not a file; name a pyproject.toml")
    return path


def thresholds_of(given: str | None, command: str) -> tuple[Path | None, dict[str, float]]:
    """The config read and its per-case thresholds; its warnings said first, so a comparison that then fails still shows them."""
    config = _config(given)
    thresholds, warnings = read_config(config)
    for warning in warnings:
        warner(command)(warning)
    return config, thresholds


def warn_unmatched(command: str, config: Path | None, thresholds: dict[str, float], comparison: Comparison) -> None:
    """A warning for each threshold glob that matches no case of the comparison (misspelt, most likely)."""
    names = [row.name for row in comparison.rows] + list(comparison.only_baseline) + list(comparison.only_current)
    for glob in unmatched_globs(thresholds, names):
        warner(command)(f"{config}: threshold {glob!r} matches no case of these runs; is it misspelt?")
