"""Catalog reads: datasets, requests, clients, the access log, and what a consumer may read.

Every portal read goes through ``visible_to`` (rules in ``registry.permissions``): an invisible
row is ``NotFound``. ``client_datasets``/``client_org_paths`` answer for a consumer system (the
OneRoster API), not a person, so they are not scoped to a user.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from shuyuan.core.errors import NotFound
from shuyuan.core.models import Org

from ..choices import AccessRequestStatus, SharingLevel
from ..models import AccessLog, AccessRequest, ApiClient, Dataset

BOXES = ("incoming", "outgoing")


def _live_approval(prefix: str, today: dt.date) -> Q:
    """An approved request (under ``prefix``) that has not expired."""
    return Q(**{f"{prefix}status": AccessRequestStatus.APPROVED}) & (
        Q(**{f"{prefix}valid_until__isnull": True}) | Q(**{f"{prefix}valid_until__gte": today})
    )


def client_datasets(
    client: ApiClient, collection: str, *, today: dt.date | None = None
) -> list[Dataset]:
    """Datasets ``client`` may read ``collection`` (a OneRoster collection name such as
    ``"users"``) through: unconditional datasets, and conditional ones with an approved,
    unexpired request of this client. Not-shared datasets never; an inactive client nothing."""
    candidates = readable_datasets(client, today=today)
    return [d for d in candidates if collection in (d.entity_types or [])]


def readable_datasets(client: ApiClient, *, today: dt.date | None = None) -> QuerySet[Dataset]:
    """Every dataset ``client`` may read now (see ``client_datasets``), by code."""
    if not client.is_active:
        return Dataset.objects.none()
    today = today or timezone.localdate()
    approved_ids = AccessRequest.objects.filter(_live_approval("", today), client=client).values(
        "dataset_id"
    )
    return (
        Dataset.objects.filter(
            Q(sharing_level=SharingLevel.UNCONDITIONAL)
            | Q(sharing_level=SharingLevel.CONDITIONAL, pk__in=approved_ids)
        )
        .select_related("org")
        .order_by("code")
    )


def client_org_paths(client: ApiClient, collection: str, **kwargs: Any) -> list[str]:
    """The org-subtree paths ``client`` may read ``collection`` in (nested paths collapsed)."""
    paths = sorted({d.org.path for d in client_datasets(client, collection, **kwargs)})
    collapsed: list[str] = []
    for path in paths:
        if not collapsed or not path.startswith(collapsed[-1]):
            collapsed.append(path)
    return collapsed


# --- what a user may open ----------------------------------------------------------------------


def can_browse_catalog(user: Any) -> bool:
    """May ``user`` see the catalog at all (the rule grants every dataset or none)?"""
    return not Dataset.objects.visible_to(user).query.is_empty()


def can_manage_clients(user: Any) -> bool:
    """Does ``user`` administer some org whose clients they may manage?"""
    return not ApiClient.objects.visible_to(user, "change").query.is_empty()


def can_read_access_log(user: Any) -> bool:
    return not AccessLog.objects.visible_to(user).query.is_empty()


def can_use_requests(user: Any) -> bool:
    """Does ``user`` take part in the request workflow (as steward or requester)?"""
    return not AccessRequest.objects.visible_to(user).query.is_empty()


# --- datasets ----------------------------------------------------------------------------------


def list_datasets(
    user: Any,
    *,
    q: str = "",
    sharing_level: str = "",
    org: Org | None = None,
    action: str = "view",
    today: dt.date | None = None,
) -> QuerySet[Dataset]:
    """Datasets ``user`` may ``action``, searched (code, title), by sharing level and by org
    subtree, each annotated with ``consumer_count``: active clients with a live approval."""
    today = today or timezone.localdate()
    qs: QuerySet[Dataset] = Dataset.objects.visible_to(user, action).select_related("org", "owner")
    if q:
        text = q.strip()[:100]
        qs = qs.filter(Q(code__istartswith=text) | Q(title__icontains=text))
    if sharing_level:
        qs = qs.filter(sharing_level=sharing_level)
    if org is not None:
        qs = qs.filter(org__path__startswith=org.path)
    live = _live_approval("requests__", today) & Q(requests__client__is_active=True)
    return qs.annotate(
        consumer_count=Count("requests__client", filter=live, distinct=True)
    ).order_by("code")


def count_consumers(dataset: Dataset, *, today: dt.date | None = None) -> int:
    """Active clients with a live approval for ``dataset`` (the caller may see the dataset)."""
    today = today or timezone.localdate()
    return (
        AccessRequest.objects.filter(
            _live_approval("", today), dataset=dataset, client__is_active=True
        )
        .values("client_id")
        .distinct()
        .count()
    )


def access_dataset(user: Any, pk: int, action: str = "view") -> Dataset:
    """The dataset ``pk`` if ``user`` may ``action`` it; otherwise ``NotFound``."""
    found: Dataset | None = (
        Dataset.objects.visible_to(user, action)
        .select_related("org", "owner")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Dataset not found."), code="DATASET_NOT_FOUND")
    return found


# --- clients -----------------------------------------------------------------------------------


def list_clients(
    user: Any,
    *,
    q: str = "",
    org: Org | None = None,
    is_active: bool | None = None,
    action: str = "view",
) -> QuerySet[ApiClient]:
    """API clients ``user`` may ``action`` (admins of the owning org's subtree)."""
    qs: QuerySet[ApiClient] = (
        ApiClient.objects.visible_to(user, action)
        .select_related("org", "created_by")
        .defer("secret_hash")
    )
    if q:
        text = q.strip()[:100]
        qs = qs.filter(Q(name__icontains=text) | Q(client_id__istartswith=text))
    if org is not None:
        qs = qs.filter(org__path__startswith=org.path)
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return qs.order_by("name", "pk")


def access_client(user: Any, pk: int, action: str = "view") -> ApiClient:
    """The client ``pk`` if ``user`` may ``action`` it; otherwise ``NotFound``."""
    found: ApiClient | None = (
        ApiClient.objects.visible_to(user, action)
        .select_related("org", "created_by")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("API client not found."), code="CLIENT_NOT_FOUND")
    return found


# --- access requests ---------------------------------------------------------------------------


def list_access_requests(
    user: Any,
    *,
    box: str = "incoming",
    status: str = "",
    dataset: Dataset | None = None,
    client: ApiClient | None = None,
) -> QuerySet[AccessRequest]:
    """Requests ``user`` may see, newest first.

    ``incoming``: requests for datasets ``user`` stewards (may decide); ``outgoing``: requests
    for clients ``user`` manages; ``all``: both (a dataset's or a client's page).
    """
    qs: QuerySet[AccessRequest]
    if box == "incoming":
        qs = AccessRequest.objects.visible_to(user, "change")
    elif box == "outgoing":
        qs = AccessRequest.objects.visible_to(user).filter(
            client_id__in=ApiClient.objects.visible_to(user, "change").values("pk")
        )
    else:
        qs = AccessRequest.objects.visible_to(user)
    qs = qs.select_related(
        "dataset__org", "client__org", "requested_by", "decided_by", "revoked_by"
    )
    if status:
        qs = qs.filter(status=status)
    if dataset is not None:
        qs = qs.filter(dataset=dataset)
    if client is not None:
        qs = qs.filter(client=client)
    return qs.order_by("-created_at", "-id")


def access_access_request(user: Any, pk: int, action: str = "view") -> AccessRequest:
    """The request ``pk`` if ``user`` may ``action`` it; otherwise ``NotFound``."""
    found: AccessRequest | None = (
        AccessRequest.objects.visible_to(user, action)
        .select_related("dataset__org", "client__org")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Access request not found."), code="REQUEST_NOT_FOUND")
    return found


def requestable_clients(user: Any) -> QuerySet[ApiClient]:
    """Active clients ``user`` may request access for."""
    return list_clients(user, is_active=True, action="change")


# --- access log --------------------------------------------------------------------------------


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def list_access_log(
    user: Any,
    *,
    client: ApiClient | None = None,
    client_id: str = "",
    dataset: Dataset | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    status: str = "",
) -> QuerySet[AccessLog]:
    """Access-log entries ``user`` may read (admins and auditors of the subtree), newest first.

    ``client_id`` is the client's public id (auditors see the log, not the clients).
    Dates are local calendar days, both ends included; ``status`` is ``"success"`` (below 400)
    or ``"failure"`` (400 and above).
    """
    qs: QuerySet[AccessLog] = AccessLog.objects.visible_to(user).select_related("client", "dataset")
    if client is not None:
        qs = qs.filter(client=client)
    if client_id:
        qs = qs.filter(client__client_id=client_id.strip()[:64])
    if dataset is not None:
        qs = qs.filter(dataset=dataset)
    if date_from is not None:
        qs = qs.filter(created_at__gte=_day_start(date_from))
    if date_to is not None:
        qs = qs.filter(created_at__lt=_day_start(date_to + dt.timedelta(days=1)))
    if status == "success":
        qs = qs.filter(status_code__lt=400)
    elif status == "failure":
        qs = qs.filter(status_code__gte=400)
    return qs.order_by("-created_at", "-id")
