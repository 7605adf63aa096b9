"""What people can see in a name, an address or a link, so that one cannot be made to look like another.

A name must hold at least one character that shows by itself: not white space, a control or format character,
a default-ignorable code point (zero-width characters, direction marks, variation selectors, tags, fillers:
Unicode's Default_Ignorable_Code_Point), a combining mark alone (it shows only on the character before it), a
private-use or unassigned code point, nor a blank glyph (the Braille blank, the null notehead). What shows
nothing is trimmed from a name's ends, but for what ends an emoji (a variation selector after a symbol, the tags
of a subdivision flag). Inside a name it stays, as some scripts and emoji need it (ZWJ, ZWNJ).
"""

from __future__ import annotations

import unicodedata

# Unicode 15's DerivedCoreProperties.txt, Default_Ignorable_Code_Point (first, last), inclusive.
_IGNORABLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
              (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
              (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
              (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF))
# Glyphs that are drawn blank though Unicode does not call them ignorable.
BLANK = frozenset("\u2800\u180e\U00016fe4\U0001d159")
# Categories that show nothing by themselves: marks (shown on the character before), format, control,
# separators and space, surrogates, private use, unassigned.
UNSEEN_ALONE = frozenset({"Mn", "Me", "Mc", "Cf", "Cc", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
_NOTHING = frozenset({"Cf", "Cc", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
_FLAG, _CANCEL_TAG, _TAGS = "\U0001f3f4", "\U000e007f", range(0xE0020, 0xE007F)


def ignorable(ch: str) -> bool:
    code = ord(ch)
    return any(first <= code <= last for first, last in _IGNORABLE)


def shows(ch: str) -> bool:
    """Whether the character shows by itself."""
    return not ignorable(ch) and ch not in BLANK and unicodedata.category(ch) not in UNSEEN_ALONE


def has_visible(text: str) -> bool:
    return any(shows(ch) for ch in text)


def shows_nothing(ch: str) -> bool:
    """Ignorable, blank, white space, or a control, format, private-use or unassigned character (not marks)."""
    return ignorable(ch) or ch in BLANK or unicodedata.category(ch) in _NOTHING


def _ends_an_emoji(text: str, end: int) -> bool:
    """Whether text[end - 1] is the end of an emoji: a variation selector after a symbol or digit (❤️), or
    the cancel tag closing a subdivision flag (🏴 and tags spelling gbsct)."""
    last = text[end - 1]
    if "\ufe00" <= last <= "\ufe0f":
        return end >= 2 and unicodedata.category(text[end - 2]) in ("So", "Sk", "Nd")
    if last != _CANCEL_TAG:
        return False
    start = end - 1
    while start > 0 and ord(text[start - 1]) in _TAGS:
        start -= 1
    return start < end - 1 and start > 0 and text[start - 1] == _FLAG


def trim(text: str) -> str:
    """Without what shows nothing at either end, and without combining marks at the start (they have nothing
    to show on)."""
    start, end = 0, len(text)
    while start < end and (shows_nothing(text[start]) or unicodedata.category(text[start]) in ("Mn", "Me", "Mc")):
        start += 1
    while end > start and shows_nothing(text[end - 1]) and not _ends_an_emoji(text, end):
        end -= 1
    return text[start:end]


def hides_anything(text: str) -> bool:
    """Whether a link or address holds a character that shows nothing or changes how others show."""
    return any(shows_nothing(ch) for ch in text)
