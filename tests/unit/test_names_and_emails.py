"""Names and email addresses as stored: one string for what people see as one name, and no name or address
that looks like another (chalicelib/domain/tenancy.py, chalicelib/domain/visible.py)."""

from __future__ import annotations

import pytest

from chalicelib.domain.email_address import normalise_email
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.tenancy import display_name

FLAG = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # Scotland: black flag and tags


@pytest.mark.parametrize(("typed", "stored"), [
    ("Cafe\u0301", "Caf\u00e9"), ("  Atelier Nord ", "Atelier Nord"), ("\u212bngstr\u00f6m", "\u00c5ngstr\u00f6m"),
    ("\u0645\u0647\u200c\u0646\u0627\u0632", "\u0645\u0647\u200c\u0646\u0627\u0632"),  # its ZWNJ kept
    ("\u65e5\u672c", "\u65e5\u672c"), ("Demo Architects\u200b", "Demo Architects"),
    ("\ufeff\u2060Harbour\u200bTower\u200e ", "Harbour\u200bTower"),  # the ends trimmed, the inside kept
    ("Team \u2764\ufe0f", "Team \u2764\ufe0f"), (f"Team {FLAG}", f"Team {FLAG}"),  # what ends an emoji stays
    ("Bob\ufe0f", "Bob"), ("Bob\U000e0041", "Bob"), ("\u0301Bob", "Bob"), ("Bob\u180b", "Bob"),  # shows nothing
    ("Team 1\ufe0f\u20e3", "Team 1\ufe0f\u20e3"), ("Jose\u0301", "Jos\u00e9"),
    ("\u0939\u093f\u0928\u094d\u0926\u0940", "\u0939\u093f\u0928\u094d\u0926\u0940")])  # marks Devanagari needs
def test_names_are_nfc_and_trimmed_of_what_shows_nothing(typed, stored):
    assert display_name(typed) == stored


@pytest.mark.parametrize("name", ["\U000e0041", "\ufe0f", "\u0301", "\u0301\u0308", "\u3164", "\u115f\u1160",
                                  "\u2800", "\u034f", " \u200b ", "\ue000", "\u0378", "\u180e", "\u20dd",
                                  "\u180b", "\u17b4", "\U00016fe4", "\U0001d159", "\U0001d173"])
def test_a_name_in_which_nothing_shows_by_itself_is_refused(name):
    with pytest.raises(BadRequest) as refused:
        display_name(name)
    assert refused.value.code == "bad_body" and "visible character" in refused.value.message


@pytest.mark.parametrize(("typed", "stored"), [
    ("  Ops@Example.COM ", "ops@example.com"), ("Rene\u0301@example.fr", "ren\u00e9@example.fr"),
    ("\u00fcser@b\u00fccher.example", "\u00fcser@b\u00fccher.example"),
    ("a@xn--bcher-kva.de", "a@b\u00fccher.de"), ("a@XN--BCHER-KVA.de", "a@b\u00fccher.de"),
    ("a@\uff42\u00fccher.de", "a@b\u00fccher.de"), ("a@\u24d1\u00fccher.de", "a@b\u00fccher.de"),
    ("a@\U0001d41b\u00fccher.de", "a@b\u00fccher.de"), ("a@b\u00fccher.d\u1d49", "a@b\u00fccher.de"),
    ("o'brien+site@example.ie", "o'brien+site@example.ie"),
    ("\u0939\u093f\u0928\u094d\u0926\u0940@example.in", "\u0939\u093f\u0928\u094d\u0926\u0940@example.in")])
def test_emails_are_lower_case_nfc_with_unicode_domains(typed, stored):
    assert normalise_email(typed) == stored


@pytest.mark.parametrize("email", [
    "al\u200bice@example.com", "alice@exa\u202emple.com", "a\ufeffb@example.com", "a\u00a0b@example.com",
    "a\u2028b@example.com", "a\x07b@example.com", "a\ue000b@example.com", "a\u0378b@example.com",
    "in\u3164es@studio.test", "in\u115fes@studio.test", "in\u2800es@studio.test", "in\u034fes@studio.test",
    "ines\ufe0f@studio.test", "ines@studio.test\U000e0041", "a b@example.com", "nope",
    "a..b@example.com", ".a@example.com", "a.@example.com", "a@x..test", "a@.x.test", "a@x.test.",
    "a@xn--zz-not-punycode-\u00e9.de", "sam\u180b@corp.de", "sam\u17b4@corp.de", "sam\U00016fe4@corp.de",
    "sam\U0001d159@corp.de", "a@-a.de", "a@ex_ample.de", "a@localhost", "\u0430lice@example.com",
    "p\u03b1ypal@example.com", "a\u2019b@example.com", "\u0301a@example.com", "a(b)@example.com"])
def test_emails_that_could_pass_for_another_or_are_not_addresses_are_refused(email):
    with pytest.raises(ValueError):
        normalise_email(email)
