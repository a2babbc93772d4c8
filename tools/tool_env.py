"""What a tool factory is given: the clients every tool may use, built once by the wiring."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: building the specs (e.g. to read their masked fields) needs no client
    from tools.directory import Directory
    from tools.ledger import Ledger


class Ruling(Protocol):
    """What the risk policy requires before a tool call runs (see graphs.governance.policy.Requirement)."""

    @property
    def mode(self) -> str: ...  # auto | confirm | approve | four_eyes | deny

    @property
    def reason(self) -> str: ...

    @property
    def approvers(self) -> tuple[str, ...]: ...  # eligible e-mails, never the requester

    @property
    def required(self) -> int: ...  # approvals needed: 0, 1 or 2


class ApprovalRules(Protocol):
    """The risk policy as tools may consult it (to explain who approves what); never to grant anything."""

    async def decide(
        self,
        tool: str,
        args: Mapping[str, Any],
        *,
        requester: str,
        confidence: float,
        facts: Mapping[str, Any],
        directory: Directory,
    ) -> Ruling: ...


@dataclass(frozen=True)
class ToolEnv:
    directory: Directory
    ledger: Ledger
    rules: ApprovalRules  # the loaded risk policy
