"""Personal data → stable placeholders and back (phonenumbers, python-stdnum, the slot patterns)."""

from __future__ import annotations

from graphs.llm import Redactor

TEXT = (
    "Add maya.patel@example.com (Maya Patel) to finance; Acme's IBAN is DE89 3704 0044 0532 0130 00, "
    "account number 12345678, routing 021000021; call +44 20 7946 0321. INV-10042, $12,500, 2026-03-01."
)


def test_every_kind_is_masked_with_stable_placeholders_and_restored():
    r = Redactor(["Maya Patel", "Jane Porter"])
    masked = r.redact(TEXT)
    for value in ("maya.patel@example.com", "Maya Patel", "DE89 3704", "12345678", "021000021", "7946 0321"):
        assert value not in masked
    assert "<EMAIL_1>" in masked and "<PERSON_1>" in masked and "<IBAN_1>" in masked and "<PHONE_1>" in masked
    for kept in ("INV-10042", "$12,500", "2026-03-01"):  # not personal: stays readable for the model
        assert kept in masked
    assert r.redact("again maya.patel@example.com") == "again <EMAIL_1>"  # stable within the scope
    assert r.restore(masked) == TEXT
    assert r.restore({"args": ["<EMAIL_1>", {"x": "<PERSON_1>"}]}) == {
        "args": ["maya.patel@example.com", {"x": "Maya Patel"}]
    }


def test_an_iban_failing_its_checksum_is_still_masked_as_an_account():
    r = Redactor()
    masked = r.redact("IBAN DE89 3704 0044 0532 0130 01 please")
    assert masked == "IBAN <ACCOUNT_1> please"


def test_kinds_listed_as_unmasked_are_sent_as_they_are():
    r = Redactor(["Maya Patel"], keep={"email", "person"})
    masked = r.redact(TEXT)
    assert "maya.patel@example.com" in masked and "Maya Patel" in masked
    assert "DE89 3704" not in masked and "7946 0321" not in masked


def test_unknown_placeholders_from_the_model_stay_as_they_are():
    assert Redactor().restore("ask <PERSON_9>") == "ask <PERSON_9>"
