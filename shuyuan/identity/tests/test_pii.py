"""PII keys from the environment, and key rotation."""

from __future__ import annotations

import pytest

from shuyuan.identity.pii import pii_cipher


@pytest.fixture
def fresh_cipher():
    pii_cipher.cache_clear()
    yield
    pii_cipher.cache_clear()


def test_configured_keys_are_used_and_old_versions_still_decrypt(settings, fresh_cipher):
    settings.SHUYUAN_PII_KEYS = "1:" + "11" * 16
    settings.SHUYUAN_PII_ACTIVE_KEY = 1
    settings.SHUYUAN_BLIND_INDEX_KEY = "22" * 32
    old = pii_cipher().encrypt("110101199003071234")
    pii_cipher.cache_clear()
    settings.SHUYUAN_PII_KEYS = "1:" + "11" * 16 + ",2:" + "33" * 16
    settings.SHUYUAN_PII_ACTIVE_KEY = 2
    cipher = pii_cipher()
    assert cipher.decrypt(old) == "110101199003071234"
    assert cipher.encrypt("x")[0] == 2


def test_blind_index_depends_on_the_configured_key(settings, fresh_cipher):
    settings.SHUYUAN_PII_KEYS = "1:" + "11" * 16
    settings.SHUYUAN_BLIND_INDEX_KEY = "22" * 32
    first = pii_cipher().blind_index("13812345678", "mobile")
    pii_cipher.cache_clear()
    settings.SHUYUAN_BLIND_INDEX_KEY = "44" * 32
    assert pii_cipher().blind_index("13812345678", "mobile") != first
