"""Resource search: segmentation, pinyin, synonyms, filters, hostile input, visibility, the
index following listing and retirement, the page and the API (SQLite FTS5 and PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from shuyuan.core.context import change_context, system_actor
from shuyuan.core.errors import InvalidInput
from shuyuan.resources import signals
from shuyuan.resources.choices import ResourceStatus, ResourceType, TagSource, VersionStatus
from shuyuan.resources.models import Resource, ResourceTag, ResourceVersion
from shuyuan.resources.models.search import SearchDocument
from shuyuan.resources.queries.search import search_resources
from shuyuan.resources.search import backends, tokenize
from shuyuan.resources.search.highlight import highlight
from shuyuan.resources.search.index import reindex, reindex_all

HOSTILE = [
    '"',
    '"勾股',
    "NEAR(",
    "NEAR(勾股 定理, 2)",
    "*",
    "gou*",
    "^title",
    "a OR",
    "AND OR NOT",
    "title:勾股",
    "{title}: x",
    "(((",
    "')--",
    "\\",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "x" * 10_000,
    "勾股定理" * 3000,
    "\x00\x01",
    "!&|:*",
]


def _listed(
    world,
    title,
    description="",
    *,
    kp=None,
    subject=None,
    grade="08",
    resource_type=ResourceType.COURSEWARE,
    status=ResourceStatus.LISTED,
    quality=None,
    org=None,
    creator=None,
):
    """A resource with one approved version, created directly as the system actor."""
    creator = creator or world.teacher_a
    with change_context(actor=system_actor(), source="system"):
        resource = Resource(
            org=org or world.tree.school_a,
            provider_kind="school",
            provider_name="School A",
            created_by=creator,
            status=ResourceStatus.DRAFT,
            quality_score=quality,
        )
        resource.save(force_insert=True)
        version = ResourceVersion(
            resource=resource,
            number=1,
            status=VersionStatus.APPROVED,
            title=title,
            description=description,
            subject=subject or world.math,
            stage="junior",
            grade=grade,
            resource_type=resource_type,
            licence="CC BY 4.0",
            created_by=creator,
        )
        version.save(force_insert=True)
        if kp is not None:
            ResourceTag(
                resource=resource, knowledge_point=kp, source=TagSource.MANUAL, created_by=creator
            ).save(force_insert=True)
        resource.status = status
        if status == ResourceStatus.LISTED:
            resource.listed_version = version
            resource.listed_at = timezone.now()
        resource.save()
    reindex([resource.pk])
    return resource


@pytest.fixture
def corpus(res_world):
    w = res_world
    with change_context(actor=system_actor(), source="system"):
        w.kp.name = "勾股定理"
        w.kp.save()
    pyth = _listed(
        w,
        "《勾股定理》课件——人教版八年级下册",
        "本课件讲解勾股定理的证明与应用。",
        kp=w.kp,
        quality=90,
    )
    quad = _listed(
        w,
        "一元二次方程微课",
        "配方法与公式法解一元二次方程。",
        resource_type=ResourceType.MICRO_LESSON,
        grade="09",
        quality=60,
    )
    phys = _listed(
        w,
        "牛顿第一定律教学视频",
        "惯性与牛顿第一定律的实验探究。",
        subject=w.physics,
        resource_type=ResourceType.VIDEO,
        quality=70,
    )
    draft = _listed(
        w, "勾股定理草稿课件", "尚未上架的勾股定理资源。", status=ResourceStatus.IN_REVIEW
    )
    retired = _listed(
        w, "勾股定理旧版课件", "已经退役的勾股定理资源。", status=ResourceStatus.RETIRED
    )
    return {"w": w, "pyth": pyth, "quad": quad, "phys": phys, "draft": draft, "retired": retired}


def _ids(page):
    return [h.resource.pk for h in page.hits]


# --- tokenisation ------------------------------------------------------------------------------


def test_segment_and_pinyin():
    tokens = tokenize.segment("勾股定理的證明")
    assert "勾股定理" in tokens and "证明" in tokens  # traditional folded to simplified
    terms = tokenize.pinyin_terms(["勾股定理", "定理"])
    assert {"gougudingli", "ggdl", "dingli", "dl"} <= set(terms)


def test_synonyms_expand_to_the_group():
    clauses = tokenize.parse_query("毕达哥拉斯定理")
    assert len(clauses) == 1
    assert ("勾股定理",) in clauses[0].alternatives


@pytest.mark.parametrize("query", HOSTILE)
def test_parse_query_accepts_anything(query):
    clauses = tokenize.parse_query(query)
    assert len(clauses) <= tokenize.MAX_CLAUSES
    for clause in clauses:
        for token in clause.terms:
            assert token and all(ch.isalnum() for ch in token)


def test_highlight_segments_and_pinyin():
    segments = highlight("<b>勾股定理</b>", ["勾股定理"])
    assert ("勾股定理", True) in segments
    assert "".join(t for t, _m in segments) == "<b>勾股定理</b>"
    assert any(m and t == "勾股定理" for t, m in highlight("学习勾股定理", [], latin=["ggdl"]))
    long = "前言" * 200 + "勾股定理" + "后记" * 200
    cut = highlight(long, ["勾股定理"], max_chars=40)
    assert cut[0] == (highlight.__globals__["ELLIPSIS"], False)
    assert ("勾股定理", True) in cut


# --- search ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "gougu",
        "ggdl",
        "勾股定理",
        "毕达哥拉斯定理",
        "勾股定理 课件",
        "gougudingli",
        "GouGu",
        "勾股定理 PPT",
    ],
)
def test_pythagoras_is_found(corpus, query):
    page = search_resources(corpus["w"].teacher_b, query)
    assert _ids(page)[:1] == [corpus["pyth"].pk], query


def test_title_is_highlighted_for_a_pinyin_query(corpus):
    page = search_resources(corpus["w"].teacher_b, "ggdl")
    assert ("勾股定理", True) in page.hits[0].title


def test_unlisted_and_retired_are_never_found(corpus):
    w = corpus["w"]
    for user in (w.student_a, w.teacher_a, w.reviewer, w.region_admin):
        ids = _ids(search_resources(user, "勾股定理"))
        assert corpus["draft"].pk not in ids and corpus["retired"].pk not in ids
        assert corpus["pyth"].pk in ids
    assert not SearchDocument.objects.filter(
        resource_id__in=[corpus["draft"].pk, corpus["retired"].pk]
    ).exists()


def test_student_sees_listed_resources(corpus):
    page = search_resources(corpus["w"].student_a, "牛顿第一定律")
    assert _ids(page) == [corpus["phys"].pk]


def test_filters(corpus):
    w = corpus["w"]
    user = w.teacher_b
    assert _ids(search_resources(user, "", subject="physics")) == [corpus["phys"].pk]
    assert _ids(search_resources(user, "", resource_type="micro_lesson")) == [corpus["quad"].pk]
    assert _ids(search_resources(user, "", grade="09")) == [corpus["quad"].pk]
    assert _ids(search_resources(user, "", knowledge_point="math-pythagoras")) == [
        corpus["pyth"].pk
    ]
    assert _ids(search_resources(user, "勾股定理", subject="physics")) == []
    assert _ids(search_resources(user, "课件", knowledge_point="math-pythagoras")) == [
        corpus["pyth"].pk
    ]
    assert _ids(search_resources(user, "微课", grade="09", stage="junior")) == [corpus["quad"].pk]
    assert _ids(search_resources(user, "微课", grade="08")) == []
    assert _ids(search_resources(user, "定律", stage="junior", subject="physics")) == [
        corpus["phys"].pk
    ]
    # Empty query: every listed resource, best quality first.
    assert _ids(search_resources(user, "")) == [
        corpus["pyth"].pk,
        corpus["phys"].pk,
        corpus["quad"].pk,
    ]


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("subject", {"subject": "nope"}),
        ("stage", {"stage": "kindergarten"}),
        ("grade", {"grade": "13"}),
        ("resource_type", {"resource_type": "novel"}),
        ("knowledge_point", {"knowledge_point": "nope"}),
    ],
)
def test_bad_filters_name_the_field(corpus, field, kwargs):
    with pytest.raises(InvalidInput) as exc:
        search_resources(corpus["w"].teacher_b, "", **kwargs)
    assert exc.value.field == field


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_do_not_fail(corpus, query):
    page = search_resources(corpus["w"].teacher_b, query)
    assert page.total >= 0


def test_words_not_all_present_fall_back_to_any(corpus):
    page = search_resources(corpus["w"].teacher_b, "勾股定理 牛顿第一定律")
    assert set(_ids(page)) == {corpus["pyth"].pk, corpus["phys"].pk}


def test_quality_boost_orders_equal_matches(res_world):
    low = _listed(res_world, "光合作用课件", "光合作用", quality=10)
    high = _listed(res_world, "光合作用课件", "光合作用", quality=95)
    assert _ids(search_resources(res_world.teacher_a, "光合作用")) == [high.pk, low.pk]


def test_paging(res_world):
    made = [_listed(res_world, f"浮力练习 {i}", "浮力", quality=i) for i in range(5)]
    first = search_resources(res_world.teacher_a, "浮力", per_page=2)
    third = search_resources(res_world.teacher_a, "浮力", per_page=2, page=3)
    assert first.total == 5 and first.num_pages == 3 and first.has_next
    assert _ids(first) == [made[4].pk, made[3].pk]
    assert _ids(third) == [made[0].pk]


# --- the index follows the signals -------------------------------------------------------------


def test_index_follows_listing_and_retirement(res_world, django_capture_on_commit_callbacks):
    w = res_world
    resource = _listed(
        w, "欧姆定律实验", "欧姆定律", subject=w.physics, status=ResourceStatus.IN_REVIEW
    )
    assert not _ids(search_resources(w.student_a, "欧姆定律"))
    version = resource.versions.get()
    with change_context(actor=system_actor(), source="system"):
        resource.status = ResourceStatus.LISTED
        resource.listed_version = version
        resource.save()
    with django_capture_on_commit_callbacks(execute=True):
        signals.version_listed.send(
            sender=ResourceVersion, version=version, previous=None, actor=w.reviewer
        )
    assert _ids(search_resources(w.student_a, "欧姆定律")) == [resource.pk]
    assert _ids(search_resources(w.student_a, "oumu")) == [resource.pk]
    with change_context(actor=system_actor(), source="system"):
        resource.status = ResourceStatus.RETIRED
        resource.retired_at = timezone.now()
        resource.save()
    with django_capture_on_commit_callbacks(execute=True):
        signals.resource_changed.send(sender=Resource, resource_id=resource.pk)
    assert not _ids(search_resources(w.student_a, "欧姆定律"))
    assert not SearchDocument.objects.filter(resource_id=resource.pk).exists()


def test_retag_and_rescore_are_reindexed(res_world, django_capture_on_commit_callbacks):
    w = res_world
    resource = _listed(w, "直角三角形专题", "边长关系")
    assert not _ids(search_resources(w.teacher_a, "", knowledge_point="math-pythagoras"))
    with change_context(actor=system_actor(), source="system"):
        ResourceTag(
            resource=resource, knowledge_point=w.kp, source=TagSource.MANUAL, created_by=w.teacher_a
        ).save(force_insert=True)
    with django_capture_on_commit_callbacks(execute=True):
        signals.resource_changed.send(sender=Resource, resource_id=resource.pk)
    assert _ids(search_resources(w.teacher_a, "", knowledge_point="math-pythagoras")) == [
        resource.pk
    ]
    # The knowledge point's name is searchable, also in pinyin (the fixture names it in English).
    assert _ids(search_resources(w.teacher_a, "pythagorean")) == [resource.pk]


def test_reindex_all_drops_stale_documents(corpus):
    with change_context(actor=system_actor(), source="system"):
        quad = corpus["quad"]
        quad.status = ResourceStatus.RETIRED
        quad.save()
    assert SearchDocument.objects.filter(resource_id=quad.pk).exists()  # stale until rebuilt
    written = reindex_all(chunk=1)
    assert written == 2
    assert set(SearchDocument.objects.values_list("resource_id", flat=True)) == {
        corpus["pyth"].pk,
        corpus["phys"].pk,
    }
    assert _ids(search_resources(corpus["w"].teacher_b, "gougu")) == [corpus["pyth"].pk]


def test_backend_matches_database(db):
    engine = backends.backend()
    assert engine.vendor == connection.vendor


# --- page and API ------------------------------------------------------------------------------


def test_page_renders_with_escaped_highlights(corpus, client_for):
    w = corpus["w"]
    evil = _listed(w, "<script>alert(1)</script>勾股定理", "<img src=x onerror=alert(1)>")
    client = client_for(w.student_a)
    response = client.get("/resources/", {"q": "勾股定理"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<mark>勾股定理</mark>" in body
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body
    assert f'href="/resources/{evil.pk}/"' in body
    assert 'value="勾股定理"' in body
    assert "勾股定理草稿课件" not in body


def test_page_filters_htmx_and_bad_input(corpus, client_for):
    client = client_for(corpus["w"].teacher_b)
    response = client.get(
        "/resources/",
        {"q": "", "subject": "physics"},
        headers={"HX-Request": "true", "HX-Target": "results"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "牛顿第一定律" in body and "<html" not in body
    response = client.get("/resources/", {"q": 'NEAR("', "grade": "99"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    for query in HOSTILE[:8]:
        assert client.get("/resources/", {"q": query}).status_code == 200


def test_page_pinyin_query_marks_title_and_snippet(corpus, client_for):
    body = client_for(corpus["w"].student_a).get("/resources/", {"q": "ggdl"}).content.decode()
    assert body.count("<mark>勾股定理</mark>") == 2  # title and description
    assert "Quality 5 of 5" in body  # quality score 90
    assert 'value="ggdl"' in body


def test_page_without_parameters_lists_by_quality(corpus, client_for):
    body = client_for(corpus["w"].student_a).get("/resources/").content.decode()
    assert body.index("勾股定理") < body.index("牛顿第一定律") < body.index("一元二次方程")
    assert "3 resources found" in body


def test_page_needs_sign_in(client):
    response = client.get("/resources/")
    assert response.status_code == 302


def test_api_search(corpus, client_for):
    client = client_for(corpus["w"].student_a)
    response = client.get("/api/v1/resources/search", {"q": "ggdl"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["total"] == 1 and data["exact"] is True
    item = data["items"][0]
    assert item["id"] == corpus["pyth"].pk
    assert item["subject"] == "math" and item["type"] == "courseware"
    assert {"text": "勾股定理", "match": True} in item["title_segments"]
    assert item["quality"] == 90 and item["score"] > 0
    assert "took_ms" in data


def test_api_filters_and_errors(corpus, client_for):
    client = client_for(corpus["w"].teacher_b)
    data = client.get("/api/v1/resources/search", {"subject": "physics"}).json()
    assert [i["id"] for i in data["items"]] == [corpus["phys"].pk]
    response = client.get("/api/v1/resources/search", {"subject": "nope"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "subject"
    response = client.get("/api/v1/resources/search", {"q": "x" * 10_000 + '"NEAR('})
    assert response.status_code == 200
    assert client.get("/api/v1/resources/search", {"per_page": 500}).status_code == 422
    data = client.get(
        "/api/v1/resources/search", {"q": "kejian", "knowledge_point": "math-pythagoras"}
    ).json()
    assert [i["id"] for i in data["items"]] == [corpus["pyth"].pk]
    response = client.get("/api/v1/resources/search", {"grade": "13"})
    assert response.status_code == 422


def test_api_needs_authentication(client):
    assert client.get("/api/v1/resources/search", {"q": "x"}).status_code == 401


# --- filter terms, exact-match bonus, capped counts --------------------------------------------


def test_documents_hold_filter_and_exact_terms(corpus):
    w = corpus["w"]
    facets = SearchDocument.objects.get(resource_id=corpus["pyth"].pk).facets.split()
    assert f"s{w.math.pk}" in facets
    assert {"stjunior", "g08", "tcourseware", f"k{w.kp.pk}"} <= set(facets)
    assert tokenize.exact_term("勾股定理") in facets
    assert tokenize.exact_term("勾股定理").startswith(tokenize.EXACT_MARK)
    # Untagged resources have no exact term.
    facets = SearchDocument.objects.get(resource_id=corpus["phys"].pk).facets.split()
    assert not [t for t in facets if t.startswith(tokenize.EXACT_MARK)]


def test_exact_terms_of_a_query():
    assert tokenize.exact_term(" 勾股 定理！") == tokenize.exact_term("勾股定理")
    assert tokenize.exact_term("ＡＢ c") == "xabc"
    assert tokenize.exact_term("!!") == ""
    clauses = tokenize.parse_query("勾股定理 视频")
    exact = tokenize.exact_terms("勾股定理 视频", clauses)
    assert tokenize.exact_term("勾股定理") in exact
    assert tokenize.exact_term("勾股定理视频") in exact
    assert tokenize.exact_terms("", []) == []


def test_exact_knowledge_point_name_ranks_first(res_world):
    w = res_world
    with change_context(actor=system_actor(), source="system"):
        w.kp.name = "勾股定理"
        w.kp.save()
        converse = w.kp.__class__(
            code="math-pythagoras-converse",
            name="勾股定理的逆定理",
            subject=w.math,
            stage="junior",
            grade="08",
        )
        converse.save(force_insert=True)
    # The converse resource has the better quality and the shorter text: without the bonus it
    # would rank first for the query naming the other point.
    other = _listed(w, "勾股定理的逆定理", "勾股定理", kp=converse, quality=100)
    exact = _listed(
        w, "勾股定理课件与练习及拓展阅读材料", "勾股定理的证明与应用举例", kp=w.kp, quality=0
    )
    assert _ids(search_resources(w.teacher_a, "勾股定理")) == [exact.pk, other.pk]
    assert _ids(search_resources(w.teacher_a, "勾股定理的逆定理"))[0] == other.pk
    scores = {h.resource.pk: h.score for h in search_resources(w.teacher_a, "勾股定理").hits}
    clauses = tokenize.parse_query("勾股定理")
    plain = {
        h.resource_id: h.score
        for h in backends.backend().search(clauses, backends.Filters(), 10).hits
    }
    assert scores[exact.pk] == pytest.approx(plain[exact.pk] * backends.EXACT_BONUS)
    assert scores[other.pk] == pytest.approx(plain[other.pk])


def test_filters_combine_with_text_inside_the_index(corpus):
    w = corpus["w"]
    extra = _listed(w, "勾股定理微课", "勾股定理", resource_type=ResourceType.MICRO_LESSON)
    engine = backends.backend()
    clauses = tokenize.parse_query("勾股定理")
    both = engine.search(
        clauses, backends.Filters(subject_id=w.math.pk, resource_type="micro_lesson"), 10
    )
    assert [h.resource_id for h in both.hits] == [extra.pk]
    none = engine.search(clauses, backends.Filters(subject_id=w.physics.pk, grade="08"), 10)
    assert none.hits == [] and none.total == 0


def test_counts_are_capped(corpus, monkeypatch):
    w = corpus["w"]
    monkeypatch.setattr(backends, "CANDIDATES", 2)
    page = search_resources(w.teacher_b, "")
    assert page.total == 2 and page.exact is False
    page = search_resources(w.teacher_b, "", subject="math")
    assert page.total == 2 and page.exact is False
    assert len(page.hits) == 2
    page = search_resources(w.teacher_b, "", subject="physics")
    assert page.total == 1 and page.exact is True


def test_results_need_no_query_per_hit(corpus, django_assert_num_queries):
    page = search_resources(corpus["w"].teacher_b, "")
    assert len(page.hits) == 3
    with django_assert_num_queries(0):
        for hit in page.hits:
            version = hit.resource.listed_version
            assert version.title and version.description
            assert version.subject.code and version.subject.name
            assert version.get_resource_type_display() and version.stage and version.grade
            assert hit.resource.provider_name and hit.resource.quality_score is not None
