"""Splitting CLI output into lines: long lines, CRLF and invalid UTF-8 never break the reader."""

from __future__ import annotations

from agented.executions.process import MAX_LINE_BYTES, split_lines


def test_complete_lines_and_a_remainder() -> None:
    lines, rest = split_lines(b"par", b"tial\nsecond\r\nthi")
    assert lines == ["partial", "second"]
    assert rest == b"thi"


def test_invalid_utf8_and_nul_become_text() -> None:
    lines, rest = split_lines(b"", b"ok \xff\xfe bytes \x00 end\n")
    assert lines == ["ok \ufffd\ufffd bytes \x00 end"]
    assert rest == b""


def test_an_over_long_line_is_cut_into_pieces_without_splitting_characters() -> None:
    body = "é" * MAX_LINE_BYTES  # two bytes each: cuts fall inside characters unless avoided
    lines, rest = split_lines(b"", body.encode() + b"\n")
    assert rest == b""
    assert "".join(lines) == body
    assert all(len(line.encode()) <= MAX_LINE_BYTES for line in lines)
    assert all("\ufffd" not in line for line in lines)


def test_an_unfinished_over_long_line_is_emitted_in_pieces_as_it_arrives() -> None:
    lines, rest = split_lines(b"", b"x" * (MAX_LINE_BYTES * 2 + 10))
    assert [len(line) for line in lines] == [MAX_LINE_BYTES, MAX_LINE_BYTES]
    assert rest == b"x" * 10
