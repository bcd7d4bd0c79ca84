"""Saved runs as data: the case record, loading and validating, pooling, and whole-or-nothing files.

Nothing here imports TensorFlow or the measurement package: a saved run is read anywhere.
"""
from __future__ import annotations

from .files import atomic_dir, atomic_write
from .load import Run, RunError, flatten, load_run, load_runs
from .pool import merge_blocks, pool, pooled_stats
from .record import IDENTITY, SIZES, CaseIdentity, CaseRecord, SavedCase, case_key, case_name, identity_of, make_record, variant_label

__all__ = [
    "IDENTITY", "SIZES", "CaseIdentity", "CaseRecord", "Run", "RunError", "SavedCase", "atomic_dir", "atomic_write",
    "case_key", "case_name", "flatten", "identity_of", "load_run", "load_runs", "make_record", "merge_blocks", "pool",
    "pooled_stats", "variant_label",
]
