"""Saved runs as data: the case record, loading and validating, pooling, and whole-or-nothing files.

Nothing here imports TensorFlow or the measurement package: a saved run is read anywhere.
"""
from __future__ import annotations

from .files import MARKER, atomic_write, folder_problem, writable_problem, write_folder
from .labels import devices_of, labelled_cases
from .load import Run, RunError, flatten, load_run, load_runs, same_run
from .pool import merge_blocks, pool, pooled_stats
from .record import IDENTITY, SIZES, CaseIdentity, CaseRecord, SavedCase, case_key, case_name, identity_of, make_record, variant_label

__all__ = [
    "IDENTITY", "MARKER", "SIZES", "CaseIdentity", "CaseRecord", "Run", "RunError", "SavedCase", "atomic_write",
    "case_key", "case_name", "devices_of", "flatten", "folder_problem", "identity_of", "labelled_cases", "load_run", "load_runs",
    "make_record", "merge_blocks", "pool", "pooled_stats", "same_run", "variant_label", "writable_problem", "write_folder",
]
