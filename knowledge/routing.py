"""Which help team to point to when the knowledge base has no answer (a small configurable table)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_CONTACTS: dict[str, str] = {
    "HR": "the People team in #ask-hr",
    "IT": "the IT service desk in #it-help",
    "Accounts Payable": "the AP team in #ap-help",
}

DEFAULT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "Accounts Payable": (
        "invoice",
        "vendor",
        "supplier",
        "payment",
        "pay run",
        "payment run",
        "purchase order",
        "po",
        "remittance",
        "bank",
        "bank detail",
        "iban",
        "ap",
        "accounts payable",
        "expense",
        "reimburse",
        "receipt",
        "corporate card",
        "card",
        "travel",
        "per diem",
        "mileage",
        "refund",
    ),
    "IT": (
        "laptop",
        "password",
        "login",
        "log in",
        "sign in",
        "mfa",
        "sso",
        "vpn",
        "wifi",
        "wi-fi",
        "user account",
        "access",
        "software",
        "license",
        "licence",
        "device",
        "phone",
        "email",
        "e-mail",
        "slack",
        "jira",
        "figma",
        "github",
        "ticket",
        "printer",
        "monitor",
        "admin",
        "door code",
        "badge",
    ),
    "HR": (
        "pto",
        "vacation",
        "holiday",
        "leave",
        "sick",
        "parental",
        "maternity",
        "benefit",
        "insurance",
        "dental",
        "medical",
        "vision",
        "401k",
        "401(k)",
        "pension",
        "salary",
        "pay",
        "paid",
        "payslip",
        "payroll",
        "bonus",
        "commission",
        "review",
        "performance",
        "onboarding",
        "offboarding",
        "remote",
        "office",
        "address",
        "manager",
        "promotion",
        "raise",
        "hire",
        "offsite",
    ),
}


@dataclass(frozen=True)
class TeamRouter:
    """Picks the team whose keywords the question mentions most; ties go to the first listed team."""

    contacts: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_CONTACTS))
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_KEYWORDS))
    default_team: str = "HR"

    def team_for(self, question: str) -> str | None:
        text = " " + " ".join(re.findall(r"[a-z0-9()'-]+", question.lower())) + " "
        best, best_hits = None, 0
        for team in self.contacts:
            hits = sum(1 for kw in self.keywords.get(team, ()) if f" {kw} " in text or f" {kw}s " in text)
            if hits > best_hits:
                best, best_hits = team, hits
        return best

    def decline(self, question: str, *, in_scope: bool) -> tuple[str, str | None]:
        """The not-found message and the team it points to (None for off-topic questions)."""
        base = "I couldn't find that in the knowledge base."
        team = self.team_for(question)
        if team is None and in_scope and self.default_team in self.contacts:
            team = self.default_team
        if team is None:
            scope = ", ".join(self.contacts) if self.contacts else "company"
            return f"{base} I can help with questions about {scope} topics from the handbook.", None
        return f"{base} For {team} questions, ask {self.contacts[team]}.", team
