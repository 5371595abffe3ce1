"""Inclusion certificates: issued on listing, signed (SM2), chained (SM3), verifiable by anyone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shuyuan.core import crypto
from shuyuan.core.context import system_actor
from shuyuan.core.errors import Conflict
from shuyuan.resources import signals
from shuyuan.resources.actions import certificates as cert_actions
from shuyuan.resources.models import Certificate, ResourceVersion
from shuyuan.resources.queries import certificates as cert_queries

from .test_evaluation import make_resource

VECTORS = Path("/work/shared/reference/crypto-vectors.json")
FILE = b"%PDF-1.4 the registered lesson"


def _listed_with_certificate(w, **kwargs):
    resource = make_resource(
        w, file_bytes=kwargs.pop("file_bytes", FILE), send_listed=True, **kwargs
    )
    return resource, Certificate.objects.get(version=resource.listed_version)


def test_listing_issues_a_signed_certificate(res_world):
    w = res_world
    resource, cert = _listed_with_certificate(w)
    year = timezone.localtime(cert.issued_at).year
    assert re.fullmatch(rf"SYZY-{year}-\d{{8}}", cert.number)
    assert cert.number.endswith("-00000001") and cert.sequence == 1
    assert cert.prev_hash == "0" * 64
    assert cert.content_hash == crypto.sm3(FILE).hex()
    assert cert.title == "Pythagoras lesson" and cert.provider_name == resource.provider_name
    payload = cert_actions.certificate_payload(cert)
    decoded = json.loads(payload)
    assert set(decoded) == {
        "number",
        "sequence",
        "resource_id",
        "version_number",
        "title",
        "provider",
        "content_hash",
        "issued_at",
        "prev_hash",
    }
    assert payload == json.dumps(decoded, sort_keys=True, separators=(",", ":")).encode()
    assert crypto.sm2_verify(bytes.fromhex(cert.public_key), payload, bytes.fromhex(cert.signature))
    assert cert.entry_hash == crypto.sm3(cert.prev_hash.encode() + payload).hex()
    result = cert_queries.verify_certificate(cert.number)
    assert result.valid
    assert [c.name for c in result.checks] == ["signature", "signing_key", "chain", "content"]
    assert all(c.ok for c in result.checks)


def test_issue_is_idempotent_for_a_version(res_world):
    w = res_world
    resource, cert = _listed_with_certificate(w)
    signals.version_listed.send(
        sender=ResourceVersion,
        version=resource.listed_version,
        previous=None,
        actor=system_actor(),
    )
    again = cert_actions.issue_certificate(version=resource.listed_version, actor=None)
    assert again.pk == cert.pk
    assert Certificate.objects.count() == 1


def test_unlisted_version_gets_no_certificate(res_world):
    w = res_world
    draft = make_resource(w, listed=False)
    with pytest.raises(Conflict):
        cert_actions.issue_certificate(version=draft.versions.get(), actor=None)


def test_three_certificates_chain_in_order(res_world):
    w = res_world
    certs = [_listed_with_certificate(w, title=f"Lesson {i}")[1] for i in range(3)]
    assert [c.sequence for c in certs] == [1, 2, 3]
    assert certs[1].prev_hash == certs[0].entry_hash
    assert certs[2].prev_hash == certs[1].entry_hash
    report = cert_queries.verify_chain()
    assert report.ok and report.checked == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", "A stolen title"), ("content_hash", "ab" * 32), ("prev_hash", "cd" * 32)],
)
def test_tampering_is_detected(res_world, field, value):
    w = res_world
    certs = [_listed_with_certificate(w, title=f"Lesson {i}")[1] for i in range(3)]
    Certificate.objects.filter(pk=certs[1].pk).update(**{field: value})
    result = cert_queries.verify_certificate(certs[1].number)
    assert not result.valid
    assert result.check("signature").ok is False
    if field == "prev_hash":
        assert result.check("chain").ok is False
    if field == "content_hash":
        assert result.check("content").ok is False
    report = cert_queries.verify_chain()
    assert not report.ok and report.broken_sequence == 2
    assert cert_queries.verify_certificate(certs[0].number).valid


def test_deleted_entry_breaks_the_chain(res_world):
    w = res_world
    certs = [_listed_with_certificate(w, title=f"Lesson {i}")[1] for i in range(3)]
    Certificate.objects.filter(pk=certs[1].pk).delete()
    report = cert_queries.verify_chain()
    assert not report.ok and report.broken_sequence == 3
    assert cert_queries.verify_certificate(certs[2].number).check("chain").ok is False


def test_link_only_resource_hashes_its_metadata(res_world):
    w = res_world
    resource = make_resource(w, external_url="https://lab.example.org/optics", send_listed=True)
    cert = Certificate.objects.get(resource=resource)
    assert cert.content_hash == cert_actions.metadata_hash(resource.listed_version)
    assert cert_queries.verify_certificate(cert.number).check("content").ok is True


def test_configured_key_signs_and_old_keys_are_accepted_only_if_listed(res_world, settings):
    vector = json.loads(VECTORS.read_text())["sm2"]["sign_sm2p256v1"]
    settings.RESOURCES_CERT_SIGNING_KEY = vector["d"]
    w = res_world
    _, cert = _listed_with_certificate(w)
    assert cert.public_key == vector["pub_x"] + vector["pub_y"]
    assert cert_queries.verify_certificate(cert.number).valid
    settings.RESOURCES_CERT_SIGNING_KEY = ""  # back to the development key
    result = cert_queries.verify_certificate(cert.number)
    assert result.check("signature").ok is True
    assert result.check("signing_key").ok is False
    settings.RESOURCES_CERT_PREVIOUS_PUBLIC_KEYS = [cert.public_key]
    assert cert_queries.verify_certificate(cert.number).valid


def test_production_without_key_refuses_to_issue(res_world, settings):
    settings.DEVELOPMENT = False
    settings.RESOURCES_CERT_SIGNING_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="RESOURCES_CERT_SIGNING_KEY"):
        make_resource(res_world, send_listed=True)
    settings.RESOURCES_CERT_SIGNING_KEY = "00" * 32
    with pytest.raises(ImproperlyConfigured):
        cert_actions.signing_key_hex()


def test_public_pages_work_without_sign_in(res_world):
    w = res_world
    _, cert = _listed_with_certificate(w)
    client = Client()
    response = client.get(reverse("resources:cert_verify"), {"number": cert.number.lower()})
    assert response.status_code == 200
    body = response.content.decode()
    assert cert.content_hash in body and "The certificate is valid." in body
    assert client.get(reverse("resources:cert_detail", args=[cert.number])).status_code == 200
    assert client.get(reverse("resources:cert_print", args=[cert.number])).status_code == 200
    assert (
        client.get(reverse("resources:cert_detail", args=["SYZY-2000-99999999"])).status_code == 404
    )
    missing = client.get(reverse("resources:cert_verify"), {"number": "SYZY-2000-99999999"})
    assert missing.status_code == 404


def test_public_page_compares_an_uploaded_file(res_world):
    w = res_world
    _, cert = _listed_with_certificate(w)
    client = Client(enforce_csrf_checks=False)
    same = client.post(
        reverse("resources:cert_verify"),
        {"number": cert.number, "file": SimpleUploadedFile("mine.pdf", FILE)},
    )
    assert "matches the registered content hash" in same.content.decode()
    other = client.post(
        reverse("resources:cert_verify"),
        {"number": cert.number, "file": SimpleUploadedFile("mine.pdf", FILE + b"!")},
    )
    assert "does NOT match" in other.content.decode()


def test_public_api_get_and_verify_file(res_world):
    w = res_world
    _, cert = _listed_with_certificate(w)
    client = Client()
    response = client.get(f"/api/v1/resources/certificates/{cert.number}")
    assert response.status_code == 200
    data = response.json()
    assert data["valid"] is True and data["signature"] == cert.signature
    assert data["public_key"] == cert.public_key
    assert crypto.sm2_verify(
        bytes.fromhex(data["public_key"]),
        data["payload"].encode("utf-8"),
        bytes.fromhex(data["signature"]),
    )
    url = f"/api/v1/resources/certificates/{cert.number}/verify-file"
    match = client.post(url, {"file": SimpleUploadedFile("a.pdf", FILE)})
    assert match.status_code == 200 and match.json()["matches"] is True
    mismatch = client.post(url, {"file": SimpleUploadedFile("a.pdf", b"other")})
    assert mismatch.json()["matches"] is False
    assert mismatch.json()["file_sm3"] == crypto.sm3(b"other").hex()
    missing = client.get("/api/v1/resources/certificates/SYZY-2000-00000404")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"


def test_public_endpoints_are_throttled(res_world, monkeypatch):
    w = res_world
    _, cert = _listed_with_certificate(w)
    monkeypatch.setattr(cert_queries, "THROTTLE_LIMIT", 2)
    client = Client()
    url = f"/api/v1/resources/certificates/{cert.number}"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(url).json()["code"] == "THROTTLED"
    page = client.get(reverse("resources:cert_detail", args=[cert.number]))
    assert page.status_code == 429


def test_missing_file_is_not_checked_but_still_valid(res_world):
    w = res_world
    resource, cert = _listed_with_certificate(w)
    version = resource.listed_version
    version.file.storage.delete(version.file.name)
    result = cert_queries.verify_certificate(cert.number)
    assert result.check("content").ok is None
    assert result.valid


def test_flag_resources_command_verifies_the_chain(res_world):
    from io import StringIO

    from django.core.management import CommandError, call_command

    w = res_world
    certs = [_listed_with_certificate(w, title=f"Lesson {i}")[1] for i in range(2)]
    out = StringIO()
    call_command("flag_resources", "--verify-certificates", stdout=out)
    assert "scanned 2" in out.getvalue()
    assert "certificate chain verified: 2 certificates" in out.getvalue()
    Certificate.objects.filter(pk=certs[0].pk).update(title="Forged")
    with pytest.raises(CommandError, match=certs[0].number):
        call_command("flag_resources", "--verify-certificates", stdout=StringIO())


# --- concurrency (PostgreSQL only: SQLite's IMMEDIATE transactions serialise writers) ----------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_issuing_allocates_a_gapless_chain(res_world):
    import threading

    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    w = res_world
    versions = [make_resource(w, title=f"Race {i}").listed_version for i in range(6)]
    barrier = threading.Barrier(len(versions))
    errors = []

    def issue(version):
        from django.db import connections

        try:
            barrier.wait()
            with transaction.atomic():
                cert_actions.issue_certificate(version=version, actor=None)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue, args=(v,)) for v in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(Certificate.objects.values_list("sequence", flat=True)) == [1, 2, 3, 4, 5, 6]
    report = cert_queries.verify_chain()
    assert report.ok and report.checked == 6
