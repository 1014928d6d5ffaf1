"""How one person gets written differently by different systems and people.

Case, accents stripped or added, one-character typos, swapped first/last names, emails with
stray case and spaces, phones in every national and international format. The ground truth
keeps the canonical value; these are what lands.
"""

from __future__ import annotations

import random

from jobs.generate.refdata import DOMAIN_TYPOS, PHONE_PLANS

_PLAIN = str.maketrans({
    **{c: "a" for c in "àâäáãå"}, **{c: "A" for c in "ÀÂÄÁÃÅ"}, "ç": "c", "Ç": "C",
    **{c: "e" for c in "éèêë"}, **{c: "E" for c in "ÉÈÊË"}, **{c: "i" for c in "íìîï"},
    **{c: "I" for c in "ÍÌÎÏ"}, "ñ": "n", "Ñ": "N", **{c: "o" for c in "óòôöõ"},
    **{c: "O" for c in "ÓÒÔÖÕ"}, **{c: "u" for c in "úùûü"}, **{c: "U" for c in "ÚÙÛÜ"},
    "ý": "y", "ÿ": "y", "ß": "ss", "œ": "oe", "æ": "ae",
})
_ADD_ACCENT = {"e": "é", "a": "à", "i": "ï", "o": "ô", "c": "ç"}
_KEYBOARD_NEIGHBOURS = {
    "a": "zqs", "z": "aes", "e": "zrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok",
    "o": "ipl", "p": "om", "q": "asw", "s": "qdz", "d": "sfe", "f": "dgr", "g": "fht", "h": "gjy",
    "j": "hku", "k": "jli", "l": "kmo", "m": "lp", "w": "xsq", "x": "wcd", "c": "xvf", "v": "cbg",
    "b": "vnh", "n": "bmj",
}


def strip_accents(text: str) -> str:
    return text.translate(_PLAIN)


def ascii_slug(text: str) -> str:
    """Lowercase ASCII letters only, as people build an email local part from a name."""
    return "".join(c for c in strip_accents(text).lower() if c.isalnum())


def add_accent(text: str, rng: random.Random) -> str:
    """Put an accent where there was none (Helene -> Hélene): a typist's or a system's habit."""
    spots = [i for i, c in enumerate(text) if c in _ADD_ACCENT]
    if not spots:
        return text
    i = rng.choice(spots)
    return text[:i] + _ADD_ACCENT[text[i]] + text[i + 1:]


def typo(text: str, rng: random.Random) -> str:
    """One-character edit: substitution by a neighbouring key, deletion, doubling or transposition."""
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 3:
        return text + text[-1:] if text else text
    i = rng.choice(letters[1:])  # keep the initial: people rarely mistype the first letter
    c = text[i]
    kind = rng.random()
    if kind < 0.4:
        pool = _KEYBOARD_NEIGHBOURS.get(c.lower(), "e")
        new = rng.choice(pool)
        return text[:i] + (new.upper() if c.isupper() else new) + text[i + 1:]
    if kind < 0.65:
        return text[:i] + text[i + 1:]
    if kind < 0.85:
        return text[:i] + c + text[i:]
    j = i - 1
    return text[:j] + text[i] + text[j] + text[i + 1:]


def recase(text: str, rng: random.Random) -> str:
    r = rng.random()
    return text.upper() if r < 0.5 else text.lower() if r < 0.8 else text.title()


def name_as_typed(first: str, last: str, rng: random.Random, noise: float) -> tuple[str, str]:
    """(first, last) as some system holds them; `noise` is the chance of any variation at all."""
    if rng.random() >= noise:
        return first, last
    r = rng.random()
    if r < 0.30:
        return strip_accents(first), strip_accents(last)
    if r < 0.45:
        return first, last.upper()  # the French habit of writing the family name in capitals
    if r < 0.60:
        return recase(first, rng), recase(last, rng)
    if r < 0.80:
        return (typo(first, rng), last) if rng.random() < 0.5 else (first, typo(last, rng))
    if r < 0.90:
        return last, first  # fields swapped at entry
    return add_accent(first, rng), last


def email_as_typed(email: str, rng: random.Random) -> str:
    """Same mailbox, different text: case changes and stray whitespace (normalises back)."""
    r = rng.random()
    if r < 0.35:
        return email.upper()
    if r < 0.65:
        local, _, domain = email.partition("@")
        return f"{local.title()}@{domain.capitalize()}"
    if r < 0.85:
        return f" {email} " if rng.random() < 0.5 else email + " "
    return "\t" + email.capitalize()


def email_typo(email: str, rng: random.Random) -> str:
    """A different mailbox text: misspelt domain or a typo in the local part (CRM duplicates)."""
    local, _, domain = email.partition("@")
    if domain in DOMAIN_TYPOS and rng.random() < 0.5:
        return f"{local}@{rng.choice(DOMAIN_TYPOS[domain])}"
    return f"{typo(local, rng)}@{domain}"


def fill_digits(template: str, rng: random.Random) -> str:
    """Fill a number template: '#' is any digit, 'N' a digit 2-9, anything else is kept."""
    out = []
    for c in template:
        if c == "#":
            out.append(_DIGITS[int(rng.random() * 10)])
        elif c == "N":
            out.append(_DIGITS[2 + int(rng.random() * 8)])
        else:
            out.append(c)
    return "".join(out)


_DIGITS = "0123456789"


def _groups(digits: str, sizes: tuple[int, ...]) -> list[str]:
    out, i = [], 0
    for size in sizes:
        if i >= len(digits):
            break
        out.append(digits[i:i + size])
        i += size
    if i < len(digits):
        out.append(digits[i:])
    return out


_GROUPING = {"DE": (3, 8), "GB": (4, 6), "ES": (3, 3, 3), "IT": (3, 3, 4)}


def phone_as_typed(e164: str, country: str, rng: random.Random, national_ok: bool = True) -> str:
    """One of the usual ways to write `e164` (for example +33612345678).

    French numbers come in every French habit. A foreign number is written nationally only where
    `national_ok` (a record that also holds the country, such as a CRM row); elsewhere it is
    international, as caller-id shows it, so a reader assuming France cannot misread it.
    """
    cc, trunk, _ = PHONE_PLANS[country]
    nsn = e164[1 + len(cc):]
    r = rng.random()
    if country == "FR":
        pairs = " ".join(_groups(nsn[1:], (2, 2, 2, 2)))
        national = f"0{nsn[0]} {pairs}"
        forms = (national, f"+33 {nsn[0]} {pairs}", f"0033{nsn}", national.replace(" ", "."),
                 f"+33 (0){nsn[0]} {pairs}", f"0{nsn}", e164)
        return forms[_pick(r, (0.30, 0.20, 0.10, 0.12, 0.08, 0.12, 0.08))]
    if country == "US":
        area, exch, line = nsn[:3], nsn[3:6], nsn[6:]
        forms = (f"+1 {area} {exch} {line}", e164, f"+1 ({area}) {exch}-{line}")
        national = (f"({area}) {exch}-{line}", f"{area}-{exch}-{line}")
    else:
        spaced = " ".join(_groups(nsn, _GROUPING[country]))
        forms = (f"+{cc} {spaced}", f"00{cc}{nsn}", e164)
        national = (f"{trunk}{spaced}", f"{trunk}{nsn}")
    if national_ok:
        forms = forms + national
    return forms[int(r * len(forms))]


def _pick(r: float, weights: tuple[float, ...]) -> int:
    acc = 0.0
    for i, w in enumerate(weights):
        acc += w
        if r < acc:
            return i
    return len(weights) - 1
