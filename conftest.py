"""Root pytest configuration: shared fixtures of core and identity."""

pytest_plugins = ["shuyuan.core.testing.fixtures", "shuyuan.identity.testing"]
