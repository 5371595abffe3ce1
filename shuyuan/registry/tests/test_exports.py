"""CSV and XLSX writers: formula injection is neutralised in both."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from shuyuan.registry import exports

DANGEROUS = ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_neutralise_prefixes_formula_starts(value):
    assert exports.neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["plain", "1=1", "", "a-b", 42])
def test_neutralise_leaves_safe_values(value):
    assert exports.neutralise(value) == str(value)


def test_neutralise_none_is_empty():
    assert exports.neutralise(None) == ""


def test_csv_response_streams_neutralised_cells():
    response = exports.csv_response("x.csv", ["a", "=b"], [["=1+1", 7, "ok"]])
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows == [["a", "'=b"], ["'=1+1", "7", "ok"]]
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'


def test_xlsx_cells_are_text_with_an_apostrophe():
    out = io.BytesIO()
    exports.write_xlsx(out, ["value"], [[v] for v in DANGEROUS] + [[5], ["plain"]])
    out.seek(0)
    sheet = openpyxl.load_workbook(out).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    for cell, value in zip(cells, DANGEROUS, strict=False):
        assert cell.data_type == "s"
        assert isinstance(cell.value, str)
        # The apostrophe stays in front. A carriage return survives when openpyxl writes with
        # lxml (which escapes it) and becomes a line feed with the standard library's writer.
        assert cell.value in {"'" + value, "'" + value.replace("\r", "\n")}
    assert cells[len(DANGEROUS)].value == 5
    assert cells[len(DANGEROUS) + 1].value == "plain"


def test_xlsx_response_is_a_workbook():
    response = exports.xlsx_response("x.xlsx", ["a"], [["=1"]])
    data = b"".join(response.streaming_content)
    response.file_to_stream.close()  # close() would also fire request_finished
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet["A2"].value == "'=1"
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
