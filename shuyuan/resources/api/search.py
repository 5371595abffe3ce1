"""Resources API: search (see docs/apps/resources.md)."""

from ninja import Router

router = Router(tags=["resources"])
