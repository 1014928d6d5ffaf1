"""Pure Column -> Column helpers that standardise landed text before identity matching.

Bronze keeps every field as landed text; these turn it into comparable values (or null when
the text cannot mean anything). No I/O and no session lookups: each helper only builds an
expression, so it composes in `select`/`withColumn` and is tested on tiny inline frames.
Everything is Spark built-ins except phone(), which needs libphonenumber's numbering plans.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import pandas as pd
import phonenumbers
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

# Placeholders typed into email fields: they are nobody's mailbox, and as a match key they
# would merge every customer who typed them into one.
JUNK_EMAILS = frozenset({
    "null", "none", "n/a", "na", "-", "test@test.com", "test@example.com", "example@example.com",
    "email@email.com", "mail@mail.com", "a@a.com", "x@x.com", "xx@xx.com", "aaa@aaa.com",
    "no@no.com", "none@none.com", "null@null.com",
})
# Local parts that mean "no address" (or a robot) on whatever domain they were typed with.
JUNK_EMAIL_LOCALS = frozenset({
    "noemail", "no-email", "no_email", "no.email", "nomail", "no-mail", "noreply", "no-reply",
    "no_reply", "donotreply", "do-not-reply", "do_not_reply", "unknown", "inconnu", "none",
    "null", "nobody", "test",
})
_EMAIL_SHAPE = r"^[^@\s]+@[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)*\.\p{L}{2,}$"

# Country code -> the other ways it is written (upper-case, accents and non-letters removed
# before lookup, so "États-Unis", "etats unis" and "ETATS-UNIS" all read ETATSUNIS).
_COUNTRY_ALIASES = {
    "FR": ("FRA", "FRANCE", "FRANKREICH", "FRANCIA"),
    "DE": ("DEU", "GERMANY", "ALLEMAGNE", "DEUTSCHLAND", "ALEMANIA", "GERMANIA"),
    "ES": ("ESP", "SPAIN", "ESPAGNE", "ESPANA", "SPANIEN", "SPAGNA"),
    "GB": ("GBR", "UK", "UNITEDKINGDOM", "GREATBRITAIN", "ROYAUMEUNI", "GRANDEBRETAGNE",
           "ENGLAND", "SCOTLAND", "WALES", "NORTHERNIRELAND", "REINOUNIDO", "REGNOUNITO",
           "VEREINIGTESKONIGREICH", "GROSSBRITANNIEN"),
    "IT": ("ITA", "ITALY", "ITALIE", "ITALIA", "ITALIEN"),
    "US": ("USA", "UNITEDSTATES", "UNITEDSTATESOFAMERICA", "ETATSUNIS", "ESTADOSUNIDOS",
           "STATIUNITI", "VEREINIGTESTAATEN"),
    "BE": ("BEL", "BELGIUM", "BELGIQUE", "BELGIE", "BELGIEN", "BELGICA", "BELGIO"),
    "CH": ("CHE", "SWITZERLAND", "SUISSE", "SCHWEIZ", "SVIZZERA", "SUIZA"),
    "LU": ("LUX", "LUXEMBOURG", "LUXEMBURG", "LUSSEMBURGO", "LUXEMBURGO"),
    "NL": ("NLD", "NETHERLANDS", "PAYSBAS", "NEDERLAND", "NIEDERLANDE", "PAISESBAJOS", "PAESIBASSI"),
    "PT": ("PRT", "PORTUGAL", "PORTOGALLO"),
    "AT": ("AUT", "AUSTRIA", "AUTRICHE", "OSTERREICH"),
    "IE": ("IRL", "IRELAND", "IRLANDE", "IRLAND", "IRLANDA"),
    "MC": ("MCO", "MONACO"),
}

# Street-word abbreviations, expanded word by word. Ambiguous ones are left alone on purpose:
# "st" (saint or street), "r" (rue, or a letter in "12 r").
_STREET_WORDS = {
    "av": "avenue", "ave": "avenue", "bd": "boulevard", "bld": "boulevard", "blvd": "boulevard",
    "boul": "boulevard", "pl": "place", "chem": "chemin", "rte": "route", "fbg": "faubourg",
    "imp": "impasse", "rd": "road", "str": "strasse",
}

# Letters that fold to more than one letter (F.translate maps one character to one).
_MULTI_LETTER = {"ß": "ss", "ẞ": "ss", "œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae",
                 "þ": "th", "Þ": "th", "ĳ": "ij", "Ĳ": "ij"}
# Letters without a Unicode decomposition to their base letter.
_NO_DECOMPOSITION = {"Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Ħ": "H",
                     "ħ": "h", "ı": "i", "Ł": "L", "ł": "l", "ĸ": "k", "Ŋ": "N", "ŋ": "n", "ſ": "s",
                     "Ŧ": "T", "ŧ": "t"}


def _accent_table() -> tuple[str, str]:
    """(accented, plain) strings for F.translate over Latin-1 Supplement and Latin Extended-A."""
    src, dst = [], []
    for ch in map(chr, range(0xC0, 0x180)):
        if ch in _MULTI_LETTER:
            continue
        base = _NO_DECOMPOSITION.get(ch) or unicodedata.normalize("NFKD", ch)[:1]
        if base != ch and base.isascii() and base.isalpha():
            src.append(ch)
            dst.append(base)
    return "".join(src), "".join(dst)


ACCENTED, PLAIN = _accent_table()


def _strip(col: Column) -> Column:
    """Trim every kind of whitespace (F.trim only removes spaces, not tabs or NBSP)."""
    return F.regexp_replace(col, r"^[\s\p{Z}]+|[\s\p{Z}]+$", "")


def _null_if_empty(col: Column) -> Column:
    return F.nullif(col, F.lit(""))


def _fold(col: Column) -> Column:
    """Lower-case ASCII-ish text: combining marks dropped (decomposed input), letters unaccented."""
    out = F.regexp_replace(col, r"\p{M}+", "")
    for accented, plain in _MULTI_LETTER.items():
        out = F.replace(out, F.lit(accented), F.lit(plain))
    return F.lower(F.translate(out, ACCENTED, PLAIN))


def _words(col: Column, keep: str) -> Column:
    """Folded text with every run of characters outside `keep` made one space; empty -> null."""
    return _null_if_empty(F.trim(F.regexp_replace(_fold(col), rf"[^{keep}]+", " ")))


def _lookup(mapping: dict[str, str]) -> Column:
    return F.create_map(*[F.lit(x) for pair in sorted(mapping.items()) for x in pair])


def trimmed(col: Column) -> Column:
    """Free-text ids: surrounding whitespace removed; empty -> null."""
    return _null_if_empty(_strip(col))


def email(col: Column) -> Column:
    """Lower-case address, or null when empty, not local@domain.tld, or a known placeholder."""
    e = F.lower(_strip(col))
    local = F.substring_index(e, "@", 1)
    ok = e.rlike(_EMAIL_SHAPE) & ~e.isin(*sorted(JUNK_EMAILS)) & ~local.isin(*sorted(JUNK_EMAIL_LOCALS))
    return F.when(ok, e)


# Mailboxes that name a household or a role rather than a person ("famille.martin@", "info@"):
# several people read them, so they are evidence of a household, not of one person.
FAMILY_WORDS = frozenset({"famille", "familie", "familia", "famiglia", "family", "the", "fam"})
ROLE_LOCALS = frozenset({"info", "contact", "admin", "office", "hello", "home", "maison", "casa", "haus",
                         "reservations", "booking", "travel", "accounts", "billing"})


def mailbox_kind(normalised_email: Column) -> Column:
    """'family_mailbox' or 'role_mailbox' for a shared-by-design address, else null."""
    local = F.substring_index(normalised_email, "@", 1)
    first_word = F.regexp_extract(local, r"^([a-z]+)[._+-]", 1)
    return (F.when(first_word.isin(*sorted(FAMILY_WORDS)), F.lit("family_mailbox"))
            .when(local.isin(*sorted(ROLE_LOCALS)), F.lit("role_mailbox")))


def country(col: Column) -> Column:
    """ISO 3166-1 alpha-2 (upper-case) from a code or a name in several languages; unknown -> null."""
    key = F.upper(F.regexp_replace(_fold(col), r"[^a-z]", ""))
    aliases = {code: code for code in _COUNTRY_ALIASES}
    aliases.update({alias: code for code, names in _COUNTRY_ALIASES.items() for alias in names})
    return F.try_element_at(_lookup(aliases), key)


def name(col: Column) -> Column:
    """Person name for matching: unaccented, lower-case, letters only, single spaces; empty -> null."""
    return _words(col, r"\p{L}")


def street(col: Column) -> Column:
    """Street line for matching: like name() with digits kept and common abbreviations expanded."""
    words = _words(col, r"\p{L}\p{N}")
    # German compounds: "Hauptstr." reads as "hauptstrasse" (a word ending in "str" is one).
    words = F.regexp_replace(words, r"(?<=\p{L})str\b", "strasse")
    table = _lookup(_STREET_WORDS)
    expanded = F.transform(F.split(words, " "), lambda w: F.coalesce(F.try_element_at(table, w), w))
    return F.array_join(expanded, " ")


def postal_code(col: Column) -> Column:
    """Upper-case, spaces and dashes removed ("75 008" == "75008", "sw1a 1aa" == "SW1A1AA")."""
    return _null_if_empty(F.upper(F.regexp_replace(col, r"[\s\p{Z}-]+", "")))


def birth_date(col: Column) -> Column:
    """DateType from ISO year-month-day text; partial dates ("1980") or before 1900 -> null."""
    text = _strip(col)
    # A cast alone would read "1980" as 1980-01-01: insist on a full year-month-day.
    d = F.when(text.rlike(r"^\d{4}-\d{1,2}-\d{1,2}($|[T ])"), text.try_cast("date"))
    return F.when(d >= F.lit("1900-01-01").cast("date"), d)


def utc_timestamp(col: Column) -> Column:
    """TimestampType from ISO-8601 text; an offset (Z, +hh:mm) gives the instant, naive text is UTC.

    The same cast bronze validated with, so every accepted value parses. Naive text is read in
    the session time zone, which jobs.common.spark pins to UTC.
    """
    return _strip(col).try_cast("timestamp")


@lru_cache(maxsize=65536)  # the same customer's number recurs across events, calls and orders
def _e164_one(text: str | None, region: str) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if text.startswith("00"):  # international prefix written out: 0033..., 0049... (any region)
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@F.pandas_udf(StringType())
def _e164(texts: pd.Series, regions: pd.Series) -> pd.Series:
    return pd.Series([_e164_one(t, r) for t, r in zip(texts, regions, strict=True)],
                     dtype=object)


def phone(col: Column, country_col: Column | None = None, default_region: str = "FR") -> Column:
    """E.164 text (+33612345678) via libphonenumber, or null when unparseable or not a valid number.

    A number without +/00 is read in the country of `country_col` (any spelling country() knows)
    when that is known, else in `default_region`.
    """
    if not (len(default_region) == 2 and default_region.isalpha() and default_region.isupper()):
        raise ValueError(f"default_region must be an ISO 3166-1 alpha-2 code such as 'FR', not {default_region!r}")
    region = F.lit(default_region)
    if country_col is not None:
        region = F.coalesce(country(country_col), region)
    return _e164(col, region)


def _line_kind_one(e164: str | None) -> str | None:
    if e164 is None:
        return None
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return "landline" if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE else None


@F.pandas_udf(StringType())
def _line_kind(e164s: pd.Series) -> pd.Series:
    return pd.Series([_line_kind_one(t) for t in e164s], dtype=object)


def phone_line_kind(e164: Column) -> Column:
    """'landline' for a fixed line (a household, an office switchboard), else null.

    A fixed line rings for several people, so like a family mailbox it is shared by design.
    """
    return _line_kind(e164)
