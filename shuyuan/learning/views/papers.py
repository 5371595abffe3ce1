"""Paper, assessment and marking pages for teachers (试卷、考试、阅卷) under /learning/exams/:
papers (mine and my colleagues'), one paper with its questions, the bank search and the
blueprint, publishing to a class, the teacher's view of an assessment (attempts, focus log,
marking progress, releasing scores), and the marking queue.

Thin views: reads through ``queries.papers`` and ``queries.marking``, writes through
``actions.papers`` and ``actions.marking``. Invalid forms answer 422 with their form partial;
valid ones 303.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shuyuan.core.errors import FieldError, PermissionDenied
from shuyuan.core.forms import add_domain_errors
from shuyuan.core.views import FORM_ERRORS, http_errors, render_page, see_other

from .. import permissions
from ..actions import marking as marking_actions
from ..actions import papers as actions
from ..forms_papers import (
    AddItemForm,
    BlueprintForm,
    ItemSearchForm,
    MarkForm,
    PaperEditForm,
    PaperForm,
    PointsForm,
    PublishForm,
)
from ..models import Assessment, AssessmentStatus, Paper
from ..queries import marking as marking_queries
from ..queries import papers as queries

PAPERS_SHOWN = 100
ASSESSMENTS_SHOWN = 50
_ROW_FIELD = re.compile(r"^rows\[(\d+)\](?:\.(\w+))?$")
_SCORE_FIELD = re.compile(r"^rubric_scores\[(\d+)\]$")


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


def _require_teacher(request: HttpRequest) -> None:
    if not permissions.is_teacher(request.user):
        raise PermissionDenied(_("This page is for teachers."))


# --- papers -------------------------------------------------------------------------------------


@login_required
@require_GET
@http_errors
def paper_list(request: HttpRequest) -> HttpResponse:
    """My papers and my colleagues' (in my schools), and the exams I published or may mark."""
    _require_teacher(request)
    user: Any = request.user
    papers = list(queries.list_papers(user)[:PAPERS_SHOWN])
    context = {
        "mine": [p for p in papers if p.created_by_id == user.pk],
        "colleagues": [p for p in papers if p.created_by_id != user.pk],
        "assessments": list(queries.list_assessments(user)[:ASSESSMENTS_SHOWN]),
        "to_mark": marking_queries.queue_count(user),
    }
    return render_page(request, "learning/papers/paper_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def paper_create(request: HttpRequest) -> HttpResponse:
    """A new paper (invalid: 422 with #paper-form)."""
    _require_teacher(request)
    user: Any = request.user
    schools = queries.paper_schools(user)
    initial: dict[str, Any] = {}
    if schools.count() == 1:
        initial["org"] = schools.first()
    form = PaperForm(
        request.POST if request.method == "POST" else None,
        schools=schools,
        subjects=queries.subjects(user),
        initial=initial,
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            paper = actions.create_paper(
                actor=user,
                org=data["org"],
                subject=data["subject"],
                title=data["title"],
                instructions=data["instructions"],
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("The paper was created. Now add questions."))
            return see_other(request, reverse("learning:paper_detail", args=[paper.pk]))
    status = 422 if form.is_bound else 200
    return render_page(
        request,
        "learning/papers/paper_form.html",
        {"form": form},
        partial="paper-form",
        status=status,
    )


def _paper_context(
    request: HttpRequest,
    paper: Paper,
    *,
    blueprint: BlueprintForm | None = None,
    edit_form: PaperEditForm | None = None,
) -> dict[str, Any]:
    user: Any = request.user
    points = queries.blueprint_points(user)
    can_change = queries.can_change_paper(user, paper)
    published = queries.is_published(paper)
    editable = can_change and not published
    items = queries.paper_items(user, paper)
    context: dict[str, Any] = {
        "paper": paper,
        "items": items,
        "total_points": sum((i.points for i in items), start=0),
        "can_change": can_change,
        "published": published,
        "editable": editable,
        "assessments": list(queries.paper_assessments(user, paper)[:ASSESSMENTS_SHOWN]),
        "is_teacher": permissions.is_teacher(user),
    }
    if editable:
        search = ItemSearchForm(request.GET, points=points)
        found = []
        if search.is_valid() and any(search.cleaned_data.values()):
            data = search.cleaned_data
            found = queries.find_items(
                user,
                q=data["q"] or "",
                knowledge_point=data["knowledge_point"].pk if data["knowledge_point"] else None,
                difficulty=data["difficulty"],
                kind=data["kind"] or "",
                exclude_paper=paper,
            )
        context.update(
            search_form=search,
            found=found,
            add_form=AddItemForm(),
            blueprint=blueprint or BlueprintForm(points=points),
        )
    if can_change:
        context["edit_form"] = edit_form or PaperEditForm(
            initial={"title": paper.title, "instructions": paper.instructions}
        )
    return context


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def paper_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A paper: its questions with points and knowledge points; for its author, adding items
    from the bank (htmx: #find-results), the blueprint, the title (invalid: 422 #paper-edit)."""
    paper = queries.access_paper(request.user, pk)
    if request.method == "POST":
        form = PaperEditForm(request.POST)
        if form.is_valid():
            try:
                actions.update_paper(
                    actor=request.user,
                    paper=paper,
                    title=form.cleaned_data["title"],
                    instructions=form.cleaned_data["instructions"],
                )
            except FORM_ERRORS as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("The paper was saved."))
                return see_other(request, reverse("learning:paper_detail", args=[pk]))
        paper = queries.access_paper(request.user, pk)
        return render_page(
            request,
            "learning/papers/paper_detail.html",
            _paper_context(request, paper, edit_form=form),
            partial="paper-edit",
            status=422,
        )
    return render_page(
        request,
        "learning/papers/paper_detail.html",
        _paper_context(request, paper),
        partial="find-results",
    )


def _paper_error_page(request: HttpRequest, paper: Paper) -> HttpResponse:
    """The paper page again with the error in the messages, status 422."""
    return render_page(
        request, "learning/papers/paper_detail.html", _paper_context(request, paper), status=422
    )


@login_required
@require_POST
@http_errors
def paper_add_item(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a bank item (``item``) worth ``points`` to the paper."""
    paper = queries.access_paper(request.user, pk)
    form = AddItemForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an item and give its points."))
        return _paper_error_page(request, paper)
    item = queries.access_bank_item(request.user, form.cleaned_data["item"])
    try:
        actions.add_paper_item(
            actor=request.user, paper=paper, item=item, points=form.cleaned_data["points"]
        )
    except FORM_ERRORS as exc:
        messages.error(request, exc.message)
        return _paper_error_page(request, paper)
    messages.success(request, _("The question was added to the paper."))
    return see_other(request, reverse("learning:paper_detail", args=[pk]))


@login_required
@require_POST
@http_errors
def paper_item_remove(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    paper = queries.access_paper(request.user, pk)
    paper_item = queries.access_paper_item(request.user, paper, item_pk)
    try:
        actions.remove_paper_item(actor=request.user, paper=paper, paper_item=paper_item)
    except FORM_ERRORS as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The question was taken off the paper."))
    return see_other(request, reverse("learning:paper_detail", args=[pk]))


@login_required
@require_POST
@http_errors
def paper_item_move(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    paper = queries.access_paper(request.user, pk)
    paper_item = queries.access_paper_item(request.user, paper, item_pk)
    try:
        actions.move_paper_item(
            actor=request.user,
            paper=paper,
            paper_item=paper_item,
            direction=request.POST.get("direction", ""),
        )
    except FORM_ERRORS as exc:
        messages.error(request, exc.message)
    return see_other(request, reverse("learning:paper_detail", args=[pk]))


@login_required
@require_POST
@http_errors
def paper_item_points(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """Set what one question is worth (bad points: 422 with the message)."""
    paper = queries.access_paper(request.user, pk)
    paper_item = queries.access_paper_item(request.user, paper, item_pk)
    form = PointsForm(request.POST)
    if form.is_valid():
        try:
            actions.set_points(
                actor=request.user,
                paper=paper,
                paper_item=paper_item,
                points=form.cleaned_data["points"],
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("The points were saved."))
            return see_other(request, reverse("learning:paper_detail", args=[pk]))
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))
    return _paper_error_page(request, paper)


def _blueprint_errors(form: BlueprintForm, filled: list[int], exc: Any) -> None:
    """Put an action's ``rows[i]``/``rows[i].field`` errors on the blueprint's row forms
    (``i`` counts the filled rows only; ``filled`` maps it back to the form's rows)."""
    errors: list[FieldError] = list(getattr(exc, "errors", []) or [])
    if not errors:
        form.add_error(None, exc.message)
        return
    for error in errors:
        match = _ROW_FIELD.match(error.field or "")
        if match and int(match.group(1)) < len(filled):
            row = form.rows[filled[int(match.group(1))]]
            name = match.group(2)
            row.add_error(name if name in row.fields else None, error.message)
        else:
            form.add_error(None, error.message)


@login_required
@require_POST
@http_errors
def paper_blueprint(request: HttpRequest, pk: int) -> HttpResponse:
    """Assemble questions from the blueprint rows (invalid: 422 with #blueprint-form)."""
    user: Any = request.user
    paper = queries.access_paper(user, pk)
    form = BlueprintForm(request.POST, points=queries.blueprint_points(user))
    if form.is_valid():
        rows = []
        for _index, data in form.filled():
            rows.append(
                actions.BlueprintRow(
                    knowledge_point=data["knowledge_point"],
                    difficulty=data["difficulty"] or 0,
                    count=data["count"] if data["count"] is not None else 0,
                    points=data["points"] if data["points"] is not None else Decimal(0),
                )
            )
        filled = [index for index, _data in form.filled()]
        try:
            added = actions.assemble_from_blueprint(actor=user, paper=paper, rows=rows)
        except FORM_ERRORS as exc:
            _blueprint_errors(form, filled, exc)
        else:
            messages.success(
                request,
                _("%(count)d questions were added from the blueprint.") % {"count": len(added)},
            )
            return see_other(request, reverse("learning:paper_detail", args=[pk]))
    return render_page(
        request,
        "learning/papers/paper_detail.html",
        _paper_context(request, paper, blueprint=form),
        partial="blueprint-form",
        status=422,
    )


@login_required
@require_POST
@http_errors
def paper_copy(request: HttpRequest, pk: int) -> HttpResponse:
    """Copy a paper (mine or a colleague's) to change or publish it again."""
    paper = queries.access_paper(request.user, pk)
    copy = actions.copy_paper(actor=request.user, paper=paper)
    messages.success(request, _("The paper was copied. This is your copy."))
    return see_other(request, reverse("learning:paper_detail", args=[copy.pk]))


@login_required
@require_GET
@http_errors
def paper_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The paper as a teacher previews it: questions, options, keys, rubrics."""
    paper = queries.access_paper(request.user, pk)
    rows = queries.paper_preview(request.user, paper)
    context = {
        "paper": paper,
        "rows": rows,
        "total_points": sum((r.paper_item.points for r in rows), start=0),
    }
    return render_page(request, "learning/papers/paper_preview.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def paper_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """Publish the paper to a class I teach (invalid: 422 with #publish-form; a class
    outside my scope: 404)."""
    user: Any = request.user
    paper = queries.access_paper(user, pk, "change")
    classes = queries.publish_classes(user)
    initial = {"title": paper.title, "max_attempts": 1, "class_org": _int(request.GET.get("class"))}
    form = PublishForm(
        request.POST if request.method == "POST" else None, classes=classes, initial=initial
    )
    if request.method == "POST":
        class_pk = _int(request.POST.get("class_org"))
        class_org = queries.access_publish_class(user, class_pk) if class_pk else None
        if form.is_valid() and class_org is not None:
            data = form.cleaned_data
            try:
                assessment = actions.publish_assessment(
                    actor=user,
                    paper=paper,
                    class_org=class_org,
                    title=data["title"],
                    opens_at=data["opens_at"],
                    closes_at=data["closes_at"],
                    duration_minutes=data["duration_minutes"],
                    max_attempts=data["max_attempts"],
                    shuffle_items=data["shuffle_items"],
                    shuffle_options=data["shuffle_options"],
                )
            except FORM_ERRORS as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("The exam was published to the class."))
                return see_other(
                    request, reverse("learning:assessment_detail", args=[assessment.pk])
                )
    status = 422 if form.is_bound else 200
    count, total = queries.paper_totals(paper)
    return render_page(
        request,
        "learning/papers/paper_publish.html",
        {"paper": paper, "form": form, "item_count": count, "total_points": total},
        partial="publish-form",
        status=status,
    )


# --- assessments --------------------------------------------------------------------------------


def _overseen(request: HttpRequest, pk: int) -> Assessment:
    assessment = queries.access_assessment(request.user, pk)
    if not queries.can_oversee(request.user, assessment):
        raise PermissionDenied(_("This page is for the class's teachers."))
    return assessment


@login_required
@require_GET
@http_errors
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The teacher's view of an exam: its window, who started and submitted, scores, focus
    losses with their log, marking progress, releasing scores (htmx: #attempts)."""
    user: Any = request.user
    assessment = _overseen(request, pk)
    overview = queries.assessment_overview(user, assessment)
    count, total = queries.paper_totals(assessment.paper)
    context = {
        "assessment": assessment,
        "overview": overview,
        "item_count": count,
        "total_points": total,
        "manages": queries.can_manage_assessment(user, assessment),
        "marks": queries.can_mark_assessment(user, assessment),
        "to_mark": marking_queries.queue_count(user, assessment),
        "cancelled": assessment.status == AssessmentStatus.CANCELLED,
        "released": assessment.scores_released_at is not None,
    }
    return render_page(
        request, "learning/papers/assessment_detail.html", context, partial="attempts"
    )


def _assessment_action(request: HttpRequest, pk: int, action: Any, done: str) -> HttpResponse:
    assessment = queries.access_assessment(request.user, pk)
    try:
        action(actor=request.user, assessment=assessment)
    except FORM_ERRORS as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return see_other(request, reverse("learning:assessment_detail", args=[pk]))


@login_required
@require_POST
@http_errors
def assessment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _assessment_action(request, pk, actions.cancel_assessment, _("The exam was cancelled."))


@login_required
@require_POST
@http_errors
def assessment_release(request: HttpRequest, pk: int) -> HttpResponse:
    """Release the scores (refused while marking is incomplete)."""
    return _assessment_action(
        request, pk, actions.release_scores, _("The scores were released to the students.")
    )


@login_required
@require_POST
@http_errors
def assessment_withhold(request: HttpRequest, pk: int) -> HttpResponse:
    return _assessment_action(
        request, pk, actions.withhold_scores, _("The scores are hidden from students again.")
    )


# --- marking ------------------------------------------------------------------------------------


def _queue_params(assessment: Assessment | None, show_names: bool) -> str:
    params: dict[str, Any] = {}
    if assessment is not None:
        params["assessment"] = assessment.pk
    if show_names:
        params["names"] = 1
    return f"?{urlencode(params)}" if params else ""


def _queue_filter(request: HttpRequest) -> tuple[Assessment | None, bool]:
    source = request.POST if request.method == "POST" else request.GET
    assessment_pk = _int(source.get("assessment"))
    assessment = queries.access_assessment(request.user, assessment_pk) if assessment_pk else None
    return assessment, source.get("names") == "1"


@login_required
@require_GET
@http_errors
def marking_queue(request: HttpRequest) -> HttpResponse:
    """Answers waiting for me to mark across my exams, oldest first; students anonymised
    unless ``names=1`` (htmx: #queue)."""
    _require_teacher(request)
    user: Any = request.user
    assessment, show_names = _queue_filter(request)
    entries = marking_queries.marking_queue(user, assessment, show_names=show_names)
    context = {
        "entries": entries,
        "assessment": assessment,
        "show_names": show_names,
        "params": _queue_params(assessment, show_names),
        "toggle_params": _queue_params(assessment, not show_names),
        "assessments": list(queries.list_assessments(user)[:ASSESSMENTS_SHOWN]),
    }
    return render_page(request, "learning/papers/marking_queue.html", context, partial="queue")


def _score_errors(form: MarkForm, exc: Any) -> None:
    for error in list(getattr(exc, "errors", []) or []):
        match = _SCORE_FIELD.match(error.field or "")
        name = f"score_{match.group(1)}" if match else error.field
        form.add_error(name if name in form.fields else None, error.message)
    if not getattr(exc, "errors", None):
        form.add_error(None, exc.message)


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def mark_response(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one answer: the question, the student's answer, a score per rubric criterion,
    feedback, the model answer; "Save and next" (invalid: 422 with #mark-form)."""
    user: Any = request.user
    response = marking_queries.access_response(user, pk, "mark")
    assessment, show_names = _queue_filter(request)
    sheet = marking_queries.marking_sheet(user, response, show_names=show_names)
    initial: dict[str, Any] = {"feedback": response.feedback}
    for index, score in enumerate(sheet.rubric_scores):
        initial[f"score_{index}"] = score
    if not sheet.rubric and response.score is not None:
        initial["score_0"] = response.score
    form = MarkForm(
        request.POST if request.method == "POST" else None,
        rubric=sheet.rubric,
        points=sheet.points,
        initial=initial,
    )
    if form.is_valid():
        try:
            marking_actions.mark_response(
                actor=user,
                response=response,
                rubric_scores=form.scores(),
                feedback=form.cleaned_data["feedback"],
            )
        except FORM_ERRORS as exc:
            _score_errors(form, exc)
        else:
            messages.success(request, _("The mark was saved."))
            following = marking_queries.next_in_queue(user, assessment, response)
            params = _queue_params(assessment, show_names)
            if following is not None and request.POST.get("next") == "1":
                return see_other(
                    request, reverse("learning:mark_response", args=[following.pk]) + params
                )
            return see_other(request, reverse("learning:marking_queue") + params)
    status = 422 if form.is_bound else 200
    context = {
        "sheet": sheet,
        "form": form,
        "assessment": assessment,
        "show_names": show_names,
        "params": _queue_params(assessment, show_names),
        "remaining": marking_queries.queue_count(user, assessment),
    }
    return render_page(
        request, "learning/papers/mark_response.html", context, partial="mark-form", status=status
    )


urlpatterns: list[URLPattern] = [
    path("exams/papers/", paper_list, name="paper_list"),
    path("exams/papers/new/", paper_create, name="paper_create"),
    path("exams/papers/<int:pk>/", paper_detail, name="paper_detail"),
    path("exams/papers/<int:pk>/items/", paper_add_item, name="paper_add_item"),
    path(
        "exams/papers/<int:pk>/items/<int:item_pk>/remove/",
        paper_item_remove,
        name="paper_item_remove",
    ),
    path(
        "exams/papers/<int:pk>/items/<int:item_pk>/move/", paper_item_move, name="paper_item_move"
    ),
    path(
        "exams/papers/<int:pk>/items/<int:item_pk>/points/",
        paper_item_points,
        name="paper_item_points",
    ),
    path("exams/papers/<int:pk>/blueprint/", paper_blueprint, name="paper_blueprint"),
    path("exams/papers/<int:pk>/copy/", paper_copy, name="paper_copy"),
    path("exams/papers/<int:pk>/preview/", paper_preview, name="paper_preview"),
    path("exams/papers/<int:pk>/publish/", paper_publish, name="paper_publish"),
    path("exams/assessments/<int:pk>/", assessment_detail, name="assessment_detail"),
    path("exams/assessments/<int:pk>/cancel/", assessment_cancel, name="assessment_cancel"),
    path("exams/assessments/<int:pk>/release/", assessment_release, name="assessment_release"),
    path("exams/assessments/<int:pk>/withhold/", assessment_withhold, name="assessment_withhold"),
    path("exams/marking/", marking_queue, name="marking_queue"),
    path("exams/marking/<int:pk>/", mark_response, name="mark_response"),
]
