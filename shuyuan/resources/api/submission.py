"""Resources API: submission (see docs/apps/resources.md)."""

from ninja import Router

router = Router(tags=["resources"])
