"""Run the automatic audit of a submitted version and move it into review.

``audit_version`` reads the file and computes every finding first (outside any transaction: a
big PDF takes a while), then in one transaction: locks the version, checks it is still a draft
(a version withdrawn or already audited meanwhile is left alone), replaces its findings, stores
the extracted text, fingerprint, completeness and detected type, moves it to ``in_review`` at
the right stage (submission for a resource never listed, update otherwise), and sends
``signals.version_submitted`` so review opens its task in the same transaction.

Finding codes: ``FILE_MISSING`` (block), ``TYPE_MISMATCH`` (block), ``ARCHIVE_UNSAFE`` (block),
``TEXT_EXTRACTION_FAILED`` (warn), ``SENSITIVE_WORD`` (the word's severity),
``DUPLICATE_EXACT`` (block), ``DUPLICATE_NEAR`` (warn), ``METADATA_INCOMPLETE`` (info).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.context import change_context, system_actor

from .. import signals
from ..choices import AuditSeverity, ResourceStatus, ReviewStage, VersionStatus
from ..models import AuditFinding, Resource, ResourceVersion, SensitiveWordList
from . import completeness as comp
from . import duplicates, extract, sniff, words

logger = logging.getLogger(__name__)


@dataclass
class AuditResult:
    """What the checks found, before it is written."""

    findings: list[AuditFinding] = field(default_factory=list)
    mime_type: str = ""
    extracted_text: str = ""
    simhash: int | None = None
    completeness: float | None = None

    def add(
        self,
        code: str,
        severity: str,
        message: str,
        detail: dict[str, Any] | None = None,
        word_list: SensitiveWordList | None = None,
    ) -> None:
        self.findings.append(
            AuditFinding(
                code=code,
                severity=severity,
                message=message,
                detail=detail or {},
                word_list=word_list,
            )
        )


def _check_file(version: ResourceVersion, result: AuditResult) -> None:
    if not version.file:
        return
    storage = version.file.storage
    if not storage.exists(version.file.name):
        result.add(
            "FILE_MISSING",
            AuditSeverity.BLOCK,
            _("The stored file is missing."),
            {"file": version.file.name},
        )
        return
    with storage.open(version.file.name, "rb") as fh:
        sniffed, problem = sniff.check_type(fh, version.file_name, version.resource_type)
        if sniffed is not None:
            result.mime_type = sniffed.mime
        if problem is not None:
            code = "ARCHIVE_UNSAFE" if problem.code == "ARCHIVE_UNSAFE" else "TYPE_MISMATCH"
            result.add(
                code,
                AuditSeverity.BLOCK,
                problem.message,
                {
                    "reason": problem.code,
                    "detected": problem.detected,
                    "file_name": version.file_name,
                },
            )
        if sniffed is None or not extract.can_extract(sniffed.mime):
            return
        try:
            result.extracted_text = extract.extract_text(fh, sniffed.mime)
        except extract.ExtractionFailed as exc:
            result.add(
                "TEXT_EXTRACTION_FAILED",
                AuditSeverity.WARN,
                _("The text of the file could not be read; check it by hand."),
                {"error": str(exc)},
            )


def _check_words(version: ResourceVersion, result: AuditResult) -> None:
    word_list = SensitiveWordList.objects.active()
    if word_list is None:
        return
    try:
        automaton = words.automaton_for(word_list.pk, word_list.version, word_list.words)
    except Exception:  # a broken stored list must not stop submission
        logger.exception("Sensitive-word list v%s does not parse", word_list.version)
        return
    fields = {
        "title": version.title,
        "description": version.description,
        "text": result.extracted_text,
    }
    for hit in words.find_words(automaton, fields):
        result.add(
            "SENSITIVE_WORD",
            hit.severity,
            _('The %(field)s contains the listed word "%(word)s" (%(count)d times).')
            % {"field": hit.field, "word": hit.word, "count": hit.count},
            {
                "word": hit.word,
                "field": hit.field,
                "count": hit.count,
                "positions": hit.positions,
                "snippet": hit.snippet,
            },
            word_list,
        )


def _check_duplicates(version: ResourceVersion, result: AuditResult) -> None:
    exact = duplicates.exact_duplicates(version)
    for other in exact:
        result.add(
            "DUPLICATE_EXACT",
            AuditSeverity.BLOCK,
            _("The same file is already part of resource #%(id)d.") % {"id": other.resource_id},
            {
                "resource_id": other.resource_id,
                "version_id": other.pk,
                "title": other.title,
                "status": other.status,
            },
        )
    text = "\n".join([version.title, version.description, result.extracted_text])
    result.simhash = duplicates.simhash(text)
    seen = {other.resource_id for other in exact}
    for other, distance in duplicates.near_duplicates(version, result.simhash, seen):
        result.add(
            "DUPLICATE_NEAR",
            AuditSeverity.WARN,
            _("The content is very similar to resource #%(id)d.") % {"id": other.resource_id},
            {
                "resource_id": other.resource_id,
                "version_id": other.pk,
                "title": other.title,
                "distance": distance,
            },
        )


def _check_completeness(version: ResourceVersion, result: AuditResult) -> None:
    missing = comp.missing_fields(version)
    result.completeness = comp.completeness(missing)
    if missing:
        result.add(
            "METADATA_INCOMPLETE",
            AuditSeverity.INFO,
            _("Recommended information is missing: %(fields)s.") % {"fields": ", ".join(missing)},
            {"missing": missing, "completeness": result.completeness},
        )


def check(version: ResourceVersion) -> AuditResult:
    """Run every check on ``version`` without writing anything."""
    result = AuditResult()
    _check_file(version, result)
    _check_words(version, result)
    _check_duplicates(version, result)
    _check_completeness(version, result)
    return result


def audit_version(version: ResourceVersion, *, actor: Any = None) -> ResourceVersion | None:
    """Audit ``version`` (a draft) and put it into review; ``actor`` is who submitted it.

    Returns the version in review, or ``None`` if it was no longer a draft.
    """
    version = ResourceVersion.objects.select_related("resource").get(pk=version.pk)
    if version.status != VersionStatus.DRAFT:
        return None
    result = check(version)
    actor = actor if actor is not None else system_actor()
    with transaction.atomic(), change_context(actor=actor, source="task"):
        locked: ResourceVersion = ResourceVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != VersionStatus.DRAFT:
            return None
        resource = Resource.objects.select_for_update().get(pk=locked.resource_id)
        AuditFinding.objects.filter(version=locked).delete()
        for finding in result.findings:
            finding.version = locked
        AuditFinding.objects.bulk_create(result.findings)
        now = timezone.now()
        locked.extracted_text = result.extracted_text
        locked.simhash = result.simhash
        locked.completeness = result.completeness
        locked.mime_type = result.mime_type or locked.mime_type
        locked.audited_at = now
        locked.status = VersionStatus.IN_REVIEW
        locked.review_stage = (
            ReviewStage.SUBMISSION if resource.listed_version_id is None else ReviewStage.UPDATE
        )
        locked.submitted_at = now
        locked.save()
        if resource.status in {ResourceStatus.DRAFT, ResourceStatus.REJECTED}:
            resource.status = ResourceStatus.IN_REVIEW
            resource.save()
        locked.resource = resource
        signals.version_submitted.send(sender=ResourceVersion, version=locked, actor=actor)
    return locked
