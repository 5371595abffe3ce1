"""Real files built in the test (DOCX, PPTX, PDF, MP4, zip bombs), and the audit's type
sniffing, archive checks and text extraction on them.

The builders are imported by the other submission/audit tests.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from shuyuan.resources.audit import extract, sniff
from shuyuan.resources.choices import ResourceType

# --- builders ------------------------------------------------------------------------------------


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        t = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_pptx(slide_text: str, notes: str = "") -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Slide title"
    box = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(6), Inches(1))
    box.text_frame.text = slide_text
    if notes:
        slide.notes_slide.notes_text_frame.text = notes
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def make_pdf(text: str) -> bytes:
    """A one-page PDF (Helvetica, ASCII text) with a correct xref table."""
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 18 Tf 72 720 Td ({safe}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def make_mp4(extra: bytes = b"") -> bytes:
    """An ISO-BMFF header (ftyp isom) followed by filler: what a video's first bytes look like."""
    ftyp = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
    return ftyp + b"\x00\x00\x00\x08free" + extra + b"\x00" * 256


def make_zip_bomb_docx(zeros: int = 20 * 1024 * 1024) -> bytes:
    """A real DOCX with one more part: ``zeros`` zero bytes, deflated (ratio ~1000)."""
    base = make_docx(["Looks innocent"])
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("word/media/padding.bin", b"\x00" * zeros)
    return out.getvalue()


def upload(
    name: str, content: bytes, content_type: str = "application/octet-stream"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type)


# --- sniffing ------------------------------------------------------------------------------------


def test_sniff_by_content_not_name():
    assert sniff.sniff(io.BytesIO(make_pdf("hello"))).mime == sniff.PDF
    assert sniff.sniff(io.BytesIO(make_docx(["x"]))).mime == sniff.DOCX
    assert sniff.sniff(io.BytesIO(make_pptx("x"))).mime == sniff.PPTX
    assert sniff.sniff(io.BytesIO(make_mp4())).mime == "video/mp4"
    assert sniff.sniff(io.BytesIO(b"MZ\x90\x00" + b"\x00" * 100)).mime == sniff.EXECUTABLE
    assert sniff.sniff(io.BytesIO(b"<!DOCTYPE html><script>x</script>")).mime == sniff.HTML
    assert sniff.sniff(io.BytesIO(b"just text")).mime == sniff.TEXT
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("a.txt", "hello")
    assert sniff.sniff(plain_zip).mime == sniff.ZIP


def test_extension_that_lies_is_a_mismatch_naming_the_detected_type():
    fh = io.BytesIO(make_docx(["x"]))
    sniffed, problem = sniff.check_type(fh, "lesson.pdf", ResourceType.DOCUMENT)
    assert sniffed is not None and sniffed.mime == sniff.DOCX
    assert problem is not None and problem.code == "FILE_TYPE_MISMATCH"
    assert "DOCX" in problem.message and ".pdf" in problem.message


def test_type_not_taken_by_the_resource_type():
    _sniffed, problem = sniff.check_type(io.BytesIO(make_pdf("x")), "a.pdf", ResourceType.VIDEO)
    assert problem is not None and problem.code == "FILE_TYPE_NOT_ALLOWED"
    _sniffed, problem = sniff.check_type(
        io.BytesIO(b"\x7fELF" + b"\x00" * 64), "a.mp4", ResourceType.VIDEO
    )
    assert problem is not None and problem.code == "FILE_TYPE_NOT_ALLOWED"
    _sniffed, problem = sniff.check_type(io.BytesIO(make_mp4()), "a.mp4", ResourceType.VIDEO)
    assert problem is None


def test_zip_bomb_inside_a_docx_is_unsafe():
    bomb = make_zip_bomb_docx()
    assert len(bomb) < 200_000
    _sniffed, problem = sniff.check_type(io.BytesIO(bomb), "a.docx", ResourceType.DOCUMENT)
    assert problem is not None and problem.code == "ARCHIVE_UNSAFE"


@override_settings(RESOURCES_MAX_UNCOMPRESSED_BYTES=10_000)
def test_declared_uncompressed_total_over_the_limit_is_unsafe():
    _sniffed, problem = sniff.check_type(
        io.BytesIO(make_docx(["x" * 50])), "a.docx", ResourceType.DOCUMENT
    )
    assert problem is not None and problem.code == "ARCHIVE_UNSAFE"


def test_path_traversal_in_a_zip_is_unsafe():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("../../etc/passwd", "x")
    with pytest.raises(sniff.ArchiveUnsafe):
        sniff.sniff(out)


# --- extraction ----------------------------------------------------------------------------------


def test_extract_pdf_docx_pptx():
    assert "Pythagoras theorem" in extract.extract_text(
        io.BytesIO(make_pdf("Pythagoras theorem")), sniff.PDF
    )
    text = extract.extract_text(
        io.BytesIO(make_docx(["First paragraph"], [["cell one", "cell two"]])), sniff.DOCX
    )
    assert "First paragraph" in text and "cell two" in text
    text = extract.extract_text(
        io.BytesIO(make_pptx("On the slide", notes="In the notes")), sniff.PPTX
    )
    assert "On the slide" in text and "In the notes" in text


@override_settings(RESOURCES_MAX_EXTRACTED_CHARS=30)
def test_extraction_is_capped():
    text = extract.extract_text(io.BytesIO(make_docx(["a" * 100, "b" * 100])), sniff.DOCX)
    assert len(text) == 30


def test_broken_file_fails_extraction_cleanly():
    broken = make_pdf("x")[:60]
    with pytest.raises(extract.ExtractionFailed):
        extract.extract_text(io.BytesIO(broken), sniff.PDF)
