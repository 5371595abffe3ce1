"""``shuyuan add_source``: registers a source through the action, refusing bad input clearly."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from shuyuan.registry.models import SourceSystem

pytestmark = pytest.mark.django_db


def test_registers_a_source(tree, make_user):
    make_user("region_admin", tree.region, username="ra")
    call_command("add_source", "mis", name="School MIS", org=str(tree.region.pk), actor="ra")
    source = SourceSystem.objects.get(code="mis")
    assert source.org == tree.region
    assert source.kind == "school_mis"


def test_refuses_a_teacher_and_a_bad_code(tree, make_user):
    make_user("teacher", tree.school_a, username="t1")
    make_user("region_admin", tree.region, username="ra")
    with pytest.raises(CommandError):
        call_command("add_source", "mis", name="MIS", org=str(tree.school_a.pk), actor="t1")
    with pytest.raises(CommandError, match="SOURCE_CODE_INVALID"):
        call_command("add_source", "Bad Code!", name="MIS", org=str(tree.region.pk), actor="ra")
    assert not SourceSystem.objects.exists()
