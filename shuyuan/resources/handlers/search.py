"""Receivers: search (connected by importing this module in ``ResourcesConfig.ready``).

A listed version, a retirement, a new tag or a new quality score changes what search shows of
a resource: the resource is re-indexed (or its document removed when it is no longer listed)
after the action's transaction commits, so a rolled-back action leaves the index alone. A
failure to index is logged and does not undo the committed action (``robust=True``);
``manage.py reindex_resources`` repairs the index.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from ..search.index import reindex
from ..signals import resource_changed, version_listed


def _reindex_on_commit(resource_id: int) -> None:
    transaction.on_commit(partial(reindex, [resource_id]), robust=True)


@receiver(version_listed, dispatch_uid="resources.search.version_listed")
def index_listed_version(sender: Any, *, version: Any, **kwargs: Any) -> None:
    """A version was listed: index its resource."""
    _reindex_on_commit(version.resource_id)


@receiver(resource_changed, dispatch_uid="resources.search.resource_changed")
def index_changed_resource(sender: Any, *, resource_id: int, **kwargs: Any) -> None:
    """What search shows of a resource changed: re-index it (or drop it if not listed)."""
    _reindex_on_commit(resource_id)
