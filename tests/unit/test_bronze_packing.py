"""Read tasks: files packed into balanced bins by the text they hold, not by landed bytes."""

from jobs.bronze.ingest import GZIP_EXPANSION, LandedFile, pack_files, text_bytes


def test_gzip_weighs_what_it_expands_to():
    assert text_bytes(LandedFile("a/part.jsonl.gz", 10, None)) == 10 * GZIP_EXPANSION
    assert text_bytes(LandedFile("a/part.jsonl", 10, None)) == 10
    assert text_bytes(LandedFile("a/empty.jsonl", 0, None)) == 1


def test_bins_balance_estimated_text():
    plain = [LandedFile(f"p{i}.jsonl", 6_000, None) for i in range(4)]
    packed = [LandedFile(f"g{i}.jsonl.gz", 1_000, None) for i in range(4)]
    bins = pack_files(plain + packed, 2)
    weights = sorted(sum(text_bytes(f) for f in plain + packed if f.path in b) for b in bins)
    assert weights == [24_000, 24_000]
    assert sorted(p for b in bins for p in b) == sorted(f.path for f in plain + packed)


def test_never_more_bins_than_files():
    assert pack_files([LandedFile("only.jsonl", 5, None)], 8) == [["only.jsonl"]]
