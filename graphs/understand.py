"""The first step of a turn: read the message (slots, intent, follow-ups, privacy), then route it."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime

from graphs import node_names as n
from graphs.context import AgentDeps
from graphs.state import AgentState
from graphs.understanding.intents import mask_entities
from graphs.understanding.lexicon import lexicon
from graphs.understanding.patterns import asks_about_own_request, asks_what_awaits_me
from graphs.understanding.people import Person
from graphs.understanding.privacy import asks_for_someone_elses_private_data
from graphs.waiting import INTENT as WAITING_FOR_ME
from tools.catalog import entity_affinity

IDENTIFIERS = ("invoice_id", "user", "email", "vendor", "iban", "account_number")  # what makes a request specific
ENTITY_SLOTS = ("invoice_id", "vendor", "group", "iban", "account_number")
USER_OPTIONS = "user_options"  # the people a shared first name may mean, for the clarifying question


def _subject(slots: dict[str, Any], options: list[Person], requester: str | None) -> str | None:
    """Whom the message is about: the person named, or, for a shared first name, someone other than the
    requester (any of them may be meant, so their privacy counts)."""
    if slots.get("user"):
        return str(slots["user"])
    others = [p.email for p in options if not requester or p.email.lower() != requester.lower()]
    return others[0] if others else None


def _settled(
    intent: str, state: AgentState, text: str, slots: dict[str, Any], conf: dict[str, float]
) -> dict[str, Any]:
    """The understanding of a message whose intent its form settles (confidence 1): it never reaches the
    policy, whatever action it names."""
    history = [*state.get("history", []), {"role": "user", "text": text}][-10:]
    return {
        "intent": intent,
        "confidence": 1.0,
        "slots": slots,
        "slot_confidence": conf,
        "pending": None,
        "tool_args": None,
        "history": history,
    }


async def understand(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    deps = runtime.context
    text = state["text"]
    request_id = state.get("request_id", "")
    if deps.refresh_entities is not None:
        await deps.refresh_entities()
    extractor = deps.slots()
    found = extractor.extract(text)
    slots, slot_conf = dict(found.values), dict(found.confidence)
    if found.user_options:  # a first name several people share: asked about, never guessed
        slots[USER_OPTIONS] = " or ".join(p.name for p in found.user_options)
    # Recognised by their form, whatever action they name, so neither embedded nor routed: what waits for
    # *my* decision (a list), and a question about one's own request (answered from the approvals store).
    if asks_what_awaits_me(text):
        return _settled(WAITING_FOR_ME, state, text, slots, slot_conf)
    if asks_about_own_request(text):
        return _settled("request_status", state, text, slots, slot_conf)
    masked = mask_entities(text)
    # Off the event loop: the model runs for milliseconds of CPU, during which other events are acknowledged.
    vec = await asyncio.to_thread(deps.embed_query, masked)
    if masked == text and deps.knowledge.query_text(text) == text:  # the knowledge answer reuses this embedding
        deps.query_vectors.keep(request_id, vec)
    kinds = [k for k in ENTITY_SLOTS if k in slots]
    guess = deps.router.classify(masked, vec, kinds, entity_affinity(deps.tools))
    intent, confidence = guess.name, guess.confidence
    if intent == "request_status":  # the router alone is not enough: the message must be about one's request
        intent, confidence = guess.runner_up, round(guess.confidence - guess.similarity, 3)

    if deps.understander is not None:
        llm = await deps.understander.understand(
            text, state.get("history", []), user=state.get("user"), turn=state.get("request_id")
        )
        if llm is not None and llm[0] in deps.tools:
            # The model chose a tool: its arguments still go through schema validation and the policy.
            return {
                "intent": llm[0],
                "confidence": 0.9,
                "slots": slots,
                "slot_confidence": slot_conf,
                "tool_args": llm[1],
                "pending": None,
            }

    pending = state.get("pending")
    history = [*state.get("history", []), {"role": "user", "text": text}][-10:]
    if pending:
        missing = pending["missing"]
        if "name" in missing and "name" not in slots and "user" not in slots and 1 <= len(text.split()) <= 4:
            slots["name"], slot_conf["name"] = text.strip().title(), 0.8  # the answer is the name itself
        if any(s in slots for s in missing):
            merged = {**pending["slots"], **slots}
            merged_conf = {**pending.get("slot_confidence", {}), **slot_conf}
            return {
                "intent": pending["intent"],
                "confidence": pending["confidence"],
                "slots": merged,
                "slot_confidence": merged_conf,
                "pending": None,
                "tool_args": None,
                "history": history,
            }

    words = lexicon()
    if asks_for_someone_elses_private_data(
        text, _subject(slots, found.user_options, state.get("user")), state.get("user")
    ):
        intent, confidence = "private_data", 1.0
    elif intent in deps.tools and words.question.search(text) and not any(k in slots for k in IDENTIFIERS):
        # A general question about a process ("how do I get added to the finance group?") is for the
        # handbook, not a tool: nothing specific (an invoice, a person, a vendor) was named.
        intent = "knowledge_question"

    last = state.get("last_action")
    is_follow_up = words.follow_up.search(text) and len(text.split()) <= 8
    if last and is_follow_up and set(slots) & {"user", "invoice_id", "vendor", "group"}:
        # "and for Sam too?": the previous action again, with the newly named entity swapped in.
        base = dict(last.get("slots", {}))
        base.pop("name", None)
        intent, confidence = last["tool"], 0.8
        slots = {**base, **{k: v for k, v in slots.items() if k != "name"}}
        slot_conf = {**{k: 0.9 for k in base}, **slot_conf}
    return {
        "intent": intent,
        "confidence": confidence,
        "slots": slots,
        "slot_confidence": slot_conf,
        "pending": None,
        "tool_args": None,
        "history": history,
    }


def route(state: AgentState, runtime: Runtime[AgentDeps]) -> n.Route:
    intent = state["intent"]
    if intent == "request_status":
        return n.REQUEST_STATUS
    if intent == WAITING_FOR_ME:
        return n.WAITING
    if intent == "greeting":
        return n.GREET
    if intent in ("out_of_scope", "private_data"):
        return n.DECLINE
    if intent == "handoff":
        return n.HANDOFF
    deps = runtime.context
    if intent in deps.tools:
        if state["confidence"] < deps.min_intent_confidence:
            return n.CLARIFY
        if not state.get("tool_args") and any(s not in state["slots"] for s in deps.tools[intent].slots):
            return n.CLARIFY
        return n.POLICY
    return n.ANSWER
