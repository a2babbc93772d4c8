"""The Agents & AI Apps container over real HTTP: greeting and prompts, "is thinking…", titles; plain
mentions and DMs unchanged for workspaces without the feature."""

from __future__ import annotations

from typing import Any

from tests.channels.slack.support import GENERAL, SlackServer, direct, mention, new_ts, wait_for
from tests.emulators.slack_api import TEAM_ID, SlackApiEmulator

_AI = ("assistant.threads.setStatus", "assistant.threads.setSuggestedPrompts", "assistant.threads.setTitle")


def thread_started(user: str, thread_ts: str) -> dict[str, Any]:
    return {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": user,
            "context": {"channel_id": GENERAL, "team_id": TEAM_ID, "enterprise_id": None},
            "channel_id": f"D{user}",
            "thread_ts": thread_ts,
        },
        "event_ts": new_ts(),
    }


async def test_a_new_assistant_thread_gets_a_greeting_and_suggested_prompts(
    server: SlackServer, emulator: SlackApiEmulator
) -> None:
    root = new_ts()
    response = await server.deliver(thread_started("U_ALICE", root))
    assert response.status == 200
    [prompts] = await wait_for(lambda: emulator.of("assistant.threads.setSuggestedPrompts"))
    assert prompts.params["channel_id"] == "DU_ALICE" and prompts.params["thread_ts"] == root
    assert all(p["title"] and p["message"] for p in prompts.params["prompts"])
    [greeting] = emulator.posts("DU_ALICE", root)
    assert greeting.params["text"]
    assert not emulator.of("assistant.threads.setSuggestedPrompts", ok_only=False)[0].response.get("error")


async def test_a_question_in_an_assistant_thread_shows_status_sets_the_title_and_answers(
    server: SlackServer, emulator: SlackApiEmulator
) -> None:
    root = new_ts()
    await server.deliver(thread_started("U_BOB", root))
    await wait_for(lambda: emulator.of("assistant.threads.setSuggestedPrompts"))
    event = direct("U_BOB", "how do I get VPN access?")
    event["thread_ts"] = root
    await server.deliver(event)
    answer = await wait_for(lambda: [m for m in emulator.thread("DU_BOB", root) if "vpn-users" in m["text"]])
    [status] = emulator.of("assistant.threads.setStatus")
    assert status.params == {"channel_id": "DU_BOB", "thread_ts": root, "status": "is thinking…"}
    assert status.at < emulator.of("chat.appendStream")[0].at  # shown before the answer arrived
    [title] = emulator.of("assistant.threads.setTitle")
    assert title.params["title"] == "how do I get VPN access?" and title.params["thread_ts"] == root
    assert answer and not any("Thinking" in m["text"] for m in emulator.thread("DU_BOB", root))

    second = direct("U_BOB", "and who approves it?")
    second["thread_ts"] = root
    await server.deliver(second)
    await wait_for(lambda: len(emulator.of("assistant.threads.setStatus")) == 2)
    assert len(emulator.of("assistant.threads.setTitle")) == 1  # titled once, from the first question


async def test_without_the_feature_mentions_and_dms_work_as_before(
    server: SlackServer, emulator: SlackApiEmulator
) -> None:
    event = mention("U_CAROL", "how do I get VPN access?")
    await server.deliver(event)
    await wait_for(lambda: [m for m in emulator.thread(GENERAL, event["ts"]) if "vpn-users" in m["text"]])
    dm = direct("U_CAROL", "how do I get VPN access?")
    await server.deliver(dm)
    await wait_for(lambda: [m for m in emulator.thread("DU_CAROL", dm["ts"]) if "vpn-users" in m["text"]])
    assert not [c for c in emulator.calls if c.method in _AI]


async def test_a_refused_status_call_does_not_cost_the_answer(server: SlackServer, emulator: SlackApiEmulator) -> None:
    root = new_ts()
    await server.deliver(thread_started("U_DAN", root))
    await wait_for(lambda: emulator.of("assistant.threads.setSuggestedPrompts"))
    emulator.fail(1, status=500, method="assistant.threads.setStatus")
    event = direct("U_DAN", "how do I get VPN access?")
    event["thread_ts"] = root
    await server.deliver(event)
    await wait_for(lambda: [m for m in emulator.thread("DU_DAN", root) if "vpn-users" in m["text"]])
