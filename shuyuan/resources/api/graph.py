"""Resources API: graph (see docs/apps/resources.md)."""

from ninja import Router

router = Router(tags=["resources"])
