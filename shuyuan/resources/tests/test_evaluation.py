"""Use and evaluation: counting, rating rules, moderation, quality, retirement (actions)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from shuyuan.core import crypto
from shuyuan.core.context import change_context, system_actor
from shuyuan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuyuan.core.models import AuditEvent
from shuyuan.resources import quality, signals
from shuyuan.resources.actions import evaluation as actions
from shuyuan.resources.choices import (
    ModerationStatus,
    ProviderKind,
    ResourceStatus,
    ResourceType,
    Stage,
    TagSource,
    UsageKind,
    VersionStatus,
)
from shuyuan.resources.models import (
    KnowledgePoint,
    Rating,
    Resource,
    ResourceTag,
    ResourceVersion,
    UsageEvent,
)
from shuyuan.resources.queries import evaluation as queries


def make_resource(
    w,
    *,
    title="Pythagoras lesson",
    owner=None,
    org=None,
    listed=True,
    file_bytes=b"",
    external_url="",
    grade="08",
    chapter=None,
    points=(),
    licence_expires=None,
    listed_at=None,
    send_listed=False,
):
    """A resource with one approved version, created directly as the system actor."""
    owner = owner or w.teacher_a
    org = org or w.tree.school_a
    with change_context(actor=system_actor(), source="system"):
        resource = Resource(
            org=org,
            provider_kind=ProviderKind.TEACHER,
            provider_name="School A maths group",
            created_by=owner,
            status=ResourceStatus.LISTED if listed else ResourceStatus.DRAFT,
        )
        resource.save(force_insert=True)
        version = ResourceVersion(
            resource=resource,
            number=1,
            status=VersionStatus.APPROVED if listed else VersionStatus.DRAFT,
            title=title,
            description="A lesson.",
            subject=w.math,
            stage=Stage.JUNIOR,
            grade=grade,
            chapter=chapter,
            resource_type=ResourceType.VIRTUAL_LAB if external_url else ResourceType.DOCUMENT,
            licence="CC BY 4.0",
            licence_expires=licence_expires,
            external_url=external_url,
            created_by=owner,
        )
        if file_bytes:
            version.file.save("lesson.pdf", ContentFile(file_bytes), save=False)
            version.file_name = "lesson.pdf"
            version.file_size = len(file_bytes)
            version.mime_type = "application/pdf"
            version.content_sm3 = crypto.sm3(file_bytes).hex()
        version.save(force_insert=True)
        if listed:
            resource.listed_version = version
            resource.listed_at = listed_at or timezone.now()
            resource.save()
        for point in points:
            ResourceTag(
                resource=resource, knowledge_point=point, source=TagSource.MANUAL, created_by=owner
            ).save(force_insert=True)
        if send_listed:
            signals.version_listed.send(
                sender=ResourceVersion, version=version, previous=None, actor=system_actor()
            )
    resource.refresh_from_db()
    return resource


def make_point(w, code, name):
    with change_context(actor=system_actor(), source="system"):
        point = KnowledgePoint(code=code, name=name, subject=w.math, stage=Stage.JUNIOR)
        point.save(force_insert=True)
    return point


# --- usage ---------------------------------------------------------------------------------------


def test_record_usage_views_counted_once_per_half_hour(res_world):
    w = res_world
    resource = make_resource(w)
    assert actions.record_usage(actor=w.student_a, resource=resource, kind=UsageKind.VIEW)
    assert actions.record_usage(actor=w.student_a, resource=resource, kind=UsageKind.VIEW) is None
    actions.record_usage(actor=w.teacher_b, resource=resource, kind=UsageKind.VIEW)
    resource.refresh_from_db()
    assert resource.view_count == 2
    UsageEvent.objects.filter(user=w.student_a).update(at=timezone.now() - dt.timedelta(minutes=31))
    assert actions.record_usage(actor=w.student_a, resource=resource, kind=UsageKind.VIEW)
    resource.refresh_from_db()
    assert resource.view_count == 3


def test_record_usage_downloads_always_count_and_need_no_change_record(res_world):
    from shuyuan.core.models import ChangeRecord

    w = res_world
    resource = make_resource(w)
    before = ChangeRecord.objects.count()
    for _ in range(3):
        actions.record_usage(actor=w.student_a, resource=resource, kind=UsageKind.DOWNLOAD)
    resource.refresh_from_db()
    assert resource.download_count == 3
    assert resource.view_count == 0
    assert ChangeRecord.objects.count() == before


def test_record_usage_unlisted_is_not_found(res_world):
    w = res_world
    draft = make_resource(w, listed=False)
    with pytest.raises(NotFound):
        actions.record_usage(actor=w.student_a, resource=draft, kind=UsageKind.VIEW)
    with pytest.raises(InvalidInput) as exc:
        actions.record_usage(actor=w.student_a, resource=make_resource(w), kind="stare")
    assert exc.value.field == "kind"


# --- ratings -------------------------------------------------------------------------------------


def test_rate_own_resource_refused(res_world):
    w = res_world
    resource = make_resource(w)
    with pytest.raises(PermissionDenied) as exc:
        actions.rate(actor=w.teacher_a, resource=resource, stars=5)
    assert exc.value.code == "OWN_RESOURCE"


def test_rate_invisible_resource_is_not_found(res_world):
    w = res_world
    draft = make_resource(w, listed=False)
    with pytest.raises(NotFound):
        actions.rate(actor=w.student_a, resource=draft, stars=4)


@pytest.mark.parametrize("stars", [0, 6, "many", None])
def test_rate_stars_out_of_range_is_a_field_error(res_world, stars):
    w = res_world
    with pytest.raises(InvalidInput) as exc:
        actions.rate(actor=w.student_a, resource=make_resource(w), stars=stars)
    assert exc.value.field == "stars"


def test_rate_long_comment_is_a_field_error(res_world):
    w = res_world
    with pytest.raises(InvalidInput) as exc:
        actions.rate(actor=w.student_a, resource=make_resource(w), stars=4, comment="x" * 2001)
    assert exc.value.field == "comment"
    assert exc.value.code == "TOO_LONG"


def test_rate_twice_updates_the_one_rating_and_counters(res_world):
    w = res_world
    resource = make_resource(w)
    actions.rate(actor=w.student_a, resource=resource, stars=2, comment="Hard to follow")
    rating = actions.rate(actor=w.student_a, resource=resource, stars=4, comment="Better now")
    actions.rate(actor=w.teacher_b, resource=resource, stars=5)
    assert Rating.objects.filter(resource=resource).count() == 2
    assert rating.stars == 4 and rating.comment_status == ModerationStatus.PENDING
    resource.refresh_from_db()
    assert resource.rating_count == 2
    assert resource.rating_average == 4.5


def test_pending_comment_hidden_from_others_until_approved(res_world):
    w = res_world
    resource = make_resource(w)
    rating = actions.rate(actor=w.student_a, resource=resource, stars=3, comment="Useful")
    assert not queries.published_comments(w.teacher_b, resource).exists()
    assert queries.my_rating(w.student_a, resource) == rating
    assert list(queries.pending_comments(w.reviewer)) == [rating]
    with pytest.raises(NotFound):
        actions.moderate_comment(actor=w.teacher_b, rating=rating, approve=True)
    actions.moderate_comment(actor=w.reviewer, rating=rating, approve=True)
    assert list(queries.published_comments(w.teacher_b, resource)) == [rating]
    assert AuditEvent.objects.filter(code="resources.comment.approved").count() == 1


def test_reject_comment_needs_reason(res_world):
    w = res_world
    resource = make_resource(w)
    rating = actions.rate(actor=w.student_a, resource=resource, stars=3, comment="Spam link")
    with pytest.raises(InvalidInput) as exc:
        actions.moderate_comment(actor=w.school_admin_a, rating=rating, approve=False)
    assert exc.value.field == "reason"
    actions.moderate_comment(
        actor=w.school_admin_a, rating=rating, approve=False, reason="Advertising"
    )
    rating.refresh_from_db()
    assert rating.comment_status == ModerationStatus.REJECTED
    assert not queries.published_comments(w.teacher_b, resource).exists()


def test_changed_comment_goes_back_to_moderation(res_world):
    w = res_world
    resource = make_resource(w)
    rating = actions.rate(actor=w.student_a, resource=resource, stars=3, comment="Fine")
    actions.moderate_comment(actor=w.reviewer, rating=rating, approve=True)
    rating = actions.rate(actor=w.student_a, resource=resource, stars=3, comment="Changed")
    assert rating.comment_status == ModerationStatus.PENDING
    assert not queries.published_comments(w.teacher_b, resource).exists()


# --- expert evaluation and quality ---------------------------------------------------------------


def test_quality_formula_worked_example():
    inputs = quality.QualityInputs(
        stars_sum=14, rating_count=3, expert_mean=85.0, views=4, downloads=1
    )
    # bayes = (5 * 3.5 + 14) / 8 = 3.9375 -> 73.4375; usage log10(10)/log10(1000) -> 33.33
    assert quality.rating_term(14, 3) == pytest.approx(73.4375)
    assert quality.usage_term(4, 1) == pytest.approx(100 / 3)
    assert quality.quality_score(inputs) == pytest.approx(71.47, abs=0.005)
    # Without experts: (0.5 * 62.5 + 0.15 * 0) / 0.65 for an unused, unrated resource.
    assert quality.quality_score(quality.QualityInputs()) == pytest.approx(48.08, abs=0.005)


def test_recompute_quality_matches_the_worked_example(res_world, make_user):
    from shuyuan.identity.models import Role

    w = res_world
    resource = make_resource(w)
    reviewer2 = make_user(Role.RESOURCE_REVIEWER, w.tree.region, username="reviewer2")
    actions.rate(actor=w.student_a, resource=resource, stars=5)
    actions.rate(actor=w.teacher_b, resource=resource, stars=5)
    actions.rate(actor=w.school_admin_a, resource=resource, stars=4)
    actions.evaluate(actor=w.reviewer, resource=resource, score=80, criteria={"accuracy": 90})
    actions.evaluate(actor=reviewer2, resource=resource, score=90)
    for user in (w.student_a, w.teacher_b, w.school_admin_a, w.reviewer):
        actions.record_usage(actor=user, resource=resource, kind=UsageKind.VIEW)
    actions.record_usage(actor=w.student_a, resource=resource, kind=UsageKind.DOWNLOAD)
    score = actions.recompute_quality(resource)
    resource.refresh_from_db()
    assert score == pytest.approx(71.47, abs=0.005)
    assert resource.quality_score == pytest.approx(71.47, abs=0.005)
    assert resource.rating_average == pytest.approx(14 / 3, abs=0.001)


def test_evaluate_only_by_reviewers_who_moderate(res_world):
    w = res_world
    resource = make_resource(w)
    with pytest.raises(PermissionDenied):
        actions.evaluate(actor=w.teacher_b, resource=resource, score=70)
    with pytest.raises(PermissionDenied):  # a school admin moderates but is no reviewer
        actions.evaluate(actor=w.school_admin_a, resource=resource, score=70)
    with pytest.raises(InvalidInput) as exc:
        actions.evaluate(actor=w.reviewer, resource=resource, score=101)
    assert exc.value.field == "score"
    with pytest.raises(InvalidInput) as exc:
        actions.evaluate(actor=w.reviewer, resource=resource, score=60, criteria={"depth": 300})
    assert exc.value.field == "criteria.depth"
    first = actions.evaluate(actor=w.reviewer, resource=resource, score=60)
    again = actions.evaluate(actor=w.reviewer, resource=resource, score=75, comment="Revised")
    assert first.pk == again.pk and again.score == 75
    assert queries.expert_summary(w.student_a, resource).mean == 75


# --- retirement -----------------------------------------------------------------------------------


def test_flag_expired_licence_then_clear_when_renewed(res_world):
    w = res_world
    today = timezone.localdate()
    expired = make_resource(w, licence_expires=today - dt.timedelta(days=1))
    fine = make_resource(w, title="Fine", licence_expires=today + dt.timedelta(days=30))
    report = actions.flag_for_retirement()
    assert report.flagged == {actions.FLAG_LICENCE_EXPIRED: [expired.pk]}
    expired.refresh_from_db()
    fine.refresh_from_db()
    assert expired.retirement_flag == "licence_expired" and fine.retirement_flag == ""
    with change_context(actor=system_actor(), source="system"):
        version = expired.listed_version
        version.licence_expires = today + dt.timedelta(days=365)
        version.save()
    report = actions.flag_for_retirement()
    assert report.cleared == [expired.pk]
    expired.refresh_from_db()
    assert expired.retirement_flag == ""


def _old_ratings(w, make_user, resource, stars_list, days_ago):
    from shuyuan.identity.models import Role

    for stars in stars_list:
        rater = make_user(Role.STUDENT, w.tree.class_a)
        actions.rate(actor=rater, resource=resource, stars=stars)
    when = timezone.now() - dt.timedelta(days=days_ago)
    with change_context(actor=system_actor(), source="system"):
        for rating in Rating.objects.filter(resource=resource, stars__in=set(stars_list)):
            if rating.updated_at > when:
                rating.updated_at = when
                rating.save(update_fields=["updated_at"])


def test_flag_sustained_low_quality(res_world, make_user):
    w = res_world
    listed_at = timezone.now() - dt.timedelta(days=200)
    poor = make_resource(w, title="Poor", listed_at=listed_at)
    recovering = make_resource(w, title="Recovering", listed_at=listed_at)
    _old_ratings(w, make_user, poor, [1, 1, 1, 2, 1, 1], days_ago=120)
    _old_ratings(w, make_user, recovering, [1, 1, 1, 1, 1, 1], days_ago=120)
    from shuyuan.identity.models import Role

    for _ in range(3):  # recent good ratings: improving, though still below the threshold
        actions.rate(actor=make_user(Role.STUDENT, w.tree.class_a), resource=recovering, stars=4)
    poor.refresh_from_db()
    recovering.refresh_from_db()
    assert poor.quality_score < quality.LOW_QUALITY_THRESHOLD
    assert recovering.quality_score < quality.LOW_QUALITY_THRESHOLD
    report = actions.flag_for_retirement()
    assert report.flagged == {actions.FLAG_LOW_QUALITY: [poor.pk]}


def test_low_quality_not_flagged_without_enough_ratings_or_time(res_world, make_user):
    w = res_world
    new = make_resource(w, title="New")  # listed today
    few = make_resource(w, title="Few", listed_at=timezone.now() - dt.timedelta(days=200))
    _old_ratings(w, make_user, new, [1] * 8, days_ago=0)
    _old_ratings(w, make_user, few, [1, 1, 1], days_ago=120)
    assert actions.flag_for_retirement().flagged == {}


def test_retire_hides_from_listing_and_keeps_history(res_world):
    w = res_world
    resource = make_resource(w)
    rating = actions.rate(actor=w.student_a, resource=resource, stars=4, comment="Good")
    with pytest.raises(PermissionDenied):
        actions.retire_resource(actor=w.teacher_b, resource=resource, reason="Old")
    with pytest.raises(InvalidInput) as exc:
        actions.retire_resource(actor=w.reviewer, resource=resource, reason=" ")
    assert exc.value.field == "reason"
    seen = []
    signals.resource_changed.connect(
        lambda sender, resource_id, **kw: seen.append(resource_id), weak=False, dispatch_uid="t"
    )
    try:
        actions.retire_resource(actor=w.reviewer, resource=resource, reason="Outdated syllabus")
    finally:
        signals.resource_changed.disconnect(dispatch_uid="t")
    assert seen == [resource.pk]
    assert not Resource.objects.visible_to(w.student_a).listed().filter(pk=resource.pk).exists()
    assert Resource.objects.visible_to(w.reviewer).filter(pk=resource.pk).exists()
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.RETIRED and resource.retired_at is not None
    assert Rating.objects.filter(pk=rating.pk).exists()
    assert resource.versions.count() == 1
    with pytest.raises(NotFound):
        actions.rate(actor=w.teacher_b, resource=resource, stars=3)
    with pytest.raises(Conflict):
        actions.retire_resource(actor=w.reviewer, resource=resource, reason="Again")
    assert AuditEvent.objects.filter(code="resources.resource.retired").count() == 1


def test_reinstate_lists_again(res_world):
    w = res_world
    resource = make_resource(w)
    actions.retire_resource(actor=w.school_admin_a, resource=resource, reason="Licence")
    actions.reinstate_resource(actor=w.school_admin_a, resource=resource, reason="Renewed")
    assert Resource.objects.visible_to(w.student_a).listed().filter(pk=resource.pk).exists()
    resource.refresh_from_db()
    assert resource.retired_at is None and resource.retired_reason == ""
    with pytest.raises(Conflict):
        actions.reinstate_resource(actor=w.school_admin_a, resource=resource)
