"""Signed Statements (xAPI 1.0.3 Part 2 §2.6, 2.0.0 §4.2.6): checking the JWS attachment.

A signed Statement carries a JSON Web Signature (RFC 7515, compact serialization) as an
attachment with usageType ``http://adlnet.gov/expapi/attachments/signature`` and contentType
``application/octet-stream``. The LRS rejects (400) a malformed signature: the JWS must decode,
use RS256, RS384 or RS512, and its payload must be a JSON serialization of a Statement
logically equivalent to the one received (the Statement Comparison Requirements, ignoring
what the LRS assigns and the signature attachment itself). If the JWS header carries an X.509
certificate chain (``x5c``), the signature is verified against the first certificate and each
certificate must be issued by the next; without ``x5c`` the LRS has no key to check the
signature with, which the specification accepts (verification is the reader's business).
"""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .validation import loads_json, statements_equal

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
SIGNATURE_CONTENT_TYPE = "application/octet-stream"

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}


class SignatureError(ValueError):
    """A malformed or mismatching statement signature (answered with 400)."""


def _b64url(segment: str) -> bytes:
    if not segment or any(c in segment for c in "+/= \t\r\n"):
        raise SignatureError("The JWS is not base64url-encoded.")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("The JWS is not base64url-encoded.") from exc


def is_signature(attachment: dict[str, Any]) -> bool:
    """True for an Attachment that holds a statement signature."""
    return attachment.get("usageType") == SIGNATURE_USAGE


def check_signature_attachment(attachment: dict[str, Any]) -> None:
    """The signature attachment's own requirements: ``application/octet-stream``."""
    content_type = str(attachment.get("contentType", "")).split(";")[0].strip().lower()
    if content_type != SIGNATURE_CONTENT_TYPE:
        raise SignatureError(
            "A signature attachment must have contentType application/octet-stream."
        )


def decode_jws(token: bytes) -> tuple[dict[str, Any], Any, bytes, bytes]:
    """``(header, payload, signing input, signature)`` of a compact JWS; ``SignatureError``."""
    try:
        text = token.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise SignatureError("The JWS is not ASCII text.") from exc
    segments = text.split(".")
    if len(segments) != 3:
        raise SignatureError("The signature is not a JWS in compact serialization.")
    try:
        header = loads_json(_b64url(segments[0]))
    except ValueError as exc:
        raise SignatureError("The JWS header is not a JSON object.") from exc
    if not isinstance(header, dict):
        raise SignatureError("The JWS header is not a JSON object.")
    try:
        payload = loads_json(_b64url(segments[1]))
    except ValueError as exc:
        raise SignatureError("The JWS payload is not a JSON serialization of a Statement.") from exc
    signature = _b64url(segments[2])
    return header, payload, (segments[0] + "." + segments[1]).encode("ascii"), signature


def _verify_x5c(header: dict[str, Any], signing_input: bytes, signature: bytes) -> None:
    chain = header["x5c"]
    if not isinstance(chain, list) or not chain or not all(isinstance(c, str) for c in chain):
        raise SignatureError("The JWS x5c header must be a non-empty list of certificates.")
    try:
        certificates = [
            x509.load_der_x509_certificate(base64.b64decode(item, validate=True)) for item in chain
        ]
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("The JWS x5c header holds a malformed certificate.") from exc
    key = certificates[0].public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("The signing certificate does not hold an RSA key.")
    try:
        key.verify(signature, signing_input, padding.PKCS1v15(), _HASHES[header["alg"]]())
    except InvalidSignature as exc:
        raise SignatureError("The JWS signature does not verify with its x5c certificate.") from exc
    for child, parent in itertools.pairwise(certificates):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise SignatureError("The JWS x5c certificate chain is broken.") from exc


def _without_signatures(statement: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(statement)
    remaining = [
        a for a in result.get("attachments") or [] if not (isinstance(a, dict) and is_signature(a))
    ]
    if remaining:
        result["attachments"] = remaining
    else:
        result.pop("attachments", None)
    return result


def verify_statement_signature(token: bytes, statement: dict[str, Any]) -> None:
    """Check the JWS ``token`` signs ``statement`` (as received, with its id); else raise.

    Raises ``SignatureError`` for a malformed JWS, an algorithm other than RS256/384/512,
    a payload that is not an equivalent Statement, or (with ``x5c``) a bad signature.
    """
    header, payload, signing_input, signature = decode_jws(token)
    if header.get("alg") not in _HASHES:
        raise SignatureError("The JWS algorithm must be RS256, RS384 or RS512.")
    if not isinstance(payload, dict):
        raise SignatureError("The JWS payload is not a JSON serialization of a Statement.")
    if "x5c" in header:
        _verify_x5c(header, signing_input, signature)
    original = _without_signatures(payload)
    received = _without_signatures(statement)
    if "id" not in original and "id" in received:
        # The LRS may have assigned the id after the Statement was signed.
        original["id"] = received["id"]
    if not statements_equal(original, received):
        raise SignatureError("The signed Statement differs from the Statement received.")
