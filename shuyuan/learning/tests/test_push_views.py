"""Push pages: the class page's push form, "what to learn next", completing a push, and the
practice page (answer, result with key and explanation, 422 for tampered answers, 404s)."""

from __future__ import annotations

import pytest

from shuyuan.learning.models import ItemKind, PracticeAnswer, Push, PushStatus

from .exam_world import ew, sw  # noqa: F401  # fixtures
from .test_push_actions import _push, weak  # noqa: F401  # fixture

pytestmark = pytest.mark.django_db


def test_class_page_push_form_defaults_to_weak_students(weak, client_for):  # noqa: F811  # pytest fixture argument
    url = f"/learning/diagnosis/classes/{weak.w.tree.class_a.pk}/"
    client = client_for(weak.teacher)
    response = client.get(url, {"point": weak.kp.pk})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Square roots video" in body and f'value="resource:{weak.video.pk}"' in body
    assert f'value="{weak.sw.student_a.pk}" id="id_students_0" checked' in body
    assert f'value="{weak.sw.student_a2.pk}" id="id_students_1">' in body
    partial = client.get(
        url, {"point": weak.kp.pk}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="push-form"
    )
    assert partial.status_code == 200 and "<html" not in partial.content.decode()


def test_push_through_the_class_page(weak, client_for):  # noqa: F811  # pytest fixture argument
    url = f"/learning/diagnosis/classes/{weak.w.tree.class_a.pk}/push/"
    data = {
        "point": weak.kp.pk,
        "target": f"resource:{weak.video.pk}",
        "students": [weak.sw.student_a.pk],
    }
    response = client_for(weak.teacher).post(url, data)
    assert response.status_code == 303
    push = Push.objects.get()
    assert (push.student_id, push.resource_id, push.knowledge_point_id) == (
        weak.sw.student_a.pk,
        weak.video.pk,
        weak.kp.pk,
    )
    invalid = client_for(weak.teacher).post(url, {**data, "students": []})
    assert invalid.status_code == 422
    stranger = client_for(weak.sw.student_b).post(url, data)
    assert stranger.status_code == 404
    assert client_for(weak.w.teacher_b).post(url, data).status_code == 404
    assert Push.objects.count() == 1


def test_pushed_resource_appears_on_next_and_can_be_done(weak, client_for):  # noqa: F811  # pytest fixture argument
    (push,) = _push(weak, resource=weak.video)
    page = client_for(weak.sw.student_a).get("/learning/next/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "From my teachers" in body and "Square roots video" in body
    assert f"/resources/{weak.video.pk}/" in body
    other = client_for(weak.sw.student_b).get("/learning/next/")
    assert "Square roots video" not in other.content.decode().split("Suggested for my weak")[0]
    done_url = f"/learning/next/pushes/{push.pk}/done/"
    assert client_for(weak.sw.student_b).post(done_url).status_code == 404
    assert client_for(weak.sw.student_a).post(done_url).status_code == 303
    push.refresh_from_db()
    assert push.status == PushStatus.DONE


def test_next_lists_suggested_practice_linking_to_the_practice_page(weak, client_for):  # noqa: F811  # pytest fixture argument
    body = client_for(weak.sw.student_a).get("/learning/next/").content.decode()
    assert f"/learning/practice/{weak.items[ItemKind.SINGLE].pk}/" in body


def test_practice_page_answer_and_result(weak, client_for):  # noqa: F811  # pytest fixture argument
    item = weak.items[ItemKind.SINGLE]
    (push,) = _push(weak, item=item)
    client = client_for(weak.sw.student_a)
    url = f"/learning/practice/{item.pk}/"
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    assert "legs 3 and 4" in body and 'name="answer"' in body and "Correct answer" not in body
    tampered = client.post(url, {"answer": "Z"})
    assert tampered.status_code == 422
    assert not PracticeAnswer.objects.exists()
    answered = client.post(url, {"answer": "A"})
    assert answered.status_code == 303 and answered["Location"].endswith("?result=1")
    result = client.get(answered["Location"]).content.decode()
    assert "Right!" in result and "Correct answer" in result
    push.refresh_from_db()
    assert push.status == PushStatus.DONE


def test_practice_of_each_objective_kind_through_the_form(weak, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(weak.sw.student_a)
    answers = {
        ItemKind.MULTIPLE: {"answer": ["A", "B"]},
        ItemKind.TRUE_FALSE: {"answer": "true"},
        ItemKind.FILL_BLANK: {"blank": ["nine", "2"]},
        ItemKind.NUMERIC: {"answer": "1.41"},
        ItemKind.MATCHING: {"match_l1": "r1", "match_l2": "r2"},
        ItemKind.ORDERING: {"order": ["b", "a", "c"]},
    }
    for kind, data in answers.items():
        url = f"/learning/practice/{weak.items[kind].pk}/"
        assert client.get(url).status_code == 200, kind
        assert client.post(url, data).status_code == 303, kind
    assert sorted(PracticeAnswer.objects.values_list("fraction", flat=True)) == [1.0] * 6


def test_practice_page_of_another_schools_item_is_not_found(weak, client_for):  # noqa: F811  # pytest fixture argument
    url = f"/learning/practice/{weak.items[ItemKind.SINGLE].pk}/"
    assert client_for(weak.sw.student_b).get(url).status_code == 404
    assert client_for(weak.sw.student_b).post(url, {"answer": "A"}).status_code == 404
    assert client_for(weak.w.teacher_b).get(url).status_code == 404
    # The item's own teachers may preview it.
    assert client_for(weak.teacher).get(url).status_code == 200
