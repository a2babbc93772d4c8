"""The contacts file: the shipped one loads, and a bad one stops start-up with a message naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import DEFAULT_CONTACTS, Settings, SettingsError
from bot.wiring import load_contacts
from graphs.contacts import Contacts, ContactsError
from graphs.understanding.lexicon import lexicon


def test_the_shipped_file_covers_every_team_the_agent_hands_off_to() -> None:
    contacts = Contacts.load(DEFAULT_CONTACTS)
    contacts.require(lexicon().teams)
    assert list(contacts.contact_lines()) == ["HR", "IT", "Accounts Payable"]
    # No destination ships configured: out of the box a hand-off says whom to contact.
    assert contacts.team_threads() == ()
    assert all(t.ticket is None for t in contacts.teams.values())


def test_destinations_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "contacts.yaml"
    path.write_text(
        "teams:\n"
        "  hr:\n"
        "    name: HR\n"
        "    contact: hr-help@example.com\n"
        "    slack: {channel: '#ask-hr'}\n"
        "    ticket: {url: 'not a url'}\n"
    )
    with pytest.raises(ContactsError) as err:
        Contacts.load(path)
    message = str(err.value)
    assert "teams.hr.slack.channel" in message and "teams.hr.ticket.url" in message


def test_a_team_the_agent_needs_must_be_there(tmp_path: Path) -> None:
    path = tmp_path / "contacts.yaml"
    path.write_text("teams:\n  hr: {name: HR, contact: hr-help@example.com}\n")
    with pytest.raises(SettingsError, match=r"DESKHAND_CONTACTS_FILE.*Accounts Payable, IT"):
        load_contacts(path)


def test_unreadable_or_unknown_fields_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ContactsError, match="cannot read"):
        Contacts.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("teams: [unclosed\n")
    with pytest.raises(ContactsError, match="not valid YAML"):
        Contacts.load(bad)
    extra = tmp_path / "extra.yaml"
    extra.write_text("teams:\n  hr: {name: HR, contact: hr@example.com, slack_channel: C123}\n")
    with pytest.raises(ContactsError, match="slack_channel"):
        Contacts.load(extra)


def test_the_setting_points_at_another_file(tmp_path: Path) -> None:
    assert Settings(contacts_file=tmp_path / "c.yaml").contacts_file == tmp_path / "c.yaml"
    assert Settings().contacts_file == DEFAULT_CONTACTS
