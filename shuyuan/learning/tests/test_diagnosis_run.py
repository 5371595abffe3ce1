"""Diagnosis runs: evidence from marked responses and practice, BKT mastery, parameters, item
statistics, failures, the lock, the request from the portal and the command."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from shuyuan.core.errors import Conflict, PermissionDenied
from shuyuan.core.models import AuditEvent
from shuyuan.identity.models import Role
from shuyuan.learning.actions import diagnosis as actions
from shuyuan.learning.models import (
    Attempt,
    AttemptStatus,
    DiagnosisRun,
    DiagnosisRunStatus,
    ItemKind,
    ItemStatistic,
    Mastery,
    PracticeAnswer,
    Response,
    SkillParameters,
)

from .exam_world import ew, make_assessment, make_item, make_paper, sw  # noqa: F401  # fixtures

pytestmark = pytest.mark.django_db

BASE = timezone.now() - dt.timedelta(days=10)


def sit(assessment: Any, student: Any, scores: list[float | None], *, day: int = 0) -> Attempt:
    """A marked attempt of ``student`` with ``scores[i]`` on paper question ``i`` (None: no
    response row)."""
    paper_items = list(assessment.paper.items.order_by("position"))
    at = BASE + dt.timedelta(days=day, minutes=student.pk)
    attempt = Attempt.objects.create(
        assessment=assessment,
        student=student,
        status=AttemptStatus.MARKED,
        started_at=at - dt.timedelta(minutes=30),
        deadline=at,
        submitted_at=at,
        max_score=sum(p.points for p in paper_items),
        score=Decimal(str(sum(s or 0 for s in scores))),
        marked_at=at,
    )
    for paper_item, score in zip(paper_items, scores, strict=True):
        if score is None:
            continue
        Response.objects.create(
            attempt=attempt,
            paper_item=paper_item,
            answer="A",
            score=Decimal(str(score)),
            auto_marked=True,
            marked_at=at,
        )
    return attempt


def practise(student: Any, item: Any, fraction: float, *, day: int = 0) -> PracticeAnswer:
    return PracticeAnswer.objects.create(
        student=student,
        item_version=item.current_version,
        answer="A",
        fraction=fraction,
        answered_at=BASE + dt.timedelta(days=day, hours=1, minutes=student.pk),
    )


def set_mastery(student: Any, point: Any, probability: float, *, answers: int = 4) -> Mastery:
    """A mastery row written directly (reports and push tests need no fit)."""
    run = DiagnosisRun.objects.filter(status=DiagnosisRunStatus.DONE).first()
    if run is None:
        run = DiagnosisRun.objects.create(
            status=DiagnosisRunStatus.DONE, finished_at=timezone.now(), engine="test"
        )
    return Mastery.objects.create(
        student=student,
        knowledge_point=point,
        probability=probability,
        n_answers=answers,
        n_correct=round(answers * probability),
        last_answered_at=timezone.now(),
        run=run,
    )


@pytest.fixture
def six(ew, make_user):  # noqa: F811  # pytest fixture argument
    """Six students of class A, a paper of two single-choice items per point (2 points each),
    sat twice."""
    students = [ew.sw.student_a, ew.sw.student_a2] + [
        make_user(Role.STUDENT, ew.w.tree.class_a, username=f"pupil{i}") for i in range(4)
    ]
    points = [ew.kp, ew.kp_sqrt, ew.kp_tri]
    items = [make_item(ew.w, ItemKind.SINGLE, points=(p,)) for p in points for _ in range(2)]
    paper = make_paper(ew.w, items, title="Diagnosis paper")
    first = make_assessment(ew.w, paper)
    second = make_assessment(ew.w, paper)
    return students, points, items, first, second


def test_run_estimates_mastery_parameters_and_item_statistics(six):
    students, points, items, first, second = six
    full = [2.0] * 6
    none = [0.0] * 6
    # s0 right everywhere, s1 wrong everywhere; the others mixed per point.
    patterns = [
        full,
        none,
        [2, 2, 0, 0, 2, 0],
        [2, 0, 2, 2, 0, 0],
        [0, 2, 2, 0, 2, 2],
        [2, 2, 2, 0, 0, 2],
    ]
    for student, scores in zip(students, patterns, strict=True):
        sit(first, student, [float(s) for s in scores], day=0)
        sit(second, student, [float(s) for s in scores], day=1)
    practise(students[0], items[0], 1.0, day=2)
    practise(students[1], items[0], 0.0, day=2)

    run = actions.run_diagnosis()

    assert run.status == DiagnosisRunStatus.DONE and run.finished_at is not None
    assert run.n_responses == 6 * 6 * 2 + 2
    assert run.n_students == 6 and run.n_points == 3 and run.engine.startswith("pyBKT")
    assert set(SkillParameters.objects.values_list("knowledge_point_id", flat=True)) == {
        p.pk for p in points
    }
    params = SkillParameters.objects.get(knowledge_point=points[0])
    assert params.n_responses == 6 * 2 * 2 + 2 and 0 <= params.slip <= 1
    mastery = {(m.student_id, m.knowledge_point_id): m for m in Mastery.objects.all()}
    assert len(mastery) == 18
    for point in points:
        best, worst = mastery[(students[0].pk, point.pk)], mastery[(students[1].pk, point.pk)]
        assert best.probability > worst.probability
    kp_best = mastery[(students[0].pk, points[0].pk)]
    assert (kp_best.n_answers, kp_best.n_correct) == (5, 5)
    assert kp_best.last_answered_at == BASE + dt.timedelta(days=2, hours=1, minutes=students[0].pk)
    kp_worst = mastery[(students[1].pk, points[0].pk)]
    assert (kp_worst.n_answers, kp_worst.n_correct) == (5, 0)

    # Item 0 (first question): fractions per attempt, both sittings.
    stats = ItemStatistic.objects.get(item=items[0])
    fractions = [p[0] / 2 for p in patterns] * 2
    assert stats.n_responses == 12
    assert stats.facility == pytest.approx(sum(fractions) / 12)
    rest = [(sum(p) - p[0]) / 10 for p in patterns] * 2
    expected = float(np.corrcoef(fractions, rest)[0, 1])
    assert stats.discrimination == pytest.approx(expected)


def test_facility_hand_computed_and_discrimination_none_below_five(ew):  # noqa: F811  # pytest fixture argument
    paper_items = list(ew.paper.items.order_by("position"))
    scores = [None] * len(paper_items)
    # Three students answer the single-choice question (2 points): 2, 1 and 0 points.
    for student, score in [(ew.sw.student_a, 2.0), (ew.sw.student_a2, 1.0), (ew.sw.student_b, 0.0)]:
        row = list(scores)
        row[0] = score
        row[2] = 2.0  # the true/false question, so each attempt has a rest
        sit(ew.assessment, student, row)
    actions.run_diagnosis()
    stats = ItemStatistic.objects.get(item=ew.items[ItemKind.SINGLE])
    assert stats.n_responses == 3
    assert stats.facility == pytest.approx(0.5)  # (1 + 0.5 + 0) / 3
    assert stats.discrimination is None
    # 1 of 2 points is 0.5 < 0.6: wrong.
    mastery = Mastery.objects.get(student=ew.sw.student_a2, knowledge_point=ew.kp)
    assert (mastery.n_answers, mastery.n_correct) == (1, 0)


def test_unmarked_responses_and_open_attempts_are_not_evidence(ew):  # noqa: F811  # pytest fixture argument
    attempt = sit(ew.assessment, ew.sw.student_a, [2.0] + [None] * 7)
    Response.objects.filter(attempt=attempt).update(score=None)
    open_attempt = sit(make_assessment(ew.w, ew.paper), ew.sw.student_a2, [2.0] + [None] * 7)
    open_attempt.status = AttemptStatus.IN_PROGRESS
    open_attempt.save(update_fields=["status"])
    run = actions.run_diagnosis()
    assert run.status == DiagnosisRunStatus.DONE and run.n_responses == 0
    assert not Mastery.objects.exists()


def test_a_second_run_replaces_the_first(ew):  # noqa: F811  # pytest fixture argument
    sit(ew.assessment, ew.sw.student_a, [2.0] + [None] * 7)
    first = actions.run_diagnosis()
    second = actions.run_diagnosis()
    assert Mastery.objects.count() == 1
    assert Mastery.objects.get().run_id == second.pk != first.pk
    assert SkillParameters.objects.get().run_id == second.pk


def test_failed_run_records_failed_and_reraises(ew, monkeypatch):  # noqa: F811  # pytest fixture argument
    sit(ew.assessment, ew.sw.student_a, [2.0] + [None] * 7)

    def broken(answers):
        list(answers)
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(actions.bkt, "fit", broken)
    with pytest.raises(RuntimeError):
        actions.run_diagnosis()
    run = DiagnosisRun.objects.get()
    assert run.status == DiagnosisRunStatus.FAILED
    assert "engine exploded" in run.error and run.finished_at is not None
    assert not Mastery.objects.exists()


def test_a_run_in_progress_blocks_another(ew):  # noqa: F811  # pytest fixture argument
    DiagnosisRun.objects.create(status=DiagnosisRunStatus.RUNNING)
    with pytest.raises(Conflict) as info:
        actions.run_diagnosis()
    assert info.value.code == "RUN_IN_PROGRESS"
    with pytest.raises(Conflict):
        actions.request_diagnosis(actor=ew.teacher)
    # A run stuck for over an hour is taken as crashed.
    DiagnosisRun.objects.update(started_at=timezone.now() - dt.timedelta(hours=2))
    assert actions.run_diagnosis().status == DiagnosisRunStatus.DONE


def test_request_diagnosis_runs_the_task_and_audits(ew, django_capture_on_commit_callbacks):  # noqa: F811  # pytest fixture argument
    sit(ew.assessment, ew.sw.student_a, [2.0] + [None] * 7)
    with django_capture_on_commit_callbacks(execute=True):
        run = actions.request_diagnosis(actor=ew.teacher)
    run.refresh_from_db()
    assert run.status == DiagnosisRunStatus.DONE and run.requested_by_id == ew.teacher.pk
    assert AuditEvent.objects.filter(
        code="learning.diagnosis.requested", subject_id=str(run.pk)
    ).exists()
    assert Mastery.objects.filter(student=ew.sw.student_a).exists()


def test_students_and_parents_may_not_request_a_run(ew):  # noqa: F811  # pytest fixture argument
    for user in (ew.sw.student_a, ew.sw.parent_a):
        with pytest.raises(PermissionDenied):
            actions.request_diagnosis(actor=user)
    assert not DiagnosisRun.objects.exists()


def test_command_runs_diagnosis(ew, capsys):  # noqa: F811  # pytest fixture argument
    sit(ew.assessment, ew.sw.student_a, [2.0] + [None] * 7)
    call_command("run_diagnosis")
    assert "1 answers" in capsys.readouterr().out
    assert DiagnosisRun.objects.get().status == DiagnosisRunStatus.DONE
