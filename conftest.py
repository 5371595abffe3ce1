"""Root pytest configuration: shared fixtures from ``shuyuan.core.testing``."""

pytest_plugins = ["shuyuan.core.testing.fixtures"]
