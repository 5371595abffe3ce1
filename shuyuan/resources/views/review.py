"""Resources pages: review (the queue, one review task, reviewer assignments).

Thin views: reads through ``resources.queries.review`` (built on ``visible_to``), writes through
``resources.actions.review``. A task the user cannot see is a 404; the queue needs the reviewer
role (or platform admin), the assignments page an admin role (else 403). A refused decision
re-renders the task page with the error and the action's status (403, 409 or 422).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from shuyuan.core import queries as core_queries
from shuyuan.core.errors import NotFound, PermissionDenied, ShuyuanError
from shuyuan.core.forms import OrgChoiceField, add_domain_errors
from shuyuan.core.views import http_errors, render_page, see_other
from shuyuan.identity import queries as identity_queries

from ..actions import review as actions
from ..choices import ReviewDecision, ReviewStage, ReviewTaskStatus
from ..models import ReviewTask, Subject
from ..queries import review as queries

TASKS_PER_PAGE = 25
ASSIGNMENTS_PER_PAGE = 50


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied()


def version_file_url(version_pk: int) -> str:
    """The submission area's file link of a version, or ``""`` if that page does not exist."""
    try:
        return reverse("resources:submit_version_file", args=[version_pk])
    except NoReverseMatch:
        return ""


# --- forms -------------------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    """The queue's filters (GET; bad values are ignored)."""

    stage = forms.ChoiceField(
        label=gettext_lazy("Stage"),
        required=False,
        choices=[("", gettext_lazy("All stages")), *ReviewStage.choices],
    )
    show = forms.ChoiceField(
        label=gettext_lazy("Show"),
        required=False,
        choices=[
            ("all", gettext_lazy("Every task I may decide")),
            ("mine", gettext_lazy("Assigned to me")),
            ("unassigned", gettext_lazy("Unassigned")),
        ],
    )

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        show = self.cleaned_data.get("show") or "all"
        return {
            "stage": self.cleaned_data.get("stage") or None,
            "mine": show == "mine",
            "unassigned": show == "unassigned",
        }


class DecisionForm(forms.Form):
    """Approve or reject a review task."""

    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"), choices=ReviewDecision.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=actions.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "Required when rejecting or when overriding blocking findings (at least 5 characters)."
        ),
    )
    override_findings = forms.BooleanField(
        label=gettext_lazy("Override the blocking audit findings"), required=False
    )

    def __init__(self, *args: Any, blocking: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not blocking:
            del self.fields["override_findings"]


class AssignmentForm(forms.Form):
    """A new reviewer assignment."""

    reviewer = forms.CharField(
        label=gettext_lazy("Reviewer's account name"),
        max_length=150,
        help_text=gettext_lazy("The account must hold the resource reviewer role."),
    )
    org = OrgChoiceField(label=gettext_lazy("Organisation subtree"))
    subject = forms.ModelChoiceField(
        label=gettext_lazy("Subject"),
        queryset=Subject.objects.none(),
        required=False,
        empty_label=gettext_lazy("Every subject"),
    )
    stages = forms.MultipleChoiceField(
        label=gettext_lazy("Review stages"),
        choices=ReviewStage.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].set_queryset(core_queries.list_orgs(user, action="change"))  # type: ignore[attr-defined]  # OrgChoiceField
        self.fields["subject"].queryset = queries.subject_choices(user)  # type: ignore[attr-defined]  # ModelChoiceField


# --- the queue ---------------------------------------------------------------------------------


@login_required
@http_errors
def review_queue(request: HttpRequest) -> HttpResponse:
    """Open tasks the user may decide, filtered by stage and by assignment (htmx: #results)."""
    user: Any = request.user
    _require(queries.can_use_queue(user))
    form = QueueFilterForm(request.GET)
    tasks = queries.review_queue(user, **form.filters())
    page = Paginator(tasks, TASKS_PER_PAGE).get_page(request.GET.get("page"))
    counts = queries.queue_counts(user)
    context = {
        "form": form,
        "page": page,
        "stage_counts": [(label, counts[value]) for value, label in ReviewStage.choices],
        "can_manage_assignments": queries.can_manage_assignments(user),
    }
    return render_page(request, "resources/review/queue.html", context, partial="results")


# --- one task ----------------------------------------------------------------------------------


def _task_context(
    request: HttpRequest, task: ReviewTask, form: DecisionForm | None = None, error: str = ""
) -> dict[str, Any]:
    user: Any = request.user
    version = task.version
    findings = list(queries.task_findings(user, version))
    blocking = any(f.severity == "block" for f in findings)
    is_open = task.status == ReviewTaskStatus.OPEN
    ineligible = actions.eligibility_error(user, task) if is_open else None
    can_decide = is_open and ineligible is None
    others = list(queries.other_versions(user, version))
    return {
        "task": task,
        "version": version,
        "resource": version.resource,
        "file_url": version_file_url(version.pk) if version.file_name else "",
        "findings": findings,
        "blocking": blocking,
        "diff": queries.version_diff(version),
        "listed_version_id": version.resource.listed_version_id,
        "other_versions": [(v, version_file_url(v.pk) if v.file_name else "") for v in others],
        "trail": list(queries.version_trail(user, version)),
        "can_decide": can_decide,
        "ineligible": ineligible if is_open and queries.can_use_queue(user) else None,
        "can_claim": can_decide and task.assignee_id is None,
        "form": form or (DecisionForm(blocking=blocking) if can_decide else None),
        "error": error,
    }


@login_required
@http_errors
def review_task(request: HttpRequest, pk: int) -> HttpResponse:
    """One task: the version's metadata and file, audit findings, the diff against the listed
    version, older versions, the trail, and the decision form for an eligible reviewer."""
    task = queries.access_task(request.user, pk)
    return render_page(request, "resources/review/task.html", _task_context(request, task))


@login_required
@require_POST
@http_errors
def review_task_claim(request: HttpRequest, pk: int) -> HttpResponse:
    """Take an unassigned task."""
    task = queries.access_task(request.user, pk)
    try:
        actions.claim_task(actor=request.user, task=task)
    except NotFound:
        raise
    except ShuyuanError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The task is assigned to you."))
    return see_other(request, reverse("resources:review_task", args=[pk]))


@login_required
@require_POST
@http_errors
def review_task_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject the task (a refused decision re-renders the page with the error)."""
    user: Any = request.user
    task = queries.access_task(user, pk)
    blocking = actions.has_blocking_findings(task.version)
    form = DecisionForm(request.POST, blocking=blocking)
    status = 422
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            decided = actions.decide(
                actor=user,
                task=task,
                decision=data["decision"],
                reason=data["reason"],
                override_findings=bool(data.get("override_findings")),
            )
        except NotFound:
            raise
        except ShuyuanError as exc:
            if exc.errors:
                add_domain_errors(form, exc)
            error = exc.message
            status = exc.status
        else:
            if decided.decision == ReviewDecision.REJECT:
                messages.success(request, _("The version was rejected."))
            elif decided.stage == ReviewStage.SUBMISSION:
                messages.success(request, _("Approved; the version now waits for listing review."))
            else:
                messages.success(request, _("Approved; the version is listed."))
            return see_other(request, reverse("resources:review_queue"))
    task = queries.access_task(user, pk)
    context = _task_context(request, task, form=form, error=error)
    if not context["can_decide"]:
        context["form"] = None
    return render_page(request, "resources/review/task.html", context, status=status)


# --- assignments -------------------------------------------------------------------------------


def _resolve_reviewer(request: HttpRequest, form: AssignmentForm) -> Any:
    name = form.cleaned_data["reviewer"].strip()
    found = identity_queries.list_users(request.user, q=name).filter(username=name).first()
    if found is None:
        form.add_error("reviewer", _("No account with this name is visible to you."))
    return found


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def review_assignments(request: HttpRequest) -> HttpResponse:
    """Reviewer assignments of the orgs the user administers, and a form to add one."""
    user: Any = request.user
    _require(queries.can_manage_assignments(user))
    form = AssignmentForm(request.POST if request.method == "POST" else None, user=user)
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            reviewer = _resolve_reviewer(request, form)
            if reviewer is not None:
                data = form.cleaned_data
                try:
                    actions.create_assignment(
                        actor=user,
                        reviewer=reviewer,
                        org=data["org"],
                        subject=data["subject"],
                        stages=data["stages"],
                    )
                except NotFound:
                    raise
                except ShuyuanError as exc:
                    add_domain_errors(form, exc)
                    status = exc.status
                else:
                    messages.success(request, _("The reviewer assignment was added."))
                    return see_other(request, reverse("resources:review_assignments"))
    page = Paginator(queries.list_assignments(user), ASSIGNMENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    changeable = queries.changeable_assignment_ids(user, [a.pk for a in page.object_list])
    labels = dict(ReviewStage.choices)
    rows = [(a, ", ".join(str(labels.get(s, s)) for s in a.stages or [])) for a in page.object_list]
    context = {"form": form, "page": page, "rows": rows, "changeable": changeable}
    return render_page(
        request,
        "resources/review/assignments.html",
        context,
        partial="assignment-form",
        status=status,
    )


@login_required
@require_POST
@http_errors
def review_assignment_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """End an assignment."""
    user: Any = request.user
    assignment = queries.access_assignment(user, pk)
    actions.deactivate_assignment(actor=user, assignment=assignment)
    messages.success(request, _("The reviewer assignment was ended."))
    return see_other(request, reverse("resources:review_assignments"))


urlpatterns: list[URLPattern] = [
    path("review/", review_queue, name="review_queue"),
    path("review/tasks/<int:pk>/", review_task, name="review_task"),
    path("review/tasks/<int:pk>/claim/", review_task_claim, name="review_task_claim"),
    path("review/tasks/<int:pk>/decide/", review_task_decide, name="review_task_decide"),
    path("review/assignments/", review_assignments, name="review_assignments"),
    path(
        "review/assignments/<int:pk>/deactivate/",
        review_assignment_deactivate,
        name="review_assignment_deactivate",
    ),
]
