"""Settings of the resources app, with their defaults (documented in docs/dev/configuration.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Largest file a provider may upload (bytes).
    "RESOURCES_MAX_UPLOAD_BYTES": 500 * 1024 * 1024,
    # Largest total uncompressed size of a DOCX/PPTX/XLSX (a zip) and its largest ratio.
    "RESOURCES_MAX_UNCOMPRESSED_BYTES": 1024 * 1024 * 1024,
    "RESOURCES_MAX_COMPRESSION_RATIO": 100,
    # Most characters of extracted text kept for screening and search.
    "RESOURCES_MAX_EXTRACTED_CHARS": 200_000,
    # SM2 private key (64 hex digits) that signs inclusion certificates. Required in production;
    # development derives one from SHUYUAN_SECRET_KEY.
    "RESOURCES_CERT_SIGNING_KEY": "",
    # Public keys (hex) of retired certificate signing keys, still accepted when verifying.
    "RESOURCES_CERT_PREVIOUS_PUBLIC_KEYS": (),
    # Certificate numbers are <prefix>-<year>-<sequence>.
    "RESOURCES_CERT_PREFIX": "SYZY",
}


def get(name: str) -> Any:
    """The setting ``name`` from Django settings, or its default here."""
    return getattr(settings, name, DEFAULTS[name])
