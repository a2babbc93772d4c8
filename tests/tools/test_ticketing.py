"""The webhook ticketing adapter against a real local receiver: the request it sends, retries, refusals, time-outs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.emulators.ticket_receiver import TicketReceiver
from tools.ticketing import TicketingError, TicketRequest, WebhookTicketing

REQUEST = TicketRequest(
    reference="HO-0A1B2C3D",
    team="HR",
    requester="bob.martin@example.com",
    requester_name="Bob Martin (bob.martin@example.com)",
    question="I want to talk to a person in HR about my leave",
    channel="slack",
    link="https://larkspur.slack.com/archives/C_GENERAL/p1700000000000100",
)


@pytest.fixture
async def receiver() -> AsyncIterator[TicketReceiver]:
    rx = TicketReceiver()
    await rx.start()
    yield rx
    await rx.stop()


@pytest.fixture
async def ticketing() -> AsyncIterator[WebhookTicketing]:
    adapter = WebhookTicketing(token="s3cret-token", timeout_s=0.5, attempts=3, backoff_s=0.01, max_backoff_s=0.05)
    yield adapter
    await adapter.close()


async def test_opens_a_ticket_with_the_question_and_an_idempotency_key(
    receiver: TicketReceiver, ticketing: WebhookTicketing
) -> None:
    ticket = await ticketing.open(f"{receiver.url}/hooks/hr", REQUEST)
    assert ticket.id == "TCK-1001" and ticket.url == f"{receiver.url}/tickets/TCK-1001"
    [sent] = receiver.requests
    assert sent.path == "/hooks/hr"
    assert sent.headers["Idempotency-Key"] == "HO-0A1B2C3D"
    assert sent.headers["Authorization"] == "Bearer s3cret-token"
    assert sent.body["question"] == REQUEST.question and sent.body["requester"] == REQUEST.requester
    assert sent.body["team"] == "HR" and sent.body["link"] == REQUEST.link and sent.body["source"] == "deskhand"


async def test_retries_server_errors_with_the_same_key_then_succeeds(
    receiver: TicketReceiver, ticketing: WebhookTicketing
) -> None:
    receiver.fail_next(2, status=503)
    ticket = await ticketing.open(f"{receiver.url}/hooks/hr", REQUEST)
    assert [r.status for r in receiver.requests] == [503, 503, 201]
    assert {r.headers["Idempotency-Key"] for r in receiver.requests} == {"HO-0A1B2C3D"}
    assert ticket.id == "TCK-1001"


async def test_a_slow_receiver_times_out_and_is_retried(receiver: TicketReceiver, ticketing: WebhookTicketing) -> None:
    receiver.fail_next(1, status=200, delay_s=2.0)  # longer than the 0.5 s time-out
    ticket = await ticketing.open(f"{receiver.url}/hooks/hr", REQUEST)
    assert len(receiver.requests) == 2 and ticket.id.startswith("TCK-")


async def test_gives_up_after_the_attempts_with_a_clear_error(
    receiver: TicketReceiver, ticketing: WebhookTicketing
) -> None:
    receiver.fail_always(502)
    with pytest.raises(TicketingError, match="3 times"):
        await ticketing.open(f"{receiver.url}/hooks/hr", REQUEST)
    assert len(receiver.requests) == 3


async def test_a_refusal_is_not_retried(receiver: TicketReceiver, ticketing: WebhookTicketing) -> None:
    receiver.fail_next(1, status=400)
    with pytest.raises(TicketingError, match="HTTP 400"):
        await ticketing.open(f"{receiver.url}/hooks/hr", REQUEST)
    assert len(receiver.requests) == 1


async def test_nothing_listening_is_an_error_not_a_hang(ticketing: WebhookTicketing) -> None:
    with pytest.raises(TicketingError):
        await ticketing.open("http://127.0.0.1:9/hooks/hr", REQUEST)
