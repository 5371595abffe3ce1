"""Item bank pages (题库) for teachers and administrators: the list with filters, a new
question (kind first, then a form of that kind's rows), the question with its versions, tags
and statistics, editing (a new version), retiring and restoring, and QTI 3.0 import and
export.

Thin views: reads through ``queries.items``, writes through ``actions.items``. Invalid forms
answer 422 with their form partial; valid ones 303. Students and parents do not have a bank:
its pages are 404 for them, like an item of a school one does not teach in.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shuyuan.core.errors import NotFound, PermissionDenied, ShuyuanError
from shuyuan.core.forms import add_domain_errors
from shuyuan.core.views import FORM_ERRORS, http_errors, render_page, see_other

from ..actions import items as actions
from ..forms_items import ItemFilterForm, ItemForm, ItemImportForm, initial_for
from ..models import Item, ItemKind, ItemStatus
from ..queries import items as queries

ITEMS_PER_PAGE = 25
#: Most items one export holds.
EXPORT_MAX = 2000
POINTS_SHOWN = 10
#: Session key of the last import's report (shown once after the redirect).
REPORT_KEY = "learning_item_import"


def _require_bank(request: HttpRequest) -> None:
    """The bank is for teachers and administrators; anyone else gets a 404."""
    if not queries.can_use_bank(request.user):
        raise NotFound(_("Page not found."))


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit() and len(v) < 12]


# --- the list -------------------------------------------------------------------------------------


def _filtered(request: HttpRequest) -> tuple[ItemFilterForm, QuerySet[Item], bool]:
    """The filter form, the items it selects, and whether a knowledge point was unknown."""
    user: Any = request.user
    form = ItemFilterForm(request.GET)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    point = None
    unknown = False
    text = (data.get("knowledge_point") or "").strip()
    if text:
        found, _missing = queries.find_points(user, [text])
        if found:
            point = found[0]
        else:
            unknown = True
    status = data.get("status") or ItemStatus.ACTIVE
    items = queries.list_items(
        user,
        q=data.get("q", ""),
        kind=data.get("kind") or None,
        difficulty=data.get("difficulty"),
        knowledge_point=point,
        status=None if status == "all" else status,
    )
    if unknown:
        items = items.none()
    return form, items, unknown


@login_required
@require_GET
@http_errors
def item_list(request: HttpRequest) -> HttpResponse:
    """The bank: questions one may see, filtered and paged (htmx: #results)."""
    _require_bank(request)
    form, items, unknown = _filtered(request)
    page = Paginator(items, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "rows": list(page.object_list),
        "unknown_point": unknown,
        "export_query": request.GET.urlencode(),
        "kinds": ItemKind.choices,
    }
    return render_page(request, "learning/items/list.html", context, partial="results")


@login_required
@require_GET
@http_errors
def item_points(request: HttpRequest) -> HttpResponse:
    """Knowledge points matching ``kp_q`` (the form's search box, htmx: #kp-matches)."""
    _require_bank(request)
    q = request.GET.get("kp_q", "")[:100]
    context = {"q": q, "matches": queries.search_points(request.user, q, POINTS_SHOWN)}
    return render_page(request, "learning/items/points.html", context)


# --- create and edit ------------------------------------------------------------------------------


def _save_form(
    request: HttpRequest, form: ItemForm, item: Item | None
) -> tuple[Item | None, ItemForm]:
    """Create (``item`` None) or revise ``item`` from a valid ``form``; errors go on the form."""
    user: Any = request.user
    points, missing = queries.find_points(user, form.point_texts())
    if missing:
        form.add_error(
            "knowledge_points",
            _("No knowledge point has the code or name %(text)s.") % {"text": ", ".join(missing)},
        )
        return None, form
    data = form.cleaned_data
    try:
        content = form.build_content()
        if item is None:
            saved = actions.create_item(
                actor=user,
                org=data["org"],
                subject=data.get("subject"),
                kind=form.kind,
                difficulty=data["difficulty"],
                stem=data["stem"],
                content=content,
                explanation=data["explanation"],
                knowledge_points=points,
            )
        else:
            saved = actions.revise_item(
                actor=user,
                item=item,
                stem=data["stem"],
                content=content,
                explanation=data["explanation"],
                difficulty=data["difficulty"],
                knowledge_points=points,
                base_version=data.get("base_version"),
            )
    except FORM_ERRORS as exc:
        form.add_domain_errors(exc)
        return None, form
    return saved, form


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def item_create(request: HttpRequest) -> HttpResponse:
    """A new question: choose the kind (``?kind=``), then fill in its form (invalid: 422 with
    #item-form)."""
    _require_bank(request)
    user: Any = request.user
    kind = request.POST.get("kind") or request.GET.get("kind", "")
    if kind not in ItemKind.values:
        return render_page(request, "learning/items/choose_kind.html", {"kinds": ItemKind.choices})
    orgs = queries.bank_orgs_for(user)
    initial: dict[str, Any] = {}
    first = orgs.values_list("pk", flat=True)[:2]
    if len(first) == 1:
        initial["org"] = first[0]
    form = ItemForm(
        request.POST if request.method == "POST" else None,
        kind=kind,
        orgs=orgs,
        subjects=queries.list_subjects(user),
        initial=initial,
    )
    if form.is_valid():
        saved, form = _save_form(request, form, None)
        if saved is not None:
            messages.success(request, _("The question was added to the bank."))
            return see_other(request, reverse("learning:item_detail", args=[saved.pk]))
    status = 422 if form.is_bound else 200
    context = {"form": form, "kind": kind, "kind_label": ItemKind(kind).label, "item": None}
    return render_page(
        request, "learning/items/form.html", context, partial="item-form", status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a question: saving a changed text or key adds a version (invalid: 422 with
    #item-form)."""
    _require_bank(request)
    user: Any = request.user
    item = queries.access_item(user, pk)
    if not queries.can_change_item(user, item):
        raise PermissionDenied(_("You cannot change this question."))
    form = ItemForm(
        request.POST if request.method == "POST" else None,
        kind=item.kind,
        editing=True,
        current=item.current_version.content if item.current_version else None,
        initial=initial_for(item),
    )
    if form.is_valid():
        saved, form = _save_form(request, form, item)
        if saved is not None:
            messages.success(request, _("The question was saved."))
            return see_other(request, reverse("learning:item_detail", args=[saved.pk]))
    status = 422 if form.is_bound else 200
    context = {"form": form, "kind": item.kind, "kind_label": item.get_kind_display(), "item": item}
    return render_page(
        request, "learning/items/form.html", context, partial="item-form", status=status
    )


# --- one item -------------------------------------------------------------------------------------


def _key(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    """What the detail page shows of the answer key, per kind."""
    if kind == ItemKind.MATCHING:
        right = {o["id"]: o["text"] for o in content.get("right", [])}
        pairs = content.get("pairs", {})
        matched = set(pairs.values())
        return {
            "pairs": [(o["text"], right.get(pairs.get(o["id"], ""), "")) for o in content["left"]],
            "distractors": [o["text"] for o in content.get("right", []) if o["id"] not in matched],
        }
    if kind == ItemKind.ORDERING:
        texts = {o["id"]: o["text"] for o in content.get("options", [])}
        return {"order": [texts.get(i, i) for i in content.get("order", [])]}
    if kind in {ItemKind.SINGLE, ItemKind.MULTIPLE}:
        correct = content.get("correct")
        chosen = set(correct) if isinstance(correct, list) else {correct}
        return {"options": [(o["id"], o["text"], o["id"] in chosen) for o in content["options"]]}
    return {}


@login_required
@require_GET
@http_errors
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A question: its current version with the key, tags, difficulty, statistics, and every
    version; who may change it also sees edit and retire or restore."""
    _require_bank(request)
    user: Any = request.user
    item = queries.access_item(user, pk)
    version = item.current_version
    content = dict(version.content) if version else {}
    context = {
        "item": item,
        "version": version,
        "content": content,
        "key": _key(item.kind, content),
        "tags": list(item.tags.all()),
        "versions": list(queries.item_versions(user, item)),
        "statistic": queries.item_statistic(user, item),
        "can_change": queries.can_change_item(user, item),
        "active": item.status == ItemStatus.ACTIVE,
    }
    return render_page(request, "learning/items/detail.html", context)


@login_required
@require_POST
@http_errors
def item_retire(request: HttpRequest, pk: int) -> HttpResponse:
    _require_bank(request)
    item = queries.access_item(request.user, pk)
    actions.retire_item(actor=request.user, item=item)
    messages.success(request, _("The question was retired; papers that use it keep it."))
    return see_other(request, reverse("learning:item_detail", args=[pk]))


@login_required
@require_POST
@http_errors
def item_restore(request: HttpRequest, pk: int) -> HttpResponse:
    _require_bank(request)
    item = queries.access_item(request.user, pk)
    actions.restore_item(actor=request.user, item=item)
    messages.success(request, _("The question is in use again."))
    return see_other(request, reverse("learning:item_detail", args=[pk]))


# --- QTI ------------------------------------------------------------------------------------------


def _last_report(request: HttpRequest) -> dict[str, list[Item]] | None:
    stored = request.session.pop(REPORT_KEY, None)
    if not isinstance(stored, dict):
        return None
    user: Any = request.user
    result: dict[str, list[Item]] = {}
    for key in ("created", "updated"):
        ids = [int(i) for i in stored.get(key, []) if isinstance(i, int)]
        found = {i.pk: i for i in queries.items_by_ids(user, ids)}
        result[key] = [found[i] for i in ids if i in found]
    return result


def _file_errors(form: ItemImportForm, error: ShuyuanError) -> None:
    """An import's error on the file field (where the upload is), others where they belong."""
    if error.errors:
        add_domain_errors(form, error)
    else:
        form.add_error("file", error.message)


@login_required
@require_http_methods(["GET", "POST"])
@http_errors
def item_import(request: HttpRequest) -> HttpResponse:
    """Import a QTI 3.0 package into a bank (invalid: 422 naming the file and element; after
    success, the report of created and revised questions)."""
    _require_bank(request)
    user: Any = request.user
    orgs = queries.bank_orgs_for(user)
    initial: dict[str, Any] = {}
    first = orgs.values_list("pk", flat=True)[:2]
    if len(first) == 1:
        initial["org"] = first[0]
    if request.method == "POST":
        form = ItemImportForm(request.POST, request.FILES, orgs=orgs)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = actions.import_qti(
                    actor=user,
                    org=form.cleaned_data["org"],
                    data=upload.read(),
                    filename=upload.name or "",
                )
            except FORM_ERRORS as exc:
                _file_errors(form, exc)
            else:
                request.session[REPORT_KEY] = {
                    "created": [i.pk for i in report.created],
                    "updated": [i.pk for i in report.updated],
                }
                messages.success(
                    request,
                    _("Imported: %(created)d questions added, %(updated)d revised.")
                    % {"created": len(report.created), "updated": len(report.updated)},
                )
                return see_other(request, reverse("learning:item_import"))
        context: dict[str, Any] = {"form": form, "report": None}
        return render_page(
            request, "learning/items/import.html", context, partial="import-form", status=422
        )
    form = ItemImportForm(orgs=orgs, initial=initial)
    context = {"form": form, "report": _last_report(request)}
    return render_page(request, "learning/items/import.html", context)


@login_required
@require_GET
@http_errors
def item_export(request: HttpRequest) -> HttpResponse:
    """``items-<date>.zip``: a QTI 3.0 package of the selected questions (``ids``), or of the
    list as filtered."""
    _require_bank(request)
    user: Any = request.user
    ids = _ids(request.GET.getlist("ids"))
    items = queries.items_by_ids(user, ids) if ids else _filtered(request)[1]
    chosen = list(
        items.select_related(None)
        .prefetch_related(None)
        .values_list("pk", flat=True)[: EXPORT_MAX + 1]
    )
    if not chosen:
        messages.error(request, _("No questions to export."))
        return see_other(request, reverse("learning:item_list"))
    if len(chosen) > EXPORT_MAX:
        messages.error(
            request,
            _("At most %(limit)d questions can be exported at once; filter the list first.")
            % {"limit": EXPORT_MAX},
        )
        return see_other(request, reverse("learning:item_list"))
    data = queries.export_qti(user, [Item(pk=pk) for pk in chosen])
    response = HttpResponse(data, content_type="application/zip")
    filename = f"items-{timezone.localdate().isoformat()}.zip"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


urlpatterns: list[URLPattern] = [
    path("exams/items/", item_list, name="item_list"),
    path("exams/items/new/", item_create, name="item_create"),
    path("exams/items/import/", item_import, name="item_import"),
    path("exams/items/export/", item_export, name="item_export"),
    path("exams/items/points/", item_points, name="item_points"),
    path("exams/items/<int:pk>/", item_detail, name="item_detail"),
    path("exams/items/<int:pk>/edit/", item_edit, name="item_edit"),
    path("exams/items/<int:pk>/retire/", item_retire, name="item_retire"),
    path("exams/items/<int:pk>/restore/", item_restore, name="item_restore"),
]
