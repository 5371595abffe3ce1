"""Request middleware: give every request an id and remember its client for the audit log."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .context import RequestInfo, request_context


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address.

    ``REMOTE_ADDR`` unless ``SHUYUAN_TRUSTED_PROXY_COUNT`` reverse proxies stand in front, in
    which case the address the outermost trusted proxy saw is taken from ``X-Forwarded-For``
    (counting from the right, so a client cannot forge it by sending its own header).
    """
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = getattr(settings, "SHUYUAN_TRUSTED_PROXY_COUNT", 0)
    if trusted > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= trusted:
            remote = hops[-trusted]
    try:
        return str(ipaddress.ip_address(remote)) if remote else None
    except ValueError:
        return None


class RequestContextMiddleware:
    """Binds the request id, client IP and user agent for change records and audit events."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = uuid.uuid4().hex
        info = RequestInfo(
            request_id=request_id,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:255],
        )
        with request_context(info):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
