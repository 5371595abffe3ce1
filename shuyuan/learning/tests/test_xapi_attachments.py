"""Statements with attachments: multipart/mixed requests and responses."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest

from shuyuan.learning.models import Attachment
from shuyuan.learning.testing import XapiClient
from shuyuan.learning.xapi.http import XapiError
from shuyuan.learning.xapi.multipart import build_multipart, parse_multipart

URL = "/xapi/statements"
BOUNDARY = "-------314159265358979323846"
TEXT1 = b"here is a simple attachment"
TEXT2 = b"here is another simple attachment"
TEXT3 = b"here is a third one"
CRLF = "\r\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def attachment(data: bytes, **overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "description": {"en-US": "A test attachment (description)"},
        "contentType": "text/plain",
        "length": len(data),
        "sha2": sha(data),
    }
    item.update(overrides)
    return item


def statement(attachments: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "actor": {"mbox": "mailto:xm@example.cn"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
        "object": {"id": "http://www.example.com/meetings/occurances/34534"},
        **extra,
    }
    if attachments is not None:
        data["attachments"] = attachments
    return data


def part(data: bytes, *, hash_: str | None = None, encoding: str = "binary") -> str:
    lines = ["Content-Type: text/plain"]
    if encoding:
        lines.append("Content-Transfer-Encoding: " + encoding)
    if hash_ != "":
        lines.append("X-Experience-API-Hash: " + (hash_ or sha(data)))
    return "--" + BOUNDARY + CRLF + CRLF.join(lines) + CRLF + CRLF + data.decode() + CRLF


def body(first: Any, *parts: str, first_type: str = "application/json") -> bytes:
    text = "--" + BOUNDARY + CRLF + "Content-Type: " + first_type + CRLF + CRLF
    text += json.dumps(first) + CRLF + "".join(parts) + "--" + BOUNDARY + "--" + CRLF
    return text.encode()


def send(xapi: XapiClient, raw: bytes, boundary: str = BOUNDARY, **kw: Any) -> Any:
    return xapi.post(URL, raw=raw, content_type="multipart/mixed; boundary=" + boundary, **kw)


@pytest.mark.parametrize("version", ["2.0.0", "1.0.3"])
def test_post_with_two_attachments_and_get_them_back(xapi: XapiClient, version: str) -> None:
    data = statement([attachment(TEXT1), attachment(TEXT2)])
    response = send(xapi, body(data, part(TEXT1), part(TEXT2)), version=version)
    assert response.status_code == 200, response.content
    [sid] = json.loads(response.content)
    assert Attachment.objects.count() == 2
    single = xapi.get(URL, {"statementId": sid, "attachments": "true"}, version=version)
    assert single.status_code == 200
    content_type = single["Content-Type"]
    assert content_type.split(";")[0] == "multipart/mixed"
    boundary = content_type.split(";")[1].replace(" boundary=", "")
    parts = parse_multipart(single.content, boundary)
    assert json.loads(parts[0].body)["id"] == sid
    assert [p.body for p in parts[1:]] == [TEXT1, TEXT2]
    assert parts[1].headers["x-experience-api-hash"] == sha(TEXT1)
    assert parts[1].headers["content-transfer-encoding"] == "binary"
    assert single.content.count(sha(TEXT1).encode()) == 2
    listed = xapi.get(URL, {"attachments": "true"}, version=version)
    boundary = listed["Content-Type"].split("boundary=")[1]
    parts = parse_multipart(listed.content, boundary)
    assert json.loads(parts[0].body)["statements"][0]["id"] == sid
    assert len(parts) == 3
    plain = xapi.get(URL, {"statementId": sid, "attachments": "false"}, version=version)
    assert plain["Content-Type"].startswith("application/json")


def test_attachment_with_file_url_as_json_is_ok(xapi: XapiClient) -> None:
    data = statement([attachment(TEXT1, fileUrl="http://over.there.com/file.txt")])
    assert xapi.post(URL, data).status_code == 200


def test_attachment_without_file_url_as_json_is_400(xapi: XapiClient) -> None:
    assert xapi.post(URL, statement([attachment(TEXT1)])).status_code == 400


def test_multipart_with_only_statements_is_ok(xapi: XapiClient) -> None:
    data = statement([attachment(TEXT1, fileUrl="http://over.there.com/file.txt")])
    assert send(xapi, body(data)).status_code == 200
    assert send(xapi, body(statement())).status_code == 200


def test_file_url_attachment_may_still_send_its_data(xapi: XapiClient) -> None:
    data = statement([attachment(TEXT1, fileUrl="http://over.there.com/file.txt")])
    assert send(xapi, body(data, part(TEXT1))).status_code == 200
    assert Attachment.objects.filter(sha2=sha(TEXT1)).exists()


def test_put_with_attachment(xapi: XapiClient) -> None:
    sid = str(uuid.uuid4())
    raw = body(statement([attachment(TEXT1)]), part(TEXT1))
    response = xapi.put(
        URL,
        raw=raw,
        params={"statementId": sid},
        content_type="multipart/mixed; boundary=" + BOUNDARY,
    )
    assert response.status_code == 204


def test_batch_sharing_one_attachment(xapi: XapiClient) -> None:
    shared = attachment(TEXT1)
    raw = body([statement([shared]), statement([shared])], part(TEXT1))
    assert send(xapi, raw).status_code == 200
    assert Attachment.objects.count() == 1


@pytest.mark.parametrize(
    "raw",
    [
        # an extra part that is no attachment of the statement
        body(
            statement([attachment(TEXT1), attachment(TEXT2)]), part(TEXT1), part(TEXT2), part(TEXT3)
        ),
        # a missing part
        body(statement([attachment(TEXT1), attachment(TEXT2)]), part(TEXT1)),
        # a hash header that names another content
        body(statement([attachment(TEXT1)]), part(TEXT1, hash_=sha(TEXT2))),
        # no hash header
        body(statement([attachment(TEXT1)]), part(TEXT1, hash_="")),
        # base64 transfer encoding
        body(statement([attachment(TEXT1)]), part(TEXT1, encoding="base64")),
        # no transfer encoding
        body(statement([attachment(TEXT1)]), part(TEXT1, encoding="")),
        # the first part is not JSON
        body(statement([attachment(TEXT1)]), part(TEXT1), first_type="text/plain"),
        # the statements split over two JSON parts
        body(
            statement([attachment(TEXT1)]),
            "--" + BOUNDARY + CRLF + "Content-Type: application/json" + CRLF + CRLF + "{}" + CRLF,
            part(TEXT1),
        ),
        # no boundary before the first part
        body(statement([attachment(TEXT1)]), part(TEXT1))[len("--" + BOUNDARY + CRLF) :],
        # no boundary before the attachment part
        body(statement([attachment(TEXT1)]), part(TEXT1)[len("--" + BOUNDARY + CRLF) :]),
        # no closing boundary
        body(statement([attachment(TEXT1)]), part(TEXT1)).rsplit(b"--" + BOUNDARY.encode(), 1)[0],
        # two parts with one hash
        body(statement([attachment(TEXT1)]), part(TEXT1), part(TEXT1)),
    ],
)
def test_malformed_multipart_is_400(xapi: XapiClient, raw: bytes) -> None:
    assert send(xapi, raw).status_code == 400
    assert not Attachment.objects.exists()


def test_multipart_without_boundary_parameter_is_400(xapi: XapiClient) -> None:
    raw = body(statement([attachment(TEXT1)]), part(TEXT1))
    assert xapi.post(URL, raw=raw, content_type="multipart/mixed;").status_code == 400


def test_body_over_limit_is_413(xapi: XapiClient, settings: Any) -> None:
    settings.LEARNING_XAPI_MAX_BODY_BYTES = 200
    raw = body(statement([attachment(TEXT1 * 20)]), part(TEXT1 * 20))
    assert send(xapi, raw).status_code == 413


def test_parse_multipart_accepts_preamble_and_headers_without_space() -> None:
    raw = (
        b"\r\n--b\r\nContent-Type:application/json\r\n\r\n{}\r\n--b\r\n"
        b"Content-Type:text/plain\r\nX-Experience-API-Hash:abc\r\n\r\ndata\r\n--b--"
    )
    parts = parse_multipart(raw, "b")
    assert [p.body for p in parts] == [b"{}", b"data"]
    assert parts[1].headers["x-experience-api-hash"] == "abc"


def test_parse_multipart_rejects_bad_boundary() -> None:
    with pytest.raises(XapiError):
        parse_multipart(b"--b\r\n\r\nx\r\n--b--", "")
    with pytest.raises(XapiError):
        parse_multipart(b"--bX\r\n\r\nx\r\n--b--", "b")


def test_build_multipart_round_trip() -> None:
    content, content_type = build_multipart(b'{"a":1}', [(sha(TEXT1), "text/plain", TEXT1)])
    parts = parse_multipart(content, content_type.split("boundary=")[1])
    assert parts[0].content_type == "application/json"
    assert parts[1].body == TEXT1
