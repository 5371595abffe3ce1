"""Signed Statements: the JWS signature attachment is checked on the way in."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from shuyuan.learning.testing import XapiClient
from shuyuan.learning.xapi.signature import (
    SignatureError,
    decode_jws,
    verify_statement_signature,
)

URL = "/xapi/statements"
SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"
HASHES: dict[str, hashes.HashAlgorithm] = {
    "RS256": hashes.SHA256(),
    "RS384": hashes.SHA384(),
    "RS512": hashes.SHA512(),
}


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(
    key: rsa.RSAPrivateKey,
    issuer_key: rsa.RSAPrivateKey | None = None,
    *,
    subject: str = "signer",
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca" if issuer_key else subject)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(issuer_key or key, hashes.SHA256())
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(
    payload: Any,
    key: rsa.RSAPrivateKey,
    *,
    alg: str = "RS256",
    header: dict[str, Any] | None = None,
    raw_payload: bytes | None = None,
) -> bytes:
    head = {"alg": alg, **(header or {})}
    body = raw_payload if raw_payload is not None else json.dumps(payload).encode()
    signing_input = b64url(json.dumps(head).encode()) + "." + b64url(body)
    digest = HASHES.get(alg, hashes.SHA256())
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), digest)
    return (signing_input + "." + b64url(signature)).encode()


def statement() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "mbox": "mailto:signer@example.cn"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-US": "attended"}},
        "object": {
            "objectType": "Activity",
            "id": "http://www.example.com/meetings/occurances/34534",
        },
    }


def signed_body(
    data: dict[str, Any], token: bytes, *, content_type: str = "application/octet-stream"
) -> tuple[bytes, str]:
    boundary = "-------------" + uuid.uuid4().hex
    data = dict(data)
    data["attachments"] = [
        {
            "usageType": SIGNATURE,
            "display": {"en-US": "Signed by the Test Suite"},
            "contentType": content_type,
            "length": len(token),
            "sha2": hashlib.sha256(token).hexdigest(),
        }
    ]
    raw = b"".join(
        [
            b"\r\n--" + boundary.encode() + b"\r\nContent-Type:application/json\r\n\r\n",
            json.dumps(data).encode(),
            b"\r\n--" + boundary.encode() + b"\r\nContent-Type:" + content_type.encode(),
            b"\r\nContent-Transfer-Encoding:binary\r\nX-Experience-API-Hash:",
            hashlib.sha256(token).hexdigest().encode(),
            b"\r\n\r\n",
            token,
            b"\r\n--" + boundary.encode() + b"--",
        ]
    )
    return raw, "multipart/mixed; boundary=" + boundary


def send(xapi: XapiClient, raw: bytes, content_type: str, **kw: Any) -> Any:
    return xapi.post(URL, raw=raw, content_type=content_type, **kw)


@pytest.mark.parametrize("version", ["2.0.0", "1.0.3"])
@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_signed_statement_is_accepted(
    xapi: XapiClient, key: rsa.RSAPrivateKey, alg: str, version: str
) -> None:
    data = statement()
    raw, content_type = signed_body(data, sign(data, key, alg=alg))
    response = send(xapi, raw, content_type, version=version)
    assert response.status_code == 200, response.content
    stored = json.loads(xapi.get(URL, {"statementId": data["id"]}, version=version).content)
    assert stored["attachments"][0]["usageType"] == SIGNATURE


def test_signed_statement_with_x5c_is_verified(xapi: XapiClient, key: rsa.RSAPrivateKey) -> None:
    cert = base64.b64encode(certificate(key).public_bytes(serialization.Encoding.DER)).decode()
    data = statement()
    raw, content_type = signed_body(data, sign(data, key, header={"x5c": [cert]}))
    assert send(xapi, raw, content_type).status_code == 200


def test_x5c_of_another_key_is_400(xapi: XapiClient, key: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = base64.b64encode(certificate(other).public_bytes(serialization.Encoding.DER)).decode()
    data = statement()
    raw, content_type = signed_body(data, sign(data, key, header={"x5c": [cert]}))
    assert send(xapi, raw, content_type).status_code == 400


def test_x5c_chain_is_checked(key: rsa.RSAPrivateKey) -> None:
    ca = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = certificate(key, issuer_key=ca)
    good_chain = [leaf, certificate(ca, subject="ca")]
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad_chain = [leaf, certificate(impostor, subject="ca")]
    data = statement()

    def der(chain: list[x509.Certificate]) -> list[str]:
        return [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain
        ]

    verify_statement_signature(sign(data, key, header={"x5c": der(good_chain)}), data)
    with pytest.raises(SignatureError):
        verify_statement_signature(sign(data, key, header={"x5c": der(bad_chain)}), data)
    with pytest.raises(SignatureError):
        verify_statement_signature(sign(data, key, header={"x5c": ["not base64!"]}), data)


def test_bad_content_type_is_400(xapi: XapiClient, key: rsa.RSAPrivateKey) -> None:
    data = statement()
    token = sign(data, key)
    raw, content_type = signed_body(data, token, content_type="text/plain; charset=ascii")
    assert send(xapi, raw, content_type).status_code == 400


def test_bad_algorithm_is_400(xapi: XapiClient, key: rsa.RSAPrivateKey) -> None:
    data = statement()
    raw, content_type = signed_body(data, sign(data, key, alg="HS256"))
    assert send(xapi, raw, content_type).status_code == 400


def test_payload_not_json_is_400(xapi: XapiClient, key: rsa.RSAPrivateKey) -> None:
    data = statement()
    broken = json.dumps(data).replace('"', "'", 1).encode()
    raw, content_type = signed_body(data, sign(data, key, raw_payload=broken))
    assert send(xapi, raw, content_type).status_code == 400


def test_payload_of_other_statement_is_400(xapi: XapiClient, key: rsa.RSAPrivateKey) -> None:
    data = statement()
    other = {**data, "verb": {"id": "http://example.com/other"}}
    raw, content_type = signed_body(data, sign(other, key))
    assert send(xapi, raw, content_type).status_code == 400


def test_not_a_jws_is_400(xapi: XapiClient) -> None:
    raw, content_type = signed_body(statement(), b"this is not a jws")
    assert send(xapi, raw, content_type).status_code == 400


def test_signature_with_file_url_is_checked_for_content_type_only(xapi: XapiClient) -> None:
    data = statement()
    data["attachments"] = [
        {
            "usageType": SIGNATURE,
            "display": {"en-US": "A JWT signature"},
            "contentType": "application/octet-stream",
            "length": 10,
            "sha2": hashlib.sha256(b"x").hexdigest(),
            "fileUrl": "http://adlnet.gov/this.file",
        }
    ]
    assert xapi.post(URL, data).status_code == 200
    data["id"] = str(uuid.uuid4())
    data["attachments"][0]["contentType"] = "text/plain; charset=ascii"
    assert xapi.post(URL, data).status_code == 400


def test_signature_made_before_the_lrs_assigned_the_id(key: rsa.RSAPrivateKey) -> None:
    data = statement()
    unsigned = {k: v for k, v in data.items() if k != "id"}
    verify_statement_signature(sign(unsigned, key), data)


def test_decode_jws_rejects_malformed_tokens() -> None:
    for token in (b"a.b", b"\xff.\xfe.\xfd", b"e30.e30.", b"W10.e30.AA"):
        with pytest.raises(SignatureError):
            header, _payload, _input, _sig = decode_jws(token)
            if not isinstance(header, dict):
                raise SignatureError("header")
