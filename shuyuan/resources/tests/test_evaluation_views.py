"""Evaluation pages and API: the resource page, download/open, rating, moderation, retirement,
suggestions."""

from __future__ import annotations

import json

from django.urls import reverse

from shuyuan.core.context import change_context, system_actor
from shuyuan.resources.actions import evaluation as actions
from shuyuan.resources.choices import ModerationStatus, ResourceType, Stage
from shuyuan.resources.models import Rating, Resource, ResourceVersion

from .test_certificates import FILE
from .test_evaluation import make_resource

SCRIPT = "<script>alert('x')</script> nice"


def _draft_version(resource, w, title):
    with change_context(actor=system_actor(), source="system"):
        ResourceVersion(
            resource=resource,
            number=2,
            title=title,
            subject=w.math,
            stage=Stage.JUNIOR,
            resource_type=ResourceType.DOCUMENT,
            licence="CC BY 4.0",
            created_by=w.teacher_a,
        ).save(force_insert=True)


def test_detail_page_shows_the_listed_version_and_counts_one_view(res_world, client_for):
    w = res_world
    resource = make_resource(w, file_bytes=FILE, points=[w.kp], chapter=w.chapter, send_listed=True)
    _draft_version(resource, w, "Secret second draft")
    client = client_for(w.student_a)
    url = reverse("resources:eval_detail", args=[resource.pk])
    first = client.get(url)
    assert first.status_code == 200
    body = first.content.decode()
    assert "Pythagoras lesson" in body and "CC BY 4.0" in body and "Chapter 17" in body
    assert f"/resources/graph/points/{w.kp.pk}/" in body
    assert resource.certificates.get().number in body
    assert reverse("resources:eval_download", args=[resource.pk]) in body
    assert "Secret second draft" not in body
    client.get(url)
    resource.refresh_from_db()
    assert resource.view_count == 1


def test_detail_page_hides_unlisted_and_needs_sign_in(res_world, client_for):
    from django.test import Client

    w = res_world
    draft = make_resource(w, listed=False)
    assert (
        client_for(w.student_a).get(reverse("resources:eval_detail", args=[draft.pk])).status_code
        == 404
    )
    listed = make_resource(w)
    anonymous = Client().get(reverse("resources:eval_detail", args=[listed.pk]))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_download_streams_the_listed_file_and_counts(res_world, client_for):
    w = res_world
    resource = make_resource(w, file_bytes=FILE)
    response = client_for(w.student_a).get(reverse("resources:eval_download", args=[resource.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == FILE
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment")
    resource.refresh_from_db()
    assert resource.download_count == 1


def test_virtual_lab_opens_through_a_counted_redirect(res_world, client_for):
    w = res_world
    resource = make_resource(w, external_url="https://lab.example.org/optics")
    client = client_for(w.student_a)
    response = client.get(reverse("resources:eval_open", args=[resource.pk]))
    assert response.status_code == 302 and response["Location"] == "https://lab.example.org/optics"
    assert client.get(reverse("resources:eval_download", args=[resource.pk])).status_code == 404
    resource.refresh_from_db()
    assert resource.download_count == 1


def test_rate_form_saves_and_refuses_bad_input(res_world, client_for):
    w = res_world
    resource = make_resource(w)
    url = reverse("resources:eval_rate", args=[resource.pk])
    client = client_for(w.student_a)
    assert client.post(url, {"stars": "9", "comment": ""}).status_code == 422
    assert client.post(url, {"stars": "4", "comment": "x" * 2001}).status_code == 422
    assert client.post(url, {"stars": "4", "comment": "Clear"}).status_code == 303
    assert Rating.objects.get(resource=resource).stars == 4
    owner = client_for(w.teacher_a)
    assert (
        'name="stars"'
        not in owner.get(reverse("resources:eval_detail", args=[resource.pk])).content.decode()
    )
    assert owner.post(url, {"stars": "5"}).status_code == 403


def test_html_comment_is_shown_escaped_after_approval(res_world, client_for):
    w = res_world
    resource = make_resource(w)
    client_for(w.student_a).post(
        reverse("resources:eval_rate", args=[resource.pk]), {"stars": "5", "comment": SCRIPT}
    )
    page = reverse("resources:eval_detail", args=[resource.pk])
    assert "nice" not in client_for(w.teacher_b).get(page).content.decode()
    reviewer = client_for(w.reviewer)
    queue = reviewer.get(reverse("resources:eval_moderation"))
    assert queue.status_code == 200 and "&lt;script&gt;" in queue.content.decode()
    rating = Rating.objects.get(resource=resource)
    reviewer.post(reverse("resources:eval_moderate", args=[rating.pk]), {"decision": "approve"})
    rating.refresh_from_db()
    assert rating.comment_status == ModerationStatus.APPROVED
    body = client_for(w.teacher_b).get(page).content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; nice" in body
    assert "<script>alert" not in body


def test_staff_pages_refuse_students(res_world, client_for):
    w = res_world
    client = client_for(w.student_a)
    assert client.get(reverse("resources:eval_moderation")).status_code == 403
    assert client.get(reverse("resources:eval_retirement")).status_code == 403
    resource = make_resource(w)
    response = client.post(reverse("resources:eval_retire", args=[resource.pk]), {"reason": "x"})
    assert response.status_code == 403


def test_retirement_page_retires_and_reinstates(res_world, client_for):
    import datetime as dt

    from django.utils import timezone

    w = res_world
    resource = make_resource(w, licence_expires=timezone.localdate() - dt.timedelta(days=2))
    actions.flag_for_retirement()
    client = client_for(w.school_admin_a)
    page = client.get(reverse("resources:eval_retirement"))
    assert page.status_code == 200 and "Licence expired" in page.content.decode()
    retire = reverse("resources:eval_retire", args=[resource.pk])
    assert client.post(retire, {"reason": "Licence ended"}).status_code == 303
    resource.refresh_from_db()
    assert resource.status == "retired"
    detail = reverse("resources:eval_detail", args=[resource.pk])
    assert client_for(w.student_a).get(detail).status_code == 404
    assert "Licence ended" in client.get(reverse("resources:eval_retirement")).content.decode()
    client.post(reverse("resources:eval_reinstate", args=[resource.pk]))
    assert client_for(w.student_a).get(detail).status_code == 200


def test_expert_form_for_reviewers(res_world, client_for):
    w = res_world
    resource = make_resource(w)
    client = client_for(w.reviewer)
    assert (
        'name="evaluation-score"'
        in client.get(reverse("resources:eval_detail", args=[resource.pk])).content.decode()
    )
    url = reverse("resources:eval_evaluate", args=[resource.pk])
    assert (
        client.post(
            url, {"evaluation-score": "88", "evaluation-criteria": "accuracy: 90\nclarity: 80"}
        ).status_code
        == 303
    )
    assert (
        client.post(
            url, {"evaluation-score": "88", "evaluation-criteria": "no score here"}
        ).status_code
        == 422
    )
    assert resource.expert_evaluations.get().criteria == {"accuracy": 90, "clarity": 80}
    assert client_for(w.student_a).post(url, {"evaluation-score": "50"}).status_code == 403


def test_for_you_page_renders(res_world, client_for):
    w = res_world
    make_resource(w, title="Grade 7 thing", grade="07")
    response = client_for(w.student_a).get(reverse("resources:eval_for_you"))
    assert response.status_code == 200 and "Grade 7 thing" in response.content.decode()


# --- API -----------------------------------------------------------------------------------------


def _json(client, method, url, data=None):
    return getattr(client, method)(url, json.dumps(data or {}), content_type="application/json")


def test_api_rating_comment_and_usage(res_world, client_for):
    w = res_world
    resource = make_resource(w)
    base = f"/api/v1/resources/{resource.pk}"
    student = client_for(w.student_a)
    bad = _json(student, "put", f"{base}/rating", {"stars": 7})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "stars"
    saved = _json(student, "put", f"{base}/rating", {"stars": 4, "comment": "Good"})
    assert saved.status_code == 200 and saved.json()["comment_status"] == "pending"
    assert student.get(f"{base}/rating").json()["stars"] == 4
    assert client_for(w.teacher_b).get(f"{base}/rating").status_code == 404
    assert client_for(w.teacher_b).get(f"{base}/comments").json()["count"] == 0
    own = _json(client_for(w.teacher_a), "put", f"{base}/rating", {"stars": 5})
    assert own.status_code == 403 and own.json()["code"] == "OWN_RESOURCE"
    pending = client_for(w.reviewer).get("/api/v1/resources/moderation/comments").json()
    assert pending["count"] == 1
    rating_id = pending["items"][0]["id"]
    moderated = _json(
        client_for(w.reviewer),
        "post",
        f"/api/v1/resources/ratings/{rating_id}/moderate",
        {"approve": True},
    )
    assert moderated.status_code == 200
    assert client_for(w.teacher_b).get(f"{base}/comments").json()["count"] == 1
    summary = student.get(f"{base}/rating-summary").json()
    assert summary == {
        "average": 4.0,
        "count": 1,
        "histogram": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0},
    }
    first = _json(student, "post", f"{base}/usage", {"kind": "view"}).json()
    second = _json(student, "post", f"{base}/usage", {"kind": "view"}).json()
    assert first["counted"] is True and second == {**first, "counted": False}
    draft = make_resource(w, listed=False)
    assert (
        _json(student, "post", f"/api/v1/resources/{draft.pk}/usage", {"kind": "view"}).status_code
        == 404
    )


def test_api_retirement_and_recommendations(res_world, client_for):
    w = res_world
    resource = make_resource(w)
    other = make_resource(w, title="Other")
    reviewer = client_for(w.reviewer)
    base = f"/api/v1/resources/{resource.pk}"
    assert (
        _json(client_for(w.student_a), "post", f"{base}/retire", {"reason": "x"}).status_code == 403
    )
    retired = _json(reviewer, "post", f"{base}/retire", {"reason": "Outdated"})
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    assert not Resource.objects.visible_to(w.student_a).listed().filter(pk=resource.pk).exists()
    listing = reviewer.get("/api/v1/resources/retirement/flags?retired=true").json()
    assert [item["id"] for item in listing["items"]] == [resource.pk]
    assert _json(reviewer, "post", f"{base}/reinstate", {}).json()["status"] == "listed"
    student = client_for(w.student_a)
    recs = student.get("/api/v1/resources/recommendations").json()
    assert {item["id"] for item in recs["items"]} == {resource.pk, other.pk}
    similar = student.get(f"{base}/similar").json()
    assert [item["id"] for item in similar["items"]] == [other.pk]
    evaluation = _json(reviewer, "put", f"{base}/evaluation", {"score": 70, "criteria": {"a": 60}})
    assert evaluation.status_code == 200 and evaluation.json()["score"] == 70


def test_invalid_rating_over_htmx_returns_only_the_form(res_world, client_for):
    w = res_world
    resource = make_resource(w)
    response = client_for(w.student_a).post(
        reverse("resources:eval_rate", args=[resource.pk]),
        {"stars": "0"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="rating-form",
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "<html" not in body and 'name="stars"' in body and "error-summary" in body
