"""What a file is, by its content, and whether a resource type takes it.

The name a provider gives a file says nothing we can trust: the type comes from the content.
``filetype`` reads the magic numbers of PDFs, videos, images, archives and executables. A zip is
inspected further: an Office Open XML file (DOCX, PPTX, XLSX) is a zip whose
``[Content_Types].xml`` names its main part; macro-enabled variants (DOCM, PPTM) and any other
zip are archives we do not take. Before that XML is read, ``check_archive`` refuses zip bombs
(declared uncompressed total over ``RESOURCES_MAX_UNCOMPRESSED_BYTES``, a compression ratio over
``RESOURCES_MAX_COMPRESSION_RATIO``, more than ``MAX_ARCHIVE_ENTRIES`` entries) and unsafe entry
names (absolute, ``..``, drive letters, backslashes). Python's ``zipfile`` never inflates an
entry beyond its declared size (and then fails its CRC), so checking the declared sizes bounds
what python-docx / python-pptx can be made to read.

Content with no magic number is text (HTML if it looks like a page) or unknown binary; neither
is a type any resource takes.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

import filetype
from defusedxml import ElementTree  # type: ignore[import-untyped]  # no stubs installed
from django.utils.translation import gettext as _

from .. import conf
from ..choices import ResourceType

#: Bytes read to recognise a type (``filetype`` looks at the first 8 KiB at most).
HEAD_BYTES = 8192
#: Most entries an OOXML zip may have (a big real deck has a few thousand).
MAX_ARCHIVE_ENTRIES = 10_000
#: Largest ``[Content_Types].xml`` we read (real ones are a few KiB).
MAX_CONTENT_TYPES_BYTES = 1024 * 1024

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP = "application/zip"
OOXML_MACRO = "application/vnd.ms-office.macroenabled"
TEXT = "text/plain"
HTML = "text/html"
EXECUTABLE = "application/x-executable"
UNKNOWN = "application/octet-stream"

#: The main part's content type in ``[Content_Types].xml`` → the file's type.
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": PPTX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
}
_OOXML_MACRO_MAIN = (
    "application/vnd.ms-word.document.macroenabled.main+xml",
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml",
    "application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml",
)

#: Extensions a file of each type may carry (lower case, no dot).
_EXTENSIONS: dict[str, frozenset[str]] = {
    PDF: frozenset({"pdf"}),
    DOCX: frozenset({"docx"}),
    PPTX: frozenset({"pptx", "ppsx"}),
    XLSX: frozenset({"xlsx"}),
    "video/mp4": frozenset({"mp4", "m4v"}),
    "video/x-m4v": frozenset({"m4v", "mp4"}),
    "video/webm": frozenset({"webm"}),
    "video/quicktime": frozenset({"mov", "qt"}),
    "video/x-matroska": frozenset({"mkv"}),
    "video/mpeg": frozenset({"mpg", "mpeg"}),
    "image/jpeg": frozenset({"jpg", "jpeg"}),
    TEXT: frozenset({"txt", "text"}),
    HTML: frozenset({"html", "htm"}),
}

_EXECUTABLE_MIMES = frozenset(
    {"application/x-msdownload", "application/x-executable", "application/x-mach-binary"}
)
_EXECUTABLE_HEADS = (b"MZ", b"\x7fELF", b"#!", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa")
_HTML_MARKERS = ("<html", "<!doctype html", "<script", "<body", "<svg", "<iframe", "<head")

#: Which detected types each resource type takes ("video/*" = any video).
ALLOWED_TYPES: dict[str, frozenset[str]] = {
    ResourceType.VIDEO: frozenset({"video/*"}),
    ResourceType.MICRO_LESSON: frozenset({"video/*"}),
    ResourceType.DOCUMENT: frozenset({PDF, DOCX}),
    ResourceType.COURSEWARE: frozenset({PPTX, PDF}),
    ResourceType.EXERCISE_SET: frozenset({PDF, DOCX}),
    ResourceType.VIRTUAL_LAB: frozenset(),
}


class ArchiveUnsafe(Exception):
    """A zip that must not be opened; ``reason`` says why (English, for the finding detail)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Sniffed:
    """The type of a file as its content shows it."""

    mime: str
    #: The usual extension of the type ("pdf", "docx", "mp4"), or "" when unknown.
    extension: str

    @property
    def extensions(self) -> frozenset[str]:
        known = _EXTENSIONS.get(self.mime)
        if known is not None:
            return known
        return frozenset({self.extension}) if self.extension else frozenset()

    @property
    def is_executable(self) -> bool:
        return self.mime == EXECUTABLE

    @property
    def is_known(self) -> bool:
        """A type some resource type could take (not text, HTML, executables or unknown)."""
        return self.mime in {PDF, DOCX, PPTX} or self.mime.startswith("video/")

    @property
    def is_ooxml(self) -> bool:
        return self.mime in {DOCX, PPTX, XLSX}

    def label(self) -> str:
        """A short name for messages, e.g. ``PDF (application/pdf)``."""
        name = self.extension.upper() if self.extension else _("unknown content")
        return f"{name} ({self.mime})"


def extension_of(name: str) -> str:
    """The lower-case extension of a file name without the dot ("" if none)."""
    base = posixpath.basename((name or "").replace("\\", "/"))
    if "." not in base.strip("."):
        return ""
    return base.rsplit(".", 1)[-1].lower()


def _read_head(fh: IO[bytes]) -> bytes:
    fh.seek(0)
    head = fh.read(HEAD_BYTES)
    fh.seek(0)
    return head


def _unsafe_name(name: str) -> bool:
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        return True
    first = name.split("/", 1)[0]
    if len(first) >= 2 and first[1] == ":":
        return True
    return any(part == ".." for part in name.split("/"))


def check_archive(infos: Iterable[zipfile.ZipInfo]) -> None:
    """Refuse a zip whose entries would inflate too far or escape their directory.

    Raises ``ArchiveUnsafe``. Limits: ``RESOURCES_MAX_UNCOMPRESSED_BYTES`` for the declared
    total, ``RESOURCES_MAX_COMPRESSION_RATIO`` for the whole archive and for any entry of more
    than 1 MiB, ``MAX_ARCHIVE_ENTRIES`` entries.
    """
    max_total = int(conf.get("RESOURCES_MAX_UNCOMPRESSED_BYTES"))
    max_ratio = float(conf.get("RESOURCES_MAX_COMPRESSION_RATIO"))
    total = compressed = 0
    for count, info in enumerate(infos, start=1):
        if count > MAX_ARCHIVE_ENTRIES:
            raise ArchiveUnsafe(
                "too_many_entries",
                _("The file holds more than %(n)d parts.") % {"n": MAX_ARCHIVE_ENTRIES},
            )
        if _unsafe_name(info.filename):
            raise ArchiveUnsafe(
                "unsafe_path", _("The file holds a part with an unsafe name (a path traversal).")
            )
        total += info.file_size
        compressed += info.compress_size
        if info.file_size > 1024 * 1024 and info.file_size > max_ratio * max(info.compress_size, 1):
            raise ArchiveUnsafe(
                "ratio", _("A part of the file is compressed suspiciously far (a zip bomb).")
            )
        if total > max_total:
            raise ArchiveUnsafe(
                "too_large", _("The file would unpack to more than the allowed size (a zip bomb).")
            )
    if total > 1024 * 1024 and total > max_ratio * max(compressed, 1):
        raise ArchiveUnsafe("ratio", _("The file is compressed suspiciously far (a zip bomb)."))


def _sniff_zip(fh: IO[bytes]) -> Sniffed:
    """A zip: an OOXML type by its main part, or a plain archive. Raises ``ArchiveUnsafe``."""
    try:
        fh.seek(0)
        with zipfile.ZipFile(fh) as archive:
            infos = archive.infolist()
            check_archive(infos)
            entry = next((i for i in infos if i.filename == "[Content_Types].xml"), None)
            if entry is None or entry.file_size > MAX_CONTENT_TYPES_BYTES:
                return Sniffed(ZIP, "zip")
            raw = archive.read(entry)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return Sniffed(ZIP, "zip")
    finally:
        fh.seek(0)
    try:
        root = ElementTree.fromstring(raw)
    except Exception:  # defusedxml raises several kinds for hostile XML
        return Sniffed(ZIP, "zip")
    types = {
        (el.get("ContentType") or "").strip().lower()
        for el in root.iter()
        if el.tag.endswith("Override") or el.tag.endswith("Default")
    }
    for main, mime in _OOXML_MAIN.items():
        if main in types:
            return Sniffed(mime, {DOCX: "docx", PPTX: "pptx", XLSX: "xlsx"}[mime])
    if any(t in types for t in _OOXML_MACRO_MAIN):
        return Sniffed(OOXML_MACRO, "")
    return Sniffed(ZIP, "zip")


def _sniff_text(head: bytes) -> Sniffed:
    if b"\x00" in head:
        return Sniffed(UNKNOWN, "")
    chunk = head
    for _cut in range(4):
        try:
            text = chunk.decode("utf-8")
            break
        except UnicodeDecodeError:
            chunk = chunk[:-1]
    else:
        return Sniffed(UNKNOWN, "")
    lowered = text.lstrip("\ufeff").lower()
    if any(marker in lowered for marker in _HTML_MARKERS):
        return Sniffed(HTML, "html")
    return Sniffed(TEXT, "txt")


def sniff(fh: IO[bytes]) -> Sniffed:
    """The type of the seekable file ``fh`` by its content (``fh`` is left at position 0).

    Raises ``ArchiveUnsafe`` for a zip that must not be opened.
    """
    head = _read_head(fh)
    if not head:
        return Sniffed(UNKNOWN, "")
    if head.startswith(_EXECUTABLE_HEADS):
        return Sniffed(EXECUTABLE, "")
    if head.startswith(b"%PDF-"):
        return Sniffed(PDF, "pdf")
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(fh)
    kind = filetype.guess(head)
    if kind is None:
        return _sniff_text(head)
    if kind.mime in _EXECUTABLE_MIMES:
        return Sniffed(EXECUTABLE, "")
    return Sniffed(kind.mime, kind.extension)


def allowed_for(resource_type: str, sniffed: Sniffed) -> bool:
    """Does a resource of ``resource_type`` take a file of this type?"""
    allowed = ALLOWED_TYPES.get(resource_type, frozenset())
    if "video/*" in allowed and sniffed.mime.startswith("video/"):
        return True
    return sniffed.mime in allowed


def allowed_labels(resource_type: str) -> str:
    """The types ``resource_type`` takes, for messages ("PDF, DOCX")."""
    names = {PDF: "PDF", DOCX: "DOCX", PPTX: "PPTX", "video/*": "video"}
    allowed = ALLOWED_TYPES.get(resource_type, frozenset())
    return ", ".join(sorted(names.get(t, t) for t in allowed))


@dataclass(frozen=True)
class TypeProblem:
    """Why a file does not fit: ``code`` is ``FILE_TYPE_MISMATCH``, ``FILE_TYPE_NOT_ALLOWED``
    or ``ARCHIVE_UNSAFE``; ``message`` is translated."""

    code: str
    message: str
    detected: str = ""


def check_type(
    fh: IO[bytes], file_name: str, resource_type: str
) -> tuple[Sniffed | None, TypeProblem | None]:
    """Sniff ``fh`` and compare it with its name and ``resource_type``.

    Order: unsafe archive; unknown, text or executable content; an extension naming another
    type; a type the resource type does not take.
    """
    try:
        sniffed = sniff(fh)
    except ArchiveUnsafe as exc:
        return None, TypeProblem("ARCHIVE_UNSAFE", exc.message)
    if not sniffed.is_known:
        return sniffed, TypeProblem(
            "FILE_TYPE_NOT_ALLOWED",
            _("Files of this kind are not accepted (detected: %(type)s).")
            % {"type": sniffed.label()},
            sniffed.mime,
        )
    ext = extension_of(file_name)
    if ext not in sniffed.extensions:
        return sniffed, TypeProblem(
            "FILE_TYPE_MISMATCH",
            _(
                "The file name ends in .%(ext)s but its content is %(type)s; rename it or "
                "upload the right file."
            )
            % {"ext": ext or "?", "type": sniffed.label()},
            sniffed.mime,
        )
    if not allowed_for(resource_type, sniffed):
        return sniffed, TypeProblem(
            "FILE_TYPE_NOT_ALLOWED",
            _("This resource type takes %(allowed)s files; this file is %(type)s.")
            % {"allowed": allowed_labels(resource_type) or "-", "type": sniffed.label()},
            sniffed.mime,
        )
    return sniffed, None
