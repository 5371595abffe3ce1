"""Item bank pages: list (filters, paging, query budget), new question of every kind through
the form (no JavaScript needed), 422s naming the row, edit into a new version, detail,
retire/restore, 404s across schools and for students, QTI import and export."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shuyuan.learning.exams import qti
from shuyuan.learning.models import Difficulty, Item, ItemKind, ItemStatus, ItemVersion
from shuyuan.learning.queries import items as queries

from .exam_world import CONTENTS, ew, make_item, sw  # noqa: F401  # fixtures

pytestmark = pytest.mark.django_db

BASE = "/learning/exams/items/"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "item-form"}

#: Form rows of one question of each kind, and what its stored content must be.
FORMS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    ItemKind.SINGLE: (
        {"option_0_text": "5", "option_1_text": "6", "option_3_text": "7", "correct": "3"},
        {"options": [{"id": "A", "text": "5"}, {"id": "B", "text": "6"}, {"id": "C", "text": "7"}],
         "correct": "C"},
    ),
    ItemKind.MULTIPLE: (
        {"option_0_text": "3, 4, 5", "option_1_text": "5, 12, 13", "option_2_text": "2, 3, 4",
         "correct": ["0", "1"]},
        {"options": [{"id": "A", "text": "3, 4, 5"}, {"id": "B", "text": "5, 12, 13"},
                     {"id": "C", "text": "2, 3, 4"}], "correct": ["A", "B"]},
    ),
    ItemKind.TRUE_FALSE: ({"correct": "false"}, {"correct": False}),
    ItemKind.FILL_BLANK: (
        {"stem": "The root of 81 is ___ and of 4 is ___.", "blank_0_accepted": "9\r\nnine",
         "blank_1_accepted": "2", "blank_1_case": "on"},
        {"blanks": [{"accepted": ["9", "nine"], "case_sensitive": False},
                    {"accepted": ["2"], "case_sensitive": True}]},
    ),
    ItemKind.NUMERIC: (
        {"value": "1.41", "tolerance": "0.01", "unit": "cm"},
        {"value": 1.41, "tolerance": 0.01, "unit": "cm"},
    ),
    ItemKind.MATCHING: (
        {"pair_0_left": "3, 4", "pair_0_right": "5", "pair_1_left": "6, 8",
         "pair_1_right": "10", "pair_3_right": "7"},
        {"left": [{"id": "l1", "text": "3, 4"}, {"id": "l2", "text": "6, 8"}],
         "right": [{"id": "r1", "text": "5"}, {"id": "r2", "text": "10"},
                   {"id": "r3", "text": "7"}],
         "pairs": {"l1": "r1", "l2": "r2"}},
    ),
    ItemKind.ORDERING: ({"order_0_text": "1", "order_1_text": "sqrt 2", "order_2_text": "2"}, {}),
    ItemKind.SHORT_ANSWER: (
        {"rubric_0_criterion": "States the converse", "rubric_0_points": "2",
         "rubric_2_criterion": "Computes 169", "rubric_2_points": "1.5",
         "model_answer": "25 + 144 = 169."},
        {"rubric": [{"criterion": "States the converse", "points": 2.0},
                    {"criterion": "Computes 169", "points": 1.5}],
         "model_answer": "25 + 144 = 169."},
    ),
}  # fmt: skip


def _post_data(ew, kind: str, **extra: Any) -> dict[str, Any]:  # noqa: F811  # pytest fixture name
    rows, _content = FORMS[kind]
    data = {
        "kind": kind,
        "org": ew.w.tree.school_a.pk,
        "subject": ew.w.math.pk,
        "difficulty": "3",
        "stem": f"A new {kind} question",
        "knowledge_points": "math-pythagoras, Square roots",
        "explanation": "See the theorem.",
        **rows,
    }
    data.update(extra)
    return data


def _new_item() -> Item:
    return Item.objects.order_by("-pk").first()


# --- list -----------------------------------------------------------------------------------------


def test_list_page_and_query_budget(ew, client_for, assert_max_queries):  # noqa: F811  # pytest fixture argument
    for n in range(30):
        make_item(ew.w, ItemKind.SINGLE, points=[ew.kp], stem=f"Extra question {n}")
    client = client_for(ew.teacher)
    client.get(BASE)  # warm the session
    with assert_max_queries(10):
        response = client.get(BASE)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Question bank" in text and "Extra question 29" in text
    assert "Page 1 of 2" in text
    second = client.get(BASE, {"page": 2})
    assert second.status_code == 200


def test_list_filters_and_partial(ew, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.teacher)
    response = client.get(
        BASE,
        {"kind": "numeric", "q": "hypotenuse"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="results",
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "The hypotenuse of legs 1 and 1" in body and "right triangle with legs" not in body
    by_point = client.get(BASE, {"knowledge_point": "math-right-triangles"}).content.decode()
    assert "Explain why a triangle" in by_point and "square root of 16" not in by_point
    unknown = client.get(BASE, {"knowledge_point": "no-such-code"}).content.decode()
    assert "No knowledge point has this code or name." in unknown
    retired = client.get(BASE, {"status": "retired"}).content.decode()
    assert "0 questions found." in retired


def test_students_and_parents_have_no_bank(ew, client_for):  # noqa: F811  # pytest fixture argument
    item = ew.items[ItemKind.SINGLE]
    for user in (ew.sw.student_a, ew.sw.parent_a):
        client = client_for(user)
        assert client.get(BASE).status_code == 404
        assert client.get(f"{BASE}{item.pk}/").status_code == 404
        assert client.get(f"{BASE}new/?kind=single").status_code == 404
        assert client.get(f"{BASE}export/").status_code == 404


# --- create ---------------------------------------------------------------------------------------


def test_new_question_starts_with_the_kind(ew, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.teacher)
    chooser = client.get(f"{BASE}new/")
    assert chooser.status_code == 200 and "?kind=matching" in chooser.content.decode()
    form = client.get(f"{BASE}new/", {"kind": "single"}).content.decode()
    assert 'name="option_5_text"' in form and 'type="radio"' in form
    assert 'name="option_6_text"' not in form
    multiple = client.get(f"{BASE}new/", {"kind": "multiple"}).content.decode()
    assert 'type="checkbox" name="correct"' in multiple


@pytest.mark.parametrize("kind", ItemKind.values)
def test_create_every_kind_through_the_form(ew, client_for, kind):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.teacher)
    response = client.post(f"{BASE}new/", _post_data(ew, kind))
    assert response.status_code == 303, response.content.decode()[:3000]
    item = _new_item()
    assert response["Location"] == f"{BASE}{item.pk}/"
    assert item.kind == kind and item.difficulty == Difficulty.HARD
    assert item.org == ew.w.tree.school_a and item.subject == ew.w.math
    version = item.current_version
    assert version.number == 1 and version.explanation == "See the theorem."
    assert set(item.tags.values_list("knowledge_point__code", flat=True)) == {
        "math-pythagoras",
        "math-square-roots",
    }
    expected = FORMS[kind][1]
    if kind == ItemKind.ORDERING:
        texts = {o["id"]: o["text"] for o in version.content["options"]}
        assert [texts[i] for i in version.content["order"]] == ["1", "sqrt 2", "2"]
    else:
        assert version.content == expected
    detail = client.get(f"{BASE}{item.pk}/")
    assert detail.status_code == 200
    assert "Versions" in detail.content.decode()


def test_invalid_form_is_422_on_the_row(ew, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.teacher)
    before = Item.objects.count()
    one_option = _post_data(ew, ItemKind.SINGLE, option_1_text="", option_3_text="", correct="0")
    response = client.post(f"{BASE}new/", one_option, **HTMX)
    body = response.content.decode()
    assert response.status_code == 422 and "<html" not in body
    assert "Options: Give at least 2." in body
    long_text = _post_data(ew, ItemKind.MULTIPLE, option_2_text="x" * 1001)
    response = client.post(f"{BASE}new/", long_text)
    assert response.status_code == 422
    assert '<tr class="has-error">' in response.content.decode()
    blank_mismatch = _post_data(ew, ItemKind.FILL_BLANK, stem="Only ___ here.")
    response = client.post(f"{BASE}new/", blank_mismatch)
    assert response.status_code == 422
    body = response.content.decode()
    assert "The stem has 1 blanks" in body and 'href="#id_stem"' in body
    bad_points = _post_data(ew, ItemKind.SHORT_ANSWER, rubric_2_points="abc")
    response = client.post(f"{BASE}new/", bad_points)
    assert response.status_code == 422
    assert 'href="#id_rubric_2_points"' in response.content.decode()
    unpaired = _post_data(ew, ItemKind.MATCHING, pair_1_right="")
    response = client.post(f"{BASE}new/", unpaired)
    assert response.status_code == 422
    assert 'href="#id_pair_1_right"' in response.content.decode()
    bad_option = _post_data(ew, ItemKind.ORDERING, order_4_text="x" * 1001)
    assert client.post(f"{BASE}new/", bad_option).status_code == 422
    unknown = _post_data(ew, ItemKind.TRUE_FALSE, knowledge_points="math-nope")
    response = client.post(f"{BASE}new/", unknown)
    assert response.status_code == 422 and "math-nope" in response.content.decode()
    no_stem = _post_data(ew, ItemKind.TRUE_FALSE, stem="")
    assert client.post(f"{BASE}new/", no_stem).status_code == 422
    other_school = _post_data(ew, ItemKind.TRUE_FALSE, org=ew.w.tree.school_b.pk)
    assert client.post(f"{BASE}new/", other_school).status_code == 422
    assert Item.objects.count() == before


def test_stems_are_escaped(ew, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.teacher)
    data = _post_data(ew, ItemKind.TRUE_FALSE, stem="<script>alert(1)</script> is safe")
    assert client.post(f"{BASE}new/", data).status_code == 303
    item = _new_item()
    for page in (f"{BASE}{item.pk}/", BASE, f"{BASE}{item.pk}/edit/"):
        body = client.get(page).content.decode()
        assert "<script>alert(1)" not in body
        assert "&lt;script&gt;alert(1)" in body


# --- edit, detail, retire -------------------------------------------------------------------------


def test_edit_adds_a_version(ew, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.teacher)
    item = ew.items[ItemKind.MATCHING]
    page = client.get(f"{BASE}{item.pk}/edit/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'value="3, 4"' in body and 'name="base_version"' in body
    stem, content = CONTENTS[ItemKind.MATCHING]
    data = {
        "kind": "matching",
        "difficulty": "2",
        "stem": stem + " Carefully.",
        "knowledge_points": "math-pythagoras",
        "explanation": "",
        "base_version": "1",
        "pair_0_left_id": "l1",
        "pair_0_left": "3, 4",
        "pair_0_right_id": "r1",
        "pair_0_right": "5",
        "pair_1_left_id": "l2",
        "pair_1_left": "6, 8",
        "pair_1_right_id": "r2",
        "pair_1_right": "10",
    }
    response = client.post(f"{BASE}{item.pk}/edit/", data)
    assert response.status_code == 303
    item.refresh_from_db()
    assert item.current_version.number == 2
    assert item.current_version.content == content
    assert item.current_version.stem.endswith("Carefully.")
    # the same form again changes nothing; an outdated base version is refused
    assert client.post(f"{BASE}{item.pk}/edit/", {**data, "base_version": "2"}).status_code == 303
    assert ItemVersion.objects.filter(item=item).count() == 2
    stale = client.post(f"{BASE}{item.pk}/edit/", {**data, "stem": "Other", "base_version": "1"})
    assert stale.status_code == 422
    assert "since you opened it" in stale.content.decode()
    detail = client.get(f"{BASE}{item.pk}/").content.decode()
    assert "Carefully." in detail and "current" in detail


@pytest.mark.parametrize("kind", ItemKind.values)
def test_saving_the_edit_form_unchanged_keeps_the_version(ew, client_for, kind):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.teacher)
    item = ew.items[kind]
    form = client.get(f"{BASE}{item.pk}/edit/").context["form"]
    data: dict[str, Any] = {"kind": kind}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or value is False:
            continue
        data[name] = value if not isinstance(value, bool) else "on"
    response = client.post(f"{BASE}{item.pk}/edit/", data)
    assert response.status_code == 303, response.content.decode()[:3000]
    item.refresh_from_db()
    assert item.current_version.number == 1


def test_other_school_gets_404(ew, client_for):  # noqa: F811  # pytest fixture argument
    item = ew.items[ItemKind.SINGLE]
    client = client_for(ew.w.teacher_b)
    assert client.get(f"{BASE}{item.pk}/").status_code == 404
    assert client.get(f"{BASE}{item.pk}/edit/").status_code == 404
    assert client.post(f"{BASE}{item.pk}/retire/").status_code == 404
    assert f"{BASE}{item.pk}/" not in client.get(BASE).content.decode()
    item.refresh_from_db()
    assert item.status == ItemStatus.ACTIVE


def test_region_item_is_readable_not_changeable(ew, client_for):  # noqa: F811  # pytest fixture argument
    item = make_item(ew.w, ItemKind.NUMERIC, org=ew.w.tree.region, author=ew.w.region_admin)
    client = client_for(ew.teacher)
    detail = client.get(f"{BASE}{item.pk}/")
    assert detail.status_code == 200
    assert f"{BASE}{item.pk}/edit/" not in detail.content.decode()
    assert client.get(f"{BASE}{item.pk}/edit/").status_code == 403
    assert client.post(f"{BASE}{item.pk}/retire/").status_code == 403


def test_retire_and_restore(ew, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.teacher)
    item = ew.items[ItemKind.ORDERING]
    assert client.post(f"{BASE}{item.pk}/retire/").status_code == 303
    item.refresh_from_db()
    assert item.status == ItemStatus.RETIRED
    assert "Restore" in client.get(f"{BASE}{item.pk}/").content.decode()
    assert client.post(f"{BASE}{item.pk}/restore/").status_code == 303
    item.refresh_from_db()
    assert item.status == ItemStatus.ACTIVE
    assert client.get(f"{BASE}{item.pk}/retire/").status_code == 405


def test_detail_shows_statistics_when_present(ew, client_for):  # noqa: F811  # pytest fixture argument
    from shuyuan.learning.models import DiagnosisRun, ItemStatistic

    item = ew.items[ItemKind.SINGLE]
    client = client_for(ew.teacher)
    assert "Facility" not in client.get(f"{BASE}{item.pk}/").content.decode()
    run = DiagnosisRun.objects.create()
    ItemStatistic.objects.create(
        item=item, run=run, n_responses=12, facility=0.75, discrimination=0.4
    )
    body = client.get(f"{BASE}{item.pk}/").content.decode()
    assert "Facility" in body and "0.75" in body and "0.40" in body


def test_point_search(ew, client_for):  # noqa: F811  # pytest fixture argument
    body = client_for(ew.teacher).get(f"{BASE}points/", {"kp_q": "square"}).content.decode()
    assert "math-square-roots" in body and 'data-code="math-square-roots"' in body


# --- QTI ------------------------------------------------------------------------------------------


def _upload(data: bytes, name: str = "items.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/zip")


def _package(*kinds: str, points: tuple[str, ...] = ("math-pythagoras",)) -> bytes:
    entries = []
    for kind in kinds:
        stem, content = CONTENTS[kind]
        entries.append(
            qti.QtiItem(
                identifier=str(uuid.uuid4()),
                kind=kind,
                stem=stem,
                content=content,
                difficulty=1,
                knowledge_points=list(points),
                explanation="",
                title=stem[:20],
            )
        )
    return qti.export_package(entries)


def test_import_happy_path_shows_the_report(ew, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.teacher)
    assert client.get(f"{BASE}import/").status_code == 200
    before = Item.objects.count()
    data = _package(ItemKind.SINGLE, ItemKind.ORDERING, ItemKind.NUMERIC)
    response = client.post(f"{BASE}import/", {"org": ew.w.tree.school_a.pk, "file": _upload(data)})
    assert response.status_code == 303
    assert Item.objects.count() == before + 3
    report = client.get(f"{BASE}import/").content.decode()
    assert "3 questions added" in report and "0 questions revised" in report
    # the report is shown once
    assert "Import report" not in client.get(f"{BASE}import/").content.decode()


def test_import_malformed_is_422_and_stores_nothing(ew, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.teacher)
    before = Item.objects.count()
    response = client.post(
        f"{BASE}import/",
        {"org": ew.w.tree.school_a.pk, "file": _upload(b"<qti-assessment-item", "bad.zip")},
    )
    assert response.status_code == 422
    assert "bad.zip" in response.content.decode()
    assert Item.objects.count() == before


def test_import_unknown_code_is_422_naming_it(ew, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.teacher)
    before = Item.objects.count()
    data = _package(ItemKind.SINGLE, ItemKind.TRUE_FALSE, points=("math-unheard-of",))
    response = client.post(f"{BASE}import/", {"org": ew.w.tree.school_a.pk, "file": _upload(data)})
    assert response.status_code == 422
    assert "math-unheard-of" in response.content.decode()
    assert Item.objects.count() == before


def test_import_into_another_schools_bank_is_refused(ew, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.teacher)
    data = _package(ItemKind.SINGLE)
    response = client.post(f"{BASE}import/", {"org": ew.w.tree.school_b.pk, "file": _upload(data)})
    assert response.status_code == 422
    assert not Item.objects.filter(org=ew.w.tree.school_b).exists()


def test_export_import_round_trip(ew, client_for):  # noqa: F811  # pytest fixture argument
    client = client_for(ew.teacher)
    response = client.get(f"{BASE}export/", {"kind": "single"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="items-')
    parsed = qti.parse_package(response.content, filename="export.zip")
    assert [p.kind for p in parsed] == [ItemKind.SINGLE]
    chosen = [ew.items[ItemKind.MATCHING].pk, ew.items[ItemKind.SHORT_ANSWER].pk]
    selected = client.get(f"{BASE}export/", {"ids": chosen})
    package = selected.content
    assert {p.kind for p in qti.parse_package(package, filename="s.zip")} == {
        ItemKind.MATCHING,
        ItemKind.SHORT_ANSWER,
    }
    # teacher_b cannot export School A's questions by id: nothing to export
    assert client_for(ew.w.teacher_b).get(f"{BASE}export/", {"ids": chosen}).status_code == 303
    # importing our own export revises the same questions (no change: same version)
    again = client.post(f"{BASE}import/", {"org": ew.w.tree.school_a.pk, "file": _upload(package)})
    assert again.status_code == 303
    assert "2 questions revised" in client.get(f"{BASE}import/").content.decode()
    assert ItemVersion.objects.filter(item_id__in=chosen).count() == 2
    # a new-bank teacher (School B) imports it as new questions of School B? No: identifiers
    # exist in School A, which School B cannot change.
    refused = client_for(ew.w.teacher_b).post(
        f"{BASE}import/", {"org": ew.w.tree.school_b.pk, "file": _upload(package)}
    )
    assert refused.status_code == 422
    assert queries.list_items(ew.w.teacher_b).count() == 0
