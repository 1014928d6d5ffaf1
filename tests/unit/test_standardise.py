"""Silver standardisation helpers: landed text in, comparable values (or null) out."""

import datetime as dt

import pytest
from chispa import assert_column_equality
from pyspark.sql import functions as F

from jobs.silver import standardise as std


def _apply(spark, fn, values):
    """fn over a one-column frame of landed text, in input order."""
    df = spark.createDataFrame([(i, v) for i, v in enumerate(values)], "i int, v string")
    return [r[0] for r in df.orderBy("i").select(fn(F.col("v"))).collect()]


def _pairs(spark, fn, cases):
    """Assert fn(input) == expected for (input, expected) string pairs, with chispa."""
    df = spark.createDataFrame(cases, "v string, expected string")
    assert_column_equality(df.withColumn("got", fn(F.col("v"))), "got", "expected")


def test_trimmed_strips_every_whitespace_and_empties_to_null(spark):
    assert _apply(spark, std.trimmed, [" C1 ", "\tC2\n", "\u00a0C3", "", "  \t", None, "a b"]) == [
        "C1", "C2", "C3", None, None, None, "a b"]


def test_email_trims_and_lower_cases(spark):
    _pairs(spark, std.email, [
        (" Jean.Dupont@Gmail.com ", "jean.dupont@gmail.com"),
        ("\tMARIE@ORANGE.FR", "marie@orange.fr"),
        ("anne+promo@yahoo.co.uk\t ", "anne+promo@yahoo.co.uk"),
        ("o'neil@outlook.com", "o'neil@outlook.com"),
    ])


def test_email_nulls_empty_malformed_and_junk(spark):
    junk = ["", "   ", None, "null", "NONE", "n/a", "jean.dupont", "jean@gmail", "@gmail.com",
            "jean@@gmail.com", "jean dupont@gmail.com", "jean@gmail.c", "jean@.com",
            "test@test.com", "TEST@TEST.COM", "noemail@orange.fr", "no-reply@airline.com",
            "Unknown@gmail.com", "noreply@x.fr"]
    assert _apply(spark, std.email, junk) == [None] * len(junk)


def test_junk_lists_are_lower_case():
    assert all(v == v.lower() for v in std.JUNK_EMAILS | std.JUNK_EMAIL_LOCALS)


def test_phone_reads_every_french_form(spark):
    forms = ["06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "06.12.34.56.78",
             "+33 (0)6 12 34 56 78", "0612345678", "+33612345678", " 06-12-34-56-78 ", "0033 6 12 34 56 78"]
    assert _apply(spark, std.phone, forms) == ["+33612345678"] * len(forms)


def test_phone_uses_the_country_for_national_numbers(spark):
    rows = [
        ("0151 12345678", "DE", "+4915112345678"),
        ("+49 151 12345678", "DE", "+4915112345678"),
        ("004915112345678", None, "+4915112345678"),     # international prefix: no country needed
        ("+49 151 12345678", "FR", "+4915112345678"),   # explicit +cc wins over the country
        ("07824 123456", "GB", "+447824123456"),
        ("07824 123456", "United Kingdom", "+447824123456"),   # any spelling country() knows
        ("+44 7824 123456", None, "+447824123456"),
        ("0044 7824 123456", "US", "+447824123456"),    # 00 read as international even for US
        ("(212) 555-1234", "US", "+12125551234"),
        ("212-555-1234", "USA", "+12125551234"),
        ("+1 (212) 555-1234", None, "+12125551234"),
        ("612 345 678", "ES", "+34612345678"),
        ("06 12 34 56 78", None, "+33612345678"),        # no country: default region FR
        ("06 12 34 56 78", "Narnia", "+33612345678"),    # unknown country: default region
        ("(212) 555-1234", None, None),                  # US national read as French: invalid
    ]
    df = spark.createDataFrame(rows, "v string, c string, expected string")
    assert_column_equality(df.withColumn("got", std.phone(F.col("v"), F.col("c"))), "got", "expected")


def test_phone_default_region_applies_without_country(spark):
    got = _apply(spark, lambda c: std.phone(c, default_region="DE"), ["0151 12345678", "+33612345678"])
    assert got == ["+4915112345678", "+33612345678"]


def test_phone_nulls_junk_and_invalid(spark):
    junk = [None, "", "   ", "0000000000", "00000", "+33000000000", "123", "06 12", "abc",
            "06 12 34 56 78 90 12", "+99 12345678", "0033"]
    assert _apply(spark, std.phone, junk) == [None] * len(junk)


def test_phone_rejects_a_bad_default_region():
    with pytest.raises(ValueError, match="alpha-2"):
        std.phone(F.col("v"), default_region="France")


def test_country_maps_codes_and_names_in_several_languages(spark):
    spellings = {
        "FR": ["FR", "fr", "France", "FRANCE", "FRA", " france "],
        "DE": ["DE", "Germany", "Allemagne", "DEU", "Deutschland"],
        "ES": ["ES", "Spain", "Espagne", "España", "ESPANA", "ESP"],
        "GB": ["GB", "UK", "United Kingdom", "Royaume-Uni", "royaume uni", "GBR", "u.k."],
        "IT": ["IT", "Italy", "Italie", "Italia", "ITA"],
        "US": ["US", "USA", "United States", "Etats-Unis", "États-Unis", "ETATS UNIS", "U.S.A."],
    }
    values = [v for vs in spellings.values() for v in vs]
    expected = [code for code, vs in spellings.items() for _ in vs]
    assert _apply(spark, std.country, values) == expected


def test_country_unknown_or_empty_is_null(spark):
    assert _apply(spark, std.country, ["Narnia", "XX", "", None, "F", "12"]) == [None] * 6


def test_name_strips_accents_punctuation_and_case(spark):
    _pairs(spark, std.name, [
        ("Élodie", "elodie"),
        ("O'Brien-Smith", "o brien smith"),
        ("  François  ", "francois"),
        ("DUPONT", "dupont"),
        ("Jean-Pierre", "jean pierre"),
        ("Müller", "muller"),
        ("Strauß", "strauss"),
        ("Œuvre Lætitia", "oeuvre laetitia"),
        ("Øyvind Łukasz", "oyvind lukasz"),
        ("Núñez Ibáñez", "nunez ibanez"),
        ("St. Martin", "st martin"),
        ("D’Angelo", "d angelo"),
        ("E\u0301lodie", "elodie"),          # decomposed accent (e + combining acute)
        ("Anne\tMarie ", "anne marie"),
        ("R2D2", "r d"),                     # names keep letters only
        ("", None), ("  - ' ", None), (None, None),
    ])


def test_accent_table_covers_latin1_and_extended_a_letters():
    assert len(std.ACCENTED) == len(std.PLAIN)
    assert set(std.PLAIN) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for ch in "ÀÉÎÕÜÇÑÝàéîõüçñýÿĀăĘěĞğİıŁłŃňŐőŘřŚšŢťŮűŸŹžØøĐđ":
        assert ch in std.ACCENTED, ch


def test_street_expands_abbreviations_word_by_word(spark):
    _pairs(spark, std.street, [
        ("12 Av. Foch", "12 avenue foch"),
        ("12 avenue Foch", "12 avenue foch"),
        ("12, AVE Foch", "12 avenue foch"),
        ("3 bd Haussmann", "3 boulevard haussmann"),
        ("3 Blvd. Haussmann", "3 boulevard haussmann"),
        ("5 pl. de l'Église", "5 place de l eglise"),
        ("9 chem. des Vignes", "9 chemin des vignes"),
        ("10 Station Rd", "10 station road"),
        ("Hauptstraße 5", "hauptstrasse 5"),
        ("Hauptstr. 5", "hauptstrasse 5"),
        ("Haupt Str. 5", "haupt strasse 5"),
        ("Hauptstrasse 5", "hauptstrasse 5"),
        ("12 rue Saint-Honoré", "12 rue saint honore"),
        ("12 St Mary's Rd", "12 st mary s road"),       # "st" is ambiguous: left as is
        ("5th Avenue 221B", "5th avenue 221b"),
        ("avenue", "avenue"),
        ("", None), (" , ", None), (None, None),
    ])


def test_postal_code_upper_cases_and_drops_spaces_and_dashes(spark):
    assert _apply(spark, std.postal_code, ["75008", " 75 008 ", "sw1a 1aa", "1000-001", "\t", "", None]) == [
        "75008", "75008", "SW1A1AA", "1000001", None, None, None]


def test_birth_date_reads_iso_dates_and_rejects_the_implausible(spark):
    got = _apply(spark, std.birth_date, ["1985-03-14", " 2001-12-31 ", "1900-01-01", "1899-12-31",
                                         "0001-01-01", "1985-02-30", "14/03/1985", "1985", "1985-03",
                                         "", None, "1985-3-4"])
    assert got == [dt.date(1985, 3, 14), dt.date(2001, 12, 31), dt.date(1900, 1, 1), None,
                   None, None, None, None, None, None, None, dt.date(1985, 3, 4)]


def test_utc_timestamp_reads_offsets_and_naive_as_utc(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    values = ["2026-11-21T10:00:00+01:00", "2026-11-21T10:00:00", "2026-11-21T10:00:00.123Z",
              "2026-11-21T10:00:00Z", "2026-11-21 10:00:00", "2026-11-21T10:00:00.5-05:00",
              "2026-11-21T10:00:00.123456+05:30", " 2026-11-21T10:00:00Z ", "21/11/2026 10:00",
              "not a time", "", None]
    df = spark.createDataFrame([(i, v) for i, v in enumerate(values)], "i int, v string")
    # epoch microseconds: the instant itself, whatever the driver's local time zone
    got = [r[0] for r in df.orderBy("i").select(F.unix_micros(std.utc_timestamp(F.col("v")))).collect()]

    def micros(*args, us=0):
        return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp()) * 1_000_000 + us

    assert got == [micros(2026, 11, 21, 9), micros(2026, 11, 21, 10), micros(2026, 11, 21, 10, us=123_000),
                   micros(2026, 11, 21, 10), micros(2026, 11, 21, 10), micros(2026, 11, 21, 15, us=500_000),
                   micros(2026, 11, 21, 4, 30, us=123_456), micros(2026, 11, 21, 10),
                   None, None, None, None]


def test_helpers_return_the_declared_types(spark):
    df = spark.createDataFrame([("x",)], "v string")
    out = df.select(std.birth_date(F.col("v")).alias("d"), std.utc_timestamp(F.col("v")).alias("t"),
                    std.phone(F.col("v")).alias("p"), std.country(F.col("v")).alias("c"),
                    std.street(F.col("v")).alias("s"))
    assert [f.dataType.simpleString() for f in out.schema.fields] == [
        "date", "timestamp", "string", "string", "string"]
