"""How much of the recommended metadata a version carries (shown to reviewers and in search).

Recommended, besides the required fields: a description of at least ``MIN_DESCRIPTION`` characters,
the grade, the textbook edition and chapter, the licence's expiry date, and at least one
knowledge-point tag on the resource. ``completeness`` is the fraction of these present.
"""

from __future__ import annotations

from ..models import ResourceTag, ResourceVersion

MIN_DESCRIPTION = 20
RECOMMENDED = ("description", "grade", "edition", "chapter", "licence_expires", "knowledge_points")


def missing_fields(version: ResourceVersion) -> list[str]:
    """The recommended fields ``version`` lacks, in ``RECOMMENDED`` order."""
    present = {
        "description": len((version.description or "").strip()) >= MIN_DESCRIPTION,
        "grade": bool(version.grade),
        "edition": version.edition_id is not None,
        "chapter": version.chapter_id is not None,
        "licence_expires": version.licence_expires is not None,
        "knowledge_points": ResourceTag.objects.filter(resource_id=version.resource_id).exists(),
    }
    return [name for name in RECOMMENDED if not present[name]]


def completeness(missing: list[str]) -> float:
    """The fraction of recommended fields present, rounded to 3 places."""
    return round(1 - len(missing) / len(RECOMMENDED), 3)
