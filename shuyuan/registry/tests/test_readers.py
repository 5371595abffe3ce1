"""OneRoster zip bundle reader: zip safety, manifest, encodings, headers, streaming rows."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from shuyuan.registry.importing import readers
from shuyuan.registry.importing.readers import SHAPE_KEY, open_bundle, open_file
from shuyuan.registry.importing.rules import cleaner_for
from shuyuan.registry.importing.types import BundleError
from shuyuan.registry.testing import build_bundle

USER = {
    "sourcedId": "u1",
    "status": "",
    "dateLastModified": "",
    "enabledUser": "true",
    "username": "zhangsan",
    "givenName": "三",
    "familyName": "张",
}
ORG = {"sourcedId": "s1", "name": "第一中学", "type": "school"}


def _write(tmp_path: Path, data: bytes, name: str = "bundle.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _zip(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _error(path: Path) -> BundleError:
    with pytest.raises(BundleError) as info, open_bundle(path) as bundle:
        for table in bundle.tables():
            list(table.rows())
    return info.value


def _rows(path: Path, table: str = "users") -> list[readers.RawRow]:
    with open_bundle(path) as bundle:
        (found,) = [t for t in bundle.tables() if t.name == table]
        return list(found.rows())


# --- reading ----------------------------------------------------------------------------------


def test_open_bundle_utf8_rows_keep_line_numbers_and_drop_password(tmp_path):
    user = {**USER, "password": "secret"}
    path = _write(tmp_path, build_bundle({"users": [user, {**user, "sourcedId": "u2"}]}))
    with open_bundle(path) as bundle:
        assert (bundle.format, bundle.mode, bundle.warnings) == ("oneroster_csv", "bulk", [])
        (table,) = bundle.tables()
        assert (table.name, table.file, table.mode, table.count_rows()) == (
            "users",
            "users.csv",
            "bulk",
            2,
        )
        rows = list(table.rows())
    assert [(r.file, r.row, r.cells["sourcedId"]) for r in rows] == [
        ("users.csv", 2, "u1"),
        ("users.csv", 3, "u2"),
    ]
    assert "password" not in rows[0].cells


def test_tables_follow_file_order(tmp_path):
    path = _write(tmp_path, build_bundle({"users": [USER], "orgs": [ORG]}))
    with open_bundle(path) as bundle:
        assert [t.name for t in bundle.tables()] == ["orgs", "users"]


def test_open_bundle_gb18030_keeps_characters_outside_gbk(tmp_path):
    name = "\U00020000\u3400\u4dae"  # 𠀀㐀䶮: in GB 18030, not in GBK
    user = {**USER, "metadata.cn.fullName": name}
    path = _write(tmp_path, build_bundle({"users": [user]}, encoding="gb18030"))
    (row,) = _rows(path)
    assert row.cells["metadata.cn.fullName"] == name
    assert row.cells["givenName"] == "三"
    assert cleaner_for("users")(row, "bulk").values["name"] == name


def test_open_bundle_strips_a_utf8_bom(tmp_path):
    members = _members(build_bundle({"users": [USER]}))
    members["users.csv"] = b"\xef\xbb\xbf" + members["users.csv"]
    members["manifest.csv"] = b"\xef\xbb\xbf" + members["manifest.csv"]
    (row,) = _rows(_write(tmp_path, _zip(members)))
    assert row.cells["sourcedId"] == "u1"


def test_open_bundle_utf8_character_cut_at_the_sniff_limit_is_not_an_error(tmp_path):
    header = "sourcedId,enabledUser,username,givenName,familyName\r\n"
    filler = "u1,true,x,三,张\r\n"
    body = header + filler * (readers.SNIFF_BYTES // len(filler.encode()) + 10)
    members = _members(build_bundle({"users": [USER]}))
    members["users.csv"] = body.encode()
    rows = _rows(_write(tmp_path, _zip(members)))
    assert rows[-1].cells["givenName"] == "三"


def test_open_bundle_rejects_bytes_invalid_in_utf8_and_gb18030(tmp_path):
    bad = b"\xff\xfe\x00"
    with pytest.raises(UnicodeDecodeError):
        bad.decode("gb18030")
    members = _members(build_bundle({"users": [USER]}))
    members["users.csv"] += b"u2,true,x," + bad + b",y\r\n"
    error = _error(_write(tmp_path, _zip(members)))
    assert (error.code, error.file, error.row) == ("ENCODING_INVALID", "users.csv", 3)


def test_rows_report_an_encoding_error_past_the_sniffed_part_with_its_line(tmp_path):
    line = b"u1,true,x,a,b\r\n"
    count = readers.SNIFF_BYTES // len(line) + 100
    data = b"sourcedId,enabledUser,username,givenName,familyName\r\n" + line * count
    data += b"u2,true,x,\xff\xfe,b\r\n"
    members = _members(build_bundle({"users": [USER]}))
    members["users.csv"] = data
    error = _error(_write(tmp_path, _zip(members)))
    assert (error.code, error.file, error.row) == ("ENCODING_INVALID", "users.csv", count + 2)


def test_blank_lines_are_skipped_and_quoted_newlines_keep_the_start_line(tmp_path):
    data = (
        b"sourcedId,enabledUser,username,givenName,familyName\r\n"
        b"\r\n"
        b'u1,true,x,"a\r\nb",c\r\n'
        b"u2,true,y,d,e\r\n"
    )
    members = _members(build_bundle({"users": [USER]}))
    members["users.csv"] = data
    path = _write(tmp_path, _zip(members))
    rows = _rows(path)
    assert [(r.row, r.cells["sourcedId"]) for r in rows] == [(3, "u1"), (5, "u2")]
    with open_bundle(path) as bundle:
        (table,) = bundle.tables()
        assert table.count_rows() == 2
        assert [r.row for r in table.rows(start_row=4)] == [5]


def test_rows_with_the_wrong_cell_count_carry_the_shape_marker(tmp_path):
    header = ["sourcedId", "enabledUser", "username", "givenName", "familyName"]
    path = _write(
        tmp_path,
        build_bundle({"users": (header, [["u1", "true", "x", "a", "b", "extra"], ["u2", "true"]])}),
    )
    long_row, short_row = _rows(path)
    assert long_row.cells[SHAPE_KEY] == "6/5"
    assert short_row.cells[SHAPE_KEY] == "2/5"
    issue = cleaner_for("users")(long_row, "bulk").issues[0]
    assert (issue.code, issue.severity) == ("ROW_SHAPE", "error")


def test_a_ten_megabyte_field_is_read_and_reported_by_the_rules(tmp_path):
    big = "a" * (10 * 1024 * 1024)
    path = _write(tmp_path, build_bundle({"users": [{**USER, "givenName": big}]}))
    (row,) = _rows(path)
    clean = cleaner_for("users")(row, "bulk")
    issue = next(i for i in clean.issues if i.code == "FIELD_TOO_LONG")
    assert (issue.column, issue.severity, len(issue.value) < 100) == ("givenName", "error", True)
    assert clean.rejected


def test_a_field_above_the_parser_limit_is_field_too_large(tmp_path):
    big = "a" * (readers.FIELD_SIZE_LIMIT + 10)
    path = _write(tmp_path, build_bundle({"users": [USER, {**USER, "givenName": big}]}))
    error = _error(path)
    assert (error.code, error.file, error.row) == ("FIELD_TOO_LARGE", "users.csv", 3)


def test_cells_starting_with_formula_characters_come_through_unchanged(tmp_path):
    user = {**USER, "givenName": "=cmd|' /C calc'!A0", "familyName": "+1", "identifier": "@x"}
    user["middleName"] = "-2"
    (row,) = _rows(_write(tmp_path, build_bundle({"users": [user]})))
    clean = cleaner_for("users")(row, "bulk")
    assert clean.values["given_name"] == "=cmd|' /C calc'!A0"
    assert clean.values["family_name"] == "+1"
    assert clean.values["identifier"] == "@x"
    assert row.cells["middleName"] == "-2"
    assert clean.issues == []


def test_a_nul_byte_in_a_cell_is_removed(tmp_path):
    members = _members(build_bundle({"users": [USER]}))
    members["users.csv"] += b"u2,,,true,x,a\x00b,c\r\n"
    rows = _rows(_write(tmp_path, _zip(members)))
    assert cleaner_for("users")(rows[1], "bulk").values["given_name"] == "ab"


# --- zip checks -------------------------------------------------------------------------------


def test_truncated_zip_is_zip_invalid(tmp_path):
    data = build_bundle({"users": [USER]})
    error = _error(_write(tmp_path, data[: len(data) // 2]))
    assert error.code == "ZIP_INVALID"


def test_crc_error_mid_stream_is_zip_invalid_naming_the_file(tmp_path):
    line = b"u1,true,x,a,b\r\n"
    body = b"sourcedId,enabledUser,username,givenName,familyName\r\n" + line * 200_000
    manifest = _members(build_bundle({"users": [USER]}))["manifest.csv"]
    members = {"manifest.csv": manifest, "users.csv": body}
    data = bytearray(_zip(members, method=zipfile.ZIP_STORED))
    at = data.index(line * 4) + 2_500_000  # inside the stored member, past the sniffed MiB
    data[at] = ord("Z")
    error = _error(_write(tmp_path, bytes(data)))
    assert (error.code, error.file) == ("ZIP_INVALID", "users.csv")
    assert error.row is not None


@pytest.mark.parametrize("name", ["data/users.csv", "../users.csv", "/users.csv", "dir/"])
def test_members_outside_the_root_are_zip_unsafe(tmp_path, name):
    members = _members(build_bundle({"users": [USER]}))
    members[name] = b""
    assert _error(_write(tmp_path, _zip(members))).code == "ZIP_UNSAFE"


def test_uncompressed_size_above_the_setting_is_zip_too_large(tmp_path, settings):
    settings.REGISTRY_MAX_UNCOMPRESSED_BYTES = 100
    assert _error(_write(tmp_path, build_bundle({"users": [USER] * 5}))).code == "ZIP_TOO_LARGE"


def test_a_compression_bomb_is_zip_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "BOMB_MIN_BYTES", 1000)
    members = _members(build_bundle({"users": [USER]}))
    members["users.csv"] += b"," * 500_000
    assert _error(_write(tmp_path, _zip(members))).code == "ZIP_TOO_LARGE"


# --- manifest and files -----------------------------------------------------------------------


def test_missing_manifest(tmp_path):
    path = _write(tmp_path, build_bundle({"users": [USER]}, with_manifest=False))
    assert _error(path).code == "MANIFEST_MISSING"


def test_manifest_version_1_as_excel_writes_it_is_accepted(tmp_path):
    path = _write(tmp_path, build_bundle({"users": [USER]}, manifest={"manifest.version": "1"}))
    assert len(_rows(path)) == 1


@pytest.mark.parametrize(
    ("manifest", "column"),
    [
        ({"manifest.version": "2.0"}, "manifest.version"),
        ({"oneroster.version": "1.1"}, "oneroster.version"),
        ({"file.users": "full"}, "file.users"),
    ],
)
def test_manifest_invalid_values(tmp_path, manifest, column):
    error = _error(_write(tmp_path, build_bundle({"users": [USER]}, manifest=manifest)))
    assert (error.code, error.file, error.column) == ("MANIFEST_INVALID", "manifest.csv", column)


def test_manifest_with_a_wrong_header_is_invalid(tmp_path):
    members = _members(build_bundle({"users": [USER]}))
    members["manifest.csv"] = members["manifest.csv"].replace(b"propertyName", b"property", 1)
    error = _error(_write(tmp_path, _zip(members)))
    assert (error.code, error.row) == ("MANIFEST_INVALID", 1)


def test_source_system_code_and_delta_mode_come_from_the_manifest(tmp_path):
    data = build_bundle({"users": [USER]}, mode="delta", manifest={"source.systemCode": "mis"})
    with open_bundle(_write(tmp_path, data)) as bundle:
        assert (bundle.mode, bundle.source_system_code) == ("delta", "mis")
        assert [t.mode for t in bundle.tables()] == ["delta"]


def test_per_table_modes_win_when_files_disagree(tmp_path):
    data = build_bundle({"users": [USER], "orgs": [ORG]}, manifest={"file.orgs": "delta"})
    with open_bundle(_write(tmp_path, data)) as bundle:
        assert bundle.mode == "delta"
        assert {t.name: t.mode for t in bundle.tables()} == {"orgs": "delta", "users": "bulk"}


def test_a_file_the_manifest_omits_is_imported_with_a_warning(tmp_path):
    data = build_bundle({"users": [USER], "orgs": [ORG]}, manifest={"file.users": "absent"})
    with open_bundle(_write(tmp_path, data)) as bundle:
        assert [t.name for t in bundle.tables()] == ["orgs", "users"]
        (issue,) = bundle.warnings
    assert (issue.code, issue.severity, issue.value) == ("FILE_UNLISTED", "warning", "users.csv")


def test_a_listed_file_that_is_absent_is_file_missing(tmp_path):
    data = build_bundle({"users": [USER]}, manifest={"file.orgs": "bulk"})
    error = _error(_write(tmp_path, data))
    assert (error.code, error.file) == ("FILE_MISSING", "orgs.csv")


def test_a_file_without_data_rows_is_skipped_with_a_warning(tmp_path):
    header = ["sourcedId", "name", "type"]
    data = build_bundle({"users": [USER], "orgs": (header, [])})
    with open_bundle(_write(tmp_path, data)) as bundle:
        assert [t.name for t in bundle.tables()] == ["users"]
        (issue,) = bundle.warnings
    assert (issue.code, issue.value) == ("FILE_EMPTY", "orgs.csv")


def test_gradebook_files_are_ignored_with_a_warning(tmp_path):
    data = build_bundle({"users": [USER], "results": [{"sourcedId": "r1"}]})
    with open_bundle(_write(tmp_path, data)) as bundle:
        assert [t.name for t in bundle.tables()] == ["users"]
        (issue,) = bundle.warnings
    assert (issue.code, issue.value) == ("FILE_UNSUPPORTED", "results.csv")


# --- headers ----------------------------------------------------------------------------------


def test_columns_in_any_order_and_unknown_metadata_columns_are_accepted(tmp_path):
    user = {"metadata.other": "z", **dict(reversed(list(USER.items())))}
    (row,) = _rows(_write(tmp_path, build_bundle({"users": [user]})))
    assert row.cells["username"] == "zhangsan"


@pytest.mark.parametrize(
    ("header", "code", "column"),
    [
        (["sourcedId", "enabledUser", "username", "givenName"], "HEADER_MISSING", "familyName"),
        (
            ["sourcedId", "enabledUser", "username", "givenName", "familyName", "nickname"],
            "HEADER_UNKNOWN",
            "nickname",
        ),
        (
            ["sourcedId", "enabledUser", "username", "givenName", "familyName", "username"],
            "HEADER_DUPLICATE",
            "username",
        ),
        (
            ["sourcedId", "enabledUser", "username", "givenName", "familyName", ""],
            "HEADER_BLANK",
            "",
        ),
        (
            ["sourcedid", "enabledUser", "username", "givenName", "familyName"],
            "HEADER_UNKNOWN",
            "sourcedid",
        ),
    ],
)
def test_header_errors(tmp_path, header, code, column):
    data = build_bundle({"users": (header, [["x"] * len(header)])})
    error = _error(_write(tmp_path, data))
    assert (error.code, error.file, error.row, error.column) == (code, "users.csv", 1, column)


# --- dispatch ---------------------------------------------------------------------------------


def test_open_file_dispatches_a_zip_bundle(tmp_path):
    bundle = open_file(_write(tmp_path, build_bundle({"users": [USER]})), "upload.zip")
    with bundle:
        assert bundle.format == "oneroster_csv"


def test_open_file_rejects_other_content(tmp_path):
    with pytest.raises(BundleError) as info:
        open_file(_write(tmp_path, b"sourcedId,name\r\n", "x.csv"), "x.csv")
    assert (info.value.code, info.value.file) == ("FORMAT_UNKNOWN", "x.csv")


def test_close_closes_the_zip(tmp_path):
    bundle = open_bundle(_write(tmp_path, build_bundle({"users": [USER]})))
    (table,) = bundle.tables()
    bundle.close()
    with pytest.raises(ValueError, match="closed"):
        list(table.rows())
