"""Slot extraction: values normalised the way the tools want them, fuzzy entity matches against the sample
company, and no invented identifiers in real utterances (CLINC150)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from graphs.understanding.slots import Person, SlotExtractor
from tests.clinc150 import WORK_INTENTS, utterances
from tests.graphs.understanding.support import sample_entities

MONDAY_30_NOV = date(2026, 11, 30)


@pytest.fixture(scope="module")
def extractor() -> SlotExtractor:
    return SlotExtractor(sample_entities(), today=MONDAY_30_NOV)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hold inv 27761 over $25,000", {"invoice_id": "INV-27761", "amount": "25000.00"}),
        ("status of invoice #4412 please", {"invoice_id": "INV-04412"}),
        ("who approves 60k for stark logistics", {"amount": "60000.00", "vendor": "Stark Logistics"}),
        (
            "change Acme's IBAN to DE89 3704 0044 0532 0130 00",
            {"iban": "DE89370400440532013000", "vendor": "Acme Corp"},
        ),
        (
            "account number is 0098765432 routing 021000021",
            {"account_number": "0098765432", "routing_number": "021000021"},
        ),
        ("look up sam.taylor@example.com", {"email": "sam.taylor@example.com", "user": "sam.taylor@example.com"}),
    ],
)
def test_identifiers_are_normalised(extractor: SlotExtractor, text: str, expected: dict[str, str]) -> None:
    assert extractor.extract(text).values == expected


def test_people_and_groups_match_despite_typos_with_lower_confidence(extractor: SlotExtractor) -> None:
    typo = extractor.extract("add Maya Patl to desgin")
    exact = extractor.extract("add maya.patel@example.com to design")
    assert typo.values["user"] == exact.values["user"] == "maya.patel@example.com"
    assert typo.values["group"] == exact.values["group"] == "design"
    assert typo.confidence["user"] < exact.confidence["user"] and typo.confidence["group"] < exact.confidence["group"]


def test_weekdays_and_iso_dates_become_the_next_such_day(extractor: SlotExtractor) -> None:
    monday = extractor.extract("new hire Dana Reyes in finance starting Monday")
    iso = extractor.extract("Wen Zhao starts 2027-01-04 in engineering")
    assert monday.values["name"] == "Dana Reyes" and monday.values["department"] == "finance"
    assert monday.values["start_date"] == "2026-12-07"  # today is a Monday: "Monday" is next week's
    assert iso.values["start_date"] == "2027-01-04" and iso.confidence["start_date"] > monday.confidence["start_date"]


def test_real_utterances_yield_no_invented_identifiers(extractor: SlotExtractor) -> None:
    """4,500 real requests name no invoice, e-mail, IBAN or routing number; an amount is only ever read from
    a written sum ("$", "usd" or "k"), and equals it."""
    texts = utterances("test") + utterances("oos_test") + utterances("val", WORK_INTENTS)
    amounts = 0
    for text in texts:
        found = extractor.extract(text).values
        assert not {"invoice_id", "email", "iban", "routing_number"} & set(found), text
        if "amount" in found:
            amounts += 1
            assert re.search(r"\$|usd|\d\s?k\b", text, re.I), text
            assert Decimal(found["amount"]) > 0
    assert amounts > 0  # the data does contain sums, so the check above was exercised


@pytest.mark.parametrize(
    ("text", "user"),
    [
        ("add grace to finance", "grace.kim@example.com"),
        ("what did Sam Taylor ask", "sam.taylor@example.com"),
        ("remove @grace.kim from vpn users", "grace.kim@example.com"),
        ("can you add Carol to AP leads?", "carol.diaz@example.com"),
        ("what's carol's title?", "carol.diaz@example.com"),
        ("is frank on leave today?", "frank.li@example.com"),
        ("I talked to Noah yesterday about the laptop", "noah.schmidt@example.com"),
        ("ping @sam about the release", "sam.taylor@example.com"),
        ("Carol's title", "carol.diaz@example.com"),
        ("what is Ruth's manager's name", "ruth.campbell@example.com"),
        ("does Diego's laptop have the VPN client", "diego.romero@example.com"),
        ("give ruth's access back", "ruth.campbell@example.com"),
        ("Diego Romero flies to San Diego on monday", "diego.romero@example.com"),
        ("ask Diego about the flight", "diego.romero@example.com"),
        ("Maybe Diego knows", "diego.romero@example.com"),
        ("ask Dr Grace about it", "grace.kim@example.com"),
        ("ping HR Grace about the forms", "grace.kim@example.com"),
    ],
)
def test_people_named_by_full_name_handle_or_first_name_in_a_persons_place(
    extractor: SlotExtractor, text: str, user: str
) -> None:
    assert extractor.extract(text).values.get("user") == user


@pytest.mark.parametrize(
    "text",
    [
        "how many star wars films are there",
        "what is the grace period for late invoices?",
        "Grace period for new starters?",
        "be frank with me, is the payment late?",
        "will the victor of the hackathon get a prize",
        "play amazing grace",
        "is the ivy league hiring fair on monday",
        "what do I do when the check engine light is on",
        "can we start paying INV-10080 again?",
        "add Grace Hopper to the reading list",
        "what company designed this app",
        "give her the laptop",
        "book a flight to San Diego on monday",
        "san diego is sunny in march",
        "I'm in San Diego next week",
        "the St Grace hospital bill",
        "dinner at ruth's steakhouse",
        "expense the lunch at Frank's Diner",
        "is Carol's Bakery a vendor",
        "we met at Victor's coffeehouse",
    ],
)
def test_words_inside_ordinary_phrases_name_no_person_vendor_or_group(extractor: SlotExtractor, text: str) -> None:
    found = extractor.extract(text)
    assert not {"user", "vendor", "group"} & set(found.values), found.values
    assert found.user_options == []


def test_a_first_name_several_people_share_is_not_guessed() -> None:
    entities = sample_entities()
    entities.people.append(Person("sam.lee@example.com", "Sam Lee"))
    found = SlotExtractor(entities).extract("add sam to design")
    assert "user" not in found.values
    assert {p.email for p in found.user_options} == {"sam.taylor@example.com", "sam.lee@example.com"}
    assert SlotExtractor(entities).extract("add Sam Lee to design").values["user"] == "sam.lee@example.com"


def test_real_utterances_name_a_vendor_or_group_only_by_its_own_word(extractor: SlotExtractor) -> None:
    """CLINC150 names none of the sample company's vendors: "star wars" is not Stark Logistics. A group is
    only ever read from a whole word that is its name, another form of it ("finances") or a short start of
    it ("sal"), never from a word it merely resembles ("engine", "her", "designed", "staples")."""
    texts = utterances("test") + utterances("oos_test")
    assert [t for t in texts if "vendor" in extractor.extract(t).values] == []
    groups = [(t, extractor.extract(t).values.get("group")) for t in texts]
    found = [(t, g) for t, g in groups if g]
    assert found  # "design", "sales" and "hr" do occur as words

    def own_word(text: str, group: str) -> bool:
        words = re.findall(r"[a-z]+", text.lower())
        return any(
            w == group
            or (w.startswith(group) and len(w) - len(group) <= 3)
            or (group.startswith(w) and 3 <= len(w) <= 4)
            for w in words
        )

    assert [(t, g) for t, g in found if not own_word(t, str(g))] == []
