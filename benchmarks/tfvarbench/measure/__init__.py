"""Measurement: everything that imports TensorFlow and runs inside a benchmark process.

Devices, the case `Setup` and its checks, timing, running a case, memory and machine facts,
blocks (fresh processes) and multi-worker processes. Variants import their authoring API here:
`from tfvarbench.measure import Family, Setup`.
"""
from .cases import PROFILES, Family, Profile
from .reference import Stepped, constant_steps, repeated_add, tiled
from .setup import Setup, Unsupported, VerificationError

__all__ = ["PROFILES", "Family", "Profile", "Setup", "Stepped", "Unsupported", "VerificationError", "constant_steps", "repeated_add", "tiled"]
