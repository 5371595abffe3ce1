"""CSV and XLSX writers for findings, safe to open in a spreadsheet.

Formula injection (OWASP "CSV injection"): a cell that begins with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return may be evaluated as a formula by Excel, LibreOffice or WPS. Every such
text cell gets a leading apostrophe (``'``), in CSV and in XLSX, and XLSX cells are always
written as explicit text (``data_type "s"``), so a spreadsheet never evaluates them.

CSV streams row by row (``StreamingHttpResponse``, UTF-8 with a BOM so Excel detects the
encoding); XLSX is written with openpyxl's ``write_only`` workbook to a temporary file that is
streamed back and removed when the response closes.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.utils.translation import gettext as _

from .models import Finding

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ITERATOR_CHUNK = 2000


def neutralise(value: Any) -> str:
    """The text of one cell, with a leading apostrophe if it could start a formula."""
    text = "" if value is None else str(value)
    if text.startswith(DANGEROUS_PREFIXES):
        return "'" + text
    return text


def finding_header() -> list[str]:
    return [
        _("Batch"),
        _("Organisation"),
        _("File"),
        _("Row"),
        _("Column"),
        _("Code"),
        _("Dimension"),
        _("Severity"),
        _("Status"),
        _("Value"),
        _("Message"),
        _("Record type"),
        _("sourcedId"),
    ]


def finding_rows(findings: Iterable[Finding]) -> Iterator[list[Any]]:
    for f in findings:
        yield [
            f.batch_id or "",
            f.org.name,
            f.file,
            f.row if f.row is not None else "",
            f.column,
            f.code,
            f.dimension,
            f.severity,
            f.status,
            f.value,
            f.message,
            f.entity_type,
            f.sourced_id,
        ]


class _Echo:
    """A file-like object whose ``write`` returns the line (for streaming ``csv.writer``)."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield "\ufeff" + writer.writerow([neutralise(h) for h in header])
    for row in rows:
        yield writer.writerow([neutralise(cell) for cell in row])


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """A streamed CSV download of ``rows`` (every cell neutralised)."""
    response = StreamingHttpResponse(
        _csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def write_xlsx(target: Any, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write an XLSX workbook to ``target`` (a path or binary file), one sheet, every text cell
    neutralised and written as a text cell; integers stay numbers."""
    from openpyxl import Workbook  # type: ignore[import-untyped]  # no stubs installed
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]  # no stubs installed

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("findings")

    def cells(values: Sequence[Any]) -> list[Any]:
        out = []
        for value in values:
            if isinstance(value, int) and not isinstance(value, bool):
                out.append(WriteOnlyCell(sheet, value=value))
                continue
            cell = WriteOnlyCell(sheet)
            # Set the value and then force the type: openpyxl would otherwise read a leading
            # "=" as a formula.
            cell._value = neutralise(value)  # openpyxl has no public text setter
            cell.data_type = "s"
            out.append(cell)
        return out

    sheet.append(cells(list(header)))
    for row in rows:
        sheet.append(cells(row))
    workbook.save(target)


def xlsx_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> FileResponse:
    """An XLSX download built in a temporary file (removed when the response is closed)."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115  # FileResponse closes it
    write_xlsx(handle, header, rows)
    handle.seek(0)
    return FileResponse(
        handle, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
    )


def findings_export(findings: Any, fmt: str, basename: str) -> StreamingHttpResponse:
    """The findings queryset as ``fmt`` ("csv" or "xlsx"), read in chunks."""
    rows = finding_rows(findings.iterator(chunk_size=ITERATOR_CHUNK))
    if fmt == "xlsx":
        return xlsx_response(f"{basename}.xlsx", finding_header(), rows)
    return csv_response(f"{basename}.csv", finding_header(), rows)
