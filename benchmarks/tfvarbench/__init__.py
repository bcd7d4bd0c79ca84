"""tfvarbench: what it costs to update a tf.Variable by hand, per device, with every figure verified."""
from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"
