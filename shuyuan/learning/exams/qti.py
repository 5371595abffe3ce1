"""QTI 3.0 import and export of items (pure: bytes in, bytes out, no database).

Export writes an IMS content package: ``imsmanifest.xml`` (namespace
``http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1``) and one ``items/<identifier>.xml`` per
item, a ``qti-assessment-item`` in the QTI 3.0 namespace. Import reads such a package, a zip
of item files without a manifest, or one bare item document.

Mapping per kind
    single, multiple, true_false
        ``qti-choice-interaction`` (``max-choices`` 1 or 0); true/false are two simple choices
        with the identifiers ``true`` and ``false``.
    fill_blank
        one ``qti-text-entry-interaction`` per blank where the stem has ``___``, declarations
        ``RESPONSE_1`` .. with a ``qti-mapping`` of the accepted strings (``case-sensitive`` per
        entry) and the first one as correct response.
    numeric
        ``qti-text-entry-interaction`` with a ``base-type="float"`` declaration; the tolerance
        lives in the response processing as ``qti-equal tolerance-mode="absolute"
        tolerance="t t"``; the unit is the interaction's ``data-unit`` attribute (also shown
        after the input in a ``span class="shuyuan-unit"``).
    matching
        ``qti-match-interaction`` with two ``qti-simple-match-set`` and ``directedPair`` values.
    ordering
        ``qti-order-interaction`` with an ``ordered`` declaration.
    short_answer
        ``qti-extended-text-interaction``; the rubric is a ``qti-rubric-block use="scoring"
        view="scorer"`` listing ``[points] criterion`` items, the model answer a
        ``qti-rubric-block use="model-answer" view="scorer"``.

The stem is plain text: exported as one ``<p>`` per line, and any XHTML in an imported body is
flattened to text (block elements become lines, runs of whitespace one space). An item's
explanation is a ``qti-modal-feedback identifier="EXPLANATION"``. Difficulty and knowledge
point codes are kept only in the manifest, in each resource's ``<metadata>``::

    <sy:item xmlns:sy="http://shuyuan.example.cn/ns/qti-meta">
      <sy:difficulty>2</sy:difficulty>
      <sy:knowledge-point code="math-square-roots"/>
    </sy:item>

so an item imported without them (a bare XML file, a zip without manifest, another tool's
package) gets difficulty 2 and no knowledge points.

Identifiers must be QTI identifiers (XML NCNames); a UUID (``Item.identifier``) is written as
``I<uuid>`` and read back as the UUID string.

Every problem raises ``QtiError`` (code ``MALFORMED_QTI``, or ``UNSUPPORTED_QTI`` for
interactions the platform does not have) whose message names the file and the element, e.g.
``items/q3.xml: qti-choice-interaction: no qti-simple-choice``. XML is parsed with defusedxml
(no DTDs, no entities); packages are bounded in size, files, and uncompressed bytes.
"""

from __future__ import annotations

import hashlib
import io
import math
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError, SubElement, indent, tostring

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]  # no stubs installed
from defusedxml import ElementTree as SafeET
from django.utils.translation import gettext as _

from shuyuan.core.errors import InvalidInput
from shuyuan.learning.models.exams import EXPLANATION_MAX, TITLE_MAX, Difficulty, ItemKind

from . import content as item_content

QTI_NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
CP_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
META_NS = "http://shuyuan.example.cn/ns/qti-meta"
ITEM_RESOURCE_TYPE = "imsqti_item_xmlv3p0"
MANIFEST = "imsmanifest.xml"

MAX_PACKAGE_BYTES = 20 * 1024 * 1024
MAX_ITEMS = 2000
MAX_XML_BYTES = 2 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_ZIP_ENTRIES = 10_000
KNOWLEDGE_POINT_CODE_MAX = 64

SUPPORTED_INTERACTIONS = frozenset(
    {
        "qti-choice-interaction",
        "qti-text-entry-interaction",
        "qti-match-interaction",
        "qti-order-interaction",
        "qti-extended-text-interaction",
    }
)

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_CODE = re.compile(r"[-a-zA-Z0-9_]+")
_CRITERION = re.compile(r"\[\s*([0-9]+(?:\.[0-9]+)?)\s*\]\s*(.+)", re.DOTALL)
_BLOCK = frozenset(
    {
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "tr",
        "thead",
        "tbody",
        "blockquote",
        "pre",
        "section",
        "article",
        "figure",
        "figcaption",
        "hr",
        "qti-prompt",
        "qti-content-body",
    }
)
_SKIPPED = frozenset(
    {
        "qti-modal-feedback",
        "qti-feedback-block",
        "qti-feedback-inline",
        "qti-template-block",
        "qti-template-inline",
        "qti-printed-variable",
        "script",
        "style",
        "img",
        "object",
    }
)
_UNIT_CLASS = "shuyuan-unit"
_RUBRIC_SCORING = "scoring"
_RUBRIC_MODEL = "model-answer"
_EXPLANATION = "EXPLANATION"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


class QtiError(InvalidInput):
    """A QTI package or item the platform cannot read. ``location`` names the file and the
    element (``items/q3.xml: qti-choice-interaction``); the message starts with it. The error is
    about the upload field ``file``.
    """

    code = "MALFORMED_QTI"

    def __init__(self, message: str, location: str = "", *, code: str | None = None) -> None:
        self.location = location
        self.detail = message
        super().__init__(f"{location}: {message}" if location else message, code=code, field="file")


@dataclass
class QtiItem:
    """One item as exchanged: ``content`` is the normalised ``ItemVersion.content`` of
    ``kind``; ``knowledge_points`` are ``KnowledgePoint.code`` values.
    """

    identifier: str
    kind: str
    stem: str
    content: dict[str, Any]
    difficulty: int = Difficulty.MEDIUM
    knowledge_points: list[str] = field(default_factory=list)
    explanation: str = ""
    title: str = ""


def _loc(*parts: str) -> str:
    return ": ".join(part for part in parts if part)


def _local(tag: Any) -> str:
    """The local name of an element tag (without ``{namespace}``); ``""`` for comments."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _child(element: Element, name: str) -> Element | None:
    found = _children(element, name)
    return found[0] if found else None


# --- identifiers ------------------------------------------------------------------------------


def to_qti_identifier(identifier: str) -> str:
    """The QTI identifier for ``identifier``: ``I<uuid>`` for a UUID, else itself (which must
    then be an XML NCName).
    """
    if _UUID.fullmatch(identifier):
        return f"I{identifier}"
    if not _NCNAME.fullmatch(identifier):
        raise ValueError(f"not a QTI identifier: {identifier!r}")
    return identifier


def from_qti_identifier(identifier: str) -> str:
    """The inverse of ``to_qti_identifier``."""
    if identifier.startswith("I") and _UUID.fullmatch(identifier[1:]):
        return identifier[1:]
    return identifier


# --- export -----------------------------------------------------------------------------------


def _q(name: str) -> str:
    """Elements are built without namespace; the root carries ``xmlns`` as an attribute, so the
    documents use the QTI namespace as default namespace without ``ns0:`` prefixes.
    """
    return name


def _el(parent: Element, name: str, attrib: dict[str, str] | None = None) -> Element:
    return SubElement(parent, _q(name), attrib or {})


def _text_el(parent: Element, name: str, text: str, attrib: dict[str, str] | None = None) -> None:
    _el(parent, name, attrib).text = text


def _number(value: Any) -> str:
    """A number as QTI writes it: integers without a fraction, floats by ``repr``."""
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def _paragraphs(parent: Element, text: str) -> None:
    for line in text.split("\n"):
        _el(parent, "p").text = line


def _declaration(
    root: Element,
    identifier: str,
    cardinality: str,
    base_type: str,
    correct: Sequence[str] = (),
) -> Element:
    declaration = _el(
        root,
        "qti-response-declaration",
        {"identifier": identifier, "cardinality": cardinality, "base-type": base_type},
    )
    if correct:
        values = _el(declaration, "qti-correct-response")
        for value in correct:
            _text_el(values, "qti-value", value)
    return declaration


def _set_score(parent: Element) -> Element:
    return _el(parent, "qti-set-outcome-value", {"identifier": "SCORE"})


def _base_float(parent: Element, value: str) -> None:
    _text_el(parent, "qti-base-value", value, {"base-type": "float"})


def _score_if(processing: Element, operator: str, attrib: dict[str, str] | None = None) -> None:
    """``SCORE = 1`` when ``operator(RESPONSE, correct)`` holds."""
    condition = _el(_el(processing, "qti-response-condition"), "qti-response-if")
    test = _el(condition, operator, attrib)
    _el(test, "qti-variable", {"identifier": "RESPONSE"})
    _el(test, "qti-correct", {"identifier": "RESPONSE"})
    _base_float(_set_score(condition), "1")


def _choice_body(body: Element, options: list[dict[str, str]], max_choices: str) -> None:
    interaction = _el(
        body,
        "qti-choice-interaction",
        {"response-identifier": "RESPONSE", "shuffle": "false", "max-choices": max_choices},
    )
    for option in options:
        _text_el(interaction, "qti-simple-choice", option["text"], {"identifier": option["id"]})


def item_xml(item: QtiItem) -> bytes:
    """One ``qti-assessment-item`` document (UTF-8, with an XML declaration)."""
    kind, data = item.kind, item.content
    root = Element(
        _q("qti-assessment-item"),
        {
            "xmlns": QTI_NS,
            "identifier": to_qti_identifier(item.identifier),
            "title": item.title,
            "adaptive": "false",
            "time-dependent": "false",
        },
    )
    body: Element
    processing: Element | None = None

    def start_body() -> Element:
        score = {"identifier": "SCORE", "cardinality": "single", "base-type": "float"}
        if kind == ItemKind.SHORT_ANSWER:
            score["external-scored"] = "human"
            score["normal-maximum"] = _number(item_content.rubric_total(data))
        outcome = _el(root, "qti-outcome-declaration", score)
        _base_float(_el(outcome, "qti-default-value"), "0")
        if item.explanation:
            _el(
                root,
                "qti-outcome-declaration",
                {"identifier": "FEEDBACK", "cardinality": "single", "base-type": "identifier"},
            )
        return _el(root, "qti-item-body")

    if kind in (ItemKind.SINGLE, ItemKind.MULTIPLE):
        single = kind == ItemKind.SINGLE
        correct = [data["correct"]] if single else list(data["correct"])
        _declaration(root, "RESPONSE", "single" if single else "multiple", "identifier", correct)
        body = start_body()
        _paragraphs(body, item.stem)
        _choice_body(body, data["options"], "1" if single else "0")
        processing = _el(root, "qti-response-processing")
        _score_if(processing, "qti-match")
    elif kind == ItemKind.TRUE_FALSE:
        correct = ["true" if data["correct"] else "false"]
        _declaration(root, "RESPONSE", "single", "identifier", correct)
        body = start_body()
        _paragraphs(body, item.stem)
        options = [{"id": "true", "text": _("True")}, {"id": "false", "text": _("False")}]
        _choice_body(body, options, "1")
        processing = _el(root, "qti-response-processing")
        _score_if(processing, "qti-match")
    elif kind == ItemKind.FILL_BLANK:
        blanks = data["blanks"]
        for number, blank in enumerate(blanks, start=1):
            declaration = _declaration(
                root, f"RESPONSE_{number}", "single", "string", blank["accepted"][:1]
            )
            mapping = _el(
                declaration,
                "qti-mapping",
                {"default-value": "0", "lower-bound": "0", "upper-bound": "1"},
            )
            for accepted in blank["accepted"]:
                _el(
                    mapping,
                    "qti-map-entry",
                    {
                        "map-key": accepted,
                        "mapped-value": "1",
                        "case-sensitive": "true" if blank["case_sensitive"] else "false",
                    },
                )
        body = start_body()
        number = 0
        for line in item.stem.split("\n"):
            paragraph = _el(body, "p")
            first, *rest = item_content.stem_segments(line)
            paragraph.text = first
            for segment in rest:
                number += 1
                entry = _el(
                    paragraph,
                    "qti-text-entry-interaction",
                    {"response-identifier": f"RESPONSE_{number}"},
                )
                entry.tail = segment
        processing = _el(root, "qti-response-processing")
        divide = _el(_set_score(processing), "qti-divide")
        total = _el(divide, "qti-sum")
        for number in range(1, len(blanks) + 1):
            _el(total, "qti-map-response", {"identifier": f"RESPONSE_{number}"})
        _base_float(divide, str(len(blanks)))
    elif kind == ItemKind.NUMERIC:
        _declaration(root, "RESPONSE", "single", "float", [_number(data["value"])])
        body = start_body()
        _paragraphs(body, item.stem)
        paragraph = _el(body, "p")
        attrib = {"response-identifier": "RESPONSE"}
        if data["unit"]:
            attrib["data-unit"] = data["unit"]
        entry = _el(paragraph, "qti-text-entry-interaction", attrib)
        if data["unit"]:
            entry.tail = " "
            _text_el(paragraph, "span", data["unit"], {"class": _UNIT_CLASS})
        processing = _el(root, "qti-response-processing")
        tolerance = _number(data["tolerance"])
        _score_if(
            processing,
            "qti-equal",
            {"tolerance-mode": "absolute", "tolerance": f"{tolerance} {tolerance}"},
        )
    elif kind == ItemKind.MATCHING:
        pairs = [f"{left} {right}" for left, right in data["pairs"].items()]
        declaration = _declaration(root, "RESPONSE", "multiple", "directedPair", pairs)
        mapping = _el(declaration, "qti-mapping", {"default-value": "0"})
        for pair in pairs:
            _el(mapping, "qti-map-entry", {"map-key": pair, "mapped-value": "1"})
        body = start_body()
        _paragraphs(body, item.stem)
        left, right = data["left"], data["right"]
        interaction = _el(
            body,
            "qti-match-interaction",
            {
                "response-identifier": "RESPONSE",
                "shuffle": "false",
                "max-associations": str(len(left)),
            },
        )
        for side, match_max in ((left, "1"), (right, str(len(left)))):
            match_set = _el(interaction, "qti-simple-match-set")
            for option in side:
                _text_el(
                    match_set,
                    "qti-simple-associable-choice",
                    option["text"],
                    {"identifier": option["id"], "match-max": match_max},
                )
        processing = _el(root, "qti-response-processing")
        divide = _el(_set_score(processing), "qti-divide")
        _el(divide, "qti-map-response", {"identifier": "RESPONSE"})
        _base_float(divide, str(len(pairs)))
    elif kind == ItemKind.ORDERING:
        _declaration(root, "RESPONSE", "ordered", "identifier", data["order"])
        body = start_body()
        _paragraphs(body, item.stem)
        interaction = _el(
            body, "qti-order-interaction", {"response-identifier": "RESPONSE", "shuffle": "false"}
        )
        for option in data["options"]:
            _text_el(interaction, "qti-simple-choice", option["text"], {"identifier": option["id"]})
        processing = _el(root, "qti-response-processing")
        _score_if(processing, "qti-match")
    elif kind == ItemKind.SHORT_ANSWER:
        _declaration(root, "RESPONSE", "single", "string")
        body = start_body()
        _paragraphs(body, item.stem)
        rubric = _el(body, "qti-rubric-block", {"use": _RUBRIC_SCORING, "view": "scorer"})
        criteria = _el(_el(rubric, "qti-content-body"), "ul")
        for row in data["rubric"]:
            _text_el(criteria, "li", f"[{_number(row['points'])}] {row['criterion']}")
        if data["model_answer"]:
            model = _el(body, "qti-rubric-block", {"use": _RUBRIC_MODEL, "view": "scorer"})
            _paragraphs(_el(model, "qti-content-body"), data["model_answer"])
        _el(
            body,
            "qti-extended-text-interaction",
            {"response-identifier": "RESPONSE", "expected-length": "500"},
        )
    else:
        raise ValueError(f"unknown kind: {kind!r}")

    if item.explanation:
        if processing is None:
            processing = _el(root, "qti-response-processing")
        feedback = _el(processing, "qti-set-outcome-value", {"identifier": "FEEDBACK"})
        _text_el(feedback, "qti-base-value", _EXPLANATION, {"base-type": "identifier"})
        modal = _el(
            root,
            "qti-modal-feedback",
            {"outcome-identifier": "FEEDBACK", "identifier": _EXPLANATION, "show-hide": "show"},
        )
        _paragraphs(_el(modal, "qti-content-body"), item.explanation)
    return _serialise(root)


def _serialise(root: Element) -> bytes:
    indent(root)
    return (_XML_DECLARATION + tostring(root, encoding="unicode") + "\n").encode()


def _manifest_xml(items: Sequence[QtiItem], hrefs: list[str]) -> bytes:
    identifiers = [to_qti_identifier(item.identifier) for item in items]
    digest = hashlib.sha256("\n".join(identifiers).encode()).hexdigest()[:16]
    root = Element("manifest", {"xmlns": CP_NS, "identifier": f"MANIFEST-{digest}"})
    SubElement(root, "organizations")
    resources = SubElement(root, "resources")
    for item, identifier, href in zip(items, identifiers, hrefs, strict=True):
        resource = SubElement(
            resources,
            "resource",
            {"identifier": identifier, "type": ITEM_RESOURCE_TYPE, "href": href},
        )
        metadata = SubElement(resource, "metadata")
        meta = SubElement(metadata, "sy:item", {"xmlns:sy": META_NS})
        SubElement(meta, "sy:difficulty").text = str(int(item.difficulty))
        for code in item.knowledge_points:
            SubElement(meta, "sy:knowledge-point", {"code": code})
        SubElement(resource, "file", {"href": href})
    return _serialise(root)


def _zip_write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def export_package(items: Sequence[QtiItem]) -> bytes:
    """A QTI 3.0 content package (zip) of ``items``; the same items give the same bytes."""
    hrefs = []
    seen: set[str] = set()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        files = []
        for item in items:
            identifier = to_qti_identifier(item.identifier)
            if identifier in seen:
                raise ValueError(f"two items have the identifier {identifier!r}")
            seen.add(identifier)
            href = f"items/{identifier}.xml"
            hrefs.append(href)
            files.append((href, item_xml(item)))
        _zip_write(archive, MANIFEST, _manifest_xml(items, hrefs))
        for href, data in files:
            _zip_write(archive, href, data)
    return buffer.getvalue()


# --- import: text -----------------------------------------------------------------------------


def _flatten(element: Element, *, blank: str = "", include_self: bool = True) -> str:
    """The text of ``element`` as plain lines: block elements start lines, whitespace runs
    collapse, an empty ``<p/>`` is an empty line; interactions are dropped except their
    ``qti-prompt`` and text entries (which become ``blank``).
    """
    lines: list[str] = []
    current: list[str] = []

    def push(*, empty_ok: bool = False) -> None:
        text = " ".join("".join(current).split())
        if text or empty_ok:
            lines.append(text)
        current.clear()

    def walk(node: Element) -> None:
        name = _local(node.tag)
        if not name or name in _SKIPPED:
            return
        if name == "span" and _UNIT_CLASS in (node.get("class") or "").split():
            return
        if name == "qti-rubric-block" and "candidate" not in (node.get("view") or "").split():
            return
        if name == "br":
            push(empty_ok=True)
            return
        if name.endswith("-interaction"):
            if name == "qti-text-entry-interaction":
                current.append(blank or " ")
            for prompt in _children(node, "qti-prompt"):
                walk(prompt)
            return
        block = name in _BLOCK
        if block:
            push()
        has_text = bool((node.text or "").strip())
        if node.text:
            current.append(node.text)
        nested_block = False
        for child in node:
            nested_block = nested_block or _local(child.tag) in _BLOCK
            walk(child)
            if child.tail:
                current.append(child.tail)
        if block:
            push(empty_ok=name == "p" and not nested_block and not has_text and len(node) == 0)

    if include_self:
        walk(element)
    else:
        if element.text:
            current.append(element.text)
        for child in element:
            walk(child)
            if child.tail:
                current.append(child.tail)
    push()
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _inline(element: Element) -> str:
    """An option's text on one line."""
    return " ".join(_flatten(element, include_self=False).split())


# --- import: items ----------------------------------------------------------------------------


@dataclass
class _Reader:
    """Parses one item document; ``location`` is its file name."""

    location: str
    root: Element
    declarations: dict[str, Element] = field(default_factory=dict)

    def error(self, element: str, message: str, code: str | None = None) -> QtiError:
        return QtiError(message, _loc(self.location, element), code=code)

    def attr(self, element: Element, name: str) -> str:
        value = (element.get(name) or "").strip()
        if not value:
            raise self.error(
                _local(element.tag), _("no %(attribute)s attribute") % {"attribute": name}
            )
        return value

    def declaration(self, interaction: Element) -> Element:
        identifier = self.attr(interaction, "response-identifier")
        found = self.declarations.get(identifier)
        if found is None:
            raise self.error(
                _local(interaction.tag),
                _("no qti-response-declaration for %(identifier)s") % {"identifier": identifier},
            )
        return found

    def correct_values(self, declaration: Element) -> list[str]:
        correct = _child(declaration, "qti-correct-response")
        values = [] if correct is None else _children(correct, "qti-value")
        if not values:
            raise self.error(
                f"qti-response-declaration {declaration.get('identifier')}",
                _("no qti-correct-response"),
            )
        return [(value.text or "").strip() for value in values]

    def choices(self, interaction: Element, name: str) -> list[dict[str, str]]:
        found = _children(interaction, name)
        if not found:
            raise self.error(_local(interaction.tag), _("no %(element)s") % {"element": name})
        return [
            {"id": self.attr(choice, "identifier"), "text": _inline(choice)} for choice in found
        ]

    def number(self, text: str, element: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise self.error(element, _("%(value)r is not a number") % {"value": text})
        return value


def _read_choice(reader: _Reader, interaction: Element) -> tuple[str, dict[str, Any]]:
    declaration = reader.declaration(interaction)
    options = reader.choices(interaction, "qti-simple-choice")
    values = reader.correct_values(declaration)
    cardinality = declaration.get("cardinality", "single")
    ids = {option["id"].casefold() for option in options}
    if cardinality == "single":
        if len(values) != 1:
            raise reader.error("qti-correct-response", _("expected exactly one qti-value"))
        if ids == {"true", "false"} and len(options) == 2:
            return ItemKind.TRUE_FALSE, {"correct": values[0].casefold() == "true"}
        return ItemKind.SINGLE, {"options": options, "correct": values[0]}
    if cardinality == "multiple":
        return ItemKind.MULTIPLE, {"options": options, "correct": values}
    raise reader.error(
        "qti-response-declaration",
        _("cardinality %(cardinality)s is not supported for a choice")
        % {"cardinality": cardinality},
        "UNSUPPORTED_QTI",
    )


def _tolerance(reader: _Reader, value: float) -> float:
    processing = _child(reader.root, "qti-response-processing")
    equal = (
        None
        if processing is None
        else next((e for e in processing.iter() if _local(e.tag) == "qti-equal"), None)
    )
    if equal is None:
        return 0.0
    mode = equal.get("tolerance-mode", "exact")
    if mode == "exact":
        return 0.0
    parts = (equal.get("tolerance") or "").split()
    if mode not in ("absolute", "relative") or not 1 <= len(parts) <= 2:
        raise reader.error("qti-equal", _("unsupported tolerance"), "UNSUPPORTED_QTI")
    tolerance = min(reader.number(part, "qti-equal") for part in parts)
    if mode == "relative":
        tolerance = abs(value) * tolerance / 100
    return tolerance


def _read_text_entries(reader: _Reader, entries: list[Element]) -> tuple[str, dict[str, Any]]:
    declarations = [reader.declaration(entry) for entry in entries]
    if len(entries) == 1 and declarations[0].get("base-type") in ("float", "integer"):
        value = reader.number(reader.correct_values(declarations[0])[0], "qti-correct-response")
        return ItemKind.NUMERIC, {
            "value": value,
            "tolerance": _tolerance(reader, value),
            "unit": entries[0].get("data-unit") or "",
        }
    blanks = []
    for declaration in declarations:
        mapping = _child(declaration, "qti-mapping")
        entries_found = [] if mapping is None else _children(mapping, "qti-map-entry")
        accepted: list[str] = []
        flags: list[bool] = []
        for entry in entries_found:
            if reader.number(entry.get("mapped-value") or "0", "qti-map-entry") <= 0:
                continue
            key = (entry.get("map-key") or "").strip()
            if key and key not in accepted:
                accepted.append(key)
                flags.append((entry.get("case-sensitive") or "true").strip().lower() == "true")
        if not accepted:
            accepted = [value for value in reader.correct_values(declaration) if value]
            flags = [True]
        blanks.append({"accepted": accepted, "case_sensitive": all(flags)})
    return ItemKind.FILL_BLANK, {"blanks": blanks}


def _read_match(reader: _Reader, interaction: Element) -> tuple[str, dict[str, Any]]:
    declaration = reader.declaration(interaction)
    sets = _children(interaction, "qti-simple-match-set")
    if len(sets) != 2:
        raise reader.error("qti-match-interaction", _("expected two qti-simple-match-set"))
    left = reader.choices(sets[0], "qti-simple-associable-choice")
    right = reader.choices(sets[1], "qti-simple-associable-choice")
    pairs: dict[str, str] = {}
    for value in reader.correct_values(declaration):
        parts = value.split()
        if len(parts) != 2:
            raise reader.error(
                "qti-correct-response", _("%(value)r is not a pair") % {"value": value}
            )
        if parts[0] in pairs:
            raise reader.error(
                "qti-correct-response",
                _("%(id)s matches more than one choice") % {"id": parts[0]},
                "UNSUPPORTED_QTI",
            )
        pairs[parts[0]] = parts[1]
    return ItemKind.MATCHING, {"left": left, "right": right, "pairs": pairs}


def _read_order(reader: _Reader, interaction: Element) -> tuple[str, dict[str, Any]]:
    declaration = reader.declaration(interaction)
    options = reader.choices(interaction, "qti-simple-choice")
    return ItemKind.ORDERING, {"options": options, "order": reader.correct_values(declaration)}


def _read_extended(reader: _Reader, body: Element) -> tuple[str, dict[str, Any]]:
    rubric: list[dict[str, Any]] = []
    model_answer = ""
    for block in (e for e in body.iter() if _local(e.tag) == "qti-rubric-block"):
        if "scorer" not in (block.get("view") or "").split():
            continue
        if block.get("use") == _RUBRIC_MODEL:
            model_answer = _flatten(block, include_self=False)
            continue
        for row in (e for e in block.iter() if _local(e.tag) in ("li", "p")):
            match = _CRITERION.fullmatch(_inline(row))
            if match:
                rubric.append({"criterion": match[2], "points": match[1]})
    if not rubric:
        score = next(
            (
                d
                for d in _children(reader.root, "qti-outcome-declaration")
                if d.get("identifier") == "SCORE"
            ),
            None,
        )
        maximum = None if score is None else score.get("normal-maximum")
        points = reader.number(maximum, "qti-outcome-declaration") if maximum else 1.0
        rubric = [{"criterion": _("Overall answer"), "points": points}]
    return ItemKind.SHORT_ANSWER, {"rubric": rubric, "model_answer": model_answer}


def _read_kind(reader: _Reader, body: Element) -> tuple[str, dict[str, Any]]:
    interactions = [e for e in body.iter() if _local(e.tag).endswith("-interaction")]
    if not interactions:
        raise reader.error("qti-item-body", _("no interaction"))
    names = [_local(e.tag) for e in interactions]
    for name in names:
        if name not in SUPPORTED_INTERACTIONS:
            raise reader.error(name, _("this interaction is not supported"), "UNSUPPORTED_QTI")
    if set(names) == {"qti-text-entry-interaction"}:
        return _read_text_entries(reader, interactions)
    if len(interactions) > 1:
        raise reader.error(
            "qti-item-body", _("more than one interaction in an item"), "UNSUPPORTED_QTI"
        )
    interaction = interactions[0]
    readers: dict[str, Callable[[_Reader, Element], tuple[str, dict[str, Any]]]] = {
        "qti-choice-interaction": _read_choice,
        "qti-match-interaction": _read_match,
        "qti-order-interaction": _read_order,
    }
    if names[0] == "qti-extended-text-interaction":
        return _read_extended(reader, body)
    return readers[names[0]](reader, interaction)


def _parse_xml(data: bytes, location: str) -> Element:
    if len(data) > MAX_XML_BYTES:
        raise QtiError(
            _("larger than %(max)d MB") % {"max": MAX_XML_BYTES // (1024 * 1024)}, location
        )
    try:
        root: Element = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise QtiError(_("DTDs and entities are not allowed"), location) from None
    except ParseError as exc:
        raise QtiError(_("not well-formed XML (%(error)s)") % {"error": exc}, location) from None
    return root


def _is_item(root: Element) -> bool:
    return _local(root.tag) == "qti-assessment-item"


def _read_item(root: Element, location: str) -> QtiItem:
    """A ``QtiItem`` (difficulty 2, no knowledge points) from a parsed item document."""
    if not _is_item(root):
        raise QtiError(
            _("the root element is %(name)s, not qti-assessment-item") % {"name": _local(root.tag)},
            location,
        )
    reader = _Reader(location, root)
    identifier = from_qti_identifier(reader.attr(root, "identifier"))
    title = item_content.clean_text(root.get("title") or "")
    if len(title) > TITLE_MAX:
        raise reader.error("qti-assessment-item", _("the title is too long"))
    for declaration in _children(root, "qti-response-declaration"):
        reader.declarations[reader.attr(declaration, "identifier")] = declaration
    body = _child(root, "qti-item-body")
    if body is None:
        raise reader.error("qti-assessment-item", _("no qti-item-body"))
    kind, raw = _read_kind(reader, body)
    stem = _flatten(body, blank="___" if kind == ItemKind.FILL_BLANK else "", include_self=False)
    explanation = ""
    for feedback in _children(root, "qti-modal-feedback"):
        if feedback.get("identifier") == _EXPLANATION:
            explanation = item_content.clean_text(
                _flatten(feedback, include_self=False), multiline=True
            )
    if len(explanation) > EXPLANATION_MAX:
        raise reader.error("qti-modal-feedback", _("the explanation is too long"))
    try:
        stem = item_content.clean_stem(stem)
        normalised = item_content.validate_content(kind, stem, raw)
    except InvalidInput as exc:
        raise QtiError(_loc(exc.field or "", exc.message), location) from exc
    return QtiItem(
        identifier=identifier,
        kind=str(kind),
        stem=stem,
        content=normalised,
        explanation=explanation,
        title=title,
    )


def parse_item(data: bytes, *, filename: str = "") -> QtiItem:
    """One bare ``qti-assessment-item`` document."""
    location = filename or "item.xml"
    return _read_item(_parse_xml(data, location), location)


# --- import: packages -------------------------------------------------------------------------


def _unsafe(name: str) -> bool:
    return (
        name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or re.match(r"[A-Za-z]:", name) is not None
        or ".." in name.split("/")
    )


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_XML_BYTES:
        raise QtiError(
            _("larger than %(max)d MB") % {"max": MAX_XML_BYTES // (1024 * 1024)}, info.filename
        )
    try:
        with archive.open(info) as stream:
            data = stream.read(MAX_XML_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise QtiError(_("cannot read (%(error)s)") % {"error": exc}, info.filename) from None
    if len(data) > MAX_XML_BYTES:
        raise QtiError(
            _("larger than %(max)d MB") % {"max": MAX_XML_BYTES // (1024 * 1024)}, info.filename
        )
    return data


def _metadata(resource: Element, location: str) -> tuple[int, list[str]]:
    difficulty = int(Difficulty.MEDIUM)
    codes: list[str] = []
    for element in resource.iter():
        if element.tag == f"{{{META_NS}}}difficulty":
            text = (element.text or "").strip()
            if text not in {str(value) for value in Difficulty.values}:
                raise QtiError(
                    _("difficulty %(value)r is not 1, 2 or 3") % {"value": text},
                    _loc(location, "difficulty"),
                )
            difficulty = int(text)
        elif element.tag == f"{{{META_NS}}}knowledge-point":
            code = (element.get("code") or "").strip()
            if not _CODE.fullmatch(code) or len(code) > KNOWLEDGE_POINT_CODE_MAX:
                raise QtiError(
                    _("%(code)r is not a knowledge point code") % {"code": code},
                    _loc(location, "knowledge-point"),
                )
            if code not in codes:
                codes.append(code)
    return difficulty, codes


def _manifest_items(
    archive: zipfile.ZipFile, manifest: zipfile.ZipInfo, members: dict[str, zipfile.ZipInfo]
) -> list[tuple[str, int, list[str]]]:
    """``(path, difficulty, knowledge point codes)`` per item resource of the manifest."""
    location = manifest.filename
    root = _parse_xml(_read_member(archive, manifest), location)
    if _local(root.tag) != "manifest":
        raise QtiError(_("the root element is not manifest"), location)
    base = posixpath.dirname(location)
    found = []
    for resource in root.iter():
        if _local(resource.tag) != "resource":
            continue
        if not (resource.get("type") or "").startswith(ITEM_RESOURCE_TYPE):
            continue
        where = _loc(location, f"resource {resource.get('identifier') or ''}".strip())
        href = resource.get("href")
        if not href:
            file_element = _child(resource, "file")
            href = None if file_element is None else file_element.get("href")
        if not href:
            raise QtiError(_("no href"), where)
        href = unquote(href)
        path = posixpath.normpath(posixpath.join(base, href))
        if _unsafe(href) or _unsafe(path) or path.startswith("../"):
            raise QtiError(_("unsafe path %(href)s") % {"href": href}, where)
        if path not in members:
            raise QtiError(_("%(href)s is not in the package") % {"href": href}, where)
        found.append((path, *_metadata(resource, where)))
    if not found:
        raise QtiError(_("the manifest lists no QTI 3.0 items"), location)
    return found


def _parse_zip(data: bytes) -> list[QtiItem]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise QtiError(_("not a valid zip file (%(error)s)") % {"error": exc}) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise QtiError(_("too many files in the package"))
        total = 0
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if _unsafe(info.filename):
                raise QtiError(_("unsafe path in the package"), info.filename)
            if info.flag_bits & 0x1:
                raise QtiError(_("encrypted files are not supported"), info.filename)
            total += info.file_size
            if not info.is_dir():
                members[info.filename] = info
        if total > MAX_UNCOMPRESSED_BYTES:
            raise QtiError(
                _("the package unpacks to more than %(max)d MB")
                % {"max": MAX_UNCOMPRESSED_BYTES // (1024 * 1024)}
            )
        manifests = sorted(
            (name for name in members if posixpath.basename(name) == MANIFEST),
            key=lambda name: (name.count("/"), name),
        )
        if manifests:
            entries = _manifest_items(archive, members[manifests[0]], members)
        else:
            entries = [
                (name, int(Difficulty.MEDIUM), [])
                for name in sorted(members)
                if name.lower().endswith(".xml")
            ]
        if len(entries) > MAX_ITEMS:
            raise QtiError(_("more than %(max)d items") % {"max": MAX_ITEMS})
        items = []
        for path, difficulty, codes in entries:
            root = _parse_xml(_read_member(archive, members[path]), path)
            if not manifests and not _is_item(root):
                continue  # a test, a stimulus or other XML in a zip without a manifest
            item = _read_item(root, path)
            item.difficulty = difficulty
            item.knowledge_points = codes
            items.append(item)
    if not items:
        raise QtiError(_("no qti-assessment-item in the package"))
    seen: set[str] = set()
    for item in items:
        if item.identifier in seen:
            raise QtiError(
                _("two items have the identifier %(identifier)s") % {"identifier": item.identifier}
            )
        seen.add(item.identifier)
    return items


def parse_package(data: bytes, *, filename: str = "") -> list[QtiItem]:
    """The items of a QTI 3.0 content package (zip, with or without ``imsmanifest.xml``) or of
    one bare item document. Raises ``QtiError``.
    """
    if len(data) > MAX_PACKAGE_BYTES:
        raise QtiError(
            _("the upload is larger than %(max)d MB") % {"max": MAX_PACKAGE_BYTES // (1024 * 1024)},
            filename,
        )
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return _parse_zip(data)
    if not data.strip():
        raise QtiError(_("the file is empty"), filename)
    return [parse_item(data, filename=filename)]
