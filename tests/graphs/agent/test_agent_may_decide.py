"""Before a reason form opens, the agent says whether the clicker may decide now (and why not), changing
nothing but the refusal's audit entry; the decision itself is judged again on submission."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from graphs.governance.approval_joins import JOINER_DECIDES
from tests.graphs.agent.conftest import Conversation

HECTOR, CAROL, DAN = "hector.ruiz@example.com", "carol.diaz@example.com", "dan.okafor@example.com"
HOLD = "put a hold on invoice INV-10077"


async def test_who_may_open_the_form_and_why_the_others_may_not(open_agent):
    async with open_agent() as rt:
        first = await Conversation(rt, HECTOR, key="hector").say(HOLD)
        await Conversation(rt, CAROL, key="carol").say(HOLD)  # an AP lead asks for it too: joins
        assert first.approval is not None
        approval_id = first.approval.approval_id
        dan = await rt.agent.may_decide(approval_id, DAN, False)
        own = await rt.agent.may_decide(approval_id, HECTOR, False)
        joiner = await rt.agent.may_decide(approval_id, CAROL, True)
        stranger = await rt.agent.may_decide(approval_id, "ivy.chen@example.com", False)
        unknown = await rt.agent.may_decide("apr_nothere", DAN, False)
        unidentified = await rt.agent.may_decide(approval_id, None, False)
        still = rt.approvals.get(approval_id)
        rt.deps.clock = lambda: datetime.now(UTC) + timedelta(days=2)  # past its deadline, not yet swept
        late = await rt.agent.may_decide(approval_id, DAN, False)
        after = rt.approvals.get(approval_id)
        refusals = [e for e in rt.audit.tail(100) if e.payload.get("stage") == "form"]
    assert dan is None
    assert own is not None and "your own request" in own.message
    assert joiner is not None and joiner.message == JOINER_DECIDES
    assert stranger is not None and "not an eligible approver" in stranger.message and DAN in stranger.message
    assert unknown is not None and unknown.approval is None and "no approval request" in unknown.message
    assert unidentified is not None and not unidentified.accepted
    assert late is not None and "expired at" in late.message and late.approval.status == "expired"
    assert still.status == after.status == "pending" and still.version == after.version, "nothing decided"
    assert [e.actor for e in refusals] == [HECTOR, CAROL, "ivy.chen@example.com", DAN]
