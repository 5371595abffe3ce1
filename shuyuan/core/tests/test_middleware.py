"""Client IP resolution behind reverse proxies."""

from __future__ import annotations

from django.test import RequestFactory

from shuyuan.core.middleware import client_ip


def _request(remote: str, forwarded: str = ""):
    extra = {"REMOTE_ADDR": remote}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_client_ip_without_proxy_ignores_forwarded_header(settings):
    settings.SHUYUAN_TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request("10.0.0.5", "1.2.3.4")) == "10.0.0.5"


def test_client_ip_behind_one_proxy_takes_rightmost_hop(settings):
    settings.SHUYUAN_TRUSTED_PROXY_COUNT = 1
    # The client forged "6.6.6.6"; the proxy appended the address it really saw.
    assert client_ip(_request("10.0.0.1", "6.6.6.6, 203.0.113.9")) == "203.0.113.9"


def test_client_ip_malformed_value_is_none(settings):
    settings.SHUYUAN_TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request("10.0.0.1", "not-an-ip")) is None
