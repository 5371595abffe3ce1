"""Diagnosis (智能诊断) and push (精准推送) pages: a student's mastery report, a class's heat
map with the push form, item statistics, diagnosis runs, the student's "what to learn next"
and the practice page.

Thin views: reads through ``queries.diagnosis`` and ``queries.push``, writes through
``actions.diagnosis`` and ``actions.push``. Invalid forms answer 422 with their partial;
valid ones 303. Rows the user may not read are 404 (the queries raise ``NotFound``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shuyuan.core.errors import PermissionDenied
from shuyuan.core.forms import add_domain_errors
from shuyuan.core.views import FORM_ERRORS, http_errors, render_page, see_other

from ..actions import diagnosis as diagnosis_actions
from ..actions import push as push_actions
from ..exams import content
from ..forms_diagnosis import PushForm, practice_answer
from ..models import Item
from ..queries import diagnosis as queries
from ..queries import push as push_queries

RUNS_SHOWN = 50
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


def _download(data: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _require_staff(request: HttpRequest) -> None:
    if not queries.can_run(request.user):
        raise PermissionDenied(_("This page is for teachers and administrators."))


# --- the index ----------------------------------------------------------------------------------


@login_required
@require_GET
@http_errors
def diagnosis_home(request: HttpRequest) -> HttpResponse:
    """Diagnosis for teachers and admins: the classes to open, the latest run, links."""
    _require_staff(request)
    user = request.user
    context = {
        "classes": list(queries.report_classes(user)),
        "latest": queries.latest_run(user),
    }
    return render_page(request, "learning/diagnosis/index.html", context)


# --- student reports ----------------------------------------------------------------------------


def _student_page(request: HttpRequest, student: Any) -> HttpResponse:
    user: Any = request.user
    report = queries.student_report(user, student)
    role = queries.viewer_role(user, student)
    context: dict[str, Any] = {
        "report": report,
        "student": student,
        "role": role,
        "suggestions": [] if role == "parent" else push_actions.suggestions(user, student),
    }
    return render_page(request, "learning/diagnosis/student.html", context)


@login_required
@require_GET
@http_errors
def my_report(request: HttpRequest) -> HttpResponse:
    """The signed-in student's own mastery report."""
    user: Any = request.user
    student = queries.access_student(user, user.pk)
    return _student_page(request, student)


@login_required
@require_GET
@http_errors
def student_report(request: HttpRequest, pk: int) -> HttpResponse:
    """A student's mastery report (the student, their teachers, parents, admins)."""
    student = queries.access_student(request.user, pk)
    return _student_page(request, student)


@login_required
@require_GET
@http_errors
def student_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The student report as CSV."""
    student = queries.access_student(request.user, pk)
    report = queries.student_report(request.user, student)
    data = queries.student_report_csv(report)
    return _download(data, f"mastery-{student.username}.csv", CSV_CONTENT_TYPE)


# --- class reports and push ---------------------------------------------------------------------


def _class_context(
    request: HttpRequest, org: Any, *, form: PushForm | None = None, point_pk: int | None = None
) -> dict[str, Any]:
    user: Any = request.user
    report = queries.class_report(user, org)
    context: dict[str, Any] = {
        "org": org,
        "report": report,
        "pushes": push_queries.class_pushes(user, org, limit=20),
        "point": None,
        "form": form,
    }
    if point_pk is None:
        point_pk = _int(request.GET.get("point"))
    if point_pk is not None and report.column_for(point_pk) is not None:
        point = push_queries.access_point(user, point_pk)
        options = push_queries.push_options(user, report, point)
        targets = [
            (f"resource:{r.pk}", r.listed_version.title if r.listed_version else str(r.pk))
            for r in options.resources
        ] + [
            (
                f"item:{i.pk}",
                (i.current_version.stem if i.current_version else str(i.pk))[:120],
            )
            for i in options.items
        ]
        students = [
            (line.student.pk, f"{line.student.real_name} ({line.student.username})")
            for line in report.lines
        ]
        if form is None:
            form = PushForm(
                targets=targets,
                students=students,
                initial={"point": point.pk, "students": options.weak_student_ids},
            )
        else:
            form.fields["target"].choices = targets  # type: ignore[attr-defined]  # ChoiceField
            form.fields["students"].choices = students  # type: ignore[attr-defined]  # ChoiceField
        context.update(point=point, options=options, form=form)
    return context


@login_required
@require_GET
@http_errors
def class_report(request: HttpRequest, pk: int) -> HttpResponse:
    """A class's heat map: students x knowledge points, the push form for a chosen point
    (htmx: #push-form)."""
    org = queries.access_report_class(request.user, pk)
    return render_page(
        request, "learning/diagnosis/class.html", _class_context(request, org), partial="push-form"
    )


@login_required
@require_POST
@http_errors
def class_push(request: HttpRequest, pk: int) -> HttpResponse:
    """Push a resource or practice item to chosen students (invalid: 422 with #push-form)."""
    user: Any = request.user
    org = queries.access_report_class(user, pk)
    point_pk = _int(request.POST.get("point"))
    if point_pk is None:
        raise Http404
    form = PushForm(request.POST)
    context = _class_context(request, org, form=form, point_pk=point_pk)
    if context["point"] is None:
        raise Http404
    if form.is_valid():
        kind, target_pk = form.target_parts()
        students = push_queries.students_in_class(org, form.cleaned_data["students"])
        try:
            resource = push_queries.listed_resource(user, target_pk) if kind == "resource" else None
            item = push_queries.teacher_item(user, target_pk) if kind == "item" else None
            created = push_actions.push_to_students(
                actor=user,
                class_org=org,
                students=students,
                knowledge_point=context["point"],
                resource=resource,
                item=item,
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(
                request,
                _("Pushed to %(n)d students (those who already had it were skipped).")
                % {"n": len(created)},
            )
            url = reverse("learning:diagnosis_class", args=[org.pk])
            return see_other(request, f"{url}?point={point_pk}")
    return render_page(
        request, "learning/diagnosis/class.html", context, partial="push-form", status=422
    )


@login_required
@require_GET
@http_errors
def class_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The class heat map as CSV or XLSX."""
    org = queries.access_report_class(request.user, pk)
    report = queries.class_report(request.user, org)
    if fmt == "xlsx":
        data = queries.class_report_xlsx(report)
        return _download(data, f"mastery-class-{org.pk}.xlsx", queries.XLSX_CONTENT_TYPE)
    if fmt == "csv":
        return _download(
            queries.class_report_csv(report), f"mastery-class-{org.pk}.csv", CSV_CONTENT_TYPE
        )
    raise Http404


# --- item statistics and runs -------------------------------------------------------------------


@login_required
@require_GET
@http_errors
def item_statistics(request: HttpRequest) -> HttpResponse:
    """Facility and discrimination of the items one may see (``?assessment=`` narrows)."""
    _require_staff(request)
    user: Any = request.user
    assessment = None
    assessment_pk = _int(request.GET.get("assessment"))
    if assessment_pk is not None:
        assessment = queries.access_assessment(user, assessment_pk)
    context = {
        "rows": queries.item_statistics(user, assessment),
        "assessment": assessment,
        "low": queries.LOW_DISCRIMINATION,
        "latest": queries.latest_run(user),
    }
    return render_page(request, "learning/diagnosis/items.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def runs(request: HttpRequest) -> HttpResponse:
    """Diagnosis runs with their figures; POST starts a new one in the background."""
    _require_staff(request)
    user: Any = request.user
    if request.method == "POST":
        try:
            diagnosis_actions.request_diagnosis(actor=user)
        except FORM_ERRORS as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The diagnosis is running; refresh to see its figures."))
        return see_other(request, reverse("learning:diagnosis_runs"))
    context = {"runs": list(queries.list_runs(user)[:RUNS_SHOWN])}
    return render_page(request, "learning/diagnosis/runs.html", context)


# --- the student's next steps and practice ------------------------------------------------------


@login_required
@require_GET
@http_errors
def learn_next(request: HttpRequest) -> HttpResponse:
    """What to learn next: what teachers pushed (to do), then suggestions for weak points."""
    user: Any = request.user
    context = {
        "pushes": list(push_queries.my_pushes(user)[:50]),
        "suggestions": push_actions.suggestions(user, user),
    }
    return render_page(request, "learning/diagnosis/next.html", context)


@login_required
@require_POST
@http_errors
def push_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of my pushes done."""
    push = push_queries.access_push(request.user, pk, "complete")
    push_actions.complete_push(actor=request.user, push=push)
    messages.success(request, _("Marked as done."))
    return see_other(request, reverse("learning:learn_next"))


def _practice_context(
    request: HttpRequest, item: Item, *, error: str = "", show_result: bool = False
) -> dict[str, Any]:
    user: Any = request.user
    version = item.current_version
    if version is None:  # access_practice_item checks it
        raise Http404
    view = content.student_view(item.kind, version.stem, version.content, None)
    context: dict[str, Any] = {
        "item": item,
        "view": view,
        "error": error,
        "push": push_queries.open_push_for(user, item),
    }
    last = push_queries.last_practice(user, item) if show_result else None
    if last is not None:
        key = content.correct_answer(item.kind, last.item_version.content)
        context.update(
            last=last,
            right=last.fraction >= diagnosis_actions.correct_fraction(),
            given=content.readable_answer(item.kind, last.item_version.content, last.answer),
            key=content.readable_answer(item.kind, last.item_version.content, key),
            explanation=last.item_version.explanation,
        )
    return context


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def practice(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer a practice item; after answering, right or wrong with the key and explanation
    (invalid answer: 422 with #practice-form)."""
    user: Any = request.user
    item = push_queries.access_practice_item(user, pk)
    if request.method == "POST":
        version = item.current_version
        if version is None:  # access_practice_item checks it
            raise Http404
        view = content.student_view(item.kind, version.stem, version.content, None)
        answer = practice_answer(
            item.kind,
            request.POST,
            blanks=int(view.get("blanks") or 0),
            left=[str(o["id"]) for o in view.get("left") or []],
        )
        try:
            push_actions.answer_practice(actor=user, item=item, answer=answer)
        except FORM_ERRORS as exc:
            return render_page(
                request,
                "learning/diagnosis/practice.html",
                _practice_context(request, item, error=exc.message),
                partial="practice-form",
                status=422,
            )
        url = reverse("learning:practice", args=[item.pk])
        return see_other(request, f"{url}?result=1")
    return render_page(
        request,
        "learning/diagnosis/practice.html",
        _practice_context(request, item, show_result=request.GET.get("result") == "1"),
    )


urlpatterns: list[URLPattern] = [
    path("diagnosis/", diagnosis_home, name="diagnosis_home"),
    path("diagnosis/me/", my_report, name="diagnosis_me"),
    path("diagnosis/students/<int:pk>/", student_report, name="diagnosis_student"),
    path("diagnosis/students/<int:pk>/export.csv", student_export, name="diagnosis_student_export"),
    path("diagnosis/classes/<int:pk>/", class_report, name="diagnosis_class"),
    path("diagnosis/classes/<int:pk>/push/", class_push, name="diagnosis_class_push"),
    path(
        "diagnosis/classes/<int:pk>/export.<str:fmt>",
        class_export,
        name="diagnosis_class_export",
    ),
    path("diagnosis/items/", item_statistics, name="diagnosis_items"),
    path("diagnosis/runs/", runs, name="diagnosis_runs"),
    path("next/", learn_next, name="learn_next"),
    path("next/pushes/<int:pk>/done/", push_done, name="push_done"),
    path("practice/<int:pk>/", practice, name="practice"),
]
