"""Catalog reads: datasets, requests, clients, and what a consumer may read."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone

from ..choices import AccessRequestStatus, SharingLevel
from ..models import ApiClient, Dataset


def client_datasets(
    client: ApiClient, collection: str, *, today: dt.date | None = None
) -> list[Dataset]:
    """Datasets ``client`` may read ``collection`` (a OneRoster collection name such as
    ``"users"``) through: unconditional datasets, and conditional ones with an approved,
    unexpired request of this client. Not-shared datasets never."""
    today = today or timezone.localdate()
    approved = Q(
        sharing_level=SharingLevel.CONDITIONAL,
        requests__client=client,
        requests__status=AccessRequestStatus.APPROVED,
    ) & (Q(requests__valid_until__isnull=True) | Q(requests__valid_until__gte=today))
    candidates = (
        Dataset.objects.filter(Q(sharing_level=SharingLevel.UNCONDITIONAL) | approved)
        .select_related("org")
        .distinct()
    )
    return [d for d in candidates if collection in (d.entity_types or [])]


def client_org_paths(client: ApiClient, collection: str, **kwargs: Any) -> list[str]:
    """The org-subtree paths ``client`` may read ``collection`` in (nested paths collapsed)."""
    paths = sorted({d.org.path for d in client_datasets(client, collection, **kwargs)})
    collapsed: list[str] = []
    for path in paths:
        if not collapsed or not path.startswith(collapsed[-1]):
            collapsed.append(path)
    return collapsed
