"""Settings of the learning app, with their defaults (documented in docs/dev/configuration.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # The account homePage of the xAPI agents that stand for platform accounts: a learner is
    # {"account": {"homePage": <this>, "name": <account name>}}.
    "LEARNING_XAPI_ACCOUNT_HOMEPAGE": "https://shuyuan.example.cn/",
    # Most statements a GET returns in one page (the client's `limit` is capped by this).
    "LEARNING_XAPI_PAGE_SIZE": 100,
    # Largest request body the LRS accepts (statements with attachments, documents), in bytes.
    "LEARNING_XAPI_MAX_BODY_BYTES": 20 * 1024 * 1024,
    # Lifetime of OAuth 2 bearer tokens issued to LRS clients (seconds).
    "LEARNING_XAPI_TOKEN_SECONDS": 3600,
    # Score fraction from which an answer counts as correct in diagnosis (knowledge tracing).
    "LEARNING_DIAGNOSIS_CORRECT_FRACTION": 0.6,
    # Seconds after an exam attempt's deadline in which answers are still accepted (a save in
    # flight at the deadline, a slow clock); after it the attempt is submitted by the deadline.
    "LEARNING_EXAM_GRACE_SECONDS": 20,
}


def get(name: str) -> Any:
    """The setting ``name`` from Django settings, or its default here."""
    return getattr(settings, name, DEFAULTS[name])
