"""What people can see in a name or an address, so that one cannot be made to look like another.

A name must hold at least one character that shows by itself: not white space, a control or format character
(zero-width space, direction marks, tag characters), a combining mark or variation selector alone (they show
only on the character before them), a private-use or unassigned code point, nor one of the blank "letters" and
symbols Unicode has (Hangul fillers, the Braille blank). Characters that show nothing are trimmed from a name's
ends. Inside a name they stay, as some scripts and emoji need them (ZWJ and ZWNJ, variation selectors, tags in
subdivision flags); an email address refuses them all, as no mail system needs them there.
"""

from __future__ import annotations

import unicodedata

# Letters and symbols that are blank: Hangul fillers (choseong, jungseong, compatibility, halfwidth), the
# Braille pattern blank, the Mongolian vowel separator, the combining grapheme joiner.
BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u034f")
# Categories that show nothing by themselves: marks (shown on the character before), format, control,
# separators and space, surrogates, private use, unassigned.
UNSEEN_ALONE = frozenset({"Mn", "Me", "Mc", "Cf", "Cc", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
# In an email address: every category above but the spacing and non-spacing marks that scripts such as
# Devanagari need (variation selectors and the grapheme joiner are refused by name below).
UNSEEN_IN_ADDRESS = frozenset({"Cf", "Cc", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
SELECTORS = frozenset(chr(c) for c in [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])


def shows(ch: str) -> bool:
    """Whether the character shows by itself."""
    return ch not in BLANK and unicodedata.category(ch) not in UNSEEN_ALONE


def has_visible(text: str) -> bool:
    return any(shows(ch) for ch in text)


TAGS = range(0xE0000, 0xE0080)


def _blank_at_edge(ch: str) -> bool:
    # Marks stay at the end: a variation selector ends "Team ❤️", a combining accent may end a word; so do tag
    # characters, which end a subdivision flag (🏴 and tags spelling gbsct).
    return ord(ch) not in TAGS and (ch in BLANK or unicodedata.category(ch) in UNSEEN_IN_ADDRESS)


def trim(text: str) -> str:
    """Without what shows nothing at either end (white space, zero-width and format characters, blanks)."""
    start, end = 0, len(text)
    while start < end and _blank_at_edge(text[start]):
        start += 1
    while end > start and _blank_at_edge(text[end - 1]):
        end -= 1
    return text[start:end]


def invisible_in_address(text: str) -> bool:
    """Whether an email address holds a character that shows nothing, or changes how others show."""
    return any(ch in BLANK or ch in SELECTORS or unicodedata.category(ch) in UNSEEN_IN_ADDRESS for ch in text)
