"""Request middleware: give every request an id and remember its client for the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .context import RequestInfo, request_context


class RequestContextMiddleware:
    """Binds the request id, client IP and user agent for change records and audit events."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = uuid.uuid4().hex
        info = RequestInfo(
            request_id=request_id,
            ip=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:255],
        )
        with request_context(info):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
