"""Receivers: review (connected by importing this module in ``ResourcesConfig.ready``).

``version_submitted`` opens the review task of the version at its review stage, inside the
submitting transaction (so the task commits or rolls back with the submission).
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from .. import signals
from ..actions.review import open_review
from ..models import ResourceVersion


@receiver(signals.version_submitted, sender=ResourceVersion, dispatch_uid="resources_review_open")
def open_review_on_submit(sender: Any, version: ResourceVersion, actor: Any, **kwargs: Any) -> None:
    """Open (or find) the review task of the submitted ``version``."""
    open_review(actor=actor, version=version)
