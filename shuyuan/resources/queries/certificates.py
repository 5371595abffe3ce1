"""Reading and verifying inclusion certificates.

``verify_certificate(number)`` is public (no account): anyone holding a certificate number can
check it. It recomputes the payload from the stored fields and checks

1. ``signature``: the SM2 signature over the payload with the stored public key;
2. ``signing_key``: that public key is the platform's current certificate key or one of
   ``RESOURCES_CERT_PREVIOUS_PUBLIC_KEYS`` (a list of hex public keys of retired keys);
3. ``chain``: ``prev_hash`` equals the ``entry_hash`` of the certificate before it (64 zeros
   for the first) and ``entry_hash`` is ``SM3(prev_hash || payload)``;
4. ``content``: if the file is still stored, its SM3 equals ``content_hash`` (for a link-only
   resource, the metadata hash recomputed from the version); not checked (``None``) when the
   file is gone. The stored file's digest is cached for ``CONTENT_CACHE_SECONDS``.

Any change to a stored field the payload covers (title, provider, content hash, time,
``prev_hash``) breaks the signature and the entry hash. ``verify_chain()`` walks the whole chain
in sequence order and names the first certificate that breaks it.
"""

from __future__ import annotations

import binascii
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from shuyuan.core import crypto
from shuyuan.core.errors import NotFound

from .. import conf
from ..actions.certificates import (
    GENESIS_HASH,
    certificate_payload,
    current_public_key_hex,
    entry_hash_of,
    metadata_hash,
)
from ..models import Certificate

HASH_CHUNK = 1024 * 1024
CONTENT_CACHE_SECONDS = 600
NUMBER_MAX = 40


@dataclass(frozen=True)
class CheckOutcome:
    """One check: ``ok`` is True (passed), False (failed) or None (could not be checked)."""

    name: str
    ok: bool | None
    detail: str


@dataclass
class VerificationResult:
    """The outcome of ``verify_certificate``; ``valid`` if no check failed."""

    number: str
    certificate: Certificate | None
    checks: list[CheckOutcome] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.certificate is not None

    @property
    def valid(self) -> bool:
        return self.found and all(check.ok is not False for check in self.checks)

    def check(self, name: str) -> CheckOutcome | None:
        return next((c for c in self.checks if c.name == name), None)


@dataclass(frozen=True)
class ChainReport:
    """The outcome of ``verify_chain``: how many certificates were checked and the first break."""

    checked: int
    ok: bool
    broken_sequence: int | None = None
    broken_number: str = ""
    reason: str = ""


def _clean_number(number: str) -> str:
    return (number or "").strip().upper()[:NUMBER_MAX]


def find_certificate(number: str) -> Certificate | None:
    """The certificate numbered ``number`` (any case), or None. Public: certificates are."""
    number = _clean_number(number)
    if not number:
        return None
    found: Certificate | None = (
        Certificate.objects.select_related("version", "resource").filter(number=number).first()
    )
    return found


def access_certificate(user: Any, number: str) -> Certificate:
    """A certificate for a signed-in user (every account may see certificates), or NotFound."""
    cert: Certificate | None = (
        Certificate.objects.visible_to(user)
        .select_related("version", "resource")
        .filter(number=_clean_number(number))
        .first()
    )
    if cert is None:
        raise NotFound(_("Certificate not found."))
    return cert


def list_certificates(user: Any) -> QuerySet[Certificate]:
    """Certificates ``user`` may see, newest first."""
    return Certificate.objects.visible_to(user).select_related("resource").order_by("-sequence")


def accepted_public_keys() -> tuple[set[str], str]:
    """(public keys accepted as the platform's, and an error text if the current key is not
    configured)."""
    keys = {k.strip().lower() for k in conf.get("RESOURCES_CERT_PREVIOUS_PUBLIC_KEYS")}
    try:
        keys.add(current_public_key_hex())
    except ImproperlyConfigured as exc:
        return keys, str(exc)
    return keys, ""


def _signature_ok(cert: Certificate, payload: bytes) -> bool:
    try:
        public_key = bytes.fromhex(cert.public_key)
        signature = bytes.fromhex(cert.signature)
    except (ValueError, binascii.Error):
        return False
    try:
        return crypto.sm2_verify(public_key, payload, signature)
    except crypto.InvalidKeyError:
        return False


def _expected_prev(cert: Certificate) -> str | None:
    if cert.sequence == 1:
        return GENESIS_HASH
    previous = Certificate.objects.filter(sequence=cert.sequence - 1).values("entry_hash").first()
    return previous["entry_hash"] if previous else None


def sm3_of_file(chunks: Iterable[bytes]) -> str:
    """SM3 (hex) of a file read in chunks (an uploaded file's ``chunks()``)."""
    # Incremental SM3 (the same algorithm as ``core.crypto.sm3``) so a large file is never
    # held in memory at once.
    digest = hashes.Hash(hashes.SM3())
    for chunk in chunks:
        digest.update(chunk)
    return digest.finalize().hex()


def stored_content_hash(cert: Certificate) -> str | None:
    """The SM3 of what the certificate covers as stored now (the file, or the link's metadata);
    None if the file is no longer stored."""
    version = cert.version
    if not version.content_sm3:
        return metadata_hash(version)
    if not version.file:
        return None
    # Hashing a large file on every public request would be a cheap denial of service: keep
    # the digest of the stored file for a while.
    key = f"resources:cert-content:{cert.pk}:{version.file.name}"
    cached = cache.get(key)
    if cached is not None:
        return str(cached) or None
    try:
        with version.file.open("rb") as handle:
            digest: str = sm3_of_file(iter(lambda: handle.read(HASH_CHUNK), b""))
    except (FileNotFoundError, OSError):
        digest = ""
    cache.set(key, digest, CONTENT_CACHE_SECONDS)
    return digest or None


def verify_certificate(number: str, *, check_content: bool = True) -> VerificationResult:
    """Every check of the certificate numbered ``number`` (see the module); not found: no
    checks and ``found`` False."""
    cert = find_certificate(number)
    result = VerificationResult(number=_clean_number(number), certificate=cert)
    if cert is None:
        return result
    payload = certificate_payload(cert)
    signed = _signature_ok(cert, payload)
    result.checks.append(
        CheckOutcome(
            "signature",
            signed,
            _("The SM2 signature matches the certificate.")
            if signed
            else _("The signature does not match the certificate's contents."),
        )
    )
    keys, key_error = accepted_public_keys()
    known = cert.public_key.lower() in keys
    result.checks.append(
        CheckOutcome(
            "signing_key",
            known,
            _("Signed with the platform's certificate key.")
            if known
            else (key_error or _("The signing key is not the platform's.")),
        )
    )
    expected_prev = _expected_prev(cert)
    linked = expected_prev is not None and cert.prev_hash == expected_prev
    chained = linked and cert.entry_hash == entry_hash_of(cert.prev_hash, payload)
    result.checks.append(
        CheckOutcome(
            "chain",
            chained,
            _("The certificate is linked into the register in order.")
            if chained
            else _("The certificate's link in the register is broken."),
        )
    )
    if check_content:
        stored = stored_content_hash(cert)
        if stored is None:
            result.checks.append(
                CheckOutcome("content", None, _("The file is no longer stored here."))
            )
        else:
            same = stored == cert.content_hash
            result.checks.append(
                CheckOutcome(
                    "content",
                    same,
                    _("The stored file matches the content hash.")
                    if same
                    else _("The stored file does not match the content hash."),
                )
            )
    return result


def file_matches(cert: Certificate, chunks: Iterable[bytes]) -> tuple[bool, str]:
    """(whether an uploaded file's SM3 equals the certificate's content hash, that SM3)."""
    digest = sm3_of_file(chunks)
    return digest == cert.content_hash, digest


def verify_chain() -> ChainReport:
    """Walk every certificate in sequence order; stop at the first whose sequence skips, whose
    ``prev_hash`` does not link, whose entry hash or signature does not match."""
    expected_sequence = 1
    prev_hash = GENESIS_HASH
    checked = 0
    rows = Certificate.objects.select_related("version").order_by("sequence")
    for cert in rows.iterator(chunk_size=500):
        reason = ""
        payload = certificate_payload(cert)
        if cert.sequence != expected_sequence:
            reason = _("Certificate %(n)d is missing.") % {"n": expected_sequence}
        elif cert.prev_hash != prev_hash:
            reason = _("The previous-entry hash does not link.")
        elif cert.entry_hash != entry_hash_of(cert.prev_hash, payload):
            reason = _("The entry hash does not match the contents.")
        elif not _signature_ok(cert, payload):
            reason = _("The signature does not match the contents.")
        if reason:
            return ChainReport(checked, False, cert.sequence, cert.number, reason)
        checked += 1
        expected_sequence += 1
        prev_hash = cert.entry_hash
    return ChainReport(checked, True)


# --- throttling of the public pages and API ------------------------------------------------------

#: Public verification requests allowed per client IP in ``THROTTLE_WINDOW`` seconds.
THROTTLE_LIMIT = 60
THROTTLE_WINDOW = 60


def public_throttled(ip: str | None, scope: str = "verify") -> bool:
    """Count one public verification request from ``ip``; True once the IP has made more than
    ``THROTTLE_LIMIT`` in the current ``THROTTLE_WINDOW``-second window (a fixed window in the
    cache, shared by the pages and the API)."""
    window = int(time.time()) // THROTTLE_WINDOW
    key = f"resources:cert-throttle:{scope}:{ip or 'unknown'}:{window}"
    if cache.add(key, 1, THROTTLE_WINDOW + 5):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, THROTTLE_WINDOW + 5)
        return False
    return count > THROTTLE_LIMIT
