"""Names and email addresses as stored: one string for what people see as one name, and no address that
looks like another user's (chalicelib/domain/tenancy.py)."""

from __future__ import annotations

import pytest

from chalicelib.domain.tenancy import display_name, normalise_email


@pytest.mark.parametrize(("typed", "stored"), [
    ("Cafe\u0301", "Caf\u00e9"), ("  Atelier Nord ", "Atelier Nord"), ("\u212bngstr\u00f6m", "\u00c5ngstr\u00f6m"),
    ("\u0645\u0647\u200c\u0646\u0627\u0632", "\u0645\u0647\u200c\u0646\u0627\u0632"),  # its ZWNJ kept
    ("\u65e5\u672c", "\u65e5\u672c")])
def test_names_are_nfc_and_trimmed(typed, stored):
    assert display_name(typed) == stored


@pytest.mark.parametrize(("typed", "stored"), [
    ("  Ops@Example.COM ", "ops@example.com"), ("Rene\u0301@example.fr", "ren\u00e9@example.fr"),
    ("\u00fcser@b\u00fccher.example", "\u00fcser@b\u00fccher.example")])
def test_emails_are_lower_case_and_nfc(typed, stored):
    assert normalise_email(typed) == stored


@pytest.mark.parametrize("email", ["al\u200bice@example.com", "alice@exa\u202emple.com", "a\ufeffb@example.com",
                                   "a\u00a0b@example.com", "a\u2028b@example.com", "a\x07b@example.com",
                                   "a\ue000b@example.com", "a\u0378b@example.com", "a b@example.com", "nope"])
def test_emails_with_invisible_control_or_unassigned_characters_are_refused(email):
    with pytest.raises(ValueError):
        normalise_email(email)
