"""A scripted model behind the test servers for whole-agent runs: it calls no tool when asked to choose
one, and answers a grounded-answer request by quoting the passage sentences that share the most words with
the question, each with its citation (placeholders copied unchanged, as a well-behaved model would)."""

from __future__ import annotations

import re
from typing import Any

from tests.emulators.llm_script import Script

PASSAGE = re.compile(r'<passage n="(\d+)">\n(.*?)\n</passage>', re.S)
QUESTION = re.compile(r"^Question: (.*?)\n\nPassages", re.S)
WORDS = re.compile(r"[a-z0-9]+")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z<])")
STOP = {"the", "a", "an", "of", "to", "in", "is", "do", "i", "my", "how", "what", "for", "and", "on", "can", "when"}


def _text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


def quoting_responder(body: dict[str, Any]) -> Script:
    if body.get("tools"):
        return Script(content="KNOWLEDGE")
    prompt = _text(body.get("messages", [{}])[-1])
    question = QUESTION.search(prompt)
    if question is None:
        return Script(content="OK")
    asked = {w for w in WORDS.findall(question.group(1).lower()) if w not in STOP}
    scored = []
    for n, text in PASSAGE.findall(prompt):
        body_text = text.split(". ", 2)[-1]  # after "title. heading."
        for sentence in SENTENCE.split(body_text):
            overlap = len(asked & set(WORDS.findall(sentence.lower())))
            if overlap and sentence.rstrip().endswith((".", "!", "?")):
                scored.append((overlap, -int(n), sentence.strip(), n))
    if not scored:
        return Script(content="NO_ANSWER")
    best = sorted(scored, reverse=True)[:2]
    return Script(content=" ".join(f"{s[:-1]} [{n}]." for _, _, s, n in best))
