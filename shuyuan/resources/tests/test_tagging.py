"""Tagging resources with knowledge points, and suggestions from their text."""

from __future__ import annotations

import pytest
from django.urls import reverse

from shuyuan.core.errors import Conflict, NotFound, PermissionDenied
from shuyuan.resources import signals
from shuyuan.resources.actions import graph as actions
from shuyuan.resources.graph.suggest import suggest_for_resource, suggest_knowledge_points
from shuyuan.resources.models import Resource, ResourceTag

from .test_graph_helpers import make_resource, point


@pytest.fixture
def points(res_world):
    w = res_world
    return {
        "pyth": point(w.math, "m-pyth", "勾股定理", aliases=["毕达哥拉斯定理", "商高定理"]),
        "converse": point(w.math, "m-pyth-conv", "勾股定理的逆定理", aliases=["勾股数"]),
        "real": point(w.math, "m-real", "实数", aliases=["无理数"], grade="07"),
        "radical": point(w.math, "m-radical", "二次根式"),
        "force": point(w.physics, "p-force", "力", aliases=["弹力"]),
        "speed": point(w.physics, "p-speed", "机械运动", aliases=["速度"]),
    }


def test_suggestions_find_an_explicit_mention(points, res_world):
    found = suggest_knowledge_points(
        "本节课学习直角三角形三边的关系。勾股定理告诉我们 a²+b²=c²，并用勾股定理求边长。",
        subject_id=res_world.math.pk,
        title="勾股定理微课",
    )
    assert found[0][0] == points["pyth"]
    assert 0 < found[0][1] <= 1
    # The longest match wins: the converse is not suggested from "勾股定理" alone.
    assert points["converse"] not in [p for p, _s in found]


def test_suggestions_find_an_alias_and_weight_fields(points, res_world):
    body_only = suggest_knowledge_points("毕达哥拉斯定理的一个证明", subject_id=res_world.math.pk)
    assert body_only[0][0] == points["pyth"]
    in_title = suggest_knowledge_points(
        "", title="毕达哥拉斯定理的一个证明", subject_id=res_world.math.pk
    )
    assert in_title[0][1] > body_only[0][1]


def test_other_subjects_are_down_weighted_and_tagged_excluded(points, res_world):
    text = "速度与二次根式"
    in_math = dict(suggest_knowledge_points(text, subject_id=res_world.math.pk))
    assert in_math[points["radical"]] > in_math[points["speed"]]
    found = suggest_knowledge_points(
        text, subject_id=res_world.math.pk, exclude=[points["radical"].pk]
    )
    assert points["radical"] not in dict(found)
    assert suggest_knowledge_points("", subject_id=res_world.math.pk) == []


def test_automaton_follows_graph_changes(points, res_world):
    assert not suggest_knowledge_points("一元二次方程的解法")
    new = point(res_world.math, "m-quad", "一元二次方程")
    assert suggest_knowledge_points("一元二次方程的解法")[0][0] == new
    actions.update_point(actor=res_world.reviewer, point=new, aliases=["二次方程式"])
    assert suggest_knowledge_points("二次方程式")[0][0] == new


def test_tag_untag_send_signal_and_suggestions_exclude_tags(points, res_world):
    w = res_world
    resource = make_resource(
        w.teacher_a, w.math, title="勾股定理", description="用勾股定理解题", text="实数 无理数"
    )
    suggested = [p for p, _s in suggest_for_resource(resource)]
    assert suggested[:2] == [points["pyth"], points["real"]]
    seen = []

    def receiver(sender, resource_id, **kwargs):
        seen.append(resource_id)

    signals.resource_changed.connect(receiver)
    try:
        tag = actions.tag_resource(
            actor=w.teacher_a,
            resource=resource,
            knowledge_point=points["pyth"],
            source="suggested",
            score=0.9,
        )
        assert tag.score == 0.9 and tag.created_by == w.teacher_a
        with pytest.raises(Conflict):
            actions.tag_resource(
                actor=w.teacher_a, resource=resource, knowledge_point=points["pyth"]
            )
        assert points["pyth"] not in [p for p, _s in suggest_for_resource(resource)]
        # A reviewer of the region may tag too.
        actions.tag_resource(actor=w.reviewer, resource=resource, knowledge_point=points["real"])
        actions.untag_resource(actor=w.teacher_a, resource=resource, knowledge_point=points["real"])
    finally:
        signals.resource_changed.disconnect(receiver)
    assert seen == [resource.pk, resource.pk, resource.pk]
    assert list(ResourceTag.objects.values_list("knowledge_point__code", flat=True)) == ["m-pyth"]


def test_who_may_tag(points, res_world):
    w = res_world
    draft = make_resource(w.teacher_a, w.math)
    listed = make_resource(w.teacher_a, w.math, listed=True)
    with pytest.raises(NotFound):  # a draft of another school is invisible
        actions.tag_resource(actor=w.teacher_b, resource=draft, knowledge_point=points["pyth"])
    with pytest.raises(PermissionDenied):  # a listed one is visible but not theirs
        actions.tag_resource(actor=w.teacher_b, resource=listed, knowledge_point=points["pyth"])
    with pytest.raises(PermissionDenied):
        actions.tag_resource(actor=w.student_a, resource=listed, knowledge_point=points["pyth"])
    actions.tag_resource(actor=w.school_admin_a, resource=draft, knowledge_point=points["pyth"])
    assert Resource.objects.get(pk=draft.pk).tags.count() == 1


def test_tagging_page(points, res_world, client_for):
    w = res_world
    resource = make_resource(
        w.teacher_a, w.math, title="勾股定理的证明", text="毕达哥拉斯定理", listed=True
    )
    url = reverse("resources:graph_tags", args=[resource.pk])
    teacher = client_for(w.teacher_a)
    page = teacher.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "勾股定理" in body and "Accept" in body
    response = teacher.post(
        reverse("resources:graph_tag_add", args=[resource.pk]),
        {"knowledge_point": points["pyth"].pk, "score": "0.81"},
    )
    assert response.status_code == 303
    tag = ResourceTag.objects.get(resource=resource)
    assert (tag.source, tag.score) == ("suggested", 0.81)
    response = teacher.post(
        reverse("resources:graph_tag_add", args=[resource.pk]), {"point": "实数"}
    )
    assert response.status_code == 303
    assert resource.tags.count() == 2
    search = teacher.get(url, {"q": "根式"})
    assert "二次根式" in search.content.decode()
    # A student sees the tags of the listed resource, without any form.
    student = client_for(w.student_a).get(url)
    assert student.status_code == 200
    assert "Accept" not in student.content.decode() and "Remove" not in student.content.decode()
    assert (
        client_for(w.student_a)
        .post(reverse("resources:graph_tag_remove", args=[resource.pk, points["pyth"].pk]))
        .status_code
        == 403
    )
    response = teacher.post(
        reverse("resources:graph_tag_remove", args=[resource.pk, points["pyth"].pk])
    )
    assert response.status_code == 303
    assert resource.tags.count() == 1
    draft = make_resource(w.teacher_a, w.math)
    assert (
        client_for(w.teacher_b).get(reverse("resources:graph_tags", args=[draft.pk])).status_code
        == 404
    )
