"""The content audit on submitted versions: sensitive words, duplicates, completeness, type and
extraction findings; the word-list actions and command; SimHash."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from shuyuan.core.context import change_context, system_actor
from shuyuan.core.errors import InvalidInput, PermissionDenied
from shuyuan.core.models import AuditEvent
from shuyuan.resources.actions import submission as actions
from shuyuan.resources.actions.words import activate_word_list, create_word_list
from shuyuan.resources.audit import duplicates, words
from shuyuan.resources.audit.run import audit_version
from shuyuan.resources.choices import ResourceType, Stage, VersionStatus
from shuyuan.resources.models import AuditFinding, ResourceTag, ResourceVersion, SensitiveWordList
from shuyuan.resources.queries import resources as queries

from .test_audit_files import make_docx, make_pdf, make_pptx, upload
from .test_submission import _empty_storage  # noqa: F401  # autouse fixture: empty storage

LESSON = (
    "勾股定理是初中数学的重要内容。直角三角形两条直角边的平方和等于斜边的平方。"
    "本课通过拼图证明勾股定理，并给出三个生活中的应用例题，帮助学生理解定理的含义。"
)


def create(w: Any, actor: Any = None, **overrides: Any) -> ResourceVersion:
    fields: dict[str, Any] = {
        "org": w.tree.school_a,
        "provider_kind": "teacher",
        "provider_name": "School A",
        "title": "勾股定理第一课",
        "description": LESSON,
        "subject": w.math,
        "stage": Stage.JUNIOR,
        "grade": "08",
        "edition": w.edition,
        "chapter": w.chapter,
        "resource_type": ResourceType.DOCUMENT,
        "licence": "CC BY 4.0",
        "licence_expires": timezone.localdate() + dt.timedelta(days=30),
        "external_url": "",
        "upload": upload("lesson.docx", make_docx([LESSON])),
    }
    fields.update(overrides)
    resource = actions.create_resource(actor=actor or w.teacher_a, **fields)
    return resource.versions.get()


@pytest.fixture
def submit(django_capture_on_commit_callbacks: Any) -> Any:
    def run(version: ResourceVersion, actor: Any = None) -> ResourceVersion:
        with django_capture_on_commit_callbacks(execute=True):
            actions.submit_version(actor=actor or version.created_by, version=version)
        return ResourceVersion.objects.get(pk=version.pk)

    return run


def findings(version: ResourceVersion, code: str) -> list[AuditFinding]:
    return list(AuditFinding.objects.filter(version=version, code=code).order_by("pk"))


@pytest.fixture
def word_list(res_world: Any) -> SensitiveWordList:
    words.clear_cache()
    return create_word_list(
        actor=res_world.region_admin, words_text="网络赌博\n代考|warn\n赌博网站", note="test"
    )


# --- sensitive words ------------------------------------------------------------------------------


def test_sensitive_word_found_with_its_field(res_world, word_list, submit):
    version = create(
        res_world,
        title="网络赌博的危害",
        upload=upload("lesson.docx", make_docx([LESSON, "不要代考，也不要参与网络赌博。"])),
    )
    version = submit(version)
    assert version.status == VersionStatus.IN_REVIEW
    hits = findings(version, "SENSITIVE_WORD")
    by_field = {(f.detail["field"], f.detail["word"]): f for f in hits}
    assert set(by_field) == {("title", "网络赌博"), ("text", "网络赌博"), ("text", "代考")}
    title_hit = by_field[("title", "网络赌博")]
    assert title_hit.severity == "block" and title_hit.word_list == word_list
    assert title_hit.detail["count"] == 1 and title_hit.detail["positions"] == [0]
    assert "网络赌博" in title_hit.detail["snippet"]
    assert by_field[("text", "代考")].severity == "warn"


def test_words_match_after_nfkc_and_lower_case(res_world):
    automaton = words.build_automaton(words.parse_words("Casino\nＡＢＣ"))
    hits = words.find_words(automaton, {"title": "CASINO abc casino"})
    assert {(h.word, h.count) for h in hits} == {("casino", 2), ("abc", 1)}
    assert next(h for h in hits if h.word == "casino").positions == [0, 11]


def test_automaton_is_cached_per_list_version():
    words.clear_cache()
    first = words.automaton_for(1, 1, "a\nb")
    assert words.automaton_for(1, 1, "ignored: cached") is first
    assert words.automaton_for(1, 2, "c") is not first


def test_word_list_validation_and_permission(res_world):
    w = res_world
    with pytest.raises(InvalidInput) as exc:
        create_word_list(actor=w.region_admin, words_text="ok\nbad|maybe\n", note="")
    assert exc.value.errors[0].code == "WORDS_INVALID" and "Line 2" in exc.value.errors[0].message
    with pytest.raises(InvalidInput) as exc:
        create_word_list(actor=w.region_admin, words_text="# only a comment\n\n", note="")
    assert exc.value.code == "WORDS_EMPTY"
    with pytest.raises(PermissionDenied):
        create_word_list(actor=w.teacher_a, words_text="x", note="")
    first = create_word_list(actor=w.region_admin, words_text="a\nA\nb|warn\nb", note="v1")
    assert first.version == 1 and first.active and first.word_count == 2
    assert first.words == "a\nb"  # deduplicated; block beats warn
    second = create_word_list(actor=w.region_admin, words_text="c", note="v2")
    first.refresh_from_db()
    assert second.version == 2 and second.active and not first.active
    activate_word_list(actor=w.region_admin, word_list=first)
    assert SensitiveWordList.objects.active() == first
    assert AuditEvent.objects.filter(code="resources.word_list.activated").count() == 1
    assert list(queries.list_word_lists(w.teacher_a)) == []


def test_load_sensitive_words_command(res_world, capsys):
    call_command("load_sensitive_words")
    active = SensitiveWordList.objects.active()
    assert active is not None and active.word_count > 5 and active.created_by is None
    assert "网络赌博" in active.words
    assert "v1" in capsys.readouterr().out


# --- duplicates -----------------------------------------------------------------------------------


def test_exact_duplicate_of_another_resource(res_world, submit):
    w = res_world
    # The same bytes twice (a DOCX built again later carries other zip timestamps).
    content = make_docx([LESSON])
    first = submit(create(w, upload=upload("lesson.docx", content)))
    second = submit(
        create(
            w,
            actor=w.teacher_b,
            org=w.tree.school_b,
            title="抄来的课件",
            upload=upload("copy.docx", content),
        )
    )
    [finding] = findings(second, "DUPLICATE_EXACT")
    assert finding.severity == "block"
    assert finding.detail["resource_id"] == first.resource_id
    assert finding.detail["title"] == first.title
    # Teacher B may not learn the title of teacher A's draft; the reviewer sees it.
    [seen_by_b] = [
        f for f in queries.version_findings(w.teacher_b, second) if f.code == finding.code
    ]
    assert seen_by_b.detail["title"] == "" and seen_by_b.detail["resource_id"] == first.resource_id
    [seen_by_reviewer] = [
        f for f in queries.version_findings(w.reviewer, second) if f.code == finding.code
    ]
    assert seen_by_reviewer.detail["title"] == first.title
    # A withdrawn version no longer counts.
    actions.withdraw_version(actor=w.teacher_a, version=first)
    third = submit(
        create(
            w,
            actor=w.teacher_b,
            org=w.tree.school_b,
            title="第三份",
            upload=upload("third.docx", content),
        )
    )
    assert {f.detail["resource_id"] for f in findings(third, "DUPLICATE_EXACT")} == {
        second.resource_id
    }


def test_near_duplicate_of_another_resource(res_world, submit):
    w = res_world
    first = submit(create(w))
    edited = LESSON.replace("三个", "两个")
    second = submit(
        create(
            w,
            actor=w.teacher_b,
            org=w.tree.school_b,
            description=edited,
            upload=upload("copy.docx", make_docx([edited])),
        )
    )
    assert not findings(second, "DUPLICATE_EXACT")
    [near] = findings(second, "DUPLICATE_NEAR")
    assert near.severity == "warn" and near.detail["resource_id"] == first.resource_id
    assert near.detail["distance"] <= duplicates.NEAR_DISTANCE
    # Something else entirely is not near.
    other = submit(
        create(
            w,
            title="一次函数的图像",
            description="用描点法画一次函数的图像，观察斜率和截距对直线位置的影响，完成课后练习。",
            upload=upload("f.pdf", make_pdf("Linear functions and their graphs")),
        )
    )
    assert not findings(other, "DUPLICATE_NEAR")


def test_simhash_is_signed_64_bit_and_stable():
    value = duplicates.simhash(LESSON)
    assert value is not None and -(2**63) <= value < 2**63
    assert duplicates.simhash(LESSON) == value
    assert duplicates.simhash("太短") is None
    assert duplicates.to_signed(2**64 - 1) == -1
    assert duplicates.hamming(-1, 0) == 64


# --- completeness, type and extraction findings ---------------------------------------------------


def test_completeness_lists_missing_fields(res_world, submit):
    w = res_world
    version = submit(
        create(w, description="short", grade="", chapter=None, edition=None, licence_expires=None)
    )
    [finding] = findings(version, "METADATA_INCOMPLETE")
    assert finding.severity == "info"
    assert finding.detail["missing"] == [
        "description",
        "grade",
        "edition",
        "chapter",
        "licence_expires",
        "knowledge_points",
    ]
    assert version.completeness == 0.0


def test_complete_metadata_has_no_completeness_finding(res_world, submit):
    w = res_world
    version = create(w)
    with change_context(actor=system_actor(), source="system"):
        ResourceTag(
            resource=version.resource, knowledge_point=w.kp, source="manual", created_by=w.teacher_a
        ).save(force_insert=True)
    version = submit(version)
    assert not findings(version, "METADATA_INCOMPLETE") and version.completeness == 1.0


def test_pptx_and_pdf_text_is_extracted(res_world, submit):
    w = res_world
    deck = submit(
        create(
            w,
            resource_type=ResourceType.COURSEWARE,
            upload=upload("deck.pptx", make_pptx("Slide words", notes="Speaker notes")),
        )
    )
    assert "Slide words" in deck.extracted_text and "Speaker notes" in deck.extracted_text
    assert deck.mime_type.endswith("presentationml.presentation")


def test_type_mismatch_and_extraction_failure_are_findings(res_world, submit):
    w = res_world
    version = create(w, upload=upload("lesson.pdf", make_pdf("fine")))
    # The stored file is replaced behind the action's back (e.g. restored from a backup wrongly).
    with version.file.storage.open(version.file.name, "wb") as fh:
        fh.write(make_docx(["now a docx"]))
    version = submit(version)
    [mismatch] = findings(version, "TYPE_MISMATCH")
    assert mismatch.severity == "block" and mismatch.detail["reason"] == "FILE_TYPE_MISMATCH"
    broken = create(w, upload=upload("broken.pdf", make_pdf("x")[:60] + b"\n" * 10))
    broken = submit(broken)
    [failed] = findings(broken, "TEXT_EXTRACTION_FAILED")
    assert failed.severity == "warn" and broken.status == VersionStatus.IN_REVIEW


def test_findings_are_replaced_and_a_non_draft_is_skipped(res_world, submit):
    w = res_world
    version = submit(create(w, description="short"))
    count = AuditFinding.objects.filter(version=version).count()
    assert count >= 1
    assert audit_version(version) is None  # in review already: left alone
    assert AuditFinding.objects.filter(version=version).count() == count


def test_findings_visible_to_submitter_and_reviewer_only(res_world, submit):
    w = res_world
    version = submit(create(w, description="short"))
    assert queries.version_findings(w.teacher_a, version)
    assert queries.version_findings(w.reviewer, version)
    assert not queries.version_findings(w.teacher_b, version)
