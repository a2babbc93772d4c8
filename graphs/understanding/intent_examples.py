"""The intents' example utterances (intents.yaml), readable without numpy: the start-up wiring check and
the quick CLI commands need the names only, the router (graphs.understanding.intents) the examples too."""

from __future__ import annotations

from pathlib import Path

from tools.yaml_text import parse_yaml

DEFAULT_INTENTS = Path(__file__).resolve().parent / "intents.yaml"

# The intents that are not tools; every other intent is named after the tool it runs (tools/*_tools.py
# declare each tool's slots and entity kinds; bot.tool_check keeps the two in step).
CONVERSATION_INTENTS = ("knowledge_question", "handoff", "out_of_scope", "greeting", "request_status")


def load_examples(path: Path = DEFAULT_INTENTS) -> dict[str, list[str]]:
    data = parse_yaml(path.read_text(encoding="utf-8"))
    intents = data.get("intents", {}) if isinstance(data, dict) else {}
    out = {name: [str(e) for e in spec.get("examples", [])] for name, spec in intents.items()}
    if not out or any(not v for v in out.values()):
        raise ValueError(f"{path}: every intent needs at least one example")
    return out
