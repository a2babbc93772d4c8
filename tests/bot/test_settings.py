"""Settings errors name the variable a user sets; lenient where it is harmless, strict where it is not."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings, unknown_variables


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No .env and no Slack/Teams/infrastructure variables from the machine running the tests."""
    monkeypatch.chdir(tmp_path)
    for name in ("PORT", "DATABASE_URL", "REDIS_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PORT", "not-a-port"), ("PORT", "70000"), ("DATABASE_URL", "mysql://db/x"), ("REDIS_URL", "http://cache")],
)
def test_errors_name_the_variable_the_user_sets(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"\n  {variable}: " in message
    assert f"DESKHAND_{variable}" not in message
    assert value not in message  # never the value


@pytest.mark.parametrize("level", ["info", "Info", "debug", " warning ", "ERROR"])
def test_log_level_accepts_any_case(monkeypatch: pytest.MonkeyPatch, level: str) -> None:
    monkeypatch.setenv("DESKHAND_LOG_LEVEL", level)
    assert load_settings().log_level == level.strip().upper()


def test_a_bad_log_level_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKHAND_LOG_LEVEL", "chatty")
    with pytest.raises(SettingsError, match="DESKHAND_LOG_LEVEL"):
        load_settings()


def test_a_slack_token_without_a_signing_secret_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET") as caught:
        load_settings()
    assert "xoxb-1" not in str(caught.value)


def test_a_slack_token_with_a_signing_secret_turns_slack_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    assert load_settings().slack.enabled


def test_socket_mode_without_a_signing_secret_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # The channel is built with the signing secret in Socket Mode too; accepting the app token alone left
    # Slack silently off.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        load_settings()


def test_an_unknown_deskhand_variable_is_warned_about_with_the_closest_name(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DESKHAND_KNOWLEDGE_DIRS", "docs")
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        load_settings()
    [warning] = [r.getMessage() for r in caplog.records if "DESKHAND_KNOWLEDGE_DIRS" in r.getMessage()]
    assert "did you mean DESKHAND_KNOWLEDGE_DIR?" in warning


def test_unknown_names_suggest_the_unprefixed_infrastructure_variable() -> None:
    warnings = unknown_variables({"DESKHAND_PORT": "1", "DESKHAND_DATABASE_URL": "x", "DESKHAND_TEST_X": "1"})
    assert warnings == [
        "DESKHAND_DATABASE_URL is not a Deskhand setting and is ignored; did you mean DATABASE_URL?",
        "DESKHAND_PORT is not a Deskhand setting and is ignored; did you mean PORT?",
    ]
    assert unknown_variables({"DESKHAND_LOG_LEVEL": "INFO", "HOME": "/"}) == []


def test_variables_the_scripts_read_are_not_warned_about() -> None:
    # README: `DESKHAND_EXTRAS=llm scripts/run.sh`; the chat it starts inherits the variable.
    assert (
        unknown_variables({"DESKHAND_EXTRAS": "llm", "DESKHAND_SHARED_CORPORA": "/x", "DESKHAND_EVAL_OUT": "r"}) == []
    )


def test_unknown_names_in_the_dotenv_file_are_warned_about_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / ".env").write_text("DESKHAND_MIN_CONFIDENSE=0.5\n")
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        load_settings()
    assert any("did you mean DESKHAND_MIN_CONFIDENCE?" in r.getMessage() for r in caplog.records)


def test_a_non_utf8_dotenv_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes("DESKHAND_ENV=développement\n".encode("latin-1"))
    with pytest.raises(SettingsError, match=r"\.env is not UTF-8"):
        load_settings()
