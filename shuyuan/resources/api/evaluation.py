"""Resources API: use and evaluation, moderation, retirement, recommendations, certificates.

Handlers are thin: reads through ``queries.evaluation`` / ``queries.certificates`` /
``recommend``, writes through ``actions.evaluation``. A resource the caller cannot see (or that
is not listed, for ratings and usage) is a 404. The two certificate operations are public
(``auth=None``: anyone holding a certificate number may verify it) and throttled per client IP
(429 ``THROTTLED``).
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Query, Router
from ninja.errors import HttpError
from ninja.files import UploadedFile

from shuyuan.core.errors import NotFound
from shuyuan.core.middleware import client_ip
from shuyuan.core.schemas import ApiRequest, PageQuery, error_responses, paginate

from .. import recommend
from ..actions import evaluation as actions
from ..actions.certificates import certificate_payload
from ..models import Resource
from ..queries import certificates as cert_queries
from ..queries import evaluation as queries
from ..schemas_evaluation import (
    CertificateOut,
    CheckOut,
    CommentPageOut,
    EvaluationIn,
    EvaluationOut,
    FileCheckOut,
    ModerationIn,
    PendingCommentPageOut,
    RatingIn,
    RatingOut,
    RatingSummaryOut,
    ReasonIn,
    ResourceCardListOut,
    ResourceCardOut,
    UsageIn,
    UsageOut,
)

SOURCE = "api"
SIMILAR_MAX = 20
RECOMMENDATIONS_MAX = 50

router = Router(tags=["resources"])


def _cards(resources: list[Resource]) -> ResourceCardListOut:
    return ResourceCardListOut.model_validate({"count": len(resources), "items": resources})


# --- ratings and comments ------------------------------------------------------------------------


@router.put(
    "/{int:id}/rating",
    response={200: RatingOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_eval_rating_update",
    summary="Rate a resource",
)
def save_rating(request: ApiRequest, id: int, payload: RatingIn) -> RatingOut:
    """Create or update the caller's rating (1-5 stars) of a listed resource. A new or changed
    comment waits for moderation. The submitter cannot rate their own resource (403
    ``OWN_RESOURCE``)."""
    resource = queries.access_listed_resource(request.auth, id)
    rating = actions.rate(
        actor=request.auth,
        resource=resource,
        stars=payload.stars,
        comment=payload.comment,
        source=SOURCE,
    )
    return RatingOut.from_orm(rating)


@router.get(
    "/{int:id}/rating",
    response={200: RatingOut, **error_responses(404, 422)},
    operation_id="resources_eval_rating_get",
    summary="Get my rating of a resource",
)
def my_rating(request: ApiRequest, id: int) -> RatingOut:
    """The caller's own rating (404 if they have not rated it)."""
    resource = queries.access_listed_resource(request.auth, id)
    rating = queries.my_rating(request.auth, resource)
    if rating is None:
        raise NotFound(_("You have not rated this resource."))
    return RatingOut.from_orm(rating)


@router.get(
    "/{int:id}/rating-summary",
    response={200: RatingSummaryOut, **error_responses(404, 422)},
    operation_id="resources_eval_rating_summary_get",
    summary="Get the rating summary of a resource",
)
def rating_summary(request: ApiRequest, id: int) -> RatingSummaryOut:
    """Average, count and ratings per star of a listed resource."""
    summary = queries.rating_summary(queries.access_listed_resource(request.auth, id))
    return RatingSummaryOut(
        average=summary.average,
        count=summary.count,
        histogram={str(s): summary.histogram.get(s, 0) for s in range(1, 6)},
    )


@router.get(
    "/{int:id}/comments",
    response={200: CommentPageOut, **error_responses(404, 422)},
    operation_id="resources_eval_comment_list",
    summary="List the published comments of a resource",
)
def list_comments(request: ApiRequest, id: int, page: Query[PageQuery]) -> CommentPageOut:
    """Published comments, newest first."""
    resource = queries.access_listed_resource(request.auth, id)
    return paginate(queries.published_comments(request.auth, resource), page, CommentPageOut)


@router.get(
    "/moderation/comments",
    response={200: PendingCommentPageOut, **error_responses(422)},
    operation_id="resources_eval_pending_comment_list",
    summary="List comments awaiting moderation",
)
def pending_comments(request: ApiRequest, page: Query[PageQuery]) -> PendingCommentPageOut:
    """Comments awaiting moderation on resources the caller moderates, oldest first."""
    return paginate(queries.pending_comments(request.auth), page, PendingCommentPageOut)


@router.post(
    "/ratings/{int:rating_id}/moderate",
    response={200: RatingOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_eval_comment_moderate",
    summary="Publish or reject a comment",
)
def moderate_comment(request: ApiRequest, rating_id: int, payload: ModerationIn) -> RatingOut:
    """Publish (``approve: true``) or reject a comment; rejecting needs a ``reason``."""
    rating = queries.access_rating(request.auth, rating_id)
    rating = actions.moderate_comment(
        actor=request.auth,
        rating=rating,
        approve=payload.approve,
        reason=payload.reason,
        source=SOURCE,
    )
    return RatingOut.from_orm(rating)


# --- expert evaluation and usage -----------------------------------------------------------------


@router.put(
    "/{int:id}/evaluation",
    response={200: EvaluationOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_eval_evaluation_update",
    summary="Evaluate a resource as an expert",
)
def save_evaluation(request: ApiRequest, id: int, payload: EvaluationIn) -> EvaluationOut:
    """Create or update the caller's expert evaluation (reviewers who moderate the resource)."""
    resource = queries.access_resource(request.auth, id)
    evaluation = actions.evaluate(
        actor=request.auth,
        resource=resource,
        score=payload.score,
        criteria=payload.criteria,
        comment=payload.comment,
        source=SOURCE,
    )
    return EvaluationOut.from_orm(evaluation)


@router.post(
    "/{int:id}/usage",
    response={200: UsageOut, **error_responses(404, 422, body=True)},
    operation_id="resources_eval_usage_create",
    summary="Count a view, download or completion",
)
def record_usage(request: ApiRequest, id: int, payload: UsageIn) -> UsageOut:
    """Count one use of a listed resource (a repeated view within 30 minutes is not counted)."""
    resource = queries.access_listed_resource(request.auth, id)
    event = actions.record_usage(
        actor=request.auth, resource=resource, kind=payload.kind, source=SOURCE
    )
    resource = queries.access_listed_resource(request.auth, id)
    return UsageOut(
        counted=event is not None,
        view_count=resource.view_count,
        download_count=resource.download_count,
    )


# --- retirement ----------------------------------------------------------------------------------


@router.post(
    "/{int:id}/retire",
    response={200: ResourceCardOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_eval_resource_retire",
    summary="Retire a resource",
)
def retire(request: ApiRequest, id: int, payload: ReasonIn) -> ResourceCardOut:
    """Retire a listed resource (moderators; ``reason`` required). It leaves search and
    listings; its history stays."""
    resource = queries.access_resource(request.auth, id)
    resource = actions.retire_resource(
        actor=request.auth, resource=resource, reason=payload.reason, source=SOURCE
    )
    return ResourceCardOut.from_orm(queries.access_resource(request.auth, resource.pk))


@router.post(
    "/{int:id}/reinstate",
    response={200: ResourceCardOut, **error_responses(403, 404, 409, 422, body=True)},
    operation_id="resources_eval_resource_reinstate",
    summary="Reinstate a retired resource",
)
def reinstate(request: ApiRequest, id: int, payload: ReasonIn) -> ResourceCardOut:
    """List a retired resource again (moderators)."""
    resource = queries.access_resource(request.auth, id)
    resource = actions.reinstate_resource(
        actor=request.auth, resource=resource, reason=payload.reason, source=SOURCE
    )
    return ResourceCardOut.from_orm(queries.access_resource(request.auth, resource.pk))


@router.get(
    "/retirement/flags",
    response={200: ResourceCardListOut, **error_responses(422)},
    operation_id="resources_eval_flag_list",
    summary="List resources flagged for retirement",
)
def list_flags(request: ApiRequest, retired: bool = False) -> ResourceCardListOut:
    """Listed resources flagged for retirement (``retirement_flag`` ``licence_expired`` or
    ``low_quality``) that the caller moderates; with ``retired=true`` the retired ones."""
    return _cards(list(queries.retirement_list(request.auth, retired=retired)[:500]))


# --- recommendations -----------------------------------------------------------------------------


@router.get(
    "/recommendations",
    response={200: ResourceCardListOut, **error_responses(422)},
    operation_id="resources_eval_recommendation_list",
    summary="Suggest resources for me",
)
def recommendations(request: ApiRequest, limit: int = 10) -> ResourceCardListOut:
    """Suggestions from the caller's recent use and ratings (knowledge-graph neighbours and
    co-usage), or the best of their grade without history."""
    limit = max(1, min(limit, RECOMMENDATIONS_MAX))
    return _cards(recommend.suggestions_for(request.auth, limit))


@router.get(
    "/{int:id}/similar",
    response={200: ResourceCardListOut, **error_responses(404, 422)},
    operation_id="resources_eval_similar_list",
    summary="List resources similar to one",
)
def similar(request: ApiRequest, id: int, limit: int = 6) -> ResourceCardListOut:
    """Listed resources sharing knowledge points, chapter or subject, or used together."""
    resource = queries.access_listed_resource(request.auth, id)
    limit = max(1, min(limit, SIMILAR_MAX))
    return _cards(recommend.more_like_this(request.auth, resource, limit))


# --- certificates (public) -----------------------------------------------------------------------


def _throttle(request: HttpRequest) -> None:
    if cert_queries.public_throttled(client_ip(request)):
        raise HttpError(429, "Too many requests")


def _public_certificate(number: str) -> cert_queries.VerificationResult:
    result = cert_queries.verify_certificate(number)
    if result.certificate is None:
        raise NotFound(_("Certificate not found."))
    return result


@router.get(
    "/certificates/{number}",
    auth=None,
    response={200: CertificateOut, **error_responses(404, 429)},
    operation_id="resources_cert_get",
    summary="Get and verify an inclusion certificate",
)
def get_certificate(request: HttpRequest, number: str) -> CertificateOut:
    """Public (no authentication): the certificate, its signature and signer key, the signed
    payload, and the outcome of each check (signature, signing key, chain, stored file)."""
    _throttle(request)
    result = _public_certificate(number)
    cert = result.certificate
    if cert is None:  # pragma: no cover  # _public_certificate raised already
        raise NotFound(_("Certificate not found."))
    return CertificateOut(
        number=cert.number,
        sequence=cert.sequence,
        resource_id=cert.resource_id,
        version_number=cert.version.number,
        title=cert.title,
        provider=cert.provider_name,
        content_hash=cert.content_hash,
        issued_at=cert.issued_at,
        algorithm=cert.algorithm,
        public_key=cert.public_key,
        signature=cert.signature,
        prev_hash=cert.prev_hash,
        entry_hash=cert.entry_hash,
        payload=certificate_payload(cert).decode("utf-8"),
        valid=result.valid,
        checks=[CheckOut(name=c.name, ok=c.ok, detail=c.detail) for c in result.checks],
    )


@router.post(
    "/certificates/{number}/verify-file",
    auth=None,
    response={200: FileCheckOut, **error_responses(404, 422, 429, body=True)},
    operation_id="resources_cert_file_verify",
    summary="Check a file against an inclusion certificate",
)
def verify_file(request: HttpRequest, number: str, file: File[UploadedFile]) -> FileCheckOut:
    """Public (no authentication): upload a file (multipart field ``file``); the answer says
    whether its SM3 equals the certificate's content hash."""
    _throttle(request)
    cert = cert_queries.find_certificate(number)
    if cert is None:
        raise NotFound(_("Certificate not found."))
    matches, digest = cert_queries.file_matches(cert, file.chunks())
    return FileCheckOut(
        number=cert.number, matches=matches, file_sm3=digest, content_hash=cert.content_hash
    )
