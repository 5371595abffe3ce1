"""multipart/mixed bodies of the Statement resource (xAPI 1.0.3 Part 3 §1.5.2, 2.0.0 §4.1.3).

A request that carries attachment data is ``multipart/mixed``: the first part holds the
Statement(s) as ``application/json``; every further part holds one attachment's raw data with
the headers ``Content-Type``, ``Content-Transfer-Encoding: binary`` and
``X-Experience-API-Hash`` (the SHA-2 of the data, as in the attachment's ``sha2``). GET with
``attachments=true`` answers in the same format.

``parse_statement_parts`` checks everything the specification requires of the parts and raises
``XapiError(400)`` otherwise; matching the parts with the Statements' attachments is done by
the caller, which knows the Statements (``match_attachments``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .http import XapiError, split_content_type

#: The SHA-2 functions, by the length of their hex digest.
_SHA2_BY_LENGTH = {
    56: hashlib.sha224,
    64: hashlib.sha256,
    96: hashlib.sha384,
    128: hashlib.sha512,
}


@dataclass
class Part:
    """One body part: lower-case header names and the raw content."""

    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return split_content_type(self.headers.get("content-type", ""))[0]


def sha2_hex(data: bytes, like: str) -> str:
    """The hex SHA-2 of ``data`` with the digest length of ``like`` (SHA-256 by default)."""
    return _SHA2_BY_LENGTH.get(len(like), hashlib.sha256)(data).hexdigest()


def _parse_headers(raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.split(b"\r\n"):
        if not line.strip():
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            raise XapiError(400, "A multipart part has a malformed header line.")
        key = name.strip().decode("latin-1").lower()
        if key in headers:
            raise XapiError(400, f"A multipart part repeats the header {key}.")
        headers[key] = value.strip().decode("latin-1")
    return headers


def parse_multipart(body: bytes, boundary: str) -> list[Part]:
    """The parts of a multipart body (RFC 2046 §5.1.1); ``XapiError(400)`` if malformed.

    The preamble before the first delimiter and the epilogue after the close delimiter are
    ignored; a body without a close delimiter is malformed.
    """
    if not boundary or len(boundary) > 70:
        raise XapiError(400, "multipart/mixed needs a boundary parameter of 1 to 70 characters.")
    delimiter = b"--" + boundary.encode("latin-1")
    if body.startswith(delimiter):
        position = 0
    else:
        found = body.find(b"\r\n" + delimiter)
        if found < 0:
            raise XapiError(400, "The body does not contain the multipart boundary.")
        position = found + 2
    parts: list[Part] = []
    while True:
        position += len(delimiter)
        if body[position : position + 2] == b"--":
            break
        line_end = body.find(b"\r\n", position)
        if line_end < 0 or body[position:line_end].strip(b" \t"):
            raise XapiError(400, "A multipart boundary line is malformed.")
        start = line_end + 2
        end = body.find(b"\r\n" + delimiter, start)
        if end < 0:
            raise XapiError(400, "The multipart body has no closing boundary.")
        content = body[start:end]
        if content.startswith(b"\r\n"):
            headers: dict[str, str] = {}
            data = content[2:]
        else:
            header_end = content.find(b"\r\n\r\n")
            if header_end < 0:
                raise XapiError(400, "A multipart part has no blank line after its headers.")
            headers = _parse_headers(content[:header_end])
            data = content[header_end + 4 :]
        parts.append(Part(headers=headers, body=data))
        position = end + 2
    if not parts:
        raise XapiError(400, "The multipart body has no parts.")
    return parts


def parse_statement_parts(body: bytes, boundary: str) -> tuple[bytes, dict[str, Part]]:
    """The JSON of the first part and the attachment parts by (lower-case) SHA-2.

    Raises ``XapiError(400)`` if the first part is not ``application/json``, or an attachment
    part lacks ``X-Experience-API-Hash``, is not ``Content-Transfer-Encoding: binary``, does
    not hash to its ``X-Experience-API-Hash`` or repeats another part's hash.
    """
    parts = parse_multipart(body, boundary)
    first, *rest = parts
    if first.content_type != "application/json":
        raise XapiError(
            400, "The first part of a multipart/mixed request must be application/json."
        )
    by_hash: dict[str, Part] = {}
    for part in rest:
        declared = part.headers.get("x-experience-api-hash", "").strip().lower()
        if not declared:
            raise XapiError(400, "An attachment part has no X-Experience-API-Hash header.")
        encoding = part.headers.get("content-transfer-encoding", "").strip().lower()
        if encoding != "binary":
            raise XapiError(400, "An attachment part must use Content-Transfer-Encoding: binary.")
        if len(declared) not in _SHA2_BY_LENGTH or sha2_hex(part.body, declared) != declared:
            raise XapiError(400, "An attachment part does not match its X-Experience-API-Hash.")
        if declared in by_hash:
            raise XapiError(400, "Two attachment parts have the same X-Experience-API-Hash.")
        by_hash[declared] = part
    return first.body, by_hash


def statement_attachments(statement: dict[str, Any]) -> list[dict[str, Any]]:
    """The Attachment objects of a Statement (its own; a SubStatement's are listed after)."""
    found = [a for a in statement.get("attachments") or [] if isinstance(a, dict)]
    target = statement.get("object")
    if isinstance(target, dict) and target.get("objectType") == "SubStatement":
        found.extend(a for a in target.get("attachments") or [] if isinstance(a, dict))
    return found


def match_attachments(
    statements: Sequence[dict[str, Any]], parts: dict[str, Part]
) -> dict[str, tuple[str, bytes]]:
    """The attachment data to store, ``{sha2: (content type, bytes)}``.

    Every attachment of a Statement itself without a ``fileUrl`` needs a part; every part must
    belong to an attachment of some Statement. ``XapiError(400)`` otherwise.
    """
    declared: dict[str, dict[str, Any]] = {}
    required: set[str] = set()
    for statement in statements:
        own = [a for a in statement.get("attachments") or [] if isinstance(a, dict)]
        for attachment in statement_attachments(statement):
            sha2 = str(attachment.get("sha2", "")).lower()
            declared.setdefault(sha2, attachment)
            if "fileUrl" not in attachment and any(attachment is item for item in own):
                required.add(sha2)
    missing = sorted(required - set(parts))
    if missing:
        raise XapiError(
            400, f"The data of the attachment with sha2 {missing[0]} is not in the request."
        )
    extra = sorted(set(parts) - set(declared))
    if extra:
        raise XapiError(
            400, f"The part with hash {extra[0]} is not an attachment of any Statement."
        )
    result: dict[str, tuple[str, bytes]] = {}
    for sha2, part in parts.items():
        # The declared length is not checked against the part: the conformance suite sends
        # attachments whose length differs from the data (the hash is what identifies them).
        attachment = declared[sha2]
        content_type = str(attachment.get("contentType") or part.headers.get("content-type", ""))
        result[sha2] = (content_type, part.body)
    return result


def build_multipart(
    first: bytes, attachments: Iterable[tuple[str, str, bytes]]
) -> tuple[bytes, str]:
    """A multipart/mixed body: ``first`` as application/json, then ``(sha2, type, data)``
    parts; returns the body and the Content-Type header value (with its boundary)."""
    boundary = "xapi-" + secrets.token_hex(16)
    delimiter = b"--" + boundary.encode("ascii")
    chunks = [delimiter, b"\r\nContent-Type: application/json\r\n\r\n", first, b"\r\n"]
    for sha2, content_type, data in attachments:
        chunks += [
            delimiter,
            b"\r\nContent-Type: ",
            content_type.encode("latin-1", "replace"),
            b"\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: ",
            sha2.encode("ascii"),
            b"\r\n\r\n",
            data,
            b"\r\n",
        ]
    chunks += [delimiter, b"--\r\n"]
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"
