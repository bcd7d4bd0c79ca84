"""tfvarbench's pytest plugin: options, parametrisation, the block runner, fixtures, and the run's report.

The top-level conftest.py only loads this package; each concern is one module below.
"""
pytest_plugins = [
    "tfvarbench.plugin.options",
    "tfvarbench.plugin.params",
    "tfvarbench.plugin.runner",
    "tfvarbench.plugin.fixtures",
    "tfvarbench.plugin.clusters",
    "tfvarbench.plugin.summary",
    "tfvarbench.plugin.spent",
]
