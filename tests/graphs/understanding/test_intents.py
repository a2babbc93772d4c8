"""The intent router and the understand → route steps, on real utterances (CLINC150) and the tool specs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from langgraph.runtime import Runtime

from graphs import node_names
from graphs.nodes import clarify
from graphs.understand import route, understand
from graphs.understanding.intents import CONVERSATION_INTENTS, IntentRouter, load_examples, mask_entities
from graphs.understanding.slots import Entities, Person, SlotExtractor
from tests.clinc150 import WORK_INTENTS, utterances
from tests.graphs.understanding.support import router, sample_entities, tool_specs, understanding_deps
from tools.catalog import entity_affinity


@pytest.fixture(scope="module")
def intent_router(embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> IntentRouter:
    return router(embedder, tmp_path_factory.mktemp("router"))


async def _destination(deps: Any, text: str) -> tuple[str, dict[str, Any]]:
    state: dict[str, Any] = {"text": text, "request_id": "r1", "user": "bob.martin@example.com"}
    runtime = Runtime(context=deps)
    state.update(await understand(state, runtime))  # type: ignore[arg-type]
    if "intent" not in state:  # answered on the spot (the requester's own requests)
        return "request_status", state
    return str(route(state, runtime)), state  # type: ignore[arg-type]


async def test_no_real_hr_or_off_topic_utterance_reaches_a_tool(embedder: Any, intent_router: IntentRouter) -> None:
    """1,450 real requests an HR/IT/AP assistant gets or should decline: none reaches a tool that changes
    anything (so nobody is asked to approve anything), and at most 1 in 200 reaches a read-only look-up (a
    question naming a person, "is there a meeting with sam today", can look like a directory look-up; the
    exact few depend on the embedding's last bits, so this bounds the rate instead of naming them)."""
    deps = understanding_deps(embedder, intent_router)
    specs = tool_specs()
    texts = utterances("test", WORK_INTENTS) + utterances("oos_test")
    assert len(texts) == 1450
    acting, looking_up = [], []
    seen: set[str] = set()
    for text in texts:
        where, state = await _destination(deps, text)
        seen.add(where)
        if where == node_names.POLICY:
            hit = (text, state["intent"], state["slots"])
            (acting if specs[state["intent"]].side_effects else looking_up).append(hit)
    assert acting == []
    assert len(looking_up) <= len(texts) // 200, looking_up
    assert {"answer", "decline"} <= seen  # both the handbook and the polite refusal were reached


def test_every_guess_is_a_distribution_over_the_known_intents(embedder: Any, intent_router: IntentRouter) -> None:
    known = set(load_examples())
    assert set(CONVERSATION_INTENTS) | set(tool_specs()) == known
    for text in utterances("val", WORK_INTENTS)[::10] + utterances("oos_val")[::10]:
        masked = mask_entities(text)
        vector = embedder.encode_query(masked)
        probs = intent_router.probabilities(masked, vector)
        guess = intent_router.classify(masked, vector)
        assert probs.shape == (len(known),) and np.isclose(probs.sum(), 1.0)
        assert guess.name in known and guess.runner_up in known and guess.name != guess.runner_up
        assert guess.confidence == round(float(probs.max()), 3)
        assert 0 <= guess.similarity <= guess.confidence <= 1


def test_masking_leaves_real_text_alone_and_makes_values_interchangeable() -> None:
    texts = utterances("test", WORK_INTENTS)
    assert [t for t in texts if mask_entities(t) != t] == []  # no e-mail or invoice number in them
    assert mask_entities("hold INV-10077 for sam.taylor@example.com") == mask_entities(
        "hold invoice 55120 for maya.patel@example.com"
    )


def test_an_entity_kind_multiplies_exactly_the_tools_declaring_it(embedder: Any, intent_router: IntentRouter) -> None:
    affinity = entity_affinity(tool_specs())
    masked = mask_entities("can you help me with this one")
    vector = embedder.encode_query(masked)
    base = intent_router.probabilities(masked, vector)
    for kind in ("invoice_id", "vendor", "group", "iban"):
        boosted = [i for i, name in enumerate(intent_router.intents) if kind in affinity.get(name, ())]
        assert boosted, kind
        factors = np.ones_like(base)
        factors[boosted] = 1.5
        expected = base * factors / (base * factors).sum()
        guess = intent_router.classify(masked, vector, [kind], affinity)
        assert guess.name == intent_router.intents[int(np.argmax(expected))]
        assert guess.confidence == round(float(expected.max()), 3)
    assert intent_router.classify(masked, vector, ["invoice_id"]) == intent_router.classify(masked, vector)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("put a hold on INV-10077", "hold_payment"),
        ("who would approve a hold on a Stark Logistics invoice?", "vendor_approvers"),
        ("when will Acme be paid", "vendor_payments"),
    ],
)
async def test_a_specific_request_goes_to_its_tool(
    embedder: Any, intent_router: IntentRouter, text: str, intent: str
) -> None:
    where, state = await _destination(understanding_deps(embedder, intent_router), text)
    assert (where, state["intent"]) == (node_names.POLICY, intent)


@pytest.mark.parametrize(
    "text", ["status of INV-10042", "invoice #10042?", "invoice no. 10042 please", "where is invoice number 10042"]
)
def test_the_router_masks_every_invoice_number_the_slot_extractor_reads(text: str) -> None:
    """One invoice pattern: an invoice the slots hold is never embedded with its number."""

    assert SlotExtractor(Entities()).extract(text).values["invoice_id"] == "INV-10042"
    assert "10042" not in mask_entities(text) and "invoice INV" in mask_entities(text)


async def test_a_first_name_two_people_share_gets_a_which_one_question_and_keeps_their_privacy(
    embedder: Any, intent_router: IntentRouter
) -> None:
    entities = sample_entities()
    entities.people.append(Person("sam.lee@example.com", "Sam Lee"))
    extractor = SlotExtractor(entities)
    deps = understanding_deps(embedder, intent_router)
    deps.slots = lambda: extractor
    where, state = await _destination(deps, "please add sam to the design group")
    assert where == node_names.CLARIFY and "user" not in state["slots"]
    reply = (await clarify(state, Runtime(context=deps)))["reply"]  # type: ignore[arg-type]
    assert "Sam Taylor" in reply["text"] and "Sam Lee" in reply["text"]
    where, state = await _destination(deps, "what's Sam's salary?")
    assert state["intent"] == "private_data" and where == node_names.DECLINE
