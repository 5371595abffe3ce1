"""Root pytest configuration: shared fixtures of core and identity."""

import pytest
from django.core.cache import cache

pytest_plugins = ["shuyuan.core.testing.fixtures", "shuyuan.identity.testing"]


@pytest.fixture(autouse=True)
def _clear_cache():
    """Sign-in throttles live in the cache: start every test with an empty one."""
    cache.clear()
    yield
    cache.clear()
