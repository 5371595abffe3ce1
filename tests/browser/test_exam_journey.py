"""Browser journey of online exams and diagnosis (issue 5), as the issue judges it: a teacher
builds a paper from a blueprint and publishes it to a class; two students sit it in browsers,
one of them losing the connection mid-way and finishing on a second device; the teacher marks
the short answer and releases the scores; a diagnosis run gives the class heat map, the teacher
pushes a resource for a weak point, and it reaches the student's "what to learn next".
Screenshots go to ``artifacts/screenshots/exams/``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from .test_walkthrough import SHOTS, _sign_in, browser  # noqa: F401  # the module-scoped fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FOLDER = SHOTS / "exams"
TITLE = "勾股定理单元测验"
CLASSMATE_PASSWORD = "Exam-journey-2026!"  # a test account's password


class Login:
    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password


@pytest.fixture
def world(transactional_db):
    from shuyuan.core.context import change_context, system_actor
    from shuyuan.identity.demo import load_demo
    from shuyuan.identity.models import Role, RoleAssignment, User

    summary = load_demo(students_per_class=2, classes_per_grade=1, schools_per_county=1)
    call_command("load_resource_demo", resources=30, verbosity=0)
    call_command("load_learning_demo", verbosity=0)
    call_command("load_exam_demo", verbosity=0)
    logins = {login.username: login for login in summary.logins}
    klass = RoleAssignment.objects.get(user__username="student", role=Role.STUDENT).org
    classmate = (
        User.objects.filter(role_assignments__role=Role.STUDENT, role_assignments__org=klass)
        .exclude(username="student")
        .order_by("pk")
        .first()
    )
    with change_context(actor=system_actor(), source="system"):
        classmate.set_password(CLASSMATE_PASSWORD)
        classmate.save()
    logins[classmate.username] = Login(classmate.username, CLASSMATE_PASSWORD)
    return {"logins": logins, "class": klass, "classmate": classmate.username}


def _shot(page, name):
    FOLDER.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(FOLDER / f"{name}.png"), full_page=True)


def _page(browser):  # noqa: F811  # pytest fixture argument
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    return context, context.new_page()


def _point(code):
    from shuyuan.resources.models import KnowledgePoint

    return KnowledgePoint.objects.get(code=code).pk


def _answers(assessment_pk):
    """The right answer per paper item id, in the shapes the page's inputs take."""
    from shuyuan.learning.exams import content
    from shuyuan.learning.models import Assessment

    assessment = Assessment.objects.get(pk=assessment_pk)
    found = {}
    for row in assessment.paper.items.select_related("item_version__item"):
        version = row.item_version
        found[row.pk] = (
            version.item.kind,
            content.correct_answer(version.item.kind, version.content),
        )
    return found


def _answer(page, pid, kind, key):
    """Give answer ``key`` to question ``pid`` through its inputs."""
    if kind in {"single", "true_false"}:
        value = str(key).lower() if kind == "true_false" else key
        page.get_by_test_id(f"option-{pid}-{value}").check()
    elif kind == "multiple":
        for option in key:
            page.get_by_test_id(f"option-{pid}-{option}").check()
    elif kind == "numeric":
        page.get_by_test_id(f"numeric-{pid}").fill(str(key))
    elif kind == "fill_blank":
        for i, text in enumerate(key):
            page.get_by_test_id(f"blank-{pid}-{i}").fill(text)
    elif kind == "short_answer":
        page.get_by_test_id(f"text-{pid}").fill(
            "设直角边为 a、b，斜边为 c。因为 a² + b² = c²，由勾股定理的逆定理，它是直角三角形。"
        )
    else:
        raise AssertionError(f"the journey's paper has no {kind} question")


def _wait_saved(page, pid):
    page.wait_for_selector(f"#save-state-{pid}[data-state=saved]", timeout=15_000)


def test_blueprint_sitting_marking_diagnosis_push(browser, live_server, world):  # noqa: F811  # pytest fixture argument
    from shuyuan.learning.models import Assessment, Attempt, Push, ResponseLog

    base = live_server.url
    logins = world["logins"]
    errors: list[str] = []

    # 1. The teacher builds a paper from a blueprint and publishes it to the class.
    context, page = _page(browser)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _sign_in(page, base, logins["teacher"])
        page.goto(f"{base}/learning/exams/papers/new/")
        page.fill("#id_title", TITLE)
        page.click("#paper-form button[type=submit]")
        page.wait_for_selector("#blueprint-form")
        page.select_option("#id_rows-0-knowledge_point", str(_point("math-pythagoras")))
        page.select_option("#id_rows-0-difficulty", "1")
        page.fill("#id_rows-0-count", "2")
        page.fill("#id_rows-0-points", "2")
        page.select_option("#id_rows-1-knowledge_point", str(_point("math-pythagoras-converse")))
        page.select_option("#id_rows-1-difficulty", "3")
        page.fill("#id_rows-1-count", "1")
        page.fill("#id_rows-1-points", "5")
        page.click("#blueprint-form button[type=submit]")
        page.wait_for_load_state("networkidle")
        _shot(page, "1-teacher-paper-from-blueprint")
        paper_url = page.url
        assert "/learning/exams/papers/" in paper_url
        page.goto(paper_url.rstrip("/") + "/publish/")
        page.select_option("#id_class_org", str(world["class"].pk))
        now = timezone.localtime()
        page.fill("#id_opens_at", (now - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
        page.fill("#id_closes_at", (now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
        page.fill("#id_duration_minutes", "30")
        page.click("#publish-form button[type=submit]")
        page.wait_for_load_state("networkidle")
        _shot(page, "2-teacher-assessment-published")
    finally:
        context.close()
    assessment = Assessment.objects.get(title=TITLE)
    assert assessment.paper.items.count() == 3
    answers = _answers(assessment.pk)

    # 2. The student starts, answers, loses the connection, gets it back, then finishes on a
    #    second device.
    context, page = _page(browser)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _sign_in(page, base, logins["student"])
        page.goto(f"{base}/learning/exams/")
        page.get_by_test_id(f"start-{assessment.pk}").click()
        page.wait_for_selector("#sitting")
        order = [
            int(pid)
            for pid in page.locator("fieldset[data-question]").evaluate_all(
                "els => els.map(e => e.dataset.question)"
            )
        ]
        assert sorted(order) == sorted(answers)
        first, second, third = order
        _answer(page, first, *answers[first])
        _wait_saved(page, first)
        context.set_offline(True)
        _answer(page, second, *answers[second])
        page.wait_for_selector("#offline-banner:not([hidden])", timeout=15_000)
        _shot(page, "3-student-offline")
        context.set_offline(False)
        _wait_saved(page, second)
    finally:
        context.close()
    context, page = _page(browser)  # the second device
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _sign_in(page, base, logins["student"])
        page.goto(f"{base}/learning/exams/")
        page.get_by_test_id(f"resume-{assessment.pk}").click()
        page.wait_for_selector("#sitting")
        for pid in (first, second):
            assert page.locator(f"#save-state-{pid}").get_attribute("data-state") == "saved"
        _answer(page, third, *answers[third])
        _wait_saved(page, third)
        _shot(page, "4-student-second-device")
        page.click("#submit-exam")
        page.click("#confirm-submit")
        page.wait_for_selector("[data-testid=submitted-notice]")
    finally:
        context.close()
    attempt = Attempt.objects.get(assessment=assessment, student__username="student")
    assert (
        attempt.status == "submitted" and attempt.responses.filter(answer__isnull=True).count() == 0
    )
    assert ResponseLog.objects.filter(attempt=attempt).count() >= 3

    # 3. The classmate sits it in one go.
    context, page = _page(browser)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _sign_in(page, base, logins[world["classmate"]])
        page.goto(f"{base}/learning/exams/")
        page.get_by_test_id(f"start-{assessment.pk}").click()
        page.wait_for_selector("#sitting")
        for pid, (kind, key) in answers.items():
            _answer(page, pid, kind, key)
            _wait_saved(page, pid)
        page.click("#submit-exam")
        page.click("#confirm-submit")
        page.wait_for_selector("[data-testid=submitted-notice]")
    finally:
        context.close()

    # 4. The teacher marks the short answers, releases the scores, runs the diagnosis and
    #    pushes a resource for a weak point.
    context, page = _page(browser)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _sign_in(page, base, logins["teacher"])
        for _ in range(2):
            page.goto(f"{base}/learning/exams/marking/?assessment={assessment.pk}")
            page.locator("#queue a[href*='/learning/exams/marking/']").first.click()
            page.wait_for_selector("#mark-form")
            for field in page.locator("#mark-form input[name^=score_]").all():
                field.fill("1")
            _shot(page, "5-teacher-marking")
            page.click("#mark-form button[type=submit]")
            page.wait_for_load_state("networkidle")
        page.goto(f"{base}/learning/exams/assessments/{assessment.pk}/")
        page.click(f"form[action$='/assessments/{assessment.pk}/release/'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        _shot(page, "6-teacher-scores-released")
        page.goto(f"{base}/learning/diagnosis/runs/")
        page.click("form[method=post] button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.goto(f"{base}/learning/diagnosis/classes/{world['class'].pk}/")
        _shot(page, "7-teacher-class-heat-map")
        page.select_option("#id_point_choice", str(_point("math-pythagoras-converse")))
        page.wait_for_selector("#push-form input[name=target]")
        page.locator("#push-form input[name=target]").first.check()
        student_box = page.locator("#push-form input[name=students]").first
        if not student_box.is_checked():
            student_box.check()
        page.click("#push-form button[type=submit]")
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assessment.refresh_from_db()
    assert assessment.scores_released_at is not None
    attempt.refresh_from_db()
    assert attempt.status == "marked" and attempt.score is not None
    push = Push.objects.filter(knowledge_point_id=_point("math-pythagoras-converse")).first()
    assert push is not None, "the push did not reach the database"

    # 5. The student sees the score and "what to learn next".
    context, page = _page(browser)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _sign_in(page, base, logins[push.student.username])
        page.goto(f"{base}/learning/exams/attempts/{attempt.pk}/result/")
        _shot(page, "8-student-result")
        page.goto(f"{base}/learning/next/")
        page.wait_for_selector("#pushed-heading")
        if push.resource_id:
            assert push.resource.listed_version.title in page.content()
        else:
            assert page.locator(f"a[href='/learning/practice/{push.item_id}/']").count() > 0
        _shot(page, "9-student-what-next")
        page.goto(f"{base}/learning/diagnosis/me/")
        _shot(page, "10-student-diagnosis")
    finally:
        context.close()
    assert not errors, errors
