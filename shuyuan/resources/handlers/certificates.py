"""Receivers: certificates (connected by importing this module in ``ResourcesConfig.ready``).

``version_listed`` → issue the version's inclusion certificate in the listing's transaction, so
a listing without its certificate never commits (and a missing production key stops the
listing with ``ImproperlyConfigured`` rather than listing without a certificate).
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from .. import signals
from ..actions.certificates import issue_certificate


@receiver(signals.version_listed, dispatch_uid="resources.certificates.issue_on_listing")
def issue_on_listing(sender: Any, *, version: Any, actor: Any = None, **kwargs: Any) -> None:
    """Issue the certificate of the newly listed ``version`` (idempotent)."""
    issue_certificate(version=version, actor=actor)
