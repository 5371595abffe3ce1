"""The shared fixture builds, and the scope rules deny by default."""

from shuyuan.resources.models import KnowledgePoint, Resource, ReviewerAssignment


def test_world_builds_and_rules_scope(res_world):
    w = res_world
    assert KnowledgePoint.objects.visible_to(w.student_a).count() == 1
    assert Resource.objects.visible_to(w.student_a).count() == 0
    assert ReviewerAssignment.objects.visible_to(w.reviewer_b).count() == 1
    assert ReviewerAssignment.objects.visible_to(w.school_admin_a).count() == 0
    assert ReviewerAssignment.objects.visible_to(w.region_admin).count() == 2
