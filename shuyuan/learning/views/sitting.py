"""Pages of a student's sitting of an exam (在线考试): "My exams", starting or resuming an
attempt, the sitting page (questions in the attempt's order, countdown, navigator, submit), the
JSON endpoints the page's script saves answers and focus events to, and the result.

Thin views: reads through ``queries.sitting``, writes through ``actions.sitting``. The JSON
endpoints answer ``{code, message, field}`` with 404, 409 or 422 for domain errors; CSRF is
checked by Django's middleware from the ``X-CSRFToken`` header.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from shuyuan.core.errors import Conflict, InvalidInput, ShuyuanError, invalid
from shuyuan.core.views import View, http_errors, render_page, see_other

from ..actions import sitting as actions
from ..models import AttemptStatus
from ..queries import sitting as queries

#: Largest JSON body the answer and event endpoints accept (bytes).
JSON_BODY_MAX = 64 * 1024


# --- JSON endpoints -----------------------------------------------------------------------------


def _error(exc: ShuyuanError) -> JsonResponse:
    return JsonResponse(
        {"code": exc.code, "message": exc.message, "field": exc.field}, status=exc.status
    )


def json_view(view: View) -> View:
    """A JSON endpoint for the sitting page: 401 when signed out, domain errors as
    ``{code, message, field}`` with their status."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse(
                {"code": "LOGIN_REQUIRED", "message": _("Please sign in again."), "field": None},
                status=401,
            )
        try:
            return view(request, *args, **kwargs)
        except ShuyuanError as exc:
            return _error(exc)

    return wrapper


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > JSON_BODY_MAX:
        raise InvalidInput(_("The request is too large."), code="TOO_LARGE", field="body")
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise invalid("body", "BAD_JSON", _("Send a JSON object.")) from None
    if not isinstance(data, dict):
        raise invalid("body", "BAD_JSON", _("Send a JSON object."))
    return data


@require_POST
@json_view
def attempt_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Save one answer: ``{paper_item, answer, revision, device}`` →
    ``{status: saved|stale, revision, saved_at, answer}``."""
    body = _json_body(request)
    attempt = queries.access_attempt(request.user, pk, "change")
    result = actions.save_answer(
        actor=request.user,
        attempt=attempt,
        paper_item_id=body.get("paper_item"),
        answer=body.get("answer"),
        base_revision=body.get("revision"),
        device=body.get("device", ""),
    )
    return JsonResponse(
        {
            "status": result.status,
            "revision": result.revision,
            "saved_at": result.saved_at.isoformat(),
            "answer": result.answer,
        }
    )


@require_POST
@json_view
def attempt_events(request: HttpRequest, pk: int) -> HttpResponse:
    """Log focus and connection events: ``{events: [{kind, at}, ...]}`` → ``{logged: n}``."""
    body = _json_body(request)
    attempt = queries.access_attempt(request.user, pk, "change")
    events: Any = body.get("events")  # the action checks the shape
    logged = actions.log_focus_events(actor=request.user, attempt=attempt, events=events)
    return JsonResponse({"logged": logged})


# --- pages --------------------------------------------------------------------------------------


@login_required
@require_GET
@http_errors
def my_exams(request: HttpRequest) -> HttpResponse:
    """My exams: upcoming, open (start or resume), done (score when released)."""
    actions.close_expired_attempts(student=request.user)
    exams = queries.my_exams(request.user)
    return render_page(request, "learning/sitting/my_exams.html", {"exams": exams})


@login_required
@require_POST
@http_errors
def exam_sit(request: HttpRequest, pk: int) -> HttpResponse:
    """Start the exam, or resume the attempt in progress (from any device)."""
    assessment = queries.access_assessment_to_sit(request.user, pk)
    try:
        attempt = actions.start_attempt(actor=request.user, assessment=assessment)
    except Conflict as exc:
        messages.error(request, exc.message)
        return see_other(request, reverse("learning:my_exams"))
    return see_other(request, reverse("learning:attempt_detail", args=[attempt.pk]))


@never_cache
@login_required
@require_GET
@http_errors
def attempt_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The sitting page; a submitted or expired attempt goes to its result page."""
    attempt = queries.access_attempt(request.user, pk, "change")
    if queries.is_expired(attempt):
        actions.close_expired_attempts(assessment=attempt.assessment, student=request.user)
        messages.info(request, _("The time for this exam is over; your answers were submitted."))
        return see_other(request, reverse("learning:attempt_result", args=[pk]))
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return see_other(request, reverse("learning:attempt_result", args=[pk]))
    questions = queries.sitting_questions(attempt)
    context = {
        "attempt": attempt,
        "assessment": attempt.assessment,
        "questions": questions,
        "answered": sum(1 for q in questions if q.answered),
        "server_now": timezone.now().isoformat(),
        "deadline": attempt.deadline.isoformat(),
    }
    return render_page(request, "learning/sitting/attempt.html", context)


@login_required
@require_POST
@http_errors
def attempt_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit the attempt (a second submit changes nothing) and show that it was submitted."""
    attempt = queries.access_attempt(request.user, pk, "change")
    was_open = attempt.status == AttemptStatus.IN_PROGRESS
    actions.submit_attempt(actor=request.user, attempt=attempt)
    if was_open:
        messages.success(request, _("Your answers were submitted."))
    return see_other(request, reverse("learning:attempt_result", args=[pk]))


@never_cache
@login_required
@require_GET
@http_errors
def attempt_result(request: HttpRequest, pk: int) -> HttpResponse:
    """After submission: "submitted, scores not released yet", or once released the score of
    each question with the correct answer and feedback."""
    attempt = queries.access_attempt(request.user, pk, "view")
    if attempt.status == AttemptStatus.IN_PROGRESS and attempt.student_id == request.user.pk:
        return see_other(request, reverse("learning:attempt_detail", args=[pk]))
    released = queries.scores_released(attempt)
    context = {
        "attempt": attempt,
        "assessment": attempt.assessment,
        "released": released,
        "rows": queries.result_rows(attempt) if released else [],
    }
    return render_page(request, "learning/sitting/result.html", context)


urlpatterns: list[URLPattern] = [
    path("exams/", my_exams, name="my_exams"),
    path("exams/assessments/<int:pk>/sit/", exam_sit, name="exam_sit"),
    path("exams/attempts/<int:pk>/", attempt_detail, name="attempt_detail"),
    path("exams/attempts/<int:pk>/answer", attempt_answer, name="attempt_answer"),
    path("exams/attempts/<int:pk>/events", attempt_events, name="attempt_events"),
    path("exams/attempts/<int:pk>/submit", attempt_submit, name="attempt_submit"),
    path("exams/attempts/<int:pk>/result/", attempt_result, name="attempt_result"),
]
