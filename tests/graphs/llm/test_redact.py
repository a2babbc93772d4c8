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


def test_first_names_handles_and_possessives_of_people_are_masked_in_reading_order():
    r = Redactor(["Carol Diaz", "Grace Kim", "Sam Taylor"])
    text = "ask @grace.kim whether Carol's request for sam is done; Carol Diaz asked twice"
    masked = r.redact(text)
    assert masked == "ask <PERSON_1> whether <PERSON_2>'s request for <PERSON_3> is done; <PERSON_4> asked twice"
    assert r.restore(masked) == text


def test_ordinary_words_that_equal_a_first_name_are_sent_as_they_are():
    r = Redactor(["Grace Kim", "Frank Li", "Victor Hale", "Sam Taylor"])
    for text in (
        "what is the grace period for late invoices?",
        "Grace period for new starters?",
        "be frank with me about the delay",
        "the victor of the hackathon gets a prize",
        "play amazing grace",
        "add Grace Hopper to the reading list",  # another person's name, not Grace Kim's
    ):
        assert r.redact(text) == text
