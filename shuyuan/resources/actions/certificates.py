"""Issuing inclusion certificates (收录证书) when a version is listed.

A certificate is issued by the receiver of ``signals.version_listed`` inside the listing's
transaction (``handlers.certificates``), once per listed version.

- **Number**: ``<RESOURCES_CERT_PREFIX>-<year of issue>-<sequence, 8 digits>``; the sequence
  runs over all certificates (it is the position in the hash chain), the year is local time.
- **Content hash**: the version's file SM3 (``content_sm3``); for a link-only resource the SM3
  of its canonical metadata JSON (``metadata_hash``).
- **Payload**: canonical JSON (sorted keys, no spaces, UTF-8) of ``number``, ``sequence``,
  ``resource_id``, ``version_number``, ``title``, ``provider``, ``content_hash``,
  ``issued_at`` (UTC ISO 8601 with microseconds) and ``prev_hash``.
- **Signature**: SM2 (default signer id) over the payload with the platform's certificate key,
  stored as DER hex beside the 64-byte public key (hex).
- **Chain**: ``prev_hash`` is the ``entry_hash`` of certificate ``sequence - 1`` (64 zeros for
  the first); ``entry_hash = SM3(prev_hash as ASCII hex || payload)``.

The key is ``RESOURCES_CERT_SIGNING_KEY`` (64 hex digits, a scalar in [1, n-2]). In development
(``settings.DEVELOPMENT``) an empty setting derives a fixed key from ``SECRET_KEY`` with
HKDF-SM3 (label ``shuyuan.resources.certificate-signing``), reduced into [1, n-2]; in production
an empty setting is ``ImproperlyConfigured`` when a certificate is issued.

Sequences are allocated under a lock: on PostgreSQL a transaction-level advisory lock on the
register plus ``select_for_update`` of the current last certificate; SQLite's IMMEDIATE
transactions serialise writers anyway. The unique constraints on ``sequence``,
``entry_hash`` and ``version`` are the backstop, and a lost race is retried in a savepoint.

Audit code: ``resources.certificate.issued``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core import crypto
from shuyuan.core.audit import record_audit
from shuyuan.core.errors import Conflict

from .. import conf
from ..models import Certificate, ResourceVersion

GENESIS_HASH = "0" * 64
KEY_LABEL = "shuyuan.resources.certificate-signing"
SEQUENCE_DIGITS = 8
ALLOCATION_ATTEMPTS = 5
#: The advisory lock key of the certificate register (PostgreSQL).
REGISTER_LOCK_ID = 0x5359_5A59  # "SYZY"


# --- keys --------------------------------------------------------------------------------------


def _reduce_scalar(raw: bytes) -> bytes:
    """32 bytes mapped into the valid SM2 private range [1, n-2]."""
    n = crypto.SM2P256V1.n
    return (int.from_bytes(raw, "big") % (n - 2) + 1).to_bytes(32, "big")


@functools.lru_cache(maxsize=4)
def _signer_for(private_hex: str) -> crypto.SM2Signer:
    # Deriving the public key is slow pure Python: do it once per key.
    return crypto.SM2Signer(bytes.fromhex(private_hex))


def signing_key_hex() -> str:
    """The certificate private key (64 hex digits); see the module for where it comes from."""
    configured = (conf.get("RESOURCES_CERT_SIGNING_KEY") or "").strip().lower()
    if configured:
        try:
            raw = bytes.fromhex(configured)
        except ValueError:
            raw = b""
        scalar = int.from_bytes(raw, "big") if len(raw) == 32 else 0
        if not 1 <= scalar <= crypto.SM2P256V1.n - 2:
            raise ImproperlyConfigured(
                "RESOURCES_CERT_SIGNING_KEY must be 64 hex digits: an SM2 private key in [1, n-2]."
            )
        return configured
    if getattr(settings, "DEVELOPMENT", False):
        derived = crypto.derive_key(settings.SECRET_KEY.encode("utf-8"), KEY_LABEL, 32)
        return _reduce_scalar(derived).hex()
    raise ImproperlyConfigured(
        "RESOURCES_CERT_SIGNING_KEY is required in production to sign inclusion certificates "
        "(64 hex digits, an SM2 private key; generate one with shuyuan.core.crypto.sm2_generate)."
    )


def current_signer() -> crypto.SM2Signer:
    """The SM2 signer of new certificates."""
    return _signer_for(signing_key_hex())


def current_public_key_hex() -> str:
    """The platform's current certificate public key (128 hex digits, ``x || y``)."""
    return current_signer().public_key_bytes().hex()


# --- canonical forms -------------------------------------------------------------------------


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not ASCII-escaped)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def iso_utc(value: dt.datetime) -> str:
    """An aware datetime as UTC ISO 8601 with microseconds (what the payload holds)."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def metadata_document(version: ResourceVersion) -> dict[str, Any]:
    """The metadata a link-only resource's content hash covers."""
    return {
        "resource_id": version.resource_id,
        "version_number": version.number,
        "title": version.title,
        "description": version.description,
        "subject": version.subject.code,
        "stage": version.stage,
        "grade": version.grade,
        "resource_type": version.resource_type,
        "licence": version.licence,
        "external_url": version.external_url,
        "provider": version.resource.provider_name,
    }


def metadata_hash(version: ResourceVersion) -> str:
    """SM3 (hex) of the canonical metadata JSON."""
    return crypto.sm3(canonical_json(metadata_document(version))).hex()


def content_hash_of(version: ResourceVersion) -> str:
    """The hash a certificate records: the file's SM3, or the metadata's for a link."""
    return version.content_sm3 or metadata_hash(version)


def certificate_payload(cert: Certificate) -> bytes:
    """The canonical payload that is signed and chained."""
    return canonical_json(
        {
            "number": cert.number,
            "sequence": cert.sequence,
            "resource_id": cert.resource_id,
            "version_number": cert.version.number,
            "title": cert.title,
            "provider": cert.provider_name,
            "content_hash": cert.content_hash,
            "issued_at": iso_utc(cert.issued_at),
            "prev_hash": cert.prev_hash,
        }
    )


def entry_hash_of(prev_hash: str, payload: bytes) -> str:
    """``SM3(prev_hash as ASCII hex || payload)`` in hex."""
    return crypto.sm3(prev_hash.encode("ascii") + payload).hex()


def certificate_number(sequence: int, issued_at: dt.datetime) -> str:
    year = timezone.localtime(issued_at).year
    return f"{conf.get('RESOURCES_CERT_PREFIX')}-{year}-{sequence:0{SEQUENCE_DIGITS}d}"


# --- issuing ----------------------------------------------------------------------------------


def _lock_register() -> None:
    """Serialise issuers until the transaction ends. PostgreSQL: a transaction-level advisory
    lock (a waiter that merely locked the last row would read the same last row again after the
    wait and collide); SQLite's IMMEDIATE transactions already hold the write lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REGISTER_LOCK_ID])


def _build(version: ResourceVersion, signer: crypto.SM2Signer) -> Certificate:
    _lock_register()
    last = Certificate.objects.select_for_update().order_by("-sequence").first()
    sequence = last.sequence + 1 if last is not None else 1
    prev_hash = last.entry_hash if last is not None else GENESIS_HASH
    issued_at = timezone.now()
    cert = Certificate(
        number=certificate_number(sequence, issued_at),
        sequence=sequence,
        resource=version.resource,
        version=version,
        title=version.title,
        provider_name=version.resource.provider_name,
        content_hash=content_hash_of(version),
        issued_at=issued_at,
        algorithm=signer.algorithm,
        public_key=signer.public_key_bytes().hex(),
        prev_hash=prev_hash,
    )
    payload = certificate_payload(cert)
    cert.signature = signer.sign(payload).hex()
    cert.entry_hash = entry_hash_of(prev_hash, payload)
    return cert


def issue_certificate(*, version: ResourceVersion, actor: Any) -> Certificate:
    """The inclusion certificate of a listed ``version``: issued now, or the one it already has.

    Called inside the listing's transaction; a version that is not its resource's listed
    version is refused (``NOT_LISTED``).
    """
    existing: Certificate | None = Certificate.objects.filter(version=version).first()
    if existing is not None:
        return existing
    version = ResourceVersion.objects.select_related("resource", "subject").get(pk=version.pk)
    if version.resource.listed_version_id != version.pk:
        raise Conflict(
            _("Only the listed version of a resource gets a certificate."), code="NOT_LISTED"
        )
    signer = current_signer()
    with transaction.atomic():
        for attempt in range(ALLOCATION_ATTEMPTS):
            cert = _build(version, signer)
            try:
                with transaction.atomic():
                    cert.save(force_insert=True)
                break
            except IntegrityError:
                # Lost the race for this sequence (or the version got its certificate meanwhile).
                raced: Certificate | None = Certificate.objects.filter(version=version).first()
                if raced is not None:
                    return raced
                if attempt == ALLOCATION_ATTEMPTS - 1:
                    raise
        record_audit(
            "resources.certificate.issued",
            actor=actor,
            subject=cert,
            org_path=version.resource.org.path,
            extra={"version_id": version.pk, "sequence": cert.sequence},
        )
    return cert
