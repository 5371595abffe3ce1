"""Readers: a OneRoster 1.2 CSV bundle (zip) or an XLSX template → ``Table``s of ``RawRow``s.

A reader checks everything about the file as a whole before the engine writes anything: the
zip is sound and safe, the manifest is valid, every file it lists is there, each file's
encoding and header are right. Those failures raise ``BundleError`` (nothing is imported).
Things OneRoster tolerates become ``Bundle.warnings`` (``Issue``s whose ``value`` is the file
name): a data file the manifest does not list (``FILE_UNLISTED``, imported anyway: the data
wins), a listed file without data rows (``FILE_EMPTY``, *skipped*, so an empty bulk file never
marks a whole table deleted) and gradebook/resources files (``FILE_UNSUPPORTED``, ignored).

Rows are streamed: a member is decompressed, decoded (``io.TextIOWrapper``, strict) and parsed
(``csv``, RFC 4180) incrementally, so a 150 MB ``users.csv`` is never held in memory. A CRC,
truncation or decoding error found mid-stream still raises ``BundleError`` naming the file and
line. ``RawRow.row`` is the physical line on which the record *starts* (the header is line 1;
blank lines count as lines and are skipped). A row whose cell count differs from the header's
carries the reserved key ``SHAPE_KEY`` (``"<cells>/<columns>"``); the rules report ``ROW_SHAPE``.
The ``password`` column is dropped here and never reaches a ``RawRow``.

Encoding: a member is UTF-8 (a BOM is stripped) if its first MiB decodes as UTF-8 (an
incremental decoder, so a character cut at the 1 MiB mark is not an error), else GB 18030 if
that decodes, else ``ENCODING_INVALID``. GB 18030 covers every Unicode character, so names
with characters outside GBK (㐀, 𠀀, 䶮) come through exactly.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import zipfile
import zlib
from collections.abc import Generator, Iterator
from pathlib import PurePosixPath
from types import TracebackType
from typing import IO, Final

from django.conf import settings
from django.utils.translation import gettext as _

from ..choices import Dimension, Severity
from .types import FILE_ORDER, BundleError, Issue, RawRow

__all__ = [
    "MANIFEST_FILES",
    "MANIFEST_FILE_ORDER",
    "SHAPE_KEY",
    "STANDARD_COLUMNS",
    "UNSUPPORTED_FILES",
    "Bundle",
    "CsvBundle",
    "CsvTable",
    "Table",
    "open_bundle",
    "open_file",
    "required_columns",
    "standard_header",
]

#: Largest CSV field the parser accepts; a longer one is ``FIELD_TOO_LARGE`` (the rules report
#: fields above the column's limit as ``FIELD_TOO_LONG`` well before this).
FIELD_SIZE_LIMIT: Final = 16 * 1024 * 1024
csv.field_size_limit(FIELD_SIZE_LIMIT)

SNIFF_BYTES: Final = 1024 * 1024
DEFAULT_MAX_UNCOMPRESSED: Final = 8 * 1024**3
#: A member inflating more than this many times its compressed size (and above
#: ``BOMB_MIN_BYTES``) is treated as a zip bomb. Real CSVs compress 5-30x.
DEFAULT_MAX_RATIO: Final = 200
BOMB_MIN_BYTES: Final = 64 * 1024 * 1024

#: Reserved ``RawRow.cells`` key set when a row has more or fewer cells than the header.
SHAPE_KEY: Final = "#shape"
DROPPED_COLUMNS: Final = frozenset({"password"})

#: OneRoster 1.2.1 CSV binding: the standard columns of each supported file, ``*`` = required.
_SPEC: Final[dict[str, str]] = {
    "orgs": "sourcedId* status dateLastModified name* type* identifier parentSourcedId",
    "academicSessions": "sourcedId* status dateLastModified title* type* startDate* endDate* "
    "parentSourcedId schoolYear*",
    "courses": "sourcedId* status dateLastModified schoolYearSourcedId title* courseCode grades "
    "orgSourcedId* subjects subjectCodes",
    "classes": "sourcedId* status dateLastModified title* grades courseSourcedId* classCode "
    "classType* location schoolSourcedId* termSourcedIds* subjects subjectCodes periods",
    "users": "sourcedId* status dateLastModified enabledUser* username* userIds givenName* "
    "familyName* middleName identifier email sms phone agentSourcedIds grades password "
    "userMasterIdentifier preferredGivenName preferredMiddleName preferredFamilyName "
    "primaryOrgSourcedId pronouns",
    "roles": "sourcedId* status dateLastModified userSourcedId* roleType* role* beginDate "
    "endDate orgSourcedId* userProfileSourcedId",
    "enrollments": "sourcedId* status dateLastModified classSourcedId* schoolSourcedId* "
    "userSourcedId* role* primary beginDate endDate",
    "demographics": "sourcedId* status dateLastModified birthDate sex "
    "americanIndianOrAlaskaNative asian blackOrAfricanAmerican "
    "nativeHawaiianOrOtherPacificIslander white demographicRaceTwoOrMoreRaces "
    "hispanicOrLatinoEthnicity countryOfBirthCode stateOfBirthAbbreviation cityOfBirth "
    "publicSchoolResidenceStatus",
}

#: table → ((column, required), ...) in spec order.
STANDARD_COLUMNS: Final[dict[str, tuple[tuple[str, bool], ...]]] = {
    table: tuple((c.rstrip("*"), c.endswith("*")) for c in spec.split())
    for table, spec in _SPEC.items()
}

#: Every data file a manifest lists, in the binding's order (OneRoster 1.2 CSV binding §1.2).
MANIFEST_FILE_ORDER: Final = (
    "academicSessions",
    "categories",
    "classes",
    "classResources",
    "courses",
    "courseResources",
    "demographics",
    "enrollments",
    "lineItemLearningObjectiveIds",
    "lineItems",
    "lineItemScoreScales",
    "orgs",
    "resources",
    "resultLearningObjectiveIds",
    "results",
    "resultScoreScales",
    "roles",
    "scoreScales",
    "userProfiles",
    "userResources",
    "users",
)
MANIFEST_FILES: Final = frozenset(MANIFEST_FILE_ORDER)
UNSUPPORTED_FILES: Final = MANIFEST_FILES - set(FILE_ORDER)
_MODES: Final = frozenset({"absent", "bulk", "delta"})
_IGNORED_MEMBERS: Final = ("__MACOSX/", ".DS_Store")


def required_columns(table: str) -> frozenset[str]:
    """The required standard columns of a OneRoster file (``users`` → sourcedId, ...)."""
    return frozenset(name for name, required in STANDARD_COLUMNS[table] if required)


def standard_header(table: str) -> tuple[str, ...]:
    """The standard columns of ``table`` in the binding's order (for writers of bundles)."""
    return tuple(name for name, _required in STANDARD_COLUMNS[table])


def warning(code: str, message: str, file: str) -> Issue:
    """A bundle-level warning; ``value`` carries the file (or sheet) name."""
    return Issue(
        code=code,
        column="",
        message=message,
        dimension=Dimension.VALIDITY.value,
        severity=Severity.WARNING.value,
        value=file,
    )


# --------------------------------------------------------------------------------------------
# The interface the engine uses
# --------------------------------------------------------------------------------------------


class Table:
    """One OneRoster file (or XLSX sheet) of a bundle: ``name``, ``file``, ``mode``, rows."""

    name: str
    file: str
    mode: str
    #: OneRoster column → the header the user saw (XLSX: the Chinese header), for messages.
    column_labels: dict[str, str]

    def count_rows(self) -> int:
        """Data rows in the table (a fast pre-count for progress; blank lines excluded)."""
        raise NotImplementedError

    def rows(self, start_row: int = 2) -> Iterator[RawRow]:
        """Stream the data rows whose ``row`` is at least ``start_row`` (for resuming)."""
        raise NotImplementedError


class Bundle:
    """An opened import file; a context manager (``with open_file(...) as bundle``)."""

    format: str  # BatchFormat value
    mode: str  # BatchMode value
    source_system_code: str
    warnings: list[Issue]

    def tables(self) -> list[Table]:
        """The present, non-empty tables in ``FILE_ORDER``."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Bundle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_file(path: str | os.PathLike[str], file_name: str = "") -> Bundle:
    """Open an upload by its content: an XLSX workbook or a OneRoster zip.

    Both are zips; a workbook has ``[Content_Types].xml`` and ``xl/workbook.xml``.
    ``file_name`` (the name the user uploaded) is used only in messages.
    """
    label = file_name or os.fspath(path)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] != b"PK":
        raise BundleError(
            "FORMAT_UNKNOWN",
            _("The file is neither a OneRoster zip bundle nor an Excel (xlsx) workbook."),
            file=label,
        )
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise BundleError(
            "ZIP_INVALID", _("The file is not a readable zip archive."), file=label
        ) from exc
    if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
        from .xlsx import open_workbook

        return open_workbook(path)
    return open_bundle(path)


# --------------------------------------------------------------------------------------------
# Zip bundle
# --------------------------------------------------------------------------------------------


def _zip_error(file: str, row: int | None = None) -> BundleError:
    return BundleError(
        "ZIP_INVALID",
        _("The zip archive is damaged or truncated (CRC or decompression error)."),
        file=file,
        row=row,
    )


def _check_members(zf: zipfile.ZipFile, label: str) -> dict[str, zipfile.ZipInfo]:
    """Members by name, after the safety checks (root only, size and ratio limits)."""
    max_total = int(getattr(settings, "REGISTRY_MAX_UNCOMPRESSED_BYTES", DEFAULT_MAX_UNCOMPRESSED))
    max_ratio = int(getattr(settings, "REGISTRY_MAX_COMPRESSION_RATIO", DEFAULT_MAX_RATIO))
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in zf.infolist():
        name = info.filename
        if name.startswith(_IGNORED_MEMBERS) or PurePosixPath(name).name == ".DS_Store":
            continue
        if (
            info.is_dir()
            or "/" in name
            or "\\" in name
            or name.startswith("..")
            or (len(name) > 1 and name[1] == ":")
        ):
            raise BundleError(
                "ZIP_UNSAFE",
                _("Every file must be at the root of the zip (no folders, no absolute paths)."),
                file=name,
            )
        total += info.file_size
        if total > max_total:
            raise BundleError(
                "ZIP_TOO_LARGE",
                _("The zip unpacks to more than %(limit)s bytes.") % {"limit": max_total},
                file=label,
            )
        if info.file_size > BOMB_MIN_BYTES and info.file_size > max_ratio * max(
            info.compress_size, 1
        ):
            raise BundleError(
                "ZIP_TOO_LARGE",
                _("The file is compressed suspiciously well (a zip bomb?)."),
                file=name,
            )
        members[name] = info
    return members


def _sniff_encoding(head: bytes, file: str) -> str:
    """``utf-8-sig`` or ``gb18030`` for a member's first bytes (see the module docstring).

    When neither decodes, the line reported is where the decoder that got further stopped
    (the file's likely encoding), so a stray byte in a UTF-8 file is named exactly.
    """
    final = len(head) < SNIFF_BYTES
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=final)
    except UnicodeDecodeError as exc:
        utf8_stop = exc.start
    else:
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=final)
    except UnicodeDecodeError as exc:
        raise BundleError(
            "ENCODING_INVALID",
            _("The file is neither UTF-8 nor GB 18030 text."),
            file=file,
            row=head.count(b"\n", 0, max(exc.start, utf8_stop)) + 1,
        ) from exc
    return "gb18030"


class _CsvStream:
    """A member opened for streaming: the csv reader plus error translation."""

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, encoding: str) -> None:
        self.file = info.filename
        self._zf = zf
        self._info = info
        try:
            self._raw: IO[bytes] = zf.open(info)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as exc:
            raise _zip_error(self.file) from exc
        self._text = io.TextIOWrapper(self._raw, encoding=encoding, errors="strict", newline="")
        self.reader = csv.reader(self._text, strict=False)

    def records(self) -> Generator[tuple[int, list[str]], None, None]:
        """``(start line, cells)`` of every non-blank record, errors as ``BundleError``."""
        reader = self.reader
        line = 0
        try:
            for record in reader:
                start = line + 1
                line = reader.line_num
                if record and (len(record) > 1 or record[0]):
                    yield start, record
        except UnicodeDecodeError as exc:
            raise BundleError(
                "ENCODING_INVALID",
                _("The file has bytes that are not valid %(encoding)s text.")
                % {"encoding": "UTF-8" if "utf" in self._text.encoding else "GB 18030"},
                file=self.file,
                row=self._error_line(),
            ) from exc
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise BundleError(
                    "FIELD_TOO_LARGE",
                    _("A field is larger than %(limit)s characters.") % {"limit": FIELD_SIZE_LIMIT},
                    file=self.file,
                    row=line + 1,
                ) from exc
            raise BundleError(
                "CSV_INVALID",
                _("The file is not valid CSV (RFC 4180)."),
                file=self.file,
                row=reader.line_num,
            ) from exc
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise _zip_error(self.file, reader.line_num + 1) from exc
        finally:
            self.close()

    def close(self) -> None:
        self._text.close()

    def _error_line(self) -> int | None:
        """The line of the first undecodable byte: a second pass, on the error path only."""
        decoder = codecs.getincrementaldecoder(self._text.encoding)()
        lines = 1
        try:
            with self._zf.open(self._info) as fh:
                while chunk := fh.read(1024 * 1024):
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError as exc:
                        # ``exc.object`` is the bytes held back from the last chunk (part of
                        # one character, never a newline) followed by this chunk.
                        return lines + exc.object.count(b"\n", 0, exc.start)
                    lines += chunk.count(b"\n")
        except (zipfile.BadZipFile, EOFError, zlib.error):
            return None
        return None


class CsvTable(Table):
    """One data file of a zip bundle."""

    def __init__(
        self,
        bundle: CsvBundle,
        info: zipfile.ZipInfo,
        name: str,
        mode: str,
        encoding: str,
        header: list[str],
    ) -> None:
        self._bundle = bundle
        self._info = info
        self.name = name
        self.file = info.filename
        self.mode = mode
        self.encoding = encoding
        self.header = header
        self.column_labels = {}

    def _stream(self) -> _CsvStream:
        return _CsvStream(self._bundle.zip, self._info, self.encoding)

    def count_rows(self) -> int:
        records = self._stream().records()
        return sum(1 for _record in records) - 1  # minus the header

    def rows(self, start_row: int = 2) -> Iterator[RawRow]:
        header = self.header
        width = len(header)
        keep = [i for i, name in enumerate(header) if name not in DROPPED_COLUMNS]
        full = len(keep) == width
        file = self.file
        records = self._stream().records()
        next(records, None)  # the header, checked when the bundle was opened
        for line, record in records:
            if line < start_row:
                continue
            if full and len(record) == width:
                cells = dict(zip(header, record, strict=True))
            else:
                cells = {header[i]: record[i] for i in keep if i < len(record)}
                if len(record) != width:
                    cells[SHAPE_KEY] = f"{len(record)}/{width}"
            yield RawRow(file=file, row=line, cells=cells)


def check_header(cells: list[str], allowed: set[str], required: frozenset[str], file: str) -> None:
    """``HEADER_BLANK``, ``HEADER_DUPLICATE``, ``HEADER_UNKNOWN``, ``HEADER_MISSING`` checks."""
    seen: set[str] = set()
    for name in cells:
        if not name:
            raise BundleError(
                "HEADER_BLANK", _("The header row has a blank column name."), file=file, row=1
            )
        if name in seen:
            raise BundleError(
                "HEADER_DUPLICATE",
                _("The column %(column)s appears twice in the header.") % {"column": name},
                file=file,
                row=1,
                column=name,
            )
        seen.add(name)
        if name not in allowed and not name.startswith("metadata."):
            raise BundleError(
                "HEADER_UNKNOWN",
                _("%(column)s is not a column of this file (extensions must be metadata.*).")
                % {"column": name},
                file=file,
                row=1,
                column=name,
            )
    for name in sorted(required - seen):
        raise BundleError(
            "HEADER_MISSING",
            _("The required column %(column)s is missing.") % {"column": name},
            file=file,
            row=1,
            column=name,
        )


class CsvBundle(Bundle):
    """A OneRoster 1.2 CSV bundle (see the module docstring)."""

    format = "oneroster_csv"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.label = os.fspath(path)
        self.warnings = []
        self.source_system_code = ""
        self._tables: list[CsvTable] = []
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError) as exc:
            raise BundleError(
                "ZIP_INVALID", _("The file is not a readable zip archive."), file=self.label
            ) from exc
        try:
            self._open()
        except BaseException:
            self.zip.close()
            raise

    def close(self) -> None:
        self.zip.close()

    def tables(self) -> list[Table]:
        return list(self._tables)

    def _read_small(self, info: zipfile.ZipInfo) -> tuple[str, list[list[str]]]:
        """Encoding and records of a small member (the manifest)."""
        try:
            data = self.zip.read(info)
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise _zip_error(info.filename) from exc
        encoding = _sniff_encoding(data[:SNIFF_BYTES], info.filename)
        text = data.decode(encoding, errors="strict")
        return encoding, [r for r in csv.reader(io.StringIO(text)) if any(r)]

    def _manifest(self, members: dict[str, zipfile.ZipInfo]) -> dict[str, str]:
        info = members.get("manifest.csv")
        if info is None:
            raise BundleError(
                "MANIFEST_MISSING",
                _("The bundle has no manifest.csv at its root."),
                file=self.label,
            )
        try:
            _encoding, records = self._read_small(info)
        except BundleError as exc:
            if exc.code != "ENCODING_INVALID":
                raise
            raise BundleError(
                "MANIFEST_INVALID", exc.message, file="manifest.csv", row=exc.row
            ) from exc

        def invalid(message: str, row: int | None = None, column: str = "") -> BundleError:
            return BundleError(
                "MANIFEST_INVALID", message, file="manifest.csv", row=row, column=column
            )

        if not records or [c.strip() for c in records[0][:2]] != ["propertyName", "value"]:
            raise invalid(_("The manifest header must be propertyName,value."), 1)
        props: dict[str, str] = {}
        for record in records[1:]:
            if len(record) >= 2:
                props[record[0].strip()] = record[1].strip()
        if props.get("manifest.version") not in {"1.0", "1"}:
            raise invalid(_("manifest.version must be 1.0."), column="manifest.version")
        if props.get("oneroster.version") != "1.2":
            raise invalid(_("oneroster.version must be 1.2."), column="oneroster.version")
        for key, value in props.items():
            if key.startswith("file.") and value not in _MODES:
                raise invalid(
                    _("%(property)s must be absent, bulk or delta.") % {"property": key},
                    column=key,
                )
        self.source_system_code = props.get("source.systemCode", "")
        return props

    def _open(self) -> None:
        members = _check_members(self.zip, self.label)
        props = self._manifest(members)
        listed = {
            key[5:]: value
            for key, value in props.items()
            if key.startswith("file.") and value != "absent"
        }
        for name in sorted(listed):
            if f"{name}.csv" not in members:
                raise BundleError(
                    "FILE_MISSING",
                    _("The manifest lists %(file)s as %(mode)s but the file is not in the zip.")
                    % {"file": f"{name}.csv", "mode": listed[name]},
                    file=f"{name}.csv",
                )
        modes = {listed[n] for n in FILE_ORDER if n in listed}
        self.mode = modes.pop() if len(modes) == 1 else ("bulk" if not modes else "delta")
        for member in sorted(members):
            stem, _dot, ext = member.rpartition(".")
            if member == "manifest.csv":
                continue
            if ext != "csv" or stem not in FILE_ORDER:
                self.warnings.append(
                    warning(
                        "FILE_UNSUPPORTED",
                        _("%(file)s is not a rostering file this registry imports; ignored.")
                        % {"file": member},
                        member,
                    )
                )
        for name in FILE_ORDER:
            info = members.get(f"{name}.csv")
            if info is None:
                continue
            mode = listed.get(name)
            if mode is None:
                mode = self.mode
                self.warnings.append(
                    warning(
                        "FILE_UNLISTED",
                        _(
                            "%(file)s is in the zip but the manifest does not list it; "
                            "imported as %(mode)s."
                        )
                        % {"file": info.filename, "mode": mode},
                        info.filename,
                    )
                )
            table = self._open_table(info, name, mode)
            if table is not None:
                self._tables.append(table)

    def _open_table(self, info: zipfile.ZipInfo, name: str, mode: str) -> CsvTable | None:
        try:
            with self.zip.open(info) as fh:
                head = fh.read(SNIFF_BYTES)
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise _zip_error(info.filename) from exc
        encoding = _sniff_encoding(head, info.filename)
        stream = _CsvStream(self.zip, info, encoding)
        records = stream.records()
        try:
            first = next(records, None)
            data = next(records, None)
        finally:
            records.close()
        if first is None or data is None:
            self.warnings.append(
                warning(
                    "FILE_EMPTY",
                    _("%(file)s has no data rows; it is skipped.") % {"file": info.filename},
                    info.filename,
                )
            )
            return None
        header = [cell.strip().lstrip("\ufeff") for cell in first[1]]
        check_header(
            header,
            {column for column, _required in STANDARD_COLUMNS[name]},
            required_columns(name),
            info.filename,
        )
        return CsvTable(self, info, name, mode, encoding, header)


def open_bundle(path: str | os.PathLike[str]) -> CsvBundle:
    """Open and check a OneRoster 1.2 CSV bundle (raises ``BundleError``)."""
    return CsvBundle(path)
