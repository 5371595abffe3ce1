"""Text of a resource file for screening, duplicate detection and search.

PDF through pypdf (each page's text), DOCX through python-docx (paragraphs, then table cells),
PPTX through python-pptx (the text of every shape of every slide, table cells, then the notes).
Videos have no text. At most ``RESOURCES_MAX_EXTRACTED_CHARS`` characters are kept; extraction
stops once that many are collected, so a huge file costs no more than its first pages.

OOXML files are only given to python-docx / python-pptx after ``sniff.check_archive`` accepted
the zip (the caller sniffs first). A file that fails to parse raises ``ExtractionFailed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from .. import conf
from .sniff import DOCX, PDF, PPTX


class ExtractionFailed(Exception):
    """The file could not be parsed; the message names the library's complaint."""


class _Collector:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0

    @property
    def full(self) -> bool:
        return self.size >= self.limit

    def add(self, text: str | None) -> None:
        text = (text or "").strip()
        if not text or self.full:
            return
        room = self.limit - self.size
        piece = text[:room]
        self.parts.append(piece)
        self.size += len(piece) + 1

    def text(self) -> str:
        return "\n".join(self.parts)[: self.limit]


def _pdf(fh: IO[bytes], out: _Collector) -> None:
    from pypdf import PdfReader

    reader = PdfReader(fh)
    for page in reader.pages:
        out.add(page.extract_text())
        if out.full:
            return


def _docx_tables(tables: Any) -> Iterator[str]:
    for table in tables:
        for row in table.rows:
            for cell in row.cells:
                yield cell.text


def _docx(fh: IO[bytes], out: _Collector) -> None:
    import docx

    document = docx.Document(fh)
    for paragraph in document.paragraphs:
        out.add(paragraph.text)
        if out.full:
            return
    for text in _docx_tables(document.tables):
        out.add(text)
        if out.full:
            return


def _shape_texts(shapes: Any) -> Iterator[str]:
    for shape in shapes:
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield shape.text_frame.text
        if getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                for cell in row.cells:
                    yield cell.text
        if getattr(shape, "shape_type", None) is not None and hasattr(shape, "shapes"):
            yield from _shape_texts(shape.shapes)  # a group


def _pptx(fh: IO[bytes], out: _Collector) -> None:
    from pptx import Presentation

    deck = Presentation(fh)
    for slide in deck.slides:
        for text in _shape_texts(slide.shapes):
            out.add(text)
        if slide.has_notes_slide:
            out.add(slide.notes_slide.notes_text_frame.text)
        if out.full:
            return


_EXTRACTORS = {PDF: _pdf, DOCX: _docx, PPTX: _pptx}


def can_extract(mime: str) -> bool:
    return mime in _EXTRACTORS


def extract_text(fh: IO[bytes], mime: str) -> str:
    """The text of ``fh`` (of type ``mime``), capped; "" for types without text.

    Raises ``ExtractionFailed`` if the file does not parse.
    """
    extractor = _EXTRACTORS.get(mime)
    if extractor is None:
        return ""
    out = _Collector(int(conf.get("RESOURCES_MAX_EXTRACTED_CHARS")))
    fh.seek(0)
    try:
        extractor(fh, out)
    except Exception as exc:  # parsers raise anything on a broken file
        raise ExtractionFailed(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    finally:
        fh.seek(0)
    return out.text()
