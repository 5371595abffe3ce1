"""Tests of QTI 3.0 import and export (pure, no database): round trips of every kind, items as
other tools write them, and hostile or broken input (malformed XML, XXE, entity expansion, path
traversal, zip bombs).
"""

from __future__ import annotations

import io
import struct
import uuid
import zipfile
from typing import Any

import pytest

from shuyuan.learning.exams import qti
from shuyuan.learning.exams.content import KINDS, mark, validate_content
from shuyuan.learning.exams.qti import QtiError, QtiItem, export_package, parse_package

from .exam_world import CONTENTS


def make_item(kind: str, **changes: Any) -> QtiItem:
    stem, raw = CONTENTS[kind]
    values: dict[str, Any] = {
        "identifier": str(uuid.uuid5(uuid.NAMESPACE_URL, kind)),
        "kind": kind,
        "stem": stem,
        "content": validate_content(kind, stem, raw),
        "difficulty": 3,
        "knowledge_points": ["math-pythagoras", "math-square-roots"],
        "explanation": f"Why {kind}:\nbecause.",
        "title": f"A {kind} item",
    }
    values.update(changes)
    return QtiItem(**values)


def zip_of(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def item_doc(body: str, declarations: str = "", *, identifier: str = "q3", extra: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
    identifier="{identifier}" title="Imported" adaptive="false" time-dependent="false">
  {declarations}
  <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>
  <qti-item-body>{body}</qti-item-body>
  {extra}
</qti-assessment-item>"""


CHOICE_DECLARATION = """
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">
    <qti-correct-response><qti-value>ChoiceB</qti-value></qti-correct-response>
  </qti-response-declaration>"""


def raises(data: bytes | str, code: str = "MALFORMED_QTI", filename: str = "") -> QtiError:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(QtiError) as caught:
        parse_package(raw, filename=filename)
    assert caught.value.code == code
    assert caught.value.field == "file"
    return caught.value


# --- round trip -------------------------------------------------------------------------------


def test_round_trip_of_every_kind() -> None:
    items = [make_item(kind) for kind in KINDS]
    data = export_package(items)
    assert parse_package(data, filename="bank.zip") == items
    assert export_package(items) == data  # deterministic


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_without_metadata_or_explanation(kind: str) -> None:
    item = make_item(kind, identifier=f"item-{kind}", explanation="", title="", difficulty=1)
    item.knowledge_points = []
    assert parse_package(export_package([item])) == [item]


def test_package_layout() -> None:
    item = make_item("single")
    with zipfile.ZipFile(io.BytesIO(export_package([item]))) as archive:
        names = archive.namelist()
        manifest = archive.read("imsmanifest.xml").decode()
        document = archive.read(f"items/I{item.identifier}.xml").decode()
    assert names == ["imsmanifest.xml", f"items/I{item.identifier}.xml"]
    assert 'xmlns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"' in manifest
    assert 'type="imsqti_item_xmlv3p0"' in manifest
    assert "<sy:difficulty>3</sy:difficulty>" in manifest
    assert '<sy:knowledge-point code="math-pythagoras" />' in manifest
    assert '<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0"' in document
    assert '<qti-choice-interaction response-identifier="RESPONSE"' in document


def test_kind_specific_markup() -> None:
    def document(kind: str) -> str:
        item = make_item(kind, identifier="x")
        return qti.item_xml(item).decode()

    numeric = document("numeric")
    assert 'base-type="float"' in numeric
    assert 'tolerance-mode="absolute" tolerance="0.01 0.01"' in numeric
    fill = document("fill_blank")
    assert fill.count("<qti-text-entry-interaction") == 2
    assert 'map-key="nine" mapped-value="1" case-sensitive="false"' in fill
    matching = document("matching")
    assert 'base-type="directedPair"' in matching
    assert matching.count("<qti-simple-match-set>") == 2
    assert 'cardinality="ordered"' in document("ordering")
    short = document("short_answer")
    assert '<qti-rubric-block use="scoring" view="scorer">' in short
    assert "<li>[2] Computes 25 + 144 = 169</li>" in short
    assert "qti-extended-text-interaction" in short
    true_false = document("true_false")
    assert 'identifier="true"' in true_false
    assert 'identifier="false"' in true_false


def test_stems_with_lines_units_and_escaping_survive() -> None:
    items = [
        make_item(
            "single",
            identifier="lines",
            stem="First line <b>not markup</b> & more\n\nThird line",
        ),
        make_item(
            "numeric",
            identifier="unit",
            content=validate_content("numeric", "x", {"value": 2.5, "tolerance": 0, "unit": "cm"}),
        ),
        make_item(
            "fill_blank",
            identifier="blanks",
            stem="___ starts\nand ends ___",
            content=validate_content(
                "fill_blank",
                "___ a ___",
                {"blanks": [{"accepted": ["A"], "case_sensitive": True}, {"accepted": ["b"]}]},
            ),
        ),
        make_item(
            "short_answer",
            identifier="rubric",
            content=validate_content(
                "short_answer",
                "x",
                {
                    "rubric": [{"criterion": "[tricky] criterion", "points": 1.5}],
                    "model_answer": "line 1\nline 2",
                },
            ),
        ),
    ]
    assert parse_package(export_package(items)) == items


def test_a_bare_item_imports_with_defaults() -> None:
    item = make_item("multiple", identifier="bare")
    [parsed] = parse_package(qti.item_xml(item), filename="bare.xml")
    assert parsed.difficulty == 2
    assert parsed.knowledge_points == []
    assert (parsed.kind, parsed.stem, parsed.content) == (item.kind, item.stem, item.content)


def test_zip_without_manifest_takes_every_item() -> None:
    data = zip_of(
        {
            "a/one.xml": qti.item_xml(make_item("single", identifier="one")),
            "b/two.xml": qti.item_xml(make_item("ordering", identifier="two")),
            "test.xml": '<qti-assessment-test xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0"/>',
            "readme.txt": "not xml",
        }
    )
    items = parse_package(data)
    assert [(i.identifier, i.kind, i.difficulty) for i in items] == [
        ("one", "single", 2),
        ("two", "ordering", 2),
    ]


# --- other tools ------------------------------------------------------------------------------

FOREIGN_CHOICE = """<?xml version="1.0" encoding="UTF-8"?>
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:schemaLocation="http://www.imsglobal.org/xsd/imsqtiasi_v3p0 https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
    identifier="choice-1" title="  Capital  cities " adaptive="false" time-dependent="false"
    xml:lang="en">
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">
    <qti-correct-response>
      <qti-value>ChoiceB</qti-value>
    </qti-correct-response>
  </qti-response-declaration>
  <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float">
    <qti-default-value><qti-value>0</qti-value></qti-default-value>
  </qti-outcome-declaration>
  <qti-item-body>
    <div class="stimulus">
      <p>Read the <strong>map</strong> carefully.</p>
      <img src="map.png" alt="A map"/>
    </div>
    <qti-choice-interaction response-identifier="RESPONSE" shuffle="true" max-choices="1">
      <qti-prompt>Which city is the <em>capital</em>
         of France?</qti-prompt>
      <qti-simple-choice identifier="ChoiceA"><p>Lyon</p></qti-simple-choice>
      <qti-simple-choice identifier="ChoiceB">Paris <span class="note">(city)</span>
      </qti-simple-choice>
      <qti-simple-choice identifier="ChoiceC" fixed="true">Nice</qti-simple-choice>
    </qti-choice-interaction>
    <qti-feedback-block outcome-identifier="FEEDBACK" identifier="correct" show-hide="show">
      <p>Well done.</p>
    </qti-feedback-block>
  </qti-item-body>
  <qti-response-processing
      template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct.xml"/>
</qti-assessment-item>
"""


def test_a_choice_item_as_another_tool_writes_it() -> None:
    [item] = parse_package(FOREIGN_CHOICE.encode(), filename="choice.xml")
    assert item.identifier == "choice-1"
    assert item.title == "Capital  cities"
    assert item.kind == "single"
    assert item.stem == "Read the map carefully.\nWhich city is the capital of France?"
    assert item.content == {
        "options": [
            {"id": "ChoiceA", "text": "Lyon"},
            {"id": "ChoiceB", "text": "Paris (city)"},
            {"id": "ChoiceC", "text": "Nice"},
        ],
        "correct": "ChoiceB",
    }
    assert (item.difficulty, item.knowledge_points, item.explanation) == (2, [], "")
    assert mark(item.kind, item.content, "ChoiceB") == 1.0


def test_foreign_numeric_fill_blank_and_essay() -> None:
    numeric = item_doc(
        "<p>Pi to two places: <qti-text-entry-interaction response-identifier='R'/></p>",
        """<qti-response-declaration identifier="R" cardinality="single" base-type="float">
             <qti-correct-response><qti-value>3.14</qti-value></qti-correct-response>
           </qti-response-declaration>""",
        extra="""<qti-response-processing><qti-response-condition><qti-response-if>
            <qti-equal tolerance-mode="relative" tolerance="1"><qti-variable identifier="R"/>
            <qti-correct identifier="R"/></qti-equal></qti-response-if></qti-response-condition>
            </qti-response-processing>""",
    )
    [item] = parse_package(numeric.encode())
    assert item.kind == "numeric"
    assert item.stem == "Pi to two places:"
    assert item.content["value"] == 3.14
    assert item.content["tolerance"] == pytest.approx(0.0314)

    blank = item_doc(
        "<p>H<sub>2</sub>O is <qti-text-entry-interaction response-identifier='R'/>.</p>",
        """<qti-response-declaration identifier="R" cardinality="single" base-type="string">
             <qti-correct-response><qti-value>Water</qti-value></qti-correct-response>
           </qti-response-declaration>""",
    )
    [item] = parse_package(blank.encode())
    assert item.kind == "fill_blank"
    assert item.stem == "H2O is ___."
    assert item.content == {"blanks": [{"accepted": ["Water"], "case_sensitive": True}]}

    essay = item_doc(
        "<p>Discuss.</p><qti-extended-text-interaction response-identifier='R'/>",
        '<qti-response-declaration identifier="R" cardinality="single" base-type="string"/>',
    ).replace('base-type="float"/>', 'base-type="float" normal-maximum="6"/>')
    [item] = parse_package(essay.encode())
    assert item.kind == "short_answer"
    assert item.content == {
        "rubric": [{"criterion": "Overall answer", "points": 6.0}],
        "model_answer": "",
    }


# --- broken and hostile input -----------------------------------------------------------------


def test_malformed_xml() -> None:
    error = raises("<qti-assessment-item><p></qti-assessment-item>", filename="bad.xml")
    assert error.message.startswith("bad.xml: not well-formed XML")


def test_empty_and_wrong_root() -> None:
    raises(b"  ", filename="empty.xml")
    error = raises("<html/>", filename="page.xml")
    assert "qti-assessment-item" in error.message


def test_xxe_is_refused() -> None:
    xxe = """<?xml version="1.0"?>
<!DOCTYPE qti-assessment-item [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="x"
  title="&xxe;" time-dependent="false"/>"""
    error = raises(xxe, filename="xxe.xml")
    assert error.message == "xxe.xml: DTDs and entities are not allowed"


def test_entity_expansion_is_refused() -> None:
    laughs = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<qti-assessment-item identifier="x" title="&lol3;"/>"""
    item_zip = zip_of({"items/x.xml": laughs})
    error = raises(item_zip)
    assert error.message.startswith("items/x.xml: ")


def test_zip_with_parent_path_is_refused() -> None:
    data = zip_of({"items/../../evil.xml": qti.item_xml(make_item("single", identifier="e"))})
    error = raises(data)
    assert error.location == "items/../../evil.xml"
    raises(zip_of({"/abs.xml": "<x/>"}))
    raises(zip_of({"..\\win.xml": "<x/>"}))


def test_manifest_href_outside_the_package_is_refused() -> None:
    manifest = """<manifest xmlns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
      identifier="M"><resources><resource identifier="r1" type="imsqti_item_xmlv3p0"
      href="../outside.xml"/></resources></manifest>"""
    error = raises(zip_of({"imsmanifest.xml": manifest}))
    assert "unsafe path" in error.message
    missing = manifest.replace("../outside.xml", "items/missing.xml")
    error = raises(zip_of({"imsmanifest.xml": missing}))
    assert error.message == "imsmanifest.xml: resource r1: items/missing.xml is not in the package"


def _declare_size(data: bytes, name: str, size: int) -> bytes:
    """``data`` (a zip) with the central directory claiming ``size`` bytes for ``name``."""
    raw = bytearray(data)
    header = raw.find(b"PK\x01\x02")
    while header != -1:
        name_length = struct.unpack_from("<H", raw, header + 28)[0]
        if raw[header + 46 : header + 46 + name_length] == name.encode():
            struct.pack_into("<I", raw, header + 24, size)
            return bytes(raw)
        header = raw.find(b"PK\x01\x02", header + 4)
    raise AssertionError(name)


def test_zip_bomb_is_refused_before_reading() -> None:
    data = zip_of({"a.xml": "<x/>", "b.xml": "<y/>"})
    bomb = _declare_size(data, "a.xml", 3 * 1024 * 1024 * 1024 // 2)
    error = raises(bomb)
    assert "unpacks to more than 100 MB" in error.message
    big = _declare_size(data, "a.xml", 3 * 1024 * 1024)
    error = raises(big)
    assert error.message == "a.xml: larger than 2 MB"


def test_too_large_and_too_many() -> None:
    raises(b"x" * (qti.MAX_PACKAGE_BYTES + 1))
    raises(b"<a>" + b"x" * qti.MAX_XML_BYTES + b"</a>")
    raises(b"PK\x03\x04 not really a zip")


def test_too_many_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qti, "MAX_ITEMS", 2)
    items = [make_item(kind, identifier=f"i{n}") for n, kind in enumerate(KINDS[:3])]
    error = raises(export_package(items))
    assert "more than 2 items" in error.message


def test_missing_correct_response() -> None:
    declaration = CHOICE_DECLARATION.replace(
        "<qti-correct-response><qti-value>ChoiceB</qti-value></qti-correct-response>", ""
    )
    body = """<qti-choice-interaction response-identifier="RESPONSE" max-choices="1">
      <qti-simple-choice identifier="ChoiceA">A</qti-simple-choice>
      <qti-simple-choice identifier="ChoiceB">B</qti-simple-choice></qti-choice-interaction>"""
    error = raises(zip_of({"items/q3.xml": item_doc(body, declaration)}))
    assert error.message == (
        "items/q3.xml: qti-response-declaration RESPONSE: no qti-correct-response"
    )


def test_choice_without_choices() -> None:
    body = '<qti-choice-interaction response-identifier="RESPONSE" max-choices="1"/>'
    error = raises(zip_of({"items/q3.xml": item_doc(body, CHOICE_DECLARATION)}))
    assert error.message == "items/q3.xml: qti-choice-interaction: no qti-simple-choice"
    assert error.location == "items/q3.xml: qti-choice-interaction"


def test_missing_declaration_and_body() -> None:
    body = """<qti-choice-interaction response-identifier="OTHER">
      <qti-simple-choice identifier="A">A</qti-simple-choice></qti-choice-interaction>"""
    error = raises(item_doc(body, CHOICE_DECLARATION), filename="q.xml")
    assert "no qti-response-declaration for OTHER" in error.message
    no_body = item_doc("", CHOICE_DECLARATION).replace("<qti-item-body></qti-item-body>", "")
    assert "no qti-item-body" in raises(no_body).message
    assert "no interaction" in raises(item_doc("<p>Just text</p>")).message


@pytest.mark.parametrize(
    ("body", "element"),
    [
        ('<qti-hotspot-interaction response-identifier="RESPONSE"/>', "qti-hotspot-interaction"),
        (
            '<p><qti-inline-choice-interaction response-identifier="RESPONSE"/></p>',
            "qti-inline-choice-interaction",
        ),
    ],
)
def test_unsupported_interaction(body: str, element: str) -> None:
    error = raises(item_doc(body, CHOICE_DECLARATION), "UNSUPPORTED_QTI", "q.xml")
    assert error.location == f"q.xml: {element}"
    assert error.message == f"q.xml: {element}: this interaction is not supported"


def test_two_interactions_are_unsupported() -> None:
    body = (
        '<qti-extended-text-interaction response-identifier="RESPONSE"/>'
        '<qti-extended-text-interaction response-identifier="RESPONSE"/>'
    )
    raises(item_doc(body, CHOICE_DECLARATION), "UNSUPPORTED_QTI")


def test_content_errors_name_the_file_and_field() -> None:
    body = """<p>Pick one.</p>
      <qti-choice-interaction response-identifier="RESPONSE" max-choices="1">
      <qti-simple-choice identifier="ChoiceA">A</qti-simple-choice>
      <qti-simple-choice identifier="ChoiceC">C</qti-simple-choice></qti-choice-interaction>"""
    error = raises(zip_of({"items/q3.xml": item_doc(body, CHOICE_DECLARATION)}))
    assert error.message.startswith("items/q3.xml: content.correct: ")
    assert isinstance(error.__cause__, Exception)


def test_bad_metadata_and_duplicates() -> None:
    item = make_item("single", identifier="dup")
    data = export_package([item])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = archive.read("imsmanifest.xml").decode()
        document = archive.read("items/dup.xml")
    bad = manifest.replace("<sy:difficulty>3<", "<sy:difficulty>9<")
    error = raises(zip_of({"imsmanifest.xml": bad, "items/dup.xml": document}))
    assert "difficulty" in error.message
    bad = manifest.replace('code="math-pythagoras"', 'code="not a code"')
    raises(zip_of({"imsmanifest.xml": bad, "items/dup.xml": document}))
    twice = zip_of({"a.xml": document, "b.xml": document})
    assert "two items have the identifier dup" in raises(twice).message
    with pytest.raises(ValueError, match="two items"):
        export_package([item, item])
