"""The local channel: the terminal chat and scripted CLI use, plus an inbox file for outcomes that
arrive later (an approval decided by someone else is shown at the requester's next prompt)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from channels.base import ApprovalView, MessageRef, Reply, SectionText

CITATION = re.compile(r"\[(\d+)\]")


class LocalOutbox:
    """`ChannelOutbox` for the local channel: appends notifications to a per-conversation inbox file."""

    name = "local"

    def __init__(self, inbox_dir: Path) -> None:
        self.inbox_dir = inbox_dir

    def _path(self, conversation: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.@-]", "_", conversation)[:120]
        return self.inbox_dir / f"{safe}.jsonl"

    async def refresh_approval(self, ref: MessageRef, view: ApprovalView) -> None:
        return None  # the terminal has no message to edit; outcomes go through notify()

    async def offer_approval(self, view: ApprovalView, origin: str) -> None:
        return None  # approvers use `deskhand approvals` or the chat's /approve

    async def notify(self, conversation_ref: dict[str, Any], reply: Reply) -> None:
        conversation = str(conversation_ref.get("conversation", "default"))
        self.inbox_dir.mkdir(parents=True, exist_ok=True)
        with self._path(conversation).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"text": reply.text, "route": reply.route, "tool": reply.tool}) + "\n")

    def drain(self, conversation: str) -> list[dict[str, Any]]:
        """Read and clear the notifications waiting for `conversation`."""
        path = self._path(conversation)
        if not path.exists():
            return []
        claimed = path.with_suffix(".reading")
        path.replace(claimed)
        lines = [json.loads(line) for line in claimed.read_text(encoding="utf-8").splitlines() if line.strip()]
        claimed.unlink()
        return lines


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """The `deskhand ask --json` shape."""
    out: dict[str, Any] = {
        "answer": reply.text,
        "citations": [
            {
                "n": c.n,
                "source": c.source,
                "title": c.title,
                "heading": c.heading,
                "score": round(c.score, 4),
                "url": c.url,
            }
            for c in reply.citations
        ],
        "confidence": round(reply.confidence or 0.0, 4),
        "route": reply.route,
        "full_section": reply.section,  # a shortened answer: the reference "Show full section" / `/more` opens
    }
    if reply.tool:
        out["tool"] = reply.tool
    if reply.route == "tool":
        out["result"] = reply.data
    if reply.data.get("joined"):  # an identical request was already pending: that approval's id
        out["approval_id"], out["joined"] = reply.data.get("approval_id"), True
    if reply.approvals:
        out["approvals"] = [json.loads(json.dumps(asdict(v), default=str)) for v in reply.approvals]
    if reply.approval is not None:
        view = asdict(reply.approval)
        out["approval_id"] = reply.approval.approval_id
        out["approval"] = json.loads(json.dumps(view, default=str))
    if "answer_path" in reply.data:  # LLM mode: which path answered and why
        out["llm"] = dict(reply.data)
    if reply.audit_id:
        out["audit_id"] = reply.audit_id
    if reply.reference_id:
        out["reference_id"] = reply.reference_id
    return out


def section_to_text(section: SectionText) -> str:
    """A full section for the terminal: "Title — Heading (url)", then its text; or why it cannot be shown."""
    if not section.found:
        return section.text
    head = (
        section.title
        if not section.heading or section.heading == section.title
        else (f"{section.title} — {section.heading}")
    )
    return f"{head}" + (f" ({section.url})" if section.url else "") + "\n\n" + section.text


def reply_to_text(reply: Reply) -> str:
    """Plain-text rendering for the terminal: answer, then numbered sources."""
    lines = [reply.text]
    if reply.citations:
        lines.append("")
        lines.append("Sources:")
        for c in reply.citations:
            heading = f" — {c.heading}" if c.heading and c.heading != c.title else ""
            lines.append(f"  [{c.n}] {c.title}{heading} ({c.url or c.source})")
    if reply.approval is not None and reply.approval.open:
        lines.append("")
        lines.append(f"Approvers can decide with: /approve {reply.approval.approval_id} --as EMAIL")
    if reply.approvals:
        lines.append("")
        lines.append("Decide with: /approve ID --as EMAIL [comment]  or  /reject ID --as EMAIL REASON")
    return "\n".join(lines)
