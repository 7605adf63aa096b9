"""Email addresses as stored: one spelling for what people see as one address, and none that can pass for
another user's.

- Lower case and NFC: an address typed with a composed or a decomposed é is the same address.
- The domain goes through IDNA 2008 with UTS 46 mapping (the `idna` package, as browsers and mail systems
  map host names): `xn--bcher-kva.de`, `BÜCHER.de` in full-width letters and `bücher.de` are one domain, stored in
  Unicode; a label IDNA refuses (a hyphen at either end, `_`, a symbol) is refused.
- The local part holds letters and digits of any script, the marks that follow them (Devanagari's vowel
  signs), and RFC 5322's ASCII specials; dots neither at its ends nor doubled. Nothing that shows nothing (a
  zero-width or format character, a variation selector, a filler: chalicelib/domain/visible.py), no other
  symbols or punctuation, and no Latin letters mixed with Cyrillic or Greek ones (`alice` spelt with a
  Cyrillic a, U+0430).
"""

from __future__ import annotations

import re
import unicodedata

from chalicelib.domain.visible import BLANK, ignorable

_ASCII_SPECIALS = frozenset("!#$%&'*+-/=?^_`{|}~.")
_CONFUSABLE_SCRIPTS = ("CYRILLIC", "GREEK")
_DOTS = re.compile(r"^\.|\.\.|\.$")


def _script(ch: str) -> str:
    return unicodedata.name(ch, "").split(" ", 1)[0]


def _local_part_ok(local: str) -> bool:
    if not 1 <= len(local) <= 64 or _DOTS.search(local):
        return False
    scripts = set()
    for index, ch in enumerate(local):
        if ch.isascii():
            if not (ch.isalnum() or ch in _ASCII_SPECIALS):
                return False
            if ch.isalpha():
                scripts.add("LATIN")
            continue
        category = unicodedata.category(ch)
        if ignorable(ch) or ch in BLANK:
            return False
        if category[0] == "L" or category == "Nd":
            scripts.add(_script(ch))
        elif category[0] == "M":  # a mark only on a letter (or on a mark on one)
            if index == 0 or unicodedata.category(local[index - 1])[0] not in "LM":
                return False
        else:
            return False
    return not ("LATIN" in scripts and any(s in scripts for s in _CONFUSABLE_SCRIPTS))


def _domain(domain: str) -> str | None:
    import idna  # on the paths that take an address only: not at every cold start

    try:
        ascii_form = idna.encode(domain, uts46=True, std3_rules=True).decode("ascii")
        labels = ascii_form.split(".")
        if len(labels) < 2 or len(labels[-1]) < 2 or len(ascii_form) > 253:
            return None
        unicode_form: str = idna.decode(ascii_form)
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    return unicode_form


def normalise_email(email: str) -> str:
    """The address as stored; ValueError for anything that is not an address by the rules above."""
    value = unicodedata.normalize("NFC", email.strip().lower())
    local, at, domain = value.rpartition("@")
    if not at or not _local_part_ok(local):
        raise ValueError("not an email address")
    canonical = _domain(domain)
    if canonical is None:
        raise ValueError("not an email address")
    return unicodedata.normalize("NFC", f"{local}@{canonical}")
