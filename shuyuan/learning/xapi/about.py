"""The About resource: the versions this LRS speaks (no authentication, no version header)."""

from __future__ import annotations

from django.http import HttpResponse

from .http import XapiRequest, json_response
from .validation import V1

#: The protocol versions this LRS speaks, newest first.
VERSIONS = ["2.0.0", "1.0.3"]


def about(xreq: XapiRequest) -> HttpResponse:
    """``GET /xapi/about``: ``{"version": [...], "extensions": {}}``.

    A client that announces xAPI 1.0.x is told only the 1.0.x version: under 1.0.3 the
    ``version`` array may hold nothing but 0.9, 0.95 and 1.0.x values (1.0.3 Communication
    2.8, XAPI-00316). Without a header, or with 2.0.x, every version is listed.
    """
    xreq.check_params(())
    versions = [v for v in VERSIONS if v.startswith("1.0.")] if xreq.version == V1 else VERSIONS
    return json_response({"version": versions, "extensions": {}}, version=xreq.version)
