"""pytest wiring for tfvarbench: loads the harness's plugin (benchmarks/tfvarbench/plugin)."""
import os
import sys
from pathlib import Path

# TensorFlow's C++ start-up chatter (oneDNN notes, CUDA probing) would bury pytest's own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# `pytest-benchmark compare` loads this file without pytest's ini `pythonpath`; find the harness anyway.
_HARNESS = str(Path(__file__).resolve().parent / "benchmarks")
if _HARNESS not in sys.path:
    sys.path.insert(0, _HARNESS)

pytest_plugins = ["tfvarbench.plugin"]
