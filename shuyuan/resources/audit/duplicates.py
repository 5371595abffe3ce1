"""Exact and near duplicates of a version among other resources.

Exact: another resource has a version (not withdrawn) with the same SM3 of the file content.

Near: a 64-bit SimHash (Charikar 2002) over the jieba tokens of title, description and text.
Each token's 64-bit hash (BLAKE2b, stable across processes, unlike ``hash()``) votes +weight on
its one bits and -weight on its zero bits, weighted by the token's count; the fingerprint has a
one where the votes are positive. Texts that share most tokens differ in few bits, so a Hamming
distance of at most ``NEAR_DISTANCE`` flags a near copy. We write it here (a few lines) because
the PyPI ``simhash`` packages are unmaintained and tokenise English only; jieba gives Chinese
words. The fingerprint is stored as a signed 64-bit integer (``BigIntegerField``).

The near scan is linear over the fingerprints of other resources' versions of the same subject
(newest ``NEAR_SCAN_LIMIT`` of them): a few thousand XORs per audit. A region with far more
resources per subject would want a banded index (four 16-bit bands, one indexed each).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from typing import Any

import jieba

from ..choices import VersionStatus
from ..models import ResourceVersion

NEAR_DISTANCE = 3
NEAR_SCAN_LIMIT = 20_000
MAX_REPORTED = 5
#: Fewer tokens than this give no fingerprint: a near match on a title alone means little.
MIN_TOKENS = 8

_MASK = (1 << 64) - 1
_WORD = re.compile(r"\w", re.UNICODE)

jieba.setLogLevel(logging.WARNING)


def tokens(text: str) -> list[str]:
    """jieba's tokens of ``text`` that carry a letter, digit or ideograph, lower-cased."""
    return [t.lower() for t in jieba.lcut(text or "") if t.strip() and _WORD.search(t)]


def _token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "big")


def to_signed(value: int) -> int:
    """An unsigned 64-bit fingerprint as the signed integer a BIGINT column holds."""
    value &= _MASK
    return value - (1 << 64) if value >= 1 << 63 else value


def simhash(text: str) -> int | None:
    """The signed 64-bit SimHash of ``text``, or ``None`` if it has too few tokens."""
    counts = Counter(tokens(text))
    if sum(counts.values()) < MIN_TOKENS:
        return None
    votes = [0] * 64
    for token, weight in counts.items():
        h = _token_hash(token)
        for bit in range(64):
            votes[bit] += weight if (h >> bit) & 1 else -weight
    value = 0
    for bit, vote in enumerate(votes):
        if vote > 0:
            value |= 1 << bit
    return to_signed(value)


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & _MASK).bit_count()


def _others(version: ResourceVersion) -> Any:
    return (
        ResourceVersion.objects.exclude(resource_id=version.resource_id)
        .exclude(status=VersionStatus.WITHDRAWN)
        .select_related("resource")
    )


def exact_duplicates(version: ResourceVersion) -> list[ResourceVersion]:
    """Versions of other resources (not withdrawn) with the same content hash."""
    if not version.content_sm3:
        return []
    qs = _others(version).filter(content_sm3=version.content_sm3).order_by("pk")
    return list(qs[:MAX_REPORTED])


def near_duplicates(
    version: ResourceVersion, fingerprint: int | None, exclude_resources: set[int]
) -> list[tuple[ResourceVersion, int]]:
    """``(version, distance)`` of other resources' versions of the same subject whose
    fingerprint is within ``NEAR_DISTANCE`` bits, nearest first (one per resource)."""
    if fingerprint is None:
        return []
    rows = (
        _others(version)
        .filter(subject_id=version.subject_id, simhash__isnull=False)
        .exclude(resource_id__in=exclude_resources)
        .order_by("-pk")
        .values_list("pk", "resource_id", "simhash")[:NEAR_SCAN_LIMIT]
    )
    best: dict[int, tuple[int, int]] = {}
    for pk, resource_id, other in rows:
        distance = hamming(fingerprint, other)
        if distance <= NEAR_DISTANCE and (
            resource_id not in best or distance < best[resource_id][1]
        ):
            best[resource_id] = (pk, distance)
    nearest = sorted(best.values(), key=lambda item: (item[1], -item[0]))[:MAX_REPORTED]
    found = ResourceVersion.objects.select_related("resource").in_bulk([pk for pk, _ in nearest])
    return [(found[pk], distance) for pk, distance in nearest if pk in found]
