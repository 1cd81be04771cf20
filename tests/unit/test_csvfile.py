"""ingest.csvfile: bytes to a table of text cells, each with the physical line it started on."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from revmachine.ingest.csvfile import LINE, CsvTable, read_csv
from revmachine.ingest.errors import FileRejected, RejectCode


def rows(table: CsvTable) -> list[dict[str, Any]]:
    """Rows as dicts in line order, the line number included."""
    return table.frame.sort(LINE).to_dicts()


def lines(table: CsvTable) -> list[int]:
    return [r[LINE] for r in rows(table)]


def test_plain_file_keeps_every_cell_as_text() -> None:
    table = read_csv(b'email,employees,code\nann@x.com,0012,=HYPERLINK("http://x")\n')
    assert table.header == ["email", "employees", "code"]
    assert rows(table) == [
        {"email": "ann@x.com", "employees": "0012", "code": '=HYPERLINK("http://x")', LINE: 2}
    ]
    assert table.rejections == []
    assert table.source_name == "<upload>"


def test_utf8_bom_is_not_part_of_the_first_column_name() -> None:
    table = read_csv("\ufeffemail,name\nann@x.com,Ann\n".encode())
    assert table.header == ["email", "name"]
    assert rows(table)[0]["email"] == "ann@x.com"


def test_header_names_are_trimmed() -> None:
    assert read_csv(b" email , name \nann@x.com,Ann\n").header == ["email", "name"]


@pytest.mark.parametrize(
    ("delimiter", "data"),
    [
        (";", b"email;company;city\nann@x.com;Acme, Inc.;Paris\n"),
        ("\t", b"email\tcompany\tcity\nann@x.com\tAcme, Inc.\tParis\n"),
        ("|", b"email|company|city\nann@x.com|Acme, Inc.|Paris\n"),
    ],
)
def test_delimiter_is_sniffed_from_the_header(delimiter: str, data: bytes) -> None:
    table = read_csv(data)
    assert table.header == ["email", "company", "city"], delimiter
    # The comma inside a value is not a separator once the delimiter is known.
    assert rows(table)[0]["company"] == "Acme, Inc."


def test_explicit_delimiter_overrides_sniffing() -> None:
    table = read_csv(b"a;b,c\n1;2,3\n", delimiter=",")
    assert table.header == ["a;b", "c"]


def test_windows_line_endings() -> None:
    table = read_csv(b"a,b\r\n1,2\r\n3,4\r\n")
    assert rows(table) == [{"a": "1", "b": "2", LINE: 2}, {"a": "3", "b": "4", LINE: 3}]


def test_empty_and_whitespace_cells_are_none_and_blank_rows_are_dropped() -> None:
    table = read_csv(b"a,b\n1,\n\n  ,  \n3,  x \n")
    # Blank lines still count as lines: the last row is on line 5.
    assert rows(table) == [{"a": "1", "b": None, LINE: 2}, {"a": "3", "b": "  x ", LINE: 5}]


def test_read_from_a_path_uses_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(b"email\nann@x.com\n")
    assert read_csv(path).source_name == "people.csv"


def test_missing_path_is_a_file_rejection(tmp_path: Path) -> None:
    with pytest.raises(FileRejected, match=r"missing\.csv: cannot read file"):
        read_csv(tmp_path / "missing.csv")


# -- file-level rejections -------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"])
def test_empty_file_is_rejected(data: bytes) -> None:
    with pytest.raises(FileRejected, match="the file is empty"):
        read_csv(data, name="empty.csv")


def test_header_only_file_is_accepted_with_no_rows() -> None:
    table = read_csv(b"email,name\n")
    assert table.header == ["email", "name"] and table.frame.height == 0


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_xlsx(), "ZIP archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "legacy Excel"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (gzip.compress(b"email\nann@x.com\n"), "gzip"),
        ("email,name\nann@x.com,Ann\n".encode("utf-16"), "UTF-16"),
        ("email,name\nann@x.com,Ann\n".encode("utf-16-be"), "NUL"),
        (b"email,name\nann@x.com,A\x00nn\n", "NUL"),
    ],
    ids=["xlsx", "xls", "pdf", "gzip", "utf16-bom", "utf16-no-bom", "nul"],
)
def test_non_csv_files_are_rejected_with_a_clear_message(data: bytes, expected: str) -> None:
    with pytest.raises(FileRejected) as info:
        read_csv(data, name="upload.bin")
    message = str(info.value)
    assert message.startswith("upload.bin: not a CSV file")
    assert expected in message


def test_nul_byte_far_into_the_file_is_rejected_too() -> None:
    body = b"".join(b"p%d@x.com,Name %d\n" % (i, i) for i in range(2_000))
    assert len(body) > 4096
    with pytest.raises(FileRejected, match="NUL"):
        read_csv(b"email,name\n" + body + b"late@x.com,Bad\x00Name\n")


def test_header_that_is_not_utf8_is_rejected() -> None:
    with pytest.raises(FileRejected, match="header is not valid UTF-8"):
        read_csv("émail,name\nann@x.com,Ann\n".encode("latin-1"))


def test_blank_header_column_is_rejected_naming_its_position() -> None:
    with pytest.raises(FileRejected, match=r"header column\(s\) 2 have no name"):
        read_csv(b"email,,name\nann@x.com,1,Ann\n")


def test_first_line_empty_is_rejected() -> None:
    with pytest.raises(FileRejected, match="no header row"):
        read_csv(b",,\nann@x.com,1,Ann\n")


@pytest.mark.parametrize("header", [b"email,name,Email", b"email,name,name"])
def test_duplicate_header_names_are_rejected(header: bytes) -> None:
    with pytest.raises(FileRejected, match="duplicate column names") as info:
        read_csv(header + b"\nann@x.com,Ann,x\n", name="dupes.csv")
    assert str(info.value).startswith("dupes.csv:")


# -- row-level problems ---------------------------------------------------------------------


def test_rows_with_extra_fields_are_rejected_and_the_rest_survive() -> None:
    data = b"email,name\na@x.com,A\nb@x.com,B,oops\nc@x.com,C\nd@x.com,D,x,y\ne@x.com,E\n"
    table = read_csv(data)
    assert [r["email"] for r in rows(table)] == ["a@x.com", "c@x.com", "e@x.com"]
    assert lines(table) == [2, 4, 6]
    assert [(r.line, r.code) for r in table.rejections] == [
        (3, RejectCode.EXTRA_FIELDS),
        (5, RejectCode.EXTRA_FIELDS),
    ]
    assert "3 fields but the header has 2" in table.rejections[0].message
    assert table.row_count == 5


def test_trailing_empty_fields_are_not_extra_fields() -> None:
    table = read_csv(b"email,name\na@x.com,A,,\nb@x.com,B,x\n")
    assert [r["email"] for r in rows(table)] == ["a@x.com"]
    assert [r.line for r in table.rejections] == [3]


def test_short_rows_are_accepted_with_missing_cells_empty() -> None:
    table = read_csv(b"email,name,title\na@x.com\nb@x.com,B\nc@x.com,C,CEO\n")
    assert rows(table) == [
        {"email": "a@x.com", "name": None, "title": None, LINE: 2},
        {"email": "b@x.com", "name": "B", "title": None, LINE: 3},
        {"email": "c@x.com", "name": "C", "title": "CEO", LINE: 4},
    ]
    assert table.rejections == []


def test_short_rows_and_extra_fields_together() -> None:
    table = read_csv(b"email,name,title\na@x.com\nb@x.com,B,CEO,extra\nc@x.com,C\n")
    assert lines(table) == [2, 4]
    assert [r.line for r in table.rejections] == [3]


def test_quoted_multiline_cells_keep_physical_line_numbers() -> None:
    data = (
        b"email,note\n"
        b'a@x.com,"line one\nline two\nline three"\n'  # lines 2-4
        b"b@x.com,plain\n"  # line 5
        b"\n"  # line 6
        b'c@x.com,"x\r\ny"\n'  # lines 7-8
        b"d@x.com,last\n"  # line 9
    )
    table = read_csv(data)
    assert [(r["email"], r[LINE]) for r in rows(table)] == [
        ("a@x.com", 2),
        ("b@x.com", 5),
        ("c@x.com", 7),
        ("d@x.com", 9),
    ]
    assert rows(table)[0]["note"] == "line one\nline two\nline three"


def test_multiline_cells_and_extra_fields_together() -> None:
    data = b'email,note\na@x.com,"one\ntwo"\nb@x.com,x,extra\nc@x.com,ok\n'
    table = read_csv(data)
    assert [(r["email"], r[LINE]) for r in rows(table)] == [("a@x.com", 2), ("c@x.com", 5)]
    assert [(r.line, r.code) for r in table.rejections] == [(4, RejectCode.EXTRA_FIELDS)]


def test_invalid_utf8_rejects_only_that_row() -> None:
    data = b"email,name\na@x.com,Ann\nb@x.com,Ren\xe9e\nc@x.com,Cleo\n"
    table = read_csv(data)
    assert [r["email"] for r in rows(table)] == ["a@x.com", "c@x.com"]
    assert lines(table) == [2, 4]
    [rejection] = table.rejections
    assert (rejection.line, rejection.code, rejection.field) == (3, RejectCode.BAD_ENCODING, "name")
    assert "UTF-8" in rejection.message


def test_invalid_utf8_and_extra_fields_in_different_rows() -> None:
    data = b"email,name\na@x.com,Ann\nb@x.com,Ren\xe9e\nc@x.com,C,extra\nd@x.com,D\n"
    table = read_csv(data)
    assert [r["email"] for r in rows(table)] == ["a@x.com", "d@x.com"]
    assert sorted((r.line, r.code) for r in table.rejections) == [
        (3, RejectCode.BAD_ENCODING),
        (4, RejectCode.EXTRA_FIELDS),
    ]


def test_valid_multibyte_utf8_is_kept() -> None:
    table = read_csv("email,name\na@x.com,Zoë Ñúñez 東京\n".encode())
    assert rows(table)[0]["name"] == "Zoë Ñúñez 東京"
    assert table.rejections == []


def test_replacement_character_in_valid_utf8_is_rejected_like_invalid_bytes() -> None:
    # A U+FFFD already in the file means it was mangled before it reached us: same verdict
    # as bytes that do not decode, also when the rest of the file is valid UTF-8.
    data = "email,name\na@x.com,Zoë\nb@x.com,Ren\ufffde\n".encode()
    table = read_csv(data)
    assert [r["email"] for r in rows(table)] == ["a@x.com"]
    assert [(r.line, r.code) for r in table.rejections] == [(3, RejectCode.BAD_ENCODING)]


def test_carriage_return_inside_an_unquoted_cell_is_kept_and_lines_still_count() -> None:
    table = read_csv(b"email,note\na@x.com,one\rtwo\nb@x.com,plain\n")
    assert [(r["email"], r["note"], r[LINE]) for r in rows(table)] == [
        ("a@x.com", "one\rtwo", 2),
        ("b@x.com", "plain", 3),
    ]
