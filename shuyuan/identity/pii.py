"""The platform's PII cipher (SM4-GCM at rest, keyed SM3 blind index), built from settings."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from shuyuan.core import crypto


@cache
def pii_cipher() -> crypto.PIICipher:
    """Keys from ``SHUYUAN_PII_KEYS`` / ``SHUYUAN_BLIND_INDEX_KEY``; in development they are
    derived from the secret key (HKDF-SM3), so the embedded set-up needs no key management."""
    secret = settings.SECRET_KEY.encode()
    if settings.SHUYUAN_PII_KEYS:
        keys: dict[int, bytes] = {}
        for item in settings.SHUYUAN_PII_KEYS.split(","):
            version, _sep, hex_key = item.strip().partition(":")
            keys[int(version)] = bytes.fromhex(hex_key)
        active = settings.SHUYUAN_PII_ACTIVE_KEY
    else:
        keys = {1: crypto.derive_key(secret, "shuyuan-pii-encryption-v1", 16)}
        active = 1
    if settings.SHUYUAN_BLIND_INDEX_KEY:
        index_key = bytes.fromhex(settings.SHUYUAN_BLIND_INDEX_KEY)
    else:
        index_key = crypto.derive_key(secret, "shuyuan-blind-index-v1", 32)
    return crypto.PIICipher(keys, active, index_key)
