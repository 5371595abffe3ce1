"""Learning-space pages (一人一空间、人人用空间): the personal space of every account, the
teacher's space (lesson preparation, assignments, classes), the class space, and a parent's
minimised view of a child's activity.

Thin views: reads through ``queries.spaces`` (and resources' search), writes through
``actions.spaces``. Invalid forms answer 422 with their form partial; valid ones 303.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shuyuan.core.errors import InvalidInput, PermissionDenied
from shuyuan.core.forms import add_domain_errors
from shuyuan.core.views import FORM_ERRORS, http_errors, render_page, see_other
from shuyuan.resources.queries.search import search_resources

from .. import permissions
from ..actions import spaces as actions
from ..forms import AssignmentForm, LessonPlanForm, NoteForm, ResourceSearchForm
from ..models import AssignmentStatus, LessonPlan
from ..queries import spaces as queries

TIMELINE_SHOWN = 20
FAVOURITES_SHOWN = 50
NOTES_SHOWN = 50
FOUND_SHOWN = 10
PLANS_SHOWN = 50
ASSIGNMENTS_SHOWN = 50


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


def _back(request: HttpRequest, default: str) -> str:
    """``next`` from the form if it is a path on this site, else ``default``."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _found(request: HttpRequest, form: ResourceSearchForm) -> list[Any]:
    """Listed resources matching the search box (none for an empty box)."""
    if not form.is_valid() or not form.cleaned_data["q"].strip():
        return []
    try:
        page = search_resources(request.user, form.cleaned_data["q"], per_page=FOUND_SHOWN)
    except InvalidInput:
        return []
    return [hit.resource for hit in page.hits]


def _timeline(request: HttpRequest, for_user: Any = None) -> dict[str, Any]:
    before_text = request.GET.get("before", "")
    before = parse_datetime(before_text) if before_text else None
    entries = queries.list_timeline(
        request.user, for_user=for_user, limit=TIMELINE_SHOWN + 1, before=before
    )
    more = len(entries) > TIMELINE_SHOWN
    entries = entries[:TIMELINE_SHOWN]
    return {
        "timeline": entries,
        "timeline_next": entries[-1].stored.isoformat() if more and entries else "",
    }


# --- the personal space ------------------------------------------------------------------------


def _home_context(request: HttpRequest, *, note_form: NoteForm | None = None) -> dict[str, Any]:
    user: Any = request.user
    search = ResourceSearchForm(request.GET)
    found = _found(request, search)
    favourites = list(queries.list_favourites(user)[:FAVOURITES_SHOWN])
    kept = queries.favourite_resource_ids(user, [r.pk for r in found])
    context: dict[str, Any] = {
        "favourites": favourites,
        "notes": list(queries.list_notes(user)[:NOTES_SHOWN]),
        "note_form": note_form or NoteForm(),
        "search_form": search,
        "found": [(resource, resource.pk in kept) for resource in found],
        "assignments": list(queries.with_items(queries.my_assignments(user, open_only=True))[:20]),
        "is_teacher": permissions.is_teacher(user),
        "children": queries.my_children(user),
        "my_resources": queries.my_submitted_resources(user),
        **_timeline(request),
    }
    return context


@login_required
@require_GET
@http_errors
def space_home(request: HttpRequest) -> HttpResponse:
    """My space: my assignments, favourites, notes, my learning timeline, find resources
    (htmx: #timeline for older entries, #find-results for the search box)."""
    context = _home_context(request)
    partial = "timeline" if request.GET.get("before") else "find-results"
    return render_page(request, "learning/space_home.html", context, partial=partial)


@login_required
@require_POST
@http_errors
def favourite_add(request: HttpRequest) -> HttpResponse:
    """Keep a listed resource in my space (``resource`` = its id)."""
    pk = _int(request.POST.get("resource"))
    if pk is None:
        raise Http404
    resource = queries.access_listed_resource(request.user, pk)
    actions.add_favourite(actor=request.user, resource=resource)
    messages.success(request, _("The resource is in your favourites."))
    return see_other(request, _back(request, reverse("learning:space_home")))


@login_required
@require_POST
@http_errors
def favourite_remove(request: HttpRequest, pk: int) -> HttpResponse:
    favourite = queries.access_favourite(request.user, pk)
    actions.remove_favourite(actor=request.user, favourite=favourite)
    messages.success(request, _("The resource was removed from your favourites."))
    return see_other(request, _back(request, reverse("learning:space_home")))


@login_required
@require_POST
@http_errors
def note_create(request: HttpRequest) -> HttpResponse:
    """A new note (invalid: 422 with #note-form)."""
    form = NoteForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        resource = None
        if data.get("resource"):
            resource = queries.access_listed_resource(request.user, data["resource"])
        try:
            actions.create_note(
                actor=request.user, title=data["title"], body=data["body"], resource=resource
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Your note was saved."))
            return see_other(request, reverse("learning:space_home"))
    return render_page(
        request,
        "learning/space_home.html",
        _home_context(request, note_form=form),
        partial="note-form",
        status=422,
    )


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def note_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit one of my notes (invalid: 422 with #note-form)."""
    note = queries.access_note(request.user, pk, "change")
    if request.method == "POST":
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                actions.update_note(
                    actor=request.user,
                    note=note,
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                )
            except FORM_ERRORS as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("Your note was saved."))
                return see_other(request, reverse("learning:space_home"))
        status = 422
    else:
        form = NoteForm(initial={"title": note.title, "body": note.body})
        status = 200
    return render_page(
        request,
        "learning/note_form.html",
        {"note": note, "note_form": form},
        partial="note-form",
        status=status,
    )


@login_required
@require_POST
@http_errors
def note_delete(request: HttpRequest, pk: int) -> HttpResponse:
    note = queries.access_note(request.user, pk, "change")
    actions.delete_note(actor=request.user, note=note)
    messages.success(request, _("The note was deleted."))
    return see_other(request, reverse("learning:space_home"))


# --- the teacher's space -----------------------------------------------------------------------


def _require_teacher(request: HttpRequest) -> None:
    if not permissions.is_teacher(request.user):
        raise PermissionDenied(_("This page is for teachers."))


@login_required
@require_GET
@http_errors
def teach_home(request: HttpRequest) -> HttpResponse:
    """The teacher's space: classes taught, lesson plans, assignments set."""
    _require_teacher(request)
    user = request.user
    context = {
        "classes": list(queries.taught_classes(user)),
        "teaching_classes": list(queries.teaching_classes(user)[:200]),
        "plans": list(queries.list_lesson_plans(user)[:PLANS_SHOWN]),
        "assignments": list(queries.list_assignments_set(user)[:ASSIGNMENTS_SHOWN]),
    }
    return render_page(request, "learning/teach_home.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def lesson_create(request: HttpRequest) -> HttpResponse:
    """Prepare a new lesson (invalid: 422 with #plan-form)."""
    _require_teacher(request)
    classes = queries.teaching_classes(request.user)
    initial = {"class_org": _int(request.GET.get("class"))}
    form = LessonPlanForm(
        request.POST if request.method == "POST" else None, classes=classes, initial=initial
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            plan = actions.create_lesson_plan(
                actor=request.user,
                class_org=data["class_org"],
                title=data["title"],
                notes=data["notes"],
                taught_on=data["taught_on"],
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("The lesson plan was created. Now add resources."))
            return see_other(request, reverse("learning:lesson_detail", args=[plan.pk]))
    status = 422 if form.is_bound else 200
    return render_page(
        request, "learning/lesson_form.html", {"form": form}, partial="plan-form", status=status
    )


def _lesson_context(
    request: HttpRequest, plan: LessonPlan, *, form: LessonPlanForm | None = None
) -> dict[str, Any]:
    user: Any = request.user
    search = ResourceSearchForm(request.GET)
    items = queries.plan_items(user, plan)
    present = {item.resource_id for item in items}
    favourites = [f.resource for f in queries.list_favourites(user)[:FAVOURITES_SHOWN]]
    can_change = queries.can_change_plan(user, plan)
    return {
        "plan": plan,
        "items": items,
        "can_change": can_change,
        "form": form
        or LessonPlanForm(
            initial={"title": plan.title, "notes": plan.notes, "taught_on": plan.taught_on}
        ),
        "search_form": search,
        "found": [r for r in _found(request, search) if r.pk not in present],
        "favourites": [r for r in favourites if r.pk not in present],
        "assignments": list(queries.plan_assignments(user, plan)[:10]),
    }


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def lesson_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A lesson plan: its resources in order, adding from search and favourites, its notes
    (htmx: #find-results for the search box; invalid edit: 422 with #plan-form)."""
    plan = queries.access_lesson_plan(request.user, pk)
    if request.method == "POST":
        form = LessonPlanForm(request.POST)
        if form.is_valid():
            try:
                actions.update_lesson_plan(
                    actor=request.user,
                    plan=plan,
                    title=form.cleaned_data["title"],
                    notes=form.cleaned_data["notes"],
                    taught_on=form.cleaned_data["taught_on"],
                )
            except FORM_ERRORS as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("The lesson plan was saved."))
                return see_other(request, reverse("learning:lesson_detail", args=[pk]))
        plan = queries.access_lesson_plan(request.user, pk)
        return render_page(
            request,
            "learning/lesson_detail.html",
            _lesson_context(request, plan, form=form),
            partial="plan-form",
            status=422,
        )
    return render_page(
        request,
        "learning/lesson_detail.html",
        _lesson_context(request, plan),
        partial="find-results",
    )


@login_required
@require_POST
@http_errors
def lesson_add_resource(request: HttpRequest, pk: int) -> HttpResponse:
    plan = queries.access_lesson_plan(request.user, pk)
    resource_pk = _int(request.POST.get("resource"))
    if resource_pk is None:
        raise Http404
    resource = queries.access_listed_resource(request.user, resource_pk)
    try:
        actions.add_plan_resource(actor=request.user, plan=plan, resource=resource)
    except FORM_ERRORS as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The resource was added to the lesson."))
    return see_other(request, reverse("learning:lesson_detail", args=[pk]))


@login_required
@require_POST
@http_errors
def lesson_item_remove(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    plan = queries.access_lesson_plan(request.user, pk)
    item = queries.access_plan_item(request.user, plan, item_pk)
    actions.remove_plan_resource(actor=request.user, plan=plan, item=item)
    messages.success(request, _("The resource was taken out of the lesson."))
    return see_other(request, reverse("learning:lesson_detail", args=[pk]))


@login_required
@require_POST
@http_errors
def lesson_item_move(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    plan = queries.access_lesson_plan(request.user, pk)
    item = queries.access_plan_item(request.user, plan, item_pk)
    actions.move_plan_resource(
        actor=request.user, plan=plan, item=item, up=request.POST.get("direction") == "up"
    )
    return see_other(request, reverse("learning:lesson_detail", args=[pk]))


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def assignment_create(request: HttpRequest) -> HttpResponse:
    """Set an assignment for a class (invalid: 422 with #assignment-form)."""
    _require_teacher(request)
    user: Any = request.user
    plans = queries.plans_to_assign(user)
    initial: dict[str, Any] = {"class_org": _int(request.GET.get("class"))}
    plan_pk = _int(request.GET.get("plan"))
    if plan_pk is not None:
        plan = queries.access_lesson_plan(user, plan_pk)
        initial.update(lesson_plan=plan.pk, class_org=plan.class_org_id, title=plan.title)
    form = AssignmentForm(
        request.POST if request.method == "POST" else None,
        classes=queries.teaching_classes(user),
        plans=plans,
        initial=initial,
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            assignment = actions.set_assignment(
                actor=user,
                class_org=data["class_org"],
                title=data["title"],
                instructions=data["instructions"],
                due_at=data["due_at"],
                lesson_plan=data["lesson_plan"],
            )
        except FORM_ERRORS as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("The assignment was set for the class."))
            return see_other(request, reverse("learning:assignment_detail", args=[assignment.pk]))
    status = 422 if form.is_bound else 200
    return render_page(
        request,
        "learning/assignment_form.html",
        {"form": form},
        partial="assignment-form",
        status=status,
    )


@login_required
@require_GET
@http_errors
def assignment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An assignment: instructions and resources; its teacher also sees the class list with
    who completed it (htmx: #roster); a student of the class can mark it done."""
    user: Any = request.user
    assignment = queries.access_assignment(user, pk)
    manages = queries.can_manage_assignment(user, assignment)
    role = queries.class_role(user, assignment.class_org)
    context: dict[str, Any] = {
        "assignment": assignment,
        "items": queries.assignment_items(user, assignment),
        "manages": manages,
        "sees_roster": manages or role in {"teacher", "admin"},
        "is_student": queries.can_complete(user, assignment),
        "open": assignment.status == AssignmentStatus.OPEN,
    }
    if context["sees_roster"]:
        roster = queries.assignment_roster(user, assignment)
        context["roster"] = roster
        context["done_count"] = sum(1 for row in roster if row.completed_at)
    if context["is_student"]:
        context["done"] = queries.my_submission(user, assignment)
    return render_page(request, "learning/assignment_detail.html", context, partial="roster")


@login_required
@require_POST
@http_errors
def assignment_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Close an assignment, or open it again (its teacher)."""
    assignment = queries.access_assignment(request.user, pk)
    status = request.POST.get("status", "")
    try:
        actions.set_assignment_status(actor=request.user, assignment=assignment, status=status)
    except FORM_ERRORS as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The assignment was updated."))
    return see_other(request, reverse("learning:assignment_detail", args=[pk]))


@login_required
@require_POST
@http_errors
def assignment_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark an assignment done (a student of the class)."""
    assignment = queries.access_assignment(request.user, pk)
    try:
        actions.complete_assignment(actor=request.user, assignment=assignment)
    except FORM_ERRORS as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Well done: the assignment is marked as completed."))
    return see_other(request, _back(request, reverse("learning:assignment_detail", args=[pk])))


# --- the class space ---------------------------------------------------------------------------


@login_required
@require_GET
@http_errors
def class_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A class space: the class's assignments for everyone in it; the class list with each
    student's activity of the last week for its teachers only (htmx: #roster)."""
    user: Any = request.user
    org = queries.access_class(user, pk)
    role = queries.class_role(user, org)
    assignments = queries.class_assignments(user, org)
    context: dict[str, Any] = {
        "org": org,
        "role": role,
        "assignments": list(assignments[:ASSIGNMENTS_SHOWN]),
    }
    if role in {"teacher", "admin"}:
        students = list(queries.class_students(user, org))
        counts = queries.recent_activity_counts(user, students)
        context["roster"] = [
            (student, counts.get(queries.agent_of(student.username), 0)) for student in students
        ]
    if role == "teacher":
        context["plans"] = list(queries.list_lesson_plans(user).filter(class_org=org)[:20])
    if role == "student":
        context["assignments"] = list(
            queries.my_assignments(user).filter(class_org=org)[:ASSIGNMENTS_SHOWN]
        )
    return render_page(request, "learning/class_detail.html", context, partial="roster")


# --- parents -----------------------------------------------------------------------------------


@login_required
@require_GET
@http_errors
def children(request: HttpRequest) -> HttpResponse:
    """A parent's children, each linking to the minimised view of their activity."""
    kids = queries.my_children(request.user)
    if not kids:
        raise PermissionDenied(_("This page is for parents and guardians."))
    return render_page(request, "learning/children.html", {"children": kids})


@login_required
@require_GET
@http_errors
def child_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """What a parent sees of a child's learning: activity per week, recent completions (names
    only), assignments done or not. Nothing else (see the page's note and docs)."""
    child = queries.access_child(request.user, pk)
    summary = queries.child_summary(request.user, child)
    return render_page(request, "learning/child_detail.html", {"summary": summary})


urlpatterns: list[URLPattern] = [
    path("", space_home, name="space_home"),
    path("favourites/", favourite_add, name="favourite_add"),
    path("favourites/<int:pk>/remove/", favourite_remove, name="favourite_remove"),
    path("notes/", note_create, name="note_create"),
    path("notes/<int:pk>/", note_edit, name="note_edit"),
    path("notes/<int:pk>/delete/", note_delete, name="note_delete"),
    path("teach/", teach_home, name="teach_home"),
    path("teach/lessons/new/", lesson_create, name="lesson_create"),
    path("teach/lessons/<int:pk>/", lesson_detail, name="lesson_detail"),
    path("teach/lessons/<int:pk>/resources/", lesson_add_resource, name="lesson_add_resource"),
    path(
        "teach/lessons/<int:pk>/resources/<int:item_pk>/remove/",
        lesson_item_remove,
        name="lesson_item_remove",
    ),
    path(
        "teach/lessons/<int:pk>/resources/<int:item_pk>/move/",
        lesson_item_move,
        name="lesson_item_move",
    ),
    path("teach/assignments/new/", assignment_create, name="assignment_create"),
    path("assignments/<int:pk>/", assignment_detail, name="assignment_detail"),
    path("assignments/<int:pk>/status/", assignment_status, name="assignment_status"),
    path("assignments/<int:pk>/complete/", assignment_complete, name="assignment_complete"),
    path("classes/<int:pk>/", class_detail, name="class_detail"),
    path("children/", children, name="children"),
    path("children/<int:pk>/", child_detail, name="child_detail"),
]
