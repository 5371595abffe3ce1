"""Signals the resources app sends (receivers in ``handlers.py`` are connected in ``ready()``).

They are sent inside the action's transaction, so a receiver's writes (a certificate, a review
task) commit or roll back with the action; a receiver with outside effects (the search index
of another database, a task) defers them with ``transaction.on_commit``.
"""

from django.dispatch import Signal

#: A version finished its automatic audit and waits for review. kwargs: ``version``, ``actor``.
version_submitted = Signal()

#: A version was approved at its last stage and is now the resource's listed version.
#: kwargs: ``version``, ``previous`` (the version it replaced, or None), ``actor``.
version_listed = Signal()

#: What search shows of a resource changed (listed, retired, retagged, re-scored).
#: kwargs: ``resource_id``.
resource_changed = Signal()

#: A listed resource was used (viewed, downloaded, completed) and the use was counted.
#: kwargs: ``event_id`` (the ``UsageEvent``), ``resource_id``, ``user_id``, ``kind``.
resource_used = Signal()
