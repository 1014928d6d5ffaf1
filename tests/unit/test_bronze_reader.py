"""The landed-file reader: every physical line accounted for, whatever the file looks like."""

import gzip

import pytest

from jobs.bronze.reader import read_file, records_to_batches


def _write(path, data: bytes):
    path.write_bytes(data)
    return str(path)


def _summary(records):
    return [(r.line_number, r.raw, r.error) for r in records]


def test_jsonl_bom_crlf_and_blank_lines_are_normal_input(tmp_path):
    path = _write(tmp_path / "a.jsonl", b'\xef\xbb\xbf{"a":1}\r\n\r\n{"b":2}\r\n{"c":3}')
    assert _summary(read_file(path, "jsonl")) == [
        (1, '{"a":1}', None), (3, '{"b":2}', None), (4, '{"c":3}', None)]


def test_undecodable_bytes_become_an_invalid_encoding_record(tmp_path):
    path = _write(tmp_path / "a.jsonl", b'{"a":1}\n{"b":"\xff\xfe"}\n{"c":3}\n')
    records = list(read_file(path, "jsonl"))
    assert [r.error for r in records] == [None, "invalid_encoding", None]
    assert records[1].line_number == 2
    assert records[1].raw == '{"b":"\\xff\\xfe"}'
    assert "not valid UTF-8" in records[1].detail


def test_truncated_gzip_keeps_complete_lines_and_reports_the_cut(tmp_path):
    body = b"".join(b'{"n":%d}\n' % i for i in range(5000))
    packed = gzip.compress(body, mtime=0)
    path = _write(tmp_path / "t.jsonl.gz", packed[: len(packed) // 2])
    records = list(read_file(path, "jsonl"))
    intact = [r for r in records if r.error is None]
    assert intact and [r.line_number for r in intact] == list(range(1, len(intact) + 1))
    assert intact[-1].raw == f'{{"n":{len(intact) - 1}}}'
    last = records[-1]
    assert last.error == "truncated_file" and last.line_number == len(intact) + 1
    assert f"{len(intact)} complete lines" in last.detail
    assert len(records) == len(intact) + 1


@pytest.mark.parametrize("data", [b"", gzip.compress(b"", mtime=0)])
def test_empty_files_have_no_records(tmp_path, data):
    assert list(read_file(_write(tmp_path / "e.jsonl.gz", data), "jsonl")) == []


def test_multi_member_gzip_reads_every_member(tmp_path):
    data = gzip.compress(b'{"x":1}\n', mtime=0) + gzip.compress(b'{"x":2}\n', mtime=0)
    assert [r.raw for r in read_file(_write(tmp_path / "m.jsonl.gz", data), "jsonl")] == ['{"x":1}', '{"x":2}']


def test_csv_maps_by_header_name_with_quotes_and_multiline_fields(tmp_path):
    path = _write(tmp_path / "c.csv", b'\xef\xbb\xbfb,a\r\n1,"x, y"\r\n2,"multi\nline"\r\n3,\r\n')
    records = list(read_file(path, "csv"))
    assert [(r.line_number, r.fields) for r in records] == [
        (2, [("b", "1"), ("a", "x, y")]),
        (3, [("b", "2"), ("a", "multi\nline")]),
        (5, [("b", "3"), ("a", None)]),
    ]


def test_csv_wrong_field_count_and_bad_bytes_are_flagged_not_dropped(tmp_path):
    path = _write(tmp_path / "c.csv", b"a,b\n1,2\n3\n4,\xff\n5,6,7\n")
    records = list(read_file(path, "csv"))
    assert [(r.line_number, r.error) for r in records] == [
        (2, None), (3, "malformed_record"), (4, "invalid_encoding"), (5, "malformed_record")]
    assert records[3].detail == "3 fields where the header has 2"


def test_unreadable_file_is_a_record_not_a_crash(tmp_path):
    records = list(read_file(str(tmp_path / "missing.jsonl"), "jsonl"))
    assert len(records) == 1 and records[0].error == "unreadable_file"


def test_records_become_bounded_arrow_batches(tmp_path):
    path = _write(tmp_path / "a.jsonl", b"".join(b'{"n":%d}\n' % i for i in range(25)))
    batches = list(records_to_batches(path, read_file(path, "jsonl"), batch_size=10))
    assert [b.num_rows for b in batches] == [10, 10, 5]
    assert batches[0].column("_line_number").to_pylist()[:3] == [1, 2, 3]
    assert set(batches[2].column("_source_file").to_pylist()) == {path}
