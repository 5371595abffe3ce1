"""Root pytest configuration: shared fixtures of core and identity."""

import pytest
from django.core.cache import cache
from django.utils import translation

pytest_plugins = [
    "shuyuan.core.testing.fixtures",
    "shuyuan.identity.testing",
    "shuyuan.registry.testing",
    "shuyuan.resources.testing",
    "shuyuan.learning.testing",
]


@pytest.fixture(autouse=True)
def _clear_cache():
    """Sign-in throttles live in the cache: start every test with an empty one."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    """Tests assert the English msgids, so pages and messages are English unless a test asks.

    The product default (zh-hans) and the zh_Hans catalog are tested in tests/test_i18n.py,
    which sets ``LANGUAGE_CODE`` back to the base settings' value.
    """
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
