"""Test helpers of the learning app: LRS credentials and an xAPI client (``xapi``).

``lrs`` gives a region-wide credential with every scope; ``lrs_school_a`` one limited to
School A. ``xapi`` wraps Django's test client so tests read like the wire protocol::

    response = xapi.post("/xapi/statements", statement)            # JSON body, 2.0.0, Basic
    response = xapi.get("/xapi/statements", {"verb": VERB}, version="1.0.3")
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from shuyuan.core.context import system_actor
from shuyuan.core.testing.fixtures import Tree

from .actions.clients import create_lrs_client
from .models import LrsClient


@dataclass
class LrsCredential:
    client: LrsClient
    key: str
    secret: str

    @property
    def authorization(self) -> str:
        raw = (f"{self.key}:{self.secret}").encode()
        return "Basic " + base64.b64encode(raw).decode()


class XapiClient:
    """Sends xAPI requests with a version header and a credential (both overridable)."""

    def __init__(self, credential: LrsCredential, version: str = "2.0.0") -> None:
        self.client = Client()
        self.credential = credential
        self.version = version

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        version: str | None = None,
        credential: LrsCredential | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Any:
        """One request; ``body`` is sent as JSON unless ``raw`` bytes are given."""
        extra: dict[str, Any] = {}
        chosen_version = self.version if version is None else version
        if chosen_version:
            extra["HTTP_X_EXPERIENCE_API_VERSION"] = chosen_version
        if auth:
            extra["HTTP_AUTHORIZATION"] = (credential or self.credential).authorization
        for name, value in (headers or {}).items():
            extra["HTTP_" + name.upper().replace("-", "_")] = value
        url = path + ("?" + urlencode(params) if params else "")
        data: bytes | str = b""
        if raw is not None:
            data = raw
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return self.client.generic(
            method, url, data=data, content_type=content_type if data else "", **extra
        )

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.request("GET", path, params=params, **kw)

    def head(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.request("HEAD", path, params=params, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PUT", path, body=body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)


def make_credential(
    org: Any, *, name: str = "Tool", scopes: list[str] | None = None
) -> LrsCredential:
    """A new client at ``org`` (issued by the system actor) with its secret."""
    client, secret = create_lrs_client(
        actor=system_actor(), name=name, org=org, scopes=scopes, source="system"
    )
    return LrsCredential(client=client, key=client.key, secret=secret)


@pytest.fixture
def lrs_tree(tree: Tree) -> Tree:
    """The core test tree (the same object as the ``tree`` fixture)."""
    return tree


@pytest.fixture
def lrs(lrs_tree: Tree) -> LrsCredential:
    """A region-wide credential with every scope."""
    return make_credential(lrs_tree.region, name="Region tool")


@pytest.fixture
def lrs_school_a(lrs_tree: Tree) -> LrsCredential:
    """A credential limited to School A."""
    return make_credential(lrs_tree.school_a, name="School A tool")


@pytest.fixture
def xapi(lrs: LrsCredential) -> XapiClient:
    """An xAPI 2.0.0 client with the region-wide credential."""
    return XapiClient(lrs)
